/** SPEC §2: `password_hash` is a slow hash (scrypt), never a password in clear. */
import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPassword, isPasswordHash, verifyPassword } from '../../broker/config/password.js';

const HASH_FORMAT = /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/;
const SALT = 'DcadO1QLDwRQ1N90bHCF5Q';
const KEY = 'uON62YlXAeJkXMDqD_o-TU8j4N-wfNG25ZT2Z8Cmck4';
const hashWith = (
  N: number | string,
  r: number | string,
  p: number | string,
  salt = SALT,
  key = KEY,
) => `scrypt$${N}$${r}$${p}$${salt}$${key}`;

describe('hashPassword and verifyPassword', () => {
  it('hashes to scrypt$N$r$p$salt$hash with the default cost, and the hash verifies', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(HASH_FORMAT.test(stored)).toBe(true);
    expect(isPasswordHash(stored)).toBe(true);
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
  });

  it('does not verify a wrong password', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(await verifyPassword('correct horse battery stapler', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('salts each hash, so the same password hashes differently', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    expect(a === b).toBe(false);
    expect([await verifyPassword('same', a), await verifyPassword('same', b)]).toEqual([
      true,
      true,
    ]);
  });

  it('reads the cost from the stored hash, not from the current default', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync('low-cost', salt, 32, { N: 1024, r: 1, p: 1 });
    const stored = hashWith(1024, 1, 1, salt.toString('base64url'), key.toString('base64url'));
    expect(await verifyPassword('low-cost', stored)).toBe(true);
    expect(await verifyPassword('other', stored)).toBe(false);
  });

  it('does not verify against a tampered hash', async () => {
    const stored = await hashPassword('pw');
    const parts = stored.split('$');
    const key = Buffer.from(parts[5] ?? '', 'base64url');
    key[0] = (key[0] ?? 0) ^ 1;
    parts[5] = key.toString('base64url');
    expect(await verifyPassword('pw', parts.join('$'))).toBe(false);
  });

  it('answers false, without throwing, for a stored value that is not a hash', async () => {
    expect(await verifyPassword('pw', 'pw')).toBe(false);
    expect(await verifyPassword('pw', '')).toBe(false);
  });

  it('answers false, without throwing, for a hash whose cost scrypt cannot run', async () => {
    // 128 · r · N = 1 GiB, over the memory scrypt is allowed.
    await expect(verifyPassword('pw', hashWith(1 << 20, 8, 1))).resolves.toBe(false);
  });
});

describe('isPasswordHash', () => {
  it('accepts a well-formed scrypt hash', () => {
    expect(isPasswordHash(hashWith(32768, 8, 1))).toBe(true);
    expect(isPasswordHash(hashWith(1024, 1, 1))).toBe(true);
  });

  it('refuses a clear password and other hash formats', () => {
    expect(isPasswordHash('')).toBe(false);
    expect(isPasswordHash('alice-password')).toBe(false);
    expect(isPasswordHash('$2b$12$KIXQJ6nQ9bH3m5l8y0ZfE.3mS6JfQx4lqGx0a6Wn2yHq6z1n1e3bC')).toBe(
      false,
    );
    expect(isPasswordHash(`$argon2id$v=19$m=65536,t=3,p=4$${SALT}$${KEY}`)).toBe(false);
    expect(isPasswordHash(`bcrypt$32768$8$1$${SALT}$${KEY}`)).toBe(false);
  });

  it('refuses a cost N below 1024 or not a power of two', () => {
    expect(isPasswordHash(hashWith(512, 8, 1))).toBe(false);
    expect(isPasswordHash(hashWith(30000, 8, 1))).toBe(false);
  });

  it('refuses r or p of zero', () => {
    expect(isPasswordHash(hashWith(32768, 0, 1))).toBe(false);
    expect(isPasswordHash(hashWith(32768, 8, 0))).toBe(false);
  });

  it('refuses a missing or short salt or hash', () => {
    expect(isPasswordHash(hashWith(32768, 8, 1, 'short'))).toBe(false);
    expect(isPasswordHash(hashWith(32768, 8, 1, SALT, KEY.slice(0, 20)))).toBe(false);
    expect(isPasswordHash(`scrypt$32768$8$1$${SALT}`)).toBe(false);
  });

  it('refuses characters outside base64url in salt or hash', () => {
    expect(isPasswordHash(hashWith(32768, 8, 1, `${SALT.slice(1)}+`))).toBe(false);
    expect(isPasswordHash(hashWith(32768, 8, 1, SALT, `${KEY.slice(1)}/`))).toBe(false);
  });

  it('refuses a cost that needs more memory than verification may use', () => {
    expect(isPasswordHash(hashWith(1 << 20, 8, 1))).toBe(false);
    expect(isPasswordHash(hashWith(2 ** 40, 8, 1))).toBe(false);
    expect(isPasswordHash(hashWith(1024, 1, 1 << 21))).toBe(false);
  });

  it('refuses N at or above 2^(16·r), which scrypt rejects', () => {
    expect(isPasswordHash(hashWith(1 << 16, 1, 1))).toBe(false);
    expect(isPasswordHash(hashWith(1 << 15, 1, 1))).toBe(true);
  });
});
