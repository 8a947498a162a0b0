/**
 * `request_approval` (SPEC §6, §7): asks a named person to approve a delegation (OpenID
 * CIBA, poll mode) and waits for the answer with MCP progress notifications, within a
 * timeout the caller sets. Whether approvals exist is read from the broker's metadata
 * (`backchannel_authentication_endpoint`); until they do, the tool says so as a tool error.
 * @module
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { isUsername, USERNAME_RULE } from '../../broker/text/username.js';
import { waitForApproval } from '../approvals.js';
import { describeIssued, issuedToken, IssuedTokenShape } from '../issued-token.js';
import { guard, ok, toolError } from '../results.js';
import { defaultSleep, type ToolDeps } from '../tool-deps.js';
import { rememberIssued } from './exchange.js';
import { Audiences } from './fields.js';

export function registerRequestApprovalTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'request_approval',
    {
      title: 'Ask a person for approval',
      description:
        'Ask a person to approve that you act for them (scope, audience and your reason are shown to them), then wait for their answer. ' +
        'On approval you get a token for that person with you as the actor. Use it when you hold no token for the person yet, or when a tool says yours expired or was revoked.',
      inputSchema: {
        // The one username rule the broker applies to login_hint: nothing that could drive the person's terminal.
        user: z
          .string()
          .refine(isUsername, `must be a username: ${USERNAME_RULE.replace(/^must be /, '')}`)
          .describe(
            'The username of the person to ask, e.g. "alice" (ASCII letters, digits and . _ @ + -).',
          ),
        scope: z
          .string()
          .min(1)
          .max(2000)
          .describe('Space-separated scopes you ask for, e.g. "trips:read trips:book".'),
        audience: Audiences.describe(
          'The API (URL) or agent ("agent:<id>") the token will be for, or a list of them.',
        ),
        reason: z
          .string()
          .min(1)
          .max(100)
          .describe(
            'One short sentence (at most 100 characters, plain text) the person sees: why you need this, e.g. "Book the Lisbon flight you asked for".',
          ),
        timeout_seconds: z
          .number()
          .int()
          .min(10)
          .max(600)
          .optional()
          .describe(
            'How long to wait for the answer, in seconds (default 120). Progress notifications are sent while waiting.',
          ),
      },
      outputSchema: { ...IssuedTokenShape, user: z.string().describe('Who approved.') },
      annotations: {
        title: 'Ask a person for approval',
        readOnlyHint: false,
        destructiveHint: false,
        // It reaches a person, outside Baton.
        openWorldHint: true,
      },
    },
    (args, extra) =>
      guard(`get ${args.user}'s approval`, deps.broker, async () => {
        const approvals = await deps.broker.approvals();
        if (approvals === undefined) {
          return toolError(
            'Approvals are not enabled on this broker (it advertises no backchannel_authentication_endpoint, so OpenID CIBA requests cannot be made). ' +
              'Work with a token you already hold: get_task_token or delegate_to_agent, with subject_token set to a token the person or another agent handed you.',
          );
        }
        const audience = typeof args.audience === 'string' ? [args.audience] : args.audience;
        const started = await approvals.start({
          user: args.user,
          scope: args.scope,
          audience,
          reason: args.reason,
        });
        const progressToken = extra._meta?.progressToken;
        const outcome = await waitForApproval(approvals, started, {
          timeoutSeconds: args.timeout_seconds ?? 120,
          user: args.user,
          signal: extra.signal,
          sleep: deps.sleep ?? defaultSleep,
          clock: deps.clock ?? Date.now,
          // The broker takes an auth_req_id at its revocation endpoint as a cancellation.
          cancel: () => deps.broker.revoke(started.auth_req_id),
          progress: async (progress, total, message) => {
            if (progressToken === undefined) return;
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken, progress, total, message },
            });
          },
        });
        if (outcome.status === 'timed_out') {
          return toolError(
            `${args.user} did not answer within ${outcome.waitedSeconds} s. Ask again later, or with a longer timeout_seconds.`,
          );
        }
        const token = issuedToken(outcome.token);
        await rememberIssued(deps, token.access_token);
        let text = describeIssued(`Approved by ${args.user}`, token);
        if (deps.adoptAgentToken !== undefined) {
          deps.adoptAgentToken(token.access_token);
          text += `\nIt is now your own token: get_task_token and delegate_to_agent use it when you give no subject_token.`;
        }
        return ok(text, { ...token, user: args.user });
      }),
  );
}
