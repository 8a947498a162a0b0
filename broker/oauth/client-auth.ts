/**
 * Client authentication at the token, introspection and revocation endpoints
 * (RFC 6749 §2.3, SPEC §3): `client_secret_basic`, `client_secret_post` or
 * `private_key_jwt` (RFC 7523 §3), whichever the client is registered for, one method
 * per request. Secrets are compared as SHA-256 digests with `timingSafeEqual`, and an
 * unknown client costs the same work as a wrong secret, with the same answer.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { ClientPolicy, Policy } from '../config/policy.js';
import type { Store } from '../store/store.js';
import { ASYMMETRIC_ALGS, MAX_TOKEN_LENGTH } from '../tokens/claims.js';
import { isCompactJws } from '../tokens/compact-jws.js';
import { remoteKeySet } from '../tokens/remote-keys.js';
import { InvalidClient, InvalidRequest } from './errors.js';
import { single, type Form } from './form.js';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** RFC 7523 §3: an assertion's `exp` must be "short"; Baton takes at most five minutes. */
const MAX_ASSERTION_LIFETIME = 300;
const DUMMY_DIGEST = Buffer.alloc(32);

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

function parseBasic(header: string): { id: string; secret: string } | undefined {
  const encoded = header.slice(6).trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return {
      id: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    };
  } catch {
    return undefined;
  }
}

export interface ClientAuthenticatorOptions {
  policy: Policy;
  store: Store;
  issuer: string;
  /** URLs accepted as a client assertion's `aud` besides the issuer. */
  tokenEndpoint: string;
  /**
   * SPEC §8: public MCP clients (client_id only, no secret), accepted at `publicEndpoints`
   * alone, and only when the request carries no other authentication. Policy clients
   * never authenticate this way.
   */
  publicClients?: {
    publicClient(clientId: string): Promise<ClientPolicy | undefined>;
    bearerClient(clientId: string): Promise<ClientPolicy | undefined>;
    /** An MCP client registered with a secret or keys: authenticated like a policy client. */
    confidentialClient(clientId: string): Promise<ClientPolicy | undefined>;
  };
  publicEndpoints?: ReadonlySet<string>;
}

export class ClientAuthenticator {
  readonly #keys = new Map<string, JWTVerifyGetKey>();

  constructor(readonly options: ClientAuthenticatorOptions) {
    for (const client of options.policy.clients.values()) {
      if (client.authMethod !== 'private_key_jwt') continue;
      const keys =
        client.jwks !== undefined
          ? createLocalJWKSet(client.jwks as Parameters<typeof createLocalJWKSet>[0])
          : remoteKeySet(client.jwksUri!, { allowInsecure: options.policy.allowInsecureKeyUrls });
      this.#keys.set(client.clientId, keys);
    }
  }

  /**
   * Authenticates the caller of an endpoint. `endpoint` is the full URL that was
   * called, also accepted as an assertion audience.
   */
  async authenticate(
    authorization: string | undefined,
    form: Form,
    now: number,
    endpoint: string,
  ): Promise<ClientPolicy> {
    // `Basic` alone (a header trimmed of its empty credentials) is still an attempt at Basic.
    const basic = authorization !== undefined && /^basic( |$)/i.test(authorization);
    const postSecret = single(form, 'client_secret');
    const assertion = single(form, 'client_assertion');
    const methods =
      Number(basic) + Number(postSecret !== undefined) + Number(assertion !== undefined);
    if (methods > 1) throw new InvalidRequest('use exactly one client authentication method');
    if (basic) return this.#basic(authorization, form, endpoint);
    if (postSecret !== undefined)
      return this.#secret(
        single(form, 'client_id'),
        postSecret,
        'client_secret_post',
        false,
        endpoint,
      );
    if (assertion !== undefined) return this.#assertion(assertion, form, now, endpoint);
    // Reached only without credentials, so the confidential clients' path costs nothing more.
    const publicClient = await this.#public(single(form, 'client_id'), endpoint);
    if (publicClient !== undefined) return publicClient;
    throw new InvalidClient('no client authentication', true);
  }

  async #public(clientId: string | undefined, endpoint: string): Promise<ClientPolicy | undefined> {
    const { publicClients, publicEndpoints, policy } = this.options;
    if (clientId === undefined || publicClients === undefined) return undefined;
    if (!publicEndpoints?.has(endpoint) || policy.clients.has(clientId)) return undefined;
    return publicClients.publicClient(clientId);
  }

  /**
   * The client acting behind a bearer token (at `/mcp`): a policy client, else an MCP
   * client the policy accepts (SPEC §8). The one place a caller is looked up by id.
   */
  async bearerClient(clientId: string): Promise<ClientPolicy | undefined> {
    const client = this.options.policy.clients.get(clientId);
    if (client !== undefined) return client;
    return this.options.publicClients?.bearerClient(clientId);
  }

  /**
   * The client `clientId` names for authentication with credentials: a policy client (a
   * map lookup, no await: the token endpoint's hot path), else, at the endpoints public
   * clients use, an MCP client registered with a secret or keys.
   */
  #credentialed(
    clientId: string | undefined,
    endpoint: string,
  ): ClientPolicy | Promise<ClientPolicy | undefined> | undefined {
    if (clientId === undefined) return undefined;
    const client = this.options.policy.clients.get(clientId);
    if (client !== undefined) return client;
    const { publicClients, publicEndpoints } = this.options;
    if (publicClients === undefined || !publicEndpoints?.has(endpoint)) return undefined;
    return publicClients.confidentialClient(clientId);
  }

  #basic(header: string, form: Form, endpoint: string): ClientPolicy | Promise<ClientPolicy> {
    const credentials = parseBasic(header);
    if (credentials === undefined) throw new InvalidClient('malformed Basic credentials', true);
    const bodyId = single(form, 'client_id');
    if (bodyId !== undefined && bodyId !== credentials.id) {
      throw new InvalidClient('client_id in the body differs from Basic', true);
    }
    return this.#secret(credentials.id, credentials.secret, 'client_secret_basic', true, endpoint);
  }

  /** Synchronous for a policy client, as before MCP registrations could hold secrets. */
  #secret(
    clientId: string | undefined,
    secret: string,
    method: 'client_secret_basic' | 'client_secret_post',
    basic: boolean,
    endpoint: string,
  ): ClientPolicy | Promise<ClientPolicy> {
    const found = this.#credentialed(clientId, endpoint);
    const check = (client: ClientPolicy | undefined): ClientPolicy => {
      // Same work for an unknown client as for a known one: no timing oracle on client ids.
      const expected = client?.secretSha256 ?? DUMMY_DIGEST;
      const matches = timingSafeEqual(sha256(secret), expected);
      if (client === undefined || client.secretSha256 === undefined || !matches) {
        throw new InvalidClient(client === undefined ? 'unknown client' : 'wrong secret', basic);
      }
      if (client.authMethod !== method)
        throw new InvalidClient(`client is registered for ${client.authMethod}`, basic);
      return client;
    };
    return found instanceof Promise ? found.then(check) : check(found);
  }

  async #assertion(
    assertion: string,
    form: Form,
    now: number,
    endpoint: string,
  ): Promise<ClientPolicy> {
    if (single(form, 'client_assertion_type') !== JWT_BEARER_ASSERTION) {
      throw new InvalidClient('client_assertion_type must be jwt-bearer');
    }
    if (assertion.length > MAX_TOKEN_LENGTH) throw new InvalidClient('client assertion too large');
    if (!isCompactJws(assertion))
      throw new InvalidClient('client assertion is not a canonical compact JWS');
    let claimed: unknown;
    try {
      claimed = decodeJwt(assertion).iss;
    } catch {
      throw new InvalidClient('client assertion is not a JWT');
    }
    const clientId = typeof claimed === 'string' ? claimed : undefined;
    const bodyId = single(form, 'client_id');
    if (bodyId !== undefined && bodyId !== clientId)
      throw new InvalidClient('client_id differs from the assertion');
    const client = await this.#credentialed(clientId, endpoint);
    const keys =
      client === undefined
        ? undefined
        : (this.#keys.get(client.clientId) ??
          // A registered MCP client's keys, as it registered them (never fetched).
          (client.authMethod === 'private_key_jwt' && client.jwks !== undefined
            ? createLocalJWKSet(client.jwks as Parameters<typeof createLocalJWKSet>[0])
            : undefined));
    if (client === undefined || keys === undefined)
      throw new InvalidClient('unknown client or not private_key_jwt');
    const { issuer, tokenEndpoint } = this.options;
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, keys, {
        algorithms: ASYMMETRIC_ALGS,
        issuer: client.clientId,
        subject: client.clientId,
        audience: [...new Set([issuer, tokenEndpoint, endpoint])],
        requiredClaims: ['exp', 'jti'],
        currentDate: new Date(now * 1000),
      }));
    } catch {
      throw new InvalidClient('client assertion did not verify');
    }
    const exp = payload.exp!;
    if (exp - now > MAX_ASSERTION_LIFETIME)
      throw new InvalidClient('client assertion lives too long');
    if (typeof payload.jti !== 'string' || payload.jti === '')
      throw new InvalidClient('client assertion has no jti');
    if (!(await this.options.store.useAssertionJti(client.clientId, payload.jti, exp, now))) {
      throw new InvalidClient('client assertion jti replayed');
    }
    return client;
  }
}
