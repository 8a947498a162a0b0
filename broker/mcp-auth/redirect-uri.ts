/**
 * Redirect URIs of MCP clients (RFC 6749 §3.1.2, RFC 8252 §7, OAuth 2.1): which may be
 * registered, and whether a requested one matches a registered one. Pure functions.
 *
 * Registrable: an absolute `https` URL; an `http` URL on a loopback address
 * (`127.0.0.1`, `[::1]`, `localhost`) for a native app's local listener; or a
 * private-use scheme (RFC 8252 §7.1: a scheme with a `.`, such as
 * `com.example.app:/callback`). Never a fragment, never user info.
 *
 * Matching is exact, character for character, except that a loopback `http` redirect
 * matches on any port (RFC 8252 §7.3: the app picks a free port when it runs).
 * @module
 */

export const MAX_REDIRECT_URI_CHARS = 2048;
export const MAX_REDIRECT_URIS = 10;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
/** RFC 8252 §7.1: reverse-domain private-use schemes (at least one dot). */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

function parse(uri: string): URL | undefined {
  if (uri.length > MAX_REDIRECT_URI_CHARS || !URL.canParse(uri)) return undefined;
  return new URL(uri);
}

function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/** Why `uri` cannot be registered as a redirect, or undefined when it can. */
export function redirectUriProblem(uri: string): string | undefined {
  const url = parse(uri);
  if (url === undefined) return 'must be an absolute URI of at most 2048 characters';
  if (uri.includes('#')) return 'must not have a fragment';
  if (url.username !== '' || url.password !== '') return 'must not carry user info';
  if (url.protocol === 'https:') return url.hostname === '' ? 'must name a host' : undefined;
  if (url.protocol === 'http:')
    return isLoopbackHttp(url)
      ? undefined
      : 'http is allowed only on a loopback address (127.0.0.1, [::1], localhost)';
  if (PRIVATE_USE_SCHEME.test(url.protocol)) return undefined;
  return 'must be https, http on a loopback address, or a private-use scheme like com.example.app:';
}

/** The loopback form of a redirect with its port removed, for RFC 8252 §7.3 matching. */
function withoutPort(url: URL): string {
  const copy = new URL(url.href);
  copy.port = '';
  return copy.href;
}

/** Whether `requested` is one of `registered` (exactly, or a loopback http on any port). */
export function matchesRegistered(requested: string, registered: readonly string[]): boolean {
  if (registered.includes(requested)) return true;
  const url = parse(requested);
  if (url === undefined || !isLoopbackHttp(url) || requested.includes('#')) return false;
  const bare = withoutPort(url);
  return registered.some((r) => {
    const candidate = parse(r);
    return candidate !== undefined && isLoopbackHttp(candidate) && withoutPort(candidate) === bare;
  });
}
