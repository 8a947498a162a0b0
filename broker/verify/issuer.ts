/**
 * What the verifier asks of Baton over the network: its RFC 8414 metadata (once, to find
 * `jwks_uri` and `introspection_endpoint`), its JWKS (jose's remote key set: cached,
 * refetched when a token names an unknown `kid`, as after a key rotation, at most once
 * per cooldown) and, when
 * enabled, RFC 7662 introspection. Every call has a timeout, and the metadata and keys
 * are read through `safeFetch` with a size cap, so a misbehaving answer cannot take the
 * API's memory (the addresses are the operator's choice, often loopback, so they are
 * not restricted). A failure here is Baton
 * being unreachable or misconfigured, not a bad token, so it becomes a 503
 * `temporarily_unavailable` refusal, never a 401 and never a crash.
 * @module
 */
import { createRemoteJWKSet, customFetch, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import { safeFetch } from '../net/safe-fetch.js';
import { unavailable } from './refusal.js';

const METADATA_SUFFIX = '/.well-known/oauth-authorization-server';
/** Baton's metadata and JWKS are a few KB; anything past this is not Baton's answer. */
const MAX_DOCUMENT_BYTES = 256 * 1024;

export interface IssuerClientOptions {
  issuer: string;
  /** Skips discovery for the keys when given. */
  jwksUri: string | undefined;
  /** Skips discovery for introspection when given. */
  introspectionEndpoint: string | undefined;
  timeoutMs: number;
  /** The least time between two JWKS fetches for an unknown `kid`. */
  jwksCooldownMs: number;
}

interface Metadata {
  jwksUri: string;
  introspectionEndpoint: string | undefined;
}

/** RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path. */
export function metadataUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  return `${url.origin}${METADATA_SUFFIX}${path}`;
}

/** `application/x-www-form-urlencoded` for one value (RFC 6749 §2.3.1 Basic credentials). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

export class IssuerClient {
  #metadata: Promise<Metadata> | undefined;
  #keys: JWTVerifyGetKey | undefined;

  constructor(readonly options: IssuerClientOptions) {
    if (options.jwksUri !== undefined) this.#keys = this.#remoteKeys(options.jwksUri);
  }

  /**
   * A jose key resolver over Baton's JWKS. A token naming a key Baton does not publish
   * stays jose's `JWKSNoMatchingKey` (a bad token); any other failure to get the keys
   * is a 503 refusal.
   */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    this.#keys ??= this.#remoteKeys((await this.#discover()).jwksUri);
    try {
      return await this.#keys(header, token);
    } catch (error) {
      if (
        error instanceof joseErrors.JWKSNoMatchingKey ||
        error instanceof joseErrors.JWKSMultipleMatchingKeys
      )
        throw error;
      throw unavailable(`the signing keys of ${this.options.issuer} could not be fetched`);
    }
  };

  /**
   * RFC 7662: whether Baton still holds the token active (not revoked, not expired).
   * Authenticates with HTTP Basic (`client_secret_basic`).
   */
  async isActive(
    token: string,
    client: { clientId: string; clientSecret: string },
  ): Promise<boolean> {
    const endpoint =
      this.options.introspectionEndpoint ?? (await this.#discover()).introspectionEndpoint;
    if (endpoint === undefined)
      throw unavailable(`${this.options.issuer} publishes no introspection_endpoint`);
    const credentials = btoa(`${formEncode(client.clientId)}:${formEncode(client.clientSecret)}`);
    let body: unknown;
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: {
          authorization: `Basic ${credentials}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      });
      // A 401 here means this API's own credentials are wrong: Baton's problem to report, not the caller's.
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      body = await res.json();
    } catch {
      throw unavailable(`the token could not be checked with ${this.options.issuer}`);
    }
    if (
      typeof body !== 'object' ||
      body === null ||
      typeof (body as { active?: unknown }).active !== 'boolean'
    ) {
      throw unavailable(`the introspection answer of ${this.options.issuer} is malformed`);
    }
    return (body as { active: boolean }).active;
  }

  #remoteKeys(jwksUri: string): JWTVerifyGetKey {
    return createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: this.options.timeoutMs,
      cooldownDuration: this.options.jwksCooldownMs,
      cacheMaxAge: 10 * 60_000,
      [customFetch]: (url, init) =>
        safeFetch(url, {
          maxBytes: MAX_DOCUMENT_BYTES,
          allowInsecure: true,
          signal: init.signal,
          headers: init.headers,
        }),
    });
  }

  /** Fetches the metadata once; a failure is not cached, so the next request tries again. */
  #discover(): Promise<Metadata> {
    this.#metadata ??= this.#fetchMetadata().catch((error: unknown) => {
      this.#metadata = undefined;
      throw error;
    });
    return this.#metadata;
  }

  async #fetchMetadata(): Promise<Metadata> {
    const { issuer, timeoutMs } = this.options;
    let doc: unknown;
    try {
      const res = await safeFetch(metadataUrl(issuer), {
        maxBytes: MAX_DOCUMENT_BYTES,
        allowInsecure: true,
        signal: AbortSignal.timeout(timeoutMs),
        headers: { accept: 'application/json' },
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      doc = await res.json();
    } catch {
      throw unavailable(`the metadata of ${issuer} could not be fetched`);
    }
    const {
      issuer: stated,
      jwks_uri: jwksUri,
      introspection_endpoint: introspection,
    } = (doc ?? {}) as Record<string, unknown>;
    // RFC 8414 §3.3: the document must name the issuer it was fetched for.
    if (stated !== issuer) throw unavailable(`the metadata of ${issuer} names another issuer`);
    if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri))
      throw unavailable(`the metadata of ${issuer} has no valid jwks_uri`);
    return {
      jwksUri,
      introspectionEndpoint:
        typeof introspection === 'string' && URL.canParse(introspection)
          ? introspection
          : undefined,
    };
  }
}
