/**
 * Input fields several tools share, each with a `.describe()` a model can act on.
 * @module
 */
import { z } from 'zod';

/** Baton's tokens are at most 16 KB (broker/tokens/claims.ts). */
const MAX_TOKEN = 16 * 1024;

export const Token = z.string().min(1).max(MAX_TOKEN);

export const Scope = z
  .string()
  .max(2000)
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
  .describe('How long the new token should live, in seconds (e.g. 300). Omit for the broker default; it never outlives the token it comes from.');

export const SubjectToken = Token.optional().describe(
  'The token to exchange, e.g. a hand-off token another agent gave you. Omit to use your own token.',
);

/** A blank scope means "not given". */
export function normalizeScope(scope: string | undefined): string | undefined {
  const trimmed = scope?.trim().split(/\s+/).join(' ');
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
