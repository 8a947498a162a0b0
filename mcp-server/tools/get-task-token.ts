/**
 * `get_task_token` (SPEC §7): exchanges the agent's token (or one it was handed) for a
 * token scoped to one task: the audience it will call, the fewest scopes, a short life
 * (RFC 8693 §2.1; `lifetime_seconds` goes out as Baton's `expires_in` extension).
 * @module
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { describeIssued, issuedToken, IssuedTokenShape } from '../issued-token.js';
import { guard, ok } from '../results.js';
import type { ToolDeps } from '../tool-deps.js';
import { exchangeForTask, namedToken } from './exchange.js';
import { Audiences, Lifetime, Scope, SubjectJti, SubjectToken, normalizeScope } from './fields.js';

export function registerGetTaskTokenTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'get_task_token',
    {
      title: 'Get a task token',
      description:
        'Exchange your token for a new one limited to one task: the API (audience) you are about to call, the scopes the task needs and a short lifetime. ' +
        'Your code sends the result (structuredContent.access_token) as "Authorization: Bearer <token>" to that API. Scopes and audiences can only narrow; if Baton refuses, the error lists what you may ask for. ' +
        'Asking again for the same thing returns the same token until shortly before it expires.',
      inputSchema: {
        audience: Audiences.describe(
          'The API the token is for, as its URL (e.g. "https://api.airline.example"), or a list of them. Must be on your allow-list.',
        ),
        scope: Scope,
        lifetime_seconds: Lifetime,
        subject_token: SubjectToken,
        subject_jti: SubjectJti,
      },
      outputSchema: IssuedTokenShape,
      annotations: {
        title: 'Get a task token',
        readOnlyHint: false,
        destructiveHint: false,
        openWorldHint: false,
      },
    },
    (args) =>
      guard('issue a task token', deps.broker, async () => {
        const token = issuedToken(
          await exchangeForTask(deps, {
            subjectToken: await namedToken(deps, args.subject_token, args.subject_jti),
            audience: typeof args.audience === 'string' ? [args.audience] : args.audience,
            scope: normalizeScope(args.scope),
            expiresIn: args.lifetime_seconds,
          }),
        );
        return ok(describeIssued('Task token', token), token);
      }),
  );
}
