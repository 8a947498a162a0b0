/**
 * `delegate_to_agent` (SPEC §7): mints a hand-off token for another agent, the RFC 8693
 * exchange with `audience=agent:<id>` (SPEC §2). The other agent may then exchange it;
 * its chain will name this agent as the one who delegated.
 * @module
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { describeIssued, issuedToken, IssuedTokenShape } from '../issued-token.js';
import { guard, ok } from '../results.js';
import type { ToolDeps } from '../tool-deps.js';
import { exchangeForTask, namedToken } from './exchange.js';
import { Lifetime, Scope, SubjectJti, SubjectToken, normalizeScope } from './fields.js';

export function registerDelegateToAgentTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'delegate_to_agent',
    {
      title: 'Delegate to another agent',
      description:
        'Mint a hand-off token for another agent so it can act for the same person with narrower scopes. ' +
        'Your code gives the returned token (structuredContent.access_token) to that agent; it exchanges it (get_task_token with subject_token) for the APIs it calls.',
      inputSchema: {
        agent_id: z
          .string()
          .regex(
            /^[A-Za-z0-9._~-]{1,128}$/,
            'must be a client id: 1-128 characters of A-Z a-z 0-9 . _ ~ -',
          )
          .describe(
            'The client id of the agent to hand off to, e.g. "flight-booker" (the token gets audience "agent:<agent_id>").',
          ),
        scope: Scope,
        lifetime_seconds: Lifetime,
        subject_token: SubjectToken,
        subject_jti: SubjectJti,
      },
      outputSchema: {
        ...IssuedTokenShape,
        agent_id: z.string().describe('The agent the token is handed to.'),
      },
      annotations: {
        title: 'Delegate to another agent',
        readOnlyHint: false,
        destructiveHint: false,
        openWorldHint: false,
      },
    },
    (args) =>
      guard(`hand off to agent ${args.agent_id}`, deps.broker, async () => {
        const token = issuedToken(
          await exchangeForTask(deps, {
            subjectToken: await namedToken(deps, args.subject_token, args.subject_jti),
            audience: [`agent:${args.agent_id}`],
            scope: normalizeScope(args.scope),
            expiresIn: args.lifetime_seconds,
          }),
        );
        return ok(
          describeIssued(`Hand-off token for ${args.agent_id} (give it to that agent)`, token),
          { ...token, agent_id: args.agent_id },
        );
      }),
  );
}
