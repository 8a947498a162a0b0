/**
 * An agent cancels its own pending CIBA request when it stops waiting (issue 10 point 7),
 * so no person is asked to decide what nobody will collect. CIBA has no cancel endpoint;
 * Baton takes the `auth_req_id` at the revocation endpoint (RFC 7009 lets a server accept
 * other kinds of token there), answering 200 whether or not anything was cancelled, as
 * for any token. Only the client that made the request can cancel it. A cancelled
 * request leaves the pending lists, refuses a late decision, and its poll answers
 * `expired_token` (grants/ciba.ts).
 * @module
 */
import type { BrokerDeps } from '../deps.js';

/** What `newAuthReqId` makes: 32 bytes, base64url. Anything else is not looked up. */
const AUTH_REQ_ID = /^[A-Za-z0-9_-]{43}$/;

/** Cancels `clientId`'s pending request `authReqId`, if that is what it is. */
export async function cancelIfOwnApproval(
  deps: BrokerDeps,
  clientId: string,
  authReqId: string,
  now: number,
): Promise<void> {
  if (AUTH_REQ_ID.test(authReqId)) await deps.store.cancelApproval(authReqId, clientId, now);
}
