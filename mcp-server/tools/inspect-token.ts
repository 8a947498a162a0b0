/**
 * `inspect_token` (SPEC §7): RFC 7662 introspection of a token, with its act chain shown
 * current actor first. Anything not active (unknown, expired, revoked, not Baton's)
 * reads the same, as introspection answers it. Claims are shown through `forTerminal`
 * (a subject from an identity provider is not Baton's text).
 * @module
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { forTerminal } from '../../broker/text/show.js';
import { actorsOfClaim, describeChain, isoTime } from '../chain.js';
import { guard, ok, toolError } from '../results.js';
import { namedToken } from './exchange.js';
import type { ToolDeps } from '../tool-deps.js';
import { TokenOrJti } from './fields.js';

const OutputShape = {
  active: z.boolean().describe('Whether Baton would accept the token now.'),
  sub: z.string().optional().describe('The person (or client) it acts for.'),
  actors: z.array(z.string()).optional().describe('The act chain, current actor first.'),
  act: z.looseObject({ sub: z.string() }).optional().describe('The raw RFC 8693 act claim.'),
  scope: z.string().optional(),
  audience: z.array(z.string()).optional(),
  client_id: z.string().optional().describe('The client it was issued to.'),
  jti: z.string().optional(),
  issued_at: z.string().optional().describe('ISO 8601, UTC.'),
  expires_at: z.string().optional().describe('ISO 8601, UTC.'),
};

export function registerInspectTokenTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'inspect_token',
    {
      title: 'Inspect a token',
      description:
        'Ask Baton whether a token is active and what it allows: who it acts for, the chain of agents acting (current first), scope, audience and expiry.',
      inputSchema: TokenOrJti,
      outputSchema: OutputShape,
      annotations: { title: 'Inspect a token', readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      guard('inspect the token', deps.broker, async () => {
        if ((args.token === undefined) === (args.jti === undefined))
          return toolError('Give exactly one of token or jti.');
        const token = (await namedToken(deps, args.token, args.jti))!;
        const info = await deps.broker.introspect(token);
        if (!info.active) {
          deps.tokens?.forgetToken(token);
          return ok(
            'Not active: Baton does not accept this token (unknown, expired, revoked, or not issued by Baton).',
            { active: false },
          );
        }
        const actors = actorsOfClaim(info.act);
        const audience = typeof info.aud === 'string' ? [info.aud] : info.aud;
        const out = {
          active: true,
          sub: info.sub,
          actors,
          ...(info.act === undefined ? {} : { act: info.act }),
          scope: info.scope,
          audience,
          client_id: info.client_id,
          jti: info.jti,
          issued_at: isoTime(info.iat),
          expires_at: isoTime(info.exp),
        };
        const show = (s: string) => forTerminal(s, 2000);
        const text = [
          `Active: ${describeChain(info.sub, actors)}.`,
          actors.length > 0
            ? `chain (current actor first): ${[...actors, info.sub].map(show).join(' ← ')}`
            : undefined,
          `scope: ${info.scope ? show(info.scope) : '(none)'}; audience: ${audience.map(show).join(' ')}; client: ${show(info.client_id)}`,
          `issued ${out.issued_at}, expires ${out.expires_at}; jti ${show(info.jti)}`,
        ]
          .filter((l) => l !== undefined)
          .join('\n');
        return ok(text, out);
      }),
  );
}
