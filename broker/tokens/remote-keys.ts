/**
 * A key set fetched from a `jwks_uri` in the policy (a trusted issuer's, or a
 * private_key_jwt client's): jose's remote JWKS (cached, refetched for an unknown `kid`
 * at most once per cooldown, with a timeout), fetched through `safeFetch`, so the answer
 * is capped in size and the URL must be https on a public address unless the policy's
 * development switch (`development.allow_insecure_key_urls`) says otherwise.
 * @module
 */
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import { safeFetch } from '../net/safe-fetch.js';

/** A key set is a few keys; 256 KB is far more than any real one and bounds what one answer costs. */
export const MAX_KEY_SET_BYTES = 256 * 1024;

export interface RemoteKeyOptions {
  /** Development only: http, and private or loopback addresses. */
  allowInsecure: boolean;
}

/** A jose key resolver over the key set at `uri`. */
export function remoteKeySet(uri: string, options: RemoteKeyOptions): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(uri), {
    timeoutDuration: 5_000,
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
    [customFetch]: (url, init) =>
      safeFetch(url, {
        maxBytes: MAX_KEY_SET_BYTES,
        allowInsecure: options.allowInsecure,
        signal: init.signal,
        headers: init.headers,
      }),
  });
}
