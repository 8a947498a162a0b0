/**
 * Discovery: RFC 8414 authorization server metadata and the RFC 7517 JWKS. A client
 * that reads only the metadata document can use every endpoint Baton has.
 * @module
 */
import type { Hono } from 'hono';
import { AUTH_METHODS } from '../config/policy.js';
import type { BrokerDeps } from '../deps.js';
import { grants } from '../grants/index.js';
import { JWKS_MAX_AGE_SECONDS } from '../tokens/key-rules.js';
import { ASYMMETRIC_ALGS, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT } from '../tokens/claims.js';
import { endpointUrl, PATHS } from './urls.js';

const OPENID_CONFIGURATION = '/.well-known/openid-configuration';

export function metadataDocument(deps: BrokerDeps): Record<string, unknown> {
  const at = (path: string) => endpointUrl(deps.issuer, path);
  return {
    issuer: deps.issuer,
    token_endpoint: at(PATHS.token),
    jwks_uri: at(PATHS.jwks),
    introspection_endpoint: at(PATHS.introspection),
    revocation_endpoint: at(PATHS.revocation),
    // OpenID CIBA Core §4: poll mode only; no user codes.
    backchannel_authentication_endpoint: at(PATHS.backchannel),
    backchannel_token_delivery_modes_supported: ['poll'],
    backchannel_user_code_parameter_supported: false,
    grant_types_supported: [...grants.keys()],
    // SPEC §8: the authorization code grant for MCP clients (public: `none`).
    authorization_endpoint: at(PATHS.authorization),
    registration_endpoint: at(PATHS.registration),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    code_challenge_methods_supported: ['S256'],
    client_id_metadata_document_supported: true,
    authorization_response_iss_parameter_supported: true,
    token_endpoint_auth_methods_supported: [...AUTH_METHODS, 'none'],
    token_endpoint_auth_signing_alg_values_supported: ASYMMETRIC_ALGS,
    introspection_endpoint_auth_methods_supported: [...AUTH_METHODS],
    introspection_endpoint_auth_signing_alg_values_supported: ASYMMETRIC_ALGS,
    revocation_endpoint_auth_methods_supported: [...AUTH_METHODS, 'none'],
    revocation_endpoint_auth_signing_alg_values_supported: ASYMMETRIC_ALGS,
    scopes_supported: deps.policy.scopesSupported,
    // RFC 8693 token types Baton accepts and issues.
    token_types_supported: [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT],
    baton_audit_endpoint: at(PATHS.audit),
  };
}

export function mountDiscovery(app: Hono, deps: BrokerDeps): void {
  const metadata = JSON.stringify(metadataDocument(deps));
  const json = { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' };
  app.get(PATHS.metadata, (c) => c.body(metadata, 200, json));
  // The same document for clients that only know OpenID discovery (openid-client's
  // default): Baton issues no ID tokens, but every endpoint a client needs is listed.
  app.get(OPENID_CONFIGURATION, (c) => c.body(metadata, 200, json));
  // RFC 8414 §3.1: with a path in the issuer, the well-known suffix comes first.
  const issuerPath = new URL(deps.issuer).pathname.replace(/\/$/, '');
  if (issuerPath !== '')
    app.get(`${PATHS.metadata}${issuerPath}`, (c) => c.body(metadata, 200, json));
  // The published keys change with rotation (`tokens/key-rules.ts`), so the document is
  // read per request (from memory) and cached by clients for less than a new key waits
  // before it signs.
  app.get(PATHS.jwks, (c) =>
    c.body(deps.keyRing.jwksJson(), 200, {
      'Content-Type': 'application/jwk-set+json',
      'Cache-Control': `public, max-age=${JWKS_MAX_AGE_SECONDS}`,
    }),
  );
}
