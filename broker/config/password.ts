/**
 * Slow password hashes for the policy's users (SPEC §2), with Node's built-in scrypt
 * (RFC 7914). Format: `scrypt$N$r$p$<salt b64url>$<hash b64url>`, so the cost travels
 * with the hash and can be raised later without breaking old entries.
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const PATTERN = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;
const DEFAULT_COST = { N: 1 << 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
const MAX_MEMORY = 256 * 1024 * 1024;

function scryptAsync(
  password: string,
  salt: Buffer,
  length: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, length, { ...options, maxmem: MAX_MEMORY }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export function isPasswordHash(value: string): boolean {
  const m = PATTERN.exec(value);
  if (!m) return false;
  const N = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (!(N >= 1024 && Number.isInteger(Math.log2(N)) && r >= 1 && p >= 1)) return false;
  // Only parameters verifyPassword can run: OpenSSL needs 128·r·(N + 2 + p) bytes and N < 2^(16·r).
  return 128 * r * (N + 2 + p) <= MAX_MEMORY && (16 * r >= 64 || N < 2 ** (16 * r));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, KEY_LENGTH, DEFAULT_COST);
  const { N, r, p } = DEFAULT_COST;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Constant-time check of a password against a stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = PATTERN.exec(stored);
  if (!m || !isPasswordHash(stored)) return false;
  const expected = Buffer.from(m[5]!, 'base64url');
  const key = await scryptAsync(password, Buffer.from(m[4]!, 'base64url'), expected.length, {
    N: Number(m[1]),
    r: Number(m[2]),
    p: Number(m[3]),
  });
  return timingSafeEqual(key, expected);
}
