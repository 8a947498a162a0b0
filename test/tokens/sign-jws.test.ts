/**
 * Baton signs its tokens with Node's crypto.sign (`broker/tokens/sign-jws.ts`), not jose:
 * what it makes must be a JWS that jose (and so every standard verifier) accepts with the
 * public JWK, in the one canonical spelling, with the raw R‖S signature JWS requires
 * (RFC 7518 §3.4), and one that fails when a byte changes.
 */
import { createPrivateKey } from 'node:crypto';
import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { isCompactJws } from '../../broker/tokens/compact-jws.js';
import { signCompactJws } from '../../broker/tokens/sign-jws.js';

async function keyPair() {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const { d: _d, ...publicJwk } = jwk;
  return {
    signingKey: createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }),
    publicKey: await importJWK({ ...publicJwk, alg: 'ES256' }, 'ES256'),
  };
}

const claims = {
  iss: 'http://127.0.0.1:8787',
  sub: 'alice',
  aud: 'https://api.example',
  exp: Math.floor(Date.now() / 1000) + 300,
  iat: Math.floor(Date.now() / 1000),
  jti: 'f7d1c9a2-0000-4000-8000-000000000001',
  client_id: 'agent-a',
  scope: 'trips:read flights:book',
  act: { sub: 'agent-b', act: { sub: 'agent-a' } },
  note: 'ünïcödé ✓',
};

describe('signCompactJws', () => {
  it('makes an ES256 JWS that jose verifies with the public key, header and claims intact', async () => {
    const { signingKey, publicKey } = await keyPair();
    const token = await signCompactJws(
      { alg: 'ES256', typ: 'at+jwt', kid: 'k1' },
      claims,
      signingKey,
    );
    expect(isCompactJws(token)).toBe(true);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' });
    const { payload } = await jwtVerify(token, publicKey, {
      algorithms: ['ES256'],
      typ: 'at+jwt',
      issuer: claims.iss,
      audience: claims.aud,
    });
    expect(payload).toEqual(claims);
    // RFC 7518 §3.4: R ‖ S, 32 bytes each, not a DER sequence.
    expect(Buffer.from(token.split('.')[2]!, 'base64url')).toHaveLength(64);
  });

  it('makes a signature that fails once the claims or the key differ', async () => {
    const { signingKey, publicKey } = await keyPair();
    const other = await keyPair();
    const token = await signCompactJws(
      { alg: 'ES256', typ: 'at+jwt', kid: 'k1' },
      claims,
      signingKey,
    );
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url')}.${s}`;
    await expect(jwtVerify(forged, publicKey, { algorithms: ['ES256'] })).rejects.toThrow();
    await expect(jwtVerify(token, other.publicKey, { algorithms: ['ES256'] })).rejects.toThrow();
  });
});
