/**
 * Agent-side reuse of exchanged tokens (issue 11 item 6): a tool that asks for the same
 * thing again (same caller, same subject token, same audiences, scopes and lifetime
 * request) gets the token it was given last time, until shortly before that token
 * expires, instead of paying a token exchange per call.
 *
 * What can go wrong with a cached token is that it was revoked since it was issued (it
 * or an ancestor: Baton cascades, SPEC §5). So:
 * - `revoke_token` through these tools clears the caller's whole cache at once, and a
 *   refusal of the subject token by the broker drops every entry derived from it;
 * - every hit is re-checked when the broker client can do it cheaply (`revokedAt`: the
 *   in-process client at `/mcp` reads the ledger row, one indexed read, no signing);
 * - otherwise (stdio, over HTTP) a hit is re-checked by introspection when it was last
 *   checked more than `recheckSeconds` ago. Between checks, a token revoked by another
 *   path (the console, another agent's RFC 7009 call) can be handed out again for at
 *   most that long; APIs that introspect refuse it anyway, and so does the broker when
 *   it is exchanged. That window is the trade-off for skipping a round trip per call.
 *
 * Keys are SHA-256 digests: the cache never keeps a subject token as a key, and callers
 * at `/mcp` (each with its own bearer token, so its own `caller` string) never share an
 * entry. The map is bounded; the least recently used entry goes first.
 *
 * It also remembers, per caller and bounded the same way, the tokens the tools handed
 * out by jti (`remember` / `recall`): a model reads only jtis (the token stays in
 * `structuredContent`), so it can name one of its tokens by jti where a tool takes a token.
 * @module
 */
import { createHash } from 'node:crypto';
import {
  BrokerRefused,
  type BrokerClient,
  type ExchangeParams,
  type TokenResponse,
} from './broker-client.js';
import { tokenFacts } from './chain.js';

export interface TokenCacheOptions {
  /** Most entries kept, across all callers. */
  maxEntries?: number;
  /** Unix seconds. */
  nowSeconds?: () => number;
  /** Without a cheap revocation check, how long a hit is trusted before it is introspected again. */
  recheckSeconds?: number;
}

interface Entry {
  /** Digests of the caller and of the subject token. */
  readonly caller: string;
  readonly subject: string;
  readonly response: TokenResponse;
  readonly jti: string;
  readonly exp: number;
  /** Past this, the entry is not handed out: a fresh exchange replaces it. */
  readonly refreshAt: number;
  checkedAt: number;
}

/** A token is re-exchanged when 30 s or a tenth of its life is left, whichever is more. */
export function refreshMargin(lifetimeSeconds: number): number {
  return Math.max(30, Math.ceil(lifetimeSeconds / 10));
}

const digest = (value: string) => createHash('sha256').update(value).digest('base64url');

/** Sorted and deduplicated, so "a b" and "b a" are one request. */
const asSet = (values: readonly string[]) => [...new Set(values)].sort();

/**
 * Refusals that mean the subject token itself is no good any more (revoked, expired,
 * unknown), or that the client is not who it says: whatever was cached from it goes.
 */
function subjectRefused(error: BrokerRefused): boolean {
  return (
    error.status === 401 ||
    error.error === 'invalid_client' ||
    /subject token|subject_token/i.test(error.errorDescription ?? '')
  );
}

export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  /** Exchanges under way, by key. */
  readonly #inflight = new Map<string, Promise<TokenResponse>>();
  /** Bumped by every forget, so an exchange that raced one is not kept. */
  #generation = 0;
  /** digest(caller, jti) → the token and its expiry, oldest first. */
  readonly #issued = new Map<string, { token: string; exp: number }>();
  readonly #max: number;
  readonly #now: () => number;
  readonly #recheck: number;

  constructor(options: TokenCacheOptions = {}) {
    this.#max = options.maxEntries ?? 256;
    this.#now = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
    this.#recheck = options.recheckSeconds ?? 30;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The token for `params`, from the cache when a standing one is there, else exchanged. */
  async exchange(
    broker: BrokerClient,
    caller: string,
    params: ExchangeParams,
  ): Promise<TokenResponse> {
    const subject = digest(params.subjectToken);
    const who = digest(caller);
    const key = digest(
      JSON.stringify([
        who,
        subject,
        asSet(params.audience),
        params.scope === undefined ? null : asSet(params.scope.split(' ')),
        params.expiresIn ?? null,
      ]),
    );
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      const standing = now < hit.refreshAt && (await this.#standing(broker, hit, now));
      // Unless a forget ran meanwhile: then it stays out.
      if (this.#entries.get(key) === hit) {
        this.#entries.delete(key);
        if (standing) this.#entries.set(key, hit); // most recently used goes last
      }
      if (standing) return { ...hit.response, expires_in: hit.exp - now };
    }
    // Identical requests at the same time share one exchange.
    const pending = this.#inflight.get(key);
    if (pending !== undefined) {
      const response = await pending;
      return { ...response, expires_in: Math.max(0, response.expires_in - (this.#now() - now)) };
    }
    const exchanged = this.#exchange(broker, key, who, subject, params, now);
    this.#inflight.set(key, exchanged);
    try {
      return await exchanged;
    } finally {
      this.#inflight.delete(key);
    }
  }

  async #exchange(
    broker: BrokerClient,
    key: string,
    who: string,
    subject: string,
    params: ExchangeParams,
    now: number,
  ): Promise<TokenResponse> {
    const generation = this.#generation;
    let response: TokenResponse;
    try {
      response = await broker.exchange(params);
    } catch (error) {
      if (error instanceof BrokerRefused && subjectRefused(error))
        this.forgetSubject(params.subjectToken);
      throw error;
    }
    // A revocation through the tools while this exchange ran: do not keep what it returned.
    if (generation !== this.#generation) return response;
    const facts = tokenFacts(response.access_token);
    const exp = facts.exp > 0 ? facts.exp : now + response.expires_in;
    this.#entries.set(key, {
      caller: who,
      subject,
      response,
      jti: facts.jti,
      exp,
      refreshAt: exp - refreshMargin(exp - now),
      checkedAt: now,
    });
    while (this.#entries.size > this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    return response;
  }

  /** Remembers a token the tools gave `caller`, so it can be named by its jti. */
  remember(caller: string, token: string): void {
    const { jti, exp } = tokenFacts(token);
    if (jti === '') return;
    const key = digest(JSON.stringify([digest(caller), jti]));
    this.#issued.delete(key);
    this.#issued.set(key, { token, exp });
    while (this.#issued.size > this.#max) this.#issued.delete(this.#issued.keys().next().value!);
  }

  /** A token the tools gave `caller` with this jti, while it has not expired. */
  recall(caller: string, jti: string): string | undefined {
    const key = digest(JSON.stringify([digest(caller), jti]));
    const kept = this.#issued.get(key);
    if (kept === undefined) return undefined;
    if (kept.exp > 0 && kept.exp <= this.#now()) {
      this.#issued.delete(key);
      return undefined;
    }
    return kept.token;
  }

  /** Drops every entry of `caller` (after it revoked something: simplest and safe). */
  forgetCaller(caller: string): void {
    this.#generation++;
    const who = digest(caller);
    for (const [key, e] of this.#entries) if (e.caller === who) this.#entries.delete(key);
  }

  /** Drops every entry exchanged from `subjectToken`. */
  forgetSubject(subjectToken: string): void {
    this.#generation++;
    const subject = digest(subjectToken);
    for (const [key, e] of this.#entries) if (e.subject === subject) this.#entries.delete(key);
  }

  /** Drops the entry holding `token`, if any (e.g. introspection found it inactive). */
  forgetToken(token: string): void {
    this.#generation++;
    for (const [key, e] of this.#entries)
      if (e.response.access_token === token) this.#entries.delete(key);
  }

  /** Whether a cached token still stands: a ledger read when cheap, else introspection now and then. */
  async #standing(broker: BrokerClient, entry: Entry, now: number): Promise<boolean> {
    if (broker.revokedAt !== undefined) {
      const at = await broker.revokedAt(entry.jti);
      return at === null;
    }
    if (now - entry.checkedAt < this.#recheck) return true;
    const info = await broker.introspect(entry.response.access_token);
    if (!info.active) return false;
    entry.checkedAt = now;
    return true;
  }
}
