/**
 * How `baton-mcp` authenticates to the broker's endpoints as its client (RFC 6749 §2.3):
 * `client_secret_basic` (RFC 6749 §2.3.1, form-urlencoded before base64), or
 * `private_key_jwt` (RFC 7523 §2.2 / §3: `iss` = `sub` = client_id, `aud` the token
 * endpoint, `exp` one minute out, a fresh `jti` per request so none is ever replayed).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type ClientCredentials =
  | { method: 'client_secret_basic'; clientId: string; secret: string }
  | { method: 'private_key_jwt'; clientId: string; jwk: JWK };

/** What to add to one request: headers and form fields. */
export interface ClientAuth {
  headers: Record<string, string>;
  form: Record<string, string>;
}

const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');

/** The JWS algorithm for a private JWK: its `alg`, else the one its key type implies. */
export function assertionAlg(jwk: JWK): string {
  if (typeof jwk.alg === 'string') return jwk.alg;
  if (jwk.kty === 'EC')
    return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[jwk.crv ?? ''] ?? 'ES256';
  if (jwk.kty === 'OKP') return 'EdDSA';
  if (jwk.kty === 'RSA') return 'RS256';
  throw new TypeError(`unsupported key type ${String(jwk.kty)} for private_key_jwt`);
}

/** Builds the authentication for one request to `tokenEndpoint`'s server. */
export async function clientAuth(
  credentials: ClientCredentials,
  tokenEndpoint: string,
  now: number,
): Promise<ClientAuth> {
  if (credentials.method === 'client_secret_basic') {
    const pair = `${formEncode(credentials.clientId)}:${formEncode(credentials.secret)}`;
    return {
      headers: { authorization: `Basic ${Buffer.from(pair).toString('base64')}` },
      form: {},
    };
  }
  const { jwk, clientId } = credentials;
  const alg = assertionAlg(jwk);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg, ...(typeof jwk.kid === 'string' ? { kid: jwk.kid } : {}) })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenEndpoint)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .setJti(randomUUID())
    .sign(await importJWK(jwk, alg));
  return {
    headers: {},
    form: {
      client_id: clientId,
      client_assertion_type: JWT_BEARER_ASSERTION,
      client_assertion: assertion,
    },
  };
}
