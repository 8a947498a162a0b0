/**
 * Baton's signing keys: ES256, created on first start and persisted in the store, so a
 * restart reuses them and every broker on one database shares them. A `KeyRing` holds
 * them in memory; the hot path never touches storage for keys. `refresh()` re-reads the
 * store (the broker's timer, `key-refresh.ts`, calls it every few seconds) and swaps the
 * in-memory set in one assignment. Which key signs and which are published depends on
 * the time (`key-rules.ts`), so both are worked out from the in-memory set on each use.
 * @module
 */
import { createPrivateKey, type JsonWebKey as NodeJwk, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Store, StoredSigningKey } from '../store/store.js';
import { fastKeysOf, type FastKey } from './fast-verify.js';
import {
  DEFAULT_KEY_RULES,
  newestFirst,
  publishedKeys,
  signingKeyOf,
  type KeyRules,
} from './key-rules.js';

export const SIGNING_ALG = 'ES256';

/** The key a token is signed with: its kid and private key, read together. */
export interface Signer {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** The same private key as Node's `KeyObject`, for `sign-jws.ts` (built once per key). */
  readonly signingKey: KeyObject;
}

interface LoadedKey {
  readonly kid: string;
  readonly createdAt: number;
  readonly retiredAt: number | null;
  readonly publicJwk: JWK;
  readonly publicKey: CryptoKey;
  readonly privateKey: CryptoKey;
  readonly signingKey: KeyObject;
}

/**
 * Makes a new key pair and adds it to the store; returns the stored row. Its `createdAt`
 * is later than every stored key's, even within one second of the last one, since the
 * order of creation decides which key signs (keys of one second would otherwise be
 * ordered by kid).
 */
export async function createSigningKey(store: Store, now: number): Promise<StoredSigningKey> {
  const newest = newestFirst(await store.signingKeys())[0];
  const createdAt = newest === undefined ? now : Math.max(now, newest.createdAt + 1);
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const { d: _d, ...publicJwk } = privateJwk;
  const kid = await calculateJwkThumbprint(publicJwk);
  const key: StoredSigningKey = {
    kid,
    alg: SIGNING_ALG,
    privateJwk: JSON.stringify({ ...privateJwk, kid, alg: SIGNING_ALG }),
    publicJwk: JSON.stringify({ ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' }),
    createdAt,
    retiredAt: null,
  };
  await store.addSigningKey(key);
  return key;
}

async function loadKey(stored: StoredSigningKey): Promise<LoadedKey> {
  const publicJwk = JSON.parse(stored.publicJwk) as JWK;
  const privateJwk = JSON.parse(stored.privateJwk) as JWK;
  return Object.freeze({
    kid: stored.kid,
    createdAt: stored.createdAt,
    retiredAt: stored.retiredAt,
    publicJwk,
    publicKey: (await importJWK(publicJwk, stored.alg)) as CryptoKey,
    privateKey: (await importJWK(privateJwk, stored.alg)) as CryptoKey,
    signingKey: createPrivateKey({ key: privateJwk as NodeJwk, format: 'jwk' }),
  });
}

export class KeyRing {
  /** Newest first; replaced whole by `refresh()`, never changed in place. */
  #keys: readonly LoadedKey[] = [];
  #publicKeys: ReadonlyMap<string, CryptoKey> = new Map();
  #fastKeys: ReadonlyMap<string, FastKey> = new Map();
  #jwks: { kids: string; json: string; doc: { keys: JWK[] } } | undefined;
  #refreshing: Promise<string[]> | undefined;

  constructor(
    readonly store: Store,
    readonly now: () => number,
    readonly rules: KeyRules,
  ) {}

  /** The key to sign with now. Read it once per token: kid and key always match. */
  get signer(): Signer {
    return signingKeyOf(this.#keys, this.now(), this.rules);
  }

  get kid(): string {
    return this.signer.kid;
  }

  get privateKey(): CryptoKey {
    return this.signer.privateKey;
  }

  /** Every key this broker knows, by kid, for verifying Baton's own tokens. */
  get publicKeys(): ReadonlyMap<string, CryptoKey> {
    return this.#publicKeys;
  }

  /** The same keys as `publicKeys`, for `fast-verify.ts` (each bound to ES256). */
  get fastKeys(): ReadonlyMap<string, FastKey> {
    return this.#fastKeys;
  }

  /** The keys as stored, newest first (for the rotation schedule). */
  get keys(): readonly Pick<StoredSigningKey, 'kid' | 'createdAt' | 'retiredAt'>[] {
    return this.#keys;
  }

  /** The public JWKS document (RFC 7517) as published now. */
  get jwks(): { keys: JWK[] } {
    return this.#published().doc;
  }

  /** `jwks` as JSON, built again only when the published set changes. */
  jwksJson(): string {
    return this.#published().json;
  }

  #published(): { kids: string; json: string; doc: { keys: JWK[] } } {
    const keys = publishedKeys(this.#keys, this.now(), this.rules);
    const kids = keys.map((k) => k.kid).join(' ');
    if (this.#jwks?.kids !== kids) {
      const doc = { keys: keys.map((k) => k.publicJwk) };
      this.#jwks = { kids, json: JSON.stringify(doc), doc };
    }
    return this.#jwks;
  }

  /**
   * Re-reads the keys from the store and swaps them in; resolves to the kids that were
   * new to this broker. Keys already loaded are not imported again. Calls made while one
   * is running share it.
   */
  refresh(): Promise<string[]> {
    this.#refreshing ??= this.#reload().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #reload(): Promise<string[]> {
    const stored = newestFirst(await this.store.signingKeys());
    const known = new Map(this.#keys.map((k) => [k.kid, k]));
    const added: string[] = [];
    const keys: LoadedKey[] = [];
    for (const s of stored) {
      const old = known.get(s.kid);
      if (old !== undefined && old.retiredAt === s.retiredAt) {
        keys.push(old);
      } else {
        keys.push(await loadKey(s));
        if (old === undefined) added.push(s.kid);
      }
    }
    if (keys.length === 0) throw new Error('the store holds no signing key');
    this.#keys = Object.freeze(keys);
    this.#publicKeys = new Map(keys.map((k) => [k.kid, k.publicKey]));
    this.#fastKeys = fastKeysOf({ keys: keys.map((k) => k.publicJwk) });
    return added;
  }
}

/** Loads the keys, creating the first one when the store has none. */
export async function loadKeyRing(
  store: Store,
  now: () => number,
  rules: KeyRules = DEFAULT_KEY_RULES,
): Promise<KeyRing> {
  if ((await store.signingKeys()).length === 0) await createSigningKey(store, now());
  const ring = new KeyRing(store, now, rules);
  await ring.refresh();
  return ring;
}
