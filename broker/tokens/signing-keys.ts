/**
 * Baton's signing keys: ES256, created on first start and persisted in the store, so a
 * restart reuses them. Loaded once into a `KeyRing`; the hot path never touches storage
 * for keys. Every stored key stays in the JWKS (retired keys too, while tokens they
 * signed can still live).
 * @module
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Store } from '../store/store.js';

export const SIGNING_ALG = 'ES256';

export interface KeyRing {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** The public JWKS document (RFC 7517), ready to serve. */
  readonly jwks: { keys: JWK[] };
  /** Public keys by kid, for verifying Baton's own tokens. */
  readonly publicKeys: ReadonlyMap<string, CryptoKey>;
}

async function createKey(store: Store, now: number): Promise<void> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const { d: _d, ...publicJwk } = privateJwk;
  const kid = await calculateJwkThumbprint(publicJwk);
  await store.addSigningKey({
    kid,
    alg: SIGNING_ALG,
    privateJwk: JSON.stringify({ ...privateJwk, kid, alg: SIGNING_ALG }),
    publicJwk: JSON.stringify({ ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' }),
    createdAt: now,
    retiredAt: null,
  });
}

/** Loads the keys, creating the first one when the store has none. */
export async function loadKeyRing(store: Store, now: number): Promise<KeyRing> {
  let stored = await store.signingKeys();
  if (stored.length === 0) {
    await createKey(store, now);
    stored = await store.signingKeys();
  }
  const active = stored.find((k) => k.retiredAt === null) ?? stored[0]!;
  const publicJwks = stored.map((k) => JSON.parse(k.publicJwk) as JWK);
  const publicKeys = new Map<string, CryptoKey>();
  for (const jwk of publicJwks) {
    publicKeys.set(jwk.kid!, (await importJWK(jwk, jwk.alg ?? SIGNING_ALG)) as CryptoKey);
  }
  return Object.freeze({
    kid: active.kid,
    privateKey: (await importJWK(JSON.parse(active.privateJwk), active.alg)) as CryptoKey,
    jwks: { keys: publicJwks },
    publicKeys,
  });
}
