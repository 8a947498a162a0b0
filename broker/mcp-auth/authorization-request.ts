/**
 * An authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2, RFC 9207),
 * checked the same way at `GET /authorize`, on the consent page and when the person
 * answers, so nothing a browser carries between them is trusted.
 *
 * Order matters (RFC 6749 §4.1.2.1): the client and its `redirect_uri` are checked first,
 * and while either is in doubt the person sees an error page, never a redirect, so
 * Baton is never an open redirector. Once the redirect is known good, every other
 * problem goes back to the client there with `error`, `error_description` (§5.2-safe),
 * `state` and `iss`.
 *
 * Rules: `response_type=code`; PKCE `code_challenge` with `code_challenge_method=S256`
 * (plain is refused, and so is a missing method); `resource` is required and must be
 * `${issuer}/mcp`, the one protected resource Baton has (SPEC §8: the token's `aud` is
 * bound to it); `scope` is optional (default: every scope `mcp_clients` allows) and must
 * lie within `mcp_clients.scopes`; `state` is optional, up to 1024 characters. No
 * parameter may be sent twice.
 * @module
 */
import type { BrokerDeps } from '../deps.js';
import { MCP_RESOURCE_PATH } from '../endpoints/urls.js';
import { inputList, wireText } from '../text/show.js';
import { isRefusal, resolveMcpClient, type McpClient } from './clients.js';
import { mcpClientsPolicy } from './mcp-clients-policy.js';
import { matchesRegistered, MAX_REDIRECT_URI_CHARS } from './redirect-uri.js';

export const AUTHORIZATION_PARAMS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'code_challenge',
  'code_challenge_method',
  'state',
  'resource',
  'scope',
] as const;
type ParamName = (typeof AUTHORIZATION_PARAMS)[number];
export type RawParams = Partial<Record<ParamName, string[]>>;

const MAX_STATE_CHARS = 1024;
const MAX_PARAM_CHARS = 4096;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export interface AuthorizationRequest {
  client: McpClient;
  redirectUri: string;
  codeChallenge: string;
  resource: string;
  /** Requested scopes, de-duplicated, in the order asked. */
  scopes: string[];
  state: string | undefined;
}

export type Checked =
  | { ok: AuthorizationRequest }
  /** Shown to the person; nothing goes back to the client. */
  | { page: string }
  /** Sent back to the client's (checked) redirect URI. */
  | { redirect: string };

/** The redirect back to the client, with RFC 9207 `iss` and the `state` it sent. */
export function redirectBack(
  deps: BrokerDeps,
  redirectUri: string,
  state: string | undefined,
  params: Record<string, string>,
): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (state !== undefined) url.searchParams.set('state', state);
  url.searchParams.set('iss', deps.issuer);
  return url.href;
}

/** The only resource an MCP client's token may be for. */
export function mcpResource(deps: BrokerDeps): string {
  return `${deps.issuer}${MCP_RESOURCE_PATH}`;
}

export async function checkAuthorizationRequest(
  deps: BrokerDeps,
  raw: RawParams,
): Promise<Checked> {
  const one = (name: ParamName): string | undefined => raw[name]?.[0];
  const clientId = one('client_id');
  if (clientId === undefined || clientId === '') return { page: 'The request names no client.' };
  if ((raw.client_id?.length ?? 0) > 1 || clientId.length > MAX_PARAM_CHARS)
    return { page: 'The request names its client more than once, or at too great a length.' };
  const client = await resolveMcpClient(deps, clientId);
  if (isRefusal(client))
    return { page: `The application that sent you here is not accepted: ${client.refused}.` };
  const redirectUri = one('redirect_uri');
  if (
    redirectUri === undefined ||
    (raw.redirect_uri?.length ?? 0) > 1 ||
    redirectUri.length > MAX_REDIRECT_URI_CHARS ||
    !matchesRegistered(redirectUri, client.redirectUris)
  ) {
    return {
      page: 'The application asked to send you back to an address it has not registered, so Baton will not send you there.',
    };
  }

  const state = one('state');
  const fail = (error: string, description: string): Checked => ({
    redirect: redirectBack(deps, redirectUri, state?.slice(0, MAX_STATE_CHARS), {
      error,
      error_description: wireText(description),
    }),
  });
  for (const name of AUTHORIZATION_PARAMS) {
    if ((raw[name]?.length ?? 0) > 1) return fail('invalid_request', `${name} was sent twice`);
    if ((one(name)?.length ?? 0) > MAX_PARAM_CHARS)
      return fail('invalid_request', `${name} is too long`);
  }
  if (state !== undefined && state.length > MAX_STATE_CHARS)
    return fail('invalid_request', `state must be at most ${MAX_STATE_CHARS} characters`);
  const responseType = one('response_type');
  if (responseType === undefined) return fail('invalid_request', 'response_type is required');
  if (responseType !== 'code')
    return fail('unsupported_response_type', 'only response_type=code is supported');
  const challenge = one('code_challenge');
  if (challenge === undefined)
    return fail('invalid_request', 'code_challenge is required (PKCE, RFC 7636)');
  const method = one('code_challenge_method');
  if (method !== 'S256')
    return fail('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
  if (!S256_CHALLENGE.test(challenge))
    return fail('invalid_request', 'code_challenge is not an S256 challenge');
  const resource = one('resource');
  if (resource === undefined) return fail('invalid_target', 'resource is required (RFC 8707)');
  if (resource !== mcpResource(deps))
    return fail('invalid_target', `resource must be ${mcpResource(deps)}`);
  const allowed = mcpClientsPolicy(deps.policy).scopes;
  const asked = one('scope');
  const scopes =
    asked === undefined
      ? [...allowed]
      : [...new Set(asked.split(' ').filter((s) => s !== ''))].slice(0, 65);
  const outside = scopes.filter((s) => !allowed.includes(s));
  if (outside.length > 0)
    return fail('invalid_scope', `scope not allowed for MCP clients: ${inputList(outside)}`);
  if (scopes.length === 0) return fail('invalid_scope', 'no scope to ask for');
  return {
    ok: {
      client,
      redirectUri,
      codeChallenge: challenge,
      resource,
      scopes,
      state,
    },
  };
}

/** The request's parameters as a query string (for the hop to the consent page). */
export function toQuery(raw: RawParams): string {
  const q = new URLSearchParams();
  for (const name of AUTHORIZATION_PARAMS)
    for (const v of raw[name]?.slice(0, 2) ?? []) q.append(name, v);
  return q.toString();
}

/** The recognised parameters from a query or form (repeats kept, so they can be refused). */
export function rawParams(get: (name: string) => readonly string[] | undefined): RawParams {
  const raw: RawParams = {};
  for (const name of AUTHORIZATION_PARAMS) {
    const v = get(name);
    if (v !== undefined && v.length > 0) raw[name] = [...v];
  }
  return raw;
}
