/**
 * Input fields several tools share, each with a `.describe()` a model can act on.
 * @module
 */
import { z } from 'zod';
import {
  MAX_REPEATED_VALUE_CHARS,
  MAX_REPEATED_VALUES,
  MAX_SCOPE_CHARS,
} from '../../broker/oauth/limits.js';

/** Baton's tokens are at most 16 KB (broker/tokens/claims.ts). */
const MAX_TOKEN = 16 * 1024;

export const Token = z.string().min(1).max(MAX_TOKEN);

export const Scope = z
  .string()
  .max(MAX_SCOPE_CHARS)
  .optional()
  .describe(
    'Space-separated scopes the task needs, e.g. "flights:book". Ask for the fewest. Omit to get every scope your token and your policy share.',
  );

export const Lifetime = z
  .number()
  .int()
  .min(1)
  .max(86_400)
  .optional()
  .describe(
    'How long the new token should live, in seconds (e.g. 300). Omit for the broker default; it never outlives the token it comes from.',
  );

export const SubjectToken = Token.optional().describe(
  'The token to exchange, e.g. a hand-off token another agent gave you. Omit to use your own token.',
);

/** A jti as Baton writes them (UUIDs); the same bound audit_chain applies. */
export const Jti = z
  .string()
  .regex(/^[A-Za-z0-9._~-]{1,200}$/, 'must be a jti as these tools report it');

export const SubjectJti = Jti.optional().describe(
  'Instead of subject_token: the jti of a token these tools gave you earlier (e.g. from request_approval or delegate_to_agent).',
);

/** Exactly one of a token or the jti of one: the model reads jtis, never tokens. */
export const TokenOrJti = {
  token: Token.optional().describe('The token (a JWT from Baton). Give this or jti.'),
  jti: Jti.optional().describe(
    'The jti of a token these tools gave you (as their results show it). Give this or token.',
  ),
};

/** A blank scope means "not given". */
export function normalizeScope(scope: string | undefined): string | undefined {
  const trimmed = scope?.trim().split(/\s+/).join(' ');
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** One audience value: the broker's own caps (`broker/oauth/limits.ts`), so a tool refuses what Baton would. */
export const Audience = z.string().min(1).max(MAX_REPEATED_VALUE_CHARS);
/** One audience or a list of them, at most as many as Baton reads. */
export const Audiences = z.union([Audience, z.array(Audience).min(1).max(MAX_REPEATED_VALUES)]);
