/**
 * The operator's secret (`BATON_ADMIN_TOKEN`) and other shared secrets, compared one way
 * everywhere: both sides hashed to SHA-256 first, so `timingSafeEqual` sees equal lengths
 * and the comparison takes the same time whatever was presented. The audit API, `/metrics`
 * and the console's operator sign-in all check the admin bearer through here.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { BearerError } from './errors.js';

/** Whether `presented` equals `expected`, in constant time; never when `expected` is unset. */
export function secretsEqual(presented: string, expected: string | undefined): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256')
    .update(expected ?? '')
    .digest();
  return timingSafeEqual(a, b) && expected !== undefined;
}

/**
 * RFC 6750 bearer check against the admin token: 401 without a challenge error when no
 * bearer was sent (§3.1, with `missing` as the description), `invalid_token` when it is
 * wrong; `realm` names the resource in the challenge.
 */
export function requireAdminBearer(
  c: Context,
  adminToken: string | undefined,
  missing: string,
  realm: string,
): void {
  const header = c.req.header('authorization');
  const challenge = { realm };
  if (header === undefined || !/^bearer /i.test(header)) {
    throw new BearerError('invalid_request', 401, missing, challenge, true);
  }
  if (!secretsEqual(header.slice(7).trim(), adminToken)) {
    throw new BearerError('invalid_token', 401, 'the admin bearer token is not valid', challenge);
  }
}
