/**
 * `revoke_token` (SPEC §7): RFC 7009 revocation, which Baton cascades to every token
 * exchanged from this one (SPEC §5). RFC 7009 answers the same whether or not anything
 * was revoked, so the tool introspects afterwards to tell the agent what happened. Names
 * from the token (a subject from an identity provider among them) are shown inert.
 * @module
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { forTerminal } from '../../broker/text/show.js';
import { actorsOfClaim } from '../chain.js';
import { guard, ok, toolError } from '../results.js';
import type { ToolDeps } from '../tool-deps.js';
import { forgetCallerTokens, namedToken } from './exchange.js';
import { TokenOrJti } from './fields.js';

export function registerRevokeTokenTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'revoke_token',
    {
      title: 'Revoke a token',
      description:
        'Revoke a token and every token exchanged from it, however deep (e.g. when a task is done or a hand-off must stop). ' +
        'You may revoke tokens you were issued or act in.',
      inputSchema: TokenOrJti,
      outputSchema: {
        revoked: z
          .boolean()
          .describe('True when this call revoked it; false when it was not active already.'),
        jti: z.string().optional().describe("The revoked token's ledger id."),
      },
      annotations: {
        title: 'Revoke a token',
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    (args) =>
      guard('revoke the token', deps.broker, async () => {
        if ((args.token === undefined) === (args.jti === undefined))
          return toolError('Give exactly one of token or jti.');
        const token = (await namedToken(deps, args.token, args.jti))!;
        const before = await deps.broker.introspect(token);
        if (!before.active) {
          deps.tokens?.forgetToken(token);
          return ok(
            'Nothing to revoke: the token is not active (unknown, expired, or already revoked).',
            { revoked: false },
          );
        }
        await deps.broker.revoke(token);
        // It may be an ancestor of tokens this caller has cached: none of them is handed out again.
        await forgetCallerTokens(deps);
        deps.agentTokenRefused?.(token);
        const after = await deps.broker.introspect(token);
        if (after.active) {
          const involved = [before.client_id, ...actorsOfClaim(before.act)].map((name) =>
            forTerminal(name, 128),
          );
          return toolError(
            `Baton did not revoke this token: only its client or one of its actors (${[...new Set(involved)].join(', ')}) may, and you are "${deps.broker.clientId}".`,
          );
        }
        return ok(
          `Revoked token ${forTerminal(before.jti, 200)} (for ${forTerminal(before.sub, 128)}) and every token exchanged from it.`,
          { revoked: true, jti: before.jti },
        );
      }),
  );
}
