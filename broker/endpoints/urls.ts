/**
 * Where each endpoint lives, relative to the issuer (RFC 8414 §3). One table, so the
 * routes and the metadata document can never disagree.
 * @module
 */
export const PATHS = {
  metadata: '/.well-known/oauth-authorization-server',
  jwks: '/jwks',
  token: '/token',
  introspection: '/introspect',
  revocation: '/revoke',
  audit: '/audit/tokens',
  /** OpenID CIBA §7: the backchannel authentication endpoint. */
  backchannel: '/bc-authorize',
  /** SPEC §8: MCP authorization (RFC 6749 §4.1, RFC 7591). */
  authorization: '/authorize',
  registration: '/register',
} as const;

/** The one protected resource: the MCP endpoint (an MCP client's token has it as `aud`). */
export const MCP_RESOURCE_PATH = '/mcp';

export function endpointUrl(issuer: string, path: string): string {
  return `${issuer}${path}`;
}

/** Headers on every token, introspection and error response (RFC 6749 §5.1). */
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;
