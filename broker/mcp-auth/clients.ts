/**
 * Who an MCP client is (SPEC §8), and what it may do as a client of the broker.
 *
 * - `resolveMcpClient`: a `client_id` that is an https URL is a Client ID Metadata
 *   Document (`cimd.ts` fetches it); one that starts with `mcp_` is a dynamic
 *   registration (`register.ts`). Policy (`mcp_clients`) says whether either is accepted.
 * - `McpClientDirectory`: MCP clients as *policy clients*, derived from `mcp_clients`, so
 *   the token endpoint and `/mcp` treat them like any other client without a second code
 *   path. A public client at `/token` or `/revoke` (client_id only, no secret) may use
 *   the authorization code and refresh token grants and nothing else; so may a
 *   registration that asked for credentials (`confidentialClient`), but only after it
 *   authenticates with them like a policy client (its bare client_id is refused); behind a bearer
 *   token at `/mcp` it may exchange tokens (token exchange only), for the scopes and
 *   audiences of `mcp_clients`. A policy client id is never taken as an MCP client.
 * @module
 */
import type { ClientPolicy, Policy } from '../config/policy.js';
import type { McpRegisteredClient } from '../store/mcp-auth-store.js';
import type { Store } from '../store/store.js';
import { GRANT_TOKEN_EXCHANGE } from '../tokens/claims.js';
import { CimdError, fetchClientMetadataDocument, isClientIdUrl } from './cimd.js';
import {
  acceptsDynamicRegistration,
  acceptsMetadataDocument,
  mcpClientsPolicy,
} from './mcp-clients-policy.js';

export const GRANT_AUTHORIZATION_CODE = 'authorization_code';
export const GRANT_REFRESH_TOKEN = 'refresh_token';
/** Dynamic registrations start with this, so they never collide with a URL or a policy id. */
export const REGISTERED_PREFIX = 'mcp_';
/** A registration not used for a consent in this long is no longer live (see README). */
export const REGISTRATION_IDLE_SECONDS = 90 * 86_400;

export interface McpClient {
  clientId: string;
  /** As the client wrote it: show it only through `forPage`. */
  name: string | undefined;
  redirectUris: readonly string[];
  kind: 'registered' | 'metadata-document';
}

/** Why a client_id is not an MCP client Baton accepts: safe to show a person. */
export interface McpClientRefusal {
  refused: string;
}

interface DirectoryOptions {
  policy: Policy;
  store: Store;
  now: () => number;
}

export async function resolveMcpClient(
  options: DirectoryOptions,
  clientId: string,
  signal?: AbortSignal,
): Promise<McpClient | McpClientRefusal> {
  const { policy, store } = options;
  const mcp = mcpClientsPolicy(policy);
  if (policy.clients.has(clientId))
    return { refused: 'this client is configured in the policy file and cannot sign people in' };
  if (isClientIdUrl(clientId)) {
    if (!acceptsMetadataDocument(mcp, clientId))
      return { refused: 'this broker does not accept that client' };
    try {
      const doc = await fetchClientMetadataDocument(clientId, {
        allowInsecure: policy.allowInsecureKeyUrls,
        ...(signal === undefined ? {} : { signal }),
      });
      return {
        clientId,
        name: doc.client_name,
        redirectUris: doc.redirect_uris,
        kind: 'metadata-document',
      };
    } catch (error) {
      if (error instanceof CimdError) return { refused: error.reason };
      throw error;
    }
  }
  if (clientId.startsWith(REGISTERED_PREFIX)) {
    if (!acceptsDynamicRegistration(mcp))
      return { refused: 'this broker does not accept registered clients' };
    const row = await store.getMcpClient(clientId, options.now() - REGISTRATION_IDLE_SECONDS);
    if (row === undefined) return { refused: 'unknown client' };
    return {
      clientId,
      name: row.clientName ?? undefined,
      redirectUris: row.redirectUris,
      kind: 'registered',
    };
  }
  return { refused: 'unknown client' };
}

export function isRefusal(r: McpClient | McpClientRefusal): r is McpClientRefusal {
  return 'refused' in r;
}

export class McpClientDirectory {
  constructor(readonly options: DirectoryOptions) {}

  /**
   * Whether `clientId` names an MCP client the policy still accepts (no fetch). At the
   * token endpoint a metadata-document client must also hold a consent (a code or a live
   * refresh family): anyone can make up a URL, and each would cost a rate-limit bucket.
   */
  async #accepted(
    clientId: string,
    holdsConsent: boolean,
  ): Promise<{ registration: McpRegisteredClient | undefined } | undefined> {
    const { policy, store, now } = this.options;
    if (policy.clients.has(clientId)) return undefined;
    const mcp = mcpClientsPolicy(policy);
    if (isClientIdUrl(clientId))
      return acceptsMetadataDocument(mcp, clientId) &&
        (!holdsConsent || (await store.mcpClientHasConsent(clientId, now())))
        ? { registration: undefined }
        : undefined;
    if (!clientId.startsWith(REGISTERED_PREFIX) || !acceptsDynamicRegistration(mcp))
      return undefined;
    const registration = await store.getMcpClient(clientId, now() - REGISTRATION_IDLE_SECONDS);
    return registration === undefined ? undefined : { registration };
  }

  #derive(
    clientId: string,
    grantTypes: readonly string[],
    registration?: McpRegisteredClient,
  ): ClientPolicy {
    const { policy } = this.options;
    const mcp = mcpClientsPolicy(policy);
    const authMethod = registration?.authMethod ?? 'none';
    return Object.freeze({
      clientId,
      secretSha256:
        registration?.secretSha256 == null
          ? undefined
          : Buffer.from(registration.secretSha256, 'hex'),
      // RFC 7591 `none` is a public client: no method of the policy file authenticates
      // it, so it can never pass as a confidential client.
      authMethod: authMethod as ClientPolicy['authMethod'],
      jwks:
        registration?.jwks == null
          ? undefined
          : (JSON.parse(registration.jwks) as ClientPolicy['jwks']),
      jwksUri: undefined,
      grantTypes: new Set(grantTypes),
      scopes: mcp.scopes,
      audiences: new Set(mcp.audiences),
      maxTtlSeconds: policy.maxTtlSeconds,
    });
  }

  /** A public client at the token or revocation endpoint (client_id in the body, no secret). */
  async publicClient(clientId: string): Promise<ClientPolicy | undefined> {
    const accepted = await this.#accepted(clientId, true);
    // A registration with credentials must use them.
    if (accepted === undefined || (accepted.registration?.authMethod ?? 'none') !== 'none')
      return undefined;
    return this.#derive(clientId, [GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN]);
  }

  /**
   * A registration that asked for credentials (a secret or keys), for the token or
   * revocation endpoint to authenticate like a policy client. Undefined for anything else.
   */
  async confidentialClient(clientId: string): Promise<ClientPolicy | undefined> {
    const registration = (await this.#accepted(clientId, false))?.registration;
    if (registration === undefined || registration.authMethod === 'none') return undefined;
    return this.#derive(clientId, [GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN], registration);
  }

  /** The MCP client acting at `/mcp` with a bearer token: its tools exchange that token. */
  async bearerClient(clientId: string): Promise<ClientPolicy | undefined> {
    // The bearer token itself shows the client was given a consent.
    if ((await this.#accepted(clientId, false)) === undefined) return undefined;
    return this.#derive(clientId, [GRANT_TOKEN_EXCHANGE]);
  }
}
