/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): an MCP
 * client names itself by an https URL as its `client_id`, and Baton fetches the JSON
 * document at that URL to learn its name and redirect URIs.
 *
 * The URL is the client's to choose, so fetching it is a request the broker makes on a
 * stranger's behalf. It goes through `net/safe-fetch.ts` (https only, no private,
 * loopback or link-local address, no redirects, the body capped while it streams) with
 * a short timeout and a small cap, and every answer, good or bad, is cached for a while
 * so a client cannot make the broker fetch the same URL over and over. The policy's
 * `development.allow_insecure_key_urls` also allows http and loopback CIMD URLs, for a
 * client served on a developer's machine.
 *
 * A failure is a `CimdError` whose `reason` is one of a few fixed sentences: nothing of
 * the fetched body (or of the URL's host) is ever echoed to whoever asked.
 * @module
 */
import { z } from 'zod';
import { safeFetch, UnsafeFetch } from '../net/safe-fetch.js';

/** The fields of a Client ID Metadata Document that Baton uses. */
export interface ClientMetadataDocument {
  client_id: string;
  client_name?: string;
  redirect_uris: string[];
  client_uri?: string;
  logo_uri?: string;
  token_endpoint_auth_method?: string;
}

/** Why a client metadata document was refused; `reason` is safe to show a client. */
export class CimdError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CimdError';
  }
}

/** A metadata document is a few hundred bytes; 16 KB bounds what one answer costs. */
export const MAX_CIMD_BYTES = 16 * 1024;
export const CIMD_TIMEOUT_MS = 5_000;
/** Cache bounds: a good document is kept `max-age` within these, a failure `FAILURE_TTL`. */
export const MIN_CACHE_SECONDS = 60;
export const MAX_CACHE_SECONDS = 86_400;
const DEFAULT_CACHE_SECONDS = 300;
const FAILURE_CACHE_SECONDS = 30;
/** Most URLs remembered at once; the oldest entry goes first. */
export const MAX_CACHE_ENTRIES = 1_000;
/** Longest client_id URL taken (the draft sets none; 2 KB is any real one). */
export const MAX_CLIENT_ID_URL_CHARS = 2_048;

/**
 * Whether `clientId` is meant as a metadata document URL (rather than an id from
 * dynamic registration, which never contains `://`).
 */
export function isClientIdUrl(clientId: string): boolean {
  return clientId.startsWith('https://') || clientId.startsWith('http://');
}

/**
 * The draft's rules for a client_id URL (§3): https, a path, no fragment, no
 * credentials, no `.` or `..` segments. http only when `allowInsecure`. Returns the
 * problem as a sentence (naming nothing of the URL), or undefined.
 */
export function clientIdUrlProblem(url: string, allowInsecure: boolean): string | undefined {
  if (url.length > MAX_CLIENT_ID_URL_CHARS)
    return `must be at most ${MAX_CLIENT_ID_URL_CHARS} characters`;
  if (!URL.canParse(url)) return 'is not a URL';
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && !(allowInsecure && parsed.protocol === 'http:'))
    return 'must be an https URL (http only with development.allow_insecure_key_urls)';
  if (url.includes('#')) return 'must not have a fragment';
  if (parsed.username !== '' || parsed.password !== '')
    return 'must not contain a user name or password';
  // The raw text, not the parsed one: URL() resolves dot segments away.
  const rawPath = url
    .slice(url.indexOf('//') + 2)
    .replace(/^[^/?]*/, '')
    .replace(/\?.*$/, '');
  if (rawPath === '' || rawPath === '/') return 'must have a path';
  if (rawPath.split('/').some((s) => /^(\.|%2e){1,2}$/i.test(s)))
    return 'must not contain . or .. path segments';
  // Every character must already be in the form URL() would write, so the string a
  // client sends and the one its document holds can be compared exactly.
  if (parsed.href !== url) return 'is not in canonical form';
  return undefined;
}

const AbsoluteUri = z
  .string()
  .max(MAX_CLIENT_ID_URL_CHARS)
  .refine((u) => URL.canParse(u) && !u.includes('#'));

const DocumentSchema = z.looseObject({
  client_id: z.string(),
  client_name: z.string().max(200).optional(),
  redirect_uris: z.array(AbsoluteUri).min(1).max(20),
  client_uri: AbsoluteUri.optional(),
  logo_uri: AbsoluteUri.optional(),
  token_endpoint_auth_method: z.string().max(100).optional(),
});

const REASON = {
  badUrl: 'the client_id is not an acceptable client metadata document URL',
  privateAddress: 'the client metadata document URL is not on a public address',
  tooLarge: `the client metadata document is larger than ${MAX_CIMD_BYTES / 1024} KB`,
  timeout: 'the client metadata document did not arrive in time',
  redirect: 'the client metadata document URL answered with a redirect, which is not followed',
  status: 'the client metadata document URL did not answer 200',
  unreachable: 'the client metadata document could not be fetched',
  notJson: 'the client metadata document is not a JSON object',
  mismatch: 'the client metadata document names a different client_id than its URL',
  invalid: 'the client metadata document lacks valid redirect_uris or has a malformed field',
  secret: 'a client metadata document must not carry a client secret',
  abandoned: 'the request for the client metadata document was abandoned',
  authMethod:
    'only public clients (token_endpoint_auth_method none) are supported for client metadata documents',
} as const;

interface CacheEntry {
  readonly until: number;
  readonly result: Promise<ClientMetadataDocument>;
}

/** Keyed by URL and the development switch; a `Map` keeps insertion order for eviction. */
const cache = new Map<string, CacheEntry>();

/** Forgets every cached document (tests, and a policy reload). */
export function clearClientMetadataCache(): void {
  cache.clear();
}

export interface CimdFetchOptions {
  /** `development.allow_insecure_key_urls`: http, and private or loopback addresses. */
  allowInsecure: boolean;
  /** This caller giving up; the fetch others share goes on (it has its own timeout). */
  signal?: AbortSignal;
  /** Milliseconds since the epoch; the cache's clock. */
  now?: () => number;
}

/**
 * The metadata document at `url`, from the cache when it is fresh. Rejects with
 * `CimdError` for a refused URL, a failed fetch or a document that breaks the rules; the
 * failure is cached too (for `FAILURE_CACHE_SECONDS`).
 */
export function fetchClientMetadataDocument(
  url: string,
  opts: CimdFetchOptions,
): Promise<ClientMetadataDocument> {
  const now = opts.now ?? Date.now;
  const key = `${opts.allowInsecure ? 'insecure' : 'strict'} ${url}`;
  const hit = cache.get(key);
  if (hit !== undefined && hit.until > now()) return abandonable(hit.result, opts.signal);
  if (hit !== undefined) cache.delete(key);

  // The fetch itself answers only to its timeout: one caller giving up (a closed
  // browser tab) neither fails the others waiting on it nor leaves a failure cached.
  const fetched = fetchAndCheck(url, opts.allowInsecure);
  // Concurrent callers share the one fetch; its outcome then decides how long it stays.
  const result = fetched.then((r) => r.document);
  remember(key, { until: now() + CIMD_TIMEOUT_MS, result });
  fetched.then(
    (r) => remember(key, { until: now() + r.maxAgeSeconds * 1000, result }),
    () => remember(key, { until: now() + FAILURE_CACHE_SECONDS * 1000, result }),
  );
  return abandonable(result, opts.signal);
}

/** `result`, or a `CimdError` as soon as the caller's `signal` aborts. */
function abandonable<T>(result: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return result;
  if (signal.aborted) return Promise.reject(new CimdError(REASON.abandoned));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CimdError(REASON.abandoned));
    signal.addEventListener('abort', onAbort, { once: true });
    result.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

function remember(key: string, entry: CacheEntry): void {
  cache.delete(key);
  if (cache.size >= MAX_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, entry);
}

async function fetchAndCheck(
  url: string,
  allowInsecure: boolean,
): Promise<{ document: ClientMetadataDocument; maxAgeSeconds: number }> {
  if (clientIdUrlProblem(url, allowInsecure) !== undefined) throw new CimdError(REASON.badUrl);
  const timeout = AbortSignal.timeout(CIMD_TIMEOUT_MS);
  let res: Response;
  let body: string;
  try {
    res = await safeFetch(url, {
      maxBytes: MAX_CIMD_BYTES,
      allowInsecure,
      signal: timeout,
      headers: { accept: 'application/json' },
    });
    body = await res.text();
  } catch (error) {
    throw new CimdError(fetchFailureReason(error, timeout));
  }
  if (res.status >= 300 && res.status < 400) throw new CimdError(REASON.redirect);
  if (res.status !== 200) throw new CimdError(REASON.status);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new CimdError(REASON.notJson);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CimdError(REASON.notJson);
  if ('client_secret' in json || 'client_secret_expires_at' in json)
    throw new CimdError(REASON.secret);
  const parsed = DocumentSchema.safeParse(json);
  if (!parsed.success) {
    const idOk = typeof (json as { client_id?: unknown }).client_id === 'string';
    throw new CimdError(idOk ? REASON.invalid : REASON.mismatch);
  }
  const d = parsed.data;
  // §4.1: the document's client_id is exactly the URL it was fetched from.
  if (d.client_id !== url) throw new CimdError(REASON.mismatch);
  if (d.token_endpoint_auth_method !== undefined && d.token_endpoint_auth_method !== 'none')
    throw new CimdError(REASON.authMethod);
  const document: ClientMetadataDocument = {
    client_id: d.client_id,
    redirect_uris: d.redirect_uris,
    ...(d.client_name === undefined ? {} : { client_name: d.client_name }),
    ...(d.client_uri === undefined ? {} : { client_uri: d.client_uri }),
    ...(d.logo_uri === undefined ? {} : { logo_uri: d.logo_uri }),
    ...(d.token_endpoint_auth_method === undefined
      ? {}
      : { token_endpoint_auth_method: d.token_endpoint_auth_method }),
  };
  return { document, maxAgeSeconds: cacheSeconds(res.headers.get('cache-control')) };
}

/** `max-age` from Cache-Control, held within [MIN, MAX]; `no-store` still caches the minimum. */
function cacheSeconds(cacheControl: string | null): number {
  const match = /(?:^|[,\s])max-age=(\d{1,10})(?:$|[,\s])/i.exec(cacheControl ?? '');
  const asked = match === null ? DEFAULT_CACHE_SECONDS : Number(match[1]);
  return Math.min(MAX_CACHE_SECONDS, Math.max(MIN_CACHE_SECONDS, asked));
}

function fetchFailureReason(error: unknown, timeout: AbortSignal): string {
  if (timeout.aborted) return REASON.timeout;
  if (error instanceof UnsafeFetch) {
    if (/larger than|declares/.test(error.message)) return REASON.tooLarge;
    if (/public address/.test(error.message)) return REASON.privateAddress;
    if (/URLs are not fetched/.test(error.message)) return REASON.badUrl;
  }
  return REASON.unreachable;
}
