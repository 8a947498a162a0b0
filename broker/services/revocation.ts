/**
 * Revocation as a service (RFC 7009 §2.1, SPEC §5): a token and everything exchanged
 * from it, when the caller takes part in the token. The revocation endpoint and the MCP
 * `revoke_token` tool call it.
 * @module
 */
import { cancelIfOwnApproval } from '../approvals/cancel.js';
import type { BrokerDeps } from '../deps.js';
import { isRefreshTokenShape, secretHash } from '../mcp-auth/secrets.js';
import { isInvolved } from '../tokens/act.js';

/**
 * Revokes `token` and its descendants when `clientId` is its client or one of its
 * actors; does nothing otherwise (the caller cannot tell which happened).
 */
export async function revokeIfInvolved(
  deps: BrokerDeps,
  clientId: string,
  token: string,
  now: number,
): Promise<void> {
  let target;
  try {
    target = await deps.verifier.verifyOwn(token, now);
  } catch {
    // SPEC §8: an MCP client's refresh token ends its whole family (and its access tokens).
    if (isRefreshTokenShape(token)) {
      await deps.store.revokeRefreshFamily(secretHash(token), clientId, now);
      return;
    }
    // Not one of our tokens: perhaps the client's own auth_req_id, cancelled this way.
    await cancelIfOwnApproval(deps, clientId, token, now);
    return;
  }
  if (isInvolved(clientId, target)) await deps.store.revokeCascade(target.jti!, now);
}
