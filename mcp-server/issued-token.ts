/**
 * The result of a tool that obtained a token (get_task_token, delegate_to_agent,
 * request_approval): the token itself plus what it says (who for, acting through whom,
 * scope, audience, lifetime), as `outputSchema` and as a line a model can read.
 *
 * The token goes only into `structuredContent`, never into the text: the text is what a
 * model reads and a transcript keeps, and a bearer token there is a credential anyone
 * with the transcript can use. The caller's code reads `access_token` from the
 * structured result; a model refers to the token by its jti.
 * @module
 */
import { z } from 'zod';
import type { TokenResponse } from './broker-client.js';
import { describeChain, isoTime, tokenFacts } from './chain.js';

export const IssuedTokenShape = {
  access_token: z
    .string()
    .describe('The new token; send it as "Authorization: Bearer <token>" to its audience.'),
  token_type: z.string().describe('Always "Bearer".'),
  expires_in: z.number().describe('Seconds until it expires.'),
  expires_at: z.string().describe('When it expires (ISO 8601, UTC).'),
  scope: z.string().describe('Space-separated scopes it carries.'),
  audience: z.array(z.string()).describe('Who accepts it.'),
  sub: z.string().describe('The person (or client) it acts for.'),
  actors: z.array(z.string()).describe('The act chain, current actor first.'),
  act: z.looseObject({ sub: z.string() }).optional().describe('The raw RFC 8693 act claim.'),
  jti: z.string().describe('Its id in the ledger (for audit_chain).'),
};

export type IssuedToken = z.infer<z.ZodObject<typeof IssuedTokenShape>>;

export function issuedToken(response: TokenResponse): IssuedToken {
  const facts = tokenFacts(response.access_token);
  return {
    access_token: response.access_token,
    token_type: response.token_type,
    expires_in: response.expires_in,
    expires_at: isoTime(facts.exp),
    scope: response.scope,
    audience: facts.audience,
    sub: facts.sub,
    actors: facts.actors,
    ...(facts.act === undefined ? {} : { act: facts.act }),
    jti: facts.jti,
  };
}

/** What the token is, for a model: who, scope, audience, expiry and jti; never the token. */
export function describeIssued(what: string, t: IssuedToken): string {
  return [
    `${what}: ${describeChain(t.sub, t.actors)}.`,
    `scope: ${t.scope || '(none)'}; audience: ${t.audience.join(' ')}; expires in ${t.expires_in} s (${t.expires_at}); jti ${t.jti}.`,
    'The token itself is in the structured result (access_token), not in this text.',
  ].join('\n');
}
