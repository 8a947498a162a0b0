/**
 * When a signing key is used and when it is published (SPEC §3 jwks, §9). Pure: every
 * function takes the keys and `now` (Unix seconds) and touches no storage or clock.
 *
 * A new key is published at once but signs only once it is `use_after_seconds` old
 * (default 40 s). That wait is what lets every party see the key before any token names
 * it: other brokers re-read the keys every `refresh_seconds` (5 s), `/jwks` may be
 * cached for `JWKS_MAX_AGE_SECONDS` (30 s), and a verifier refetches a key set for an
 * unknown `kid` at most once per 30 s (jose's default cooldown, and `baton/verify`'s).
 * 5 + 30 + 5 s of margin for clocks = 40 s. The only exception is a store whose keys are
 * all younger than that (a first start): the oldest then signs, as there is nothing else.
 *
 * A key stops signing when its successor (the next newer key) starts; a token it signed
 * then lives at most `max_ttl_seconds`, so the key stays in the JWKS until
 * `successor.createdAt + use_after + max_ttl + CLOCK_SKEW_SECONDS` and leaves it after.
 * @module
 */
import { z } from 'zod';
import type { StoredSigningKey } from '../store/store.js';

const DAY = 86_400;

/** How far brokers' and verifiers' clocks may disagree, in seconds. */
export const CLOCK_SKEW_SECONDS = 60;

/** `Cache-Control: max-age` of `/jwks`: shorter than `use_after_seconds` on purpose. */
export const JWKS_MAX_AGE_SECONDS = 30;

/** The policy file's `keys` section; every field has a default and rotation is off. */
export const KeysSchema = z
  .strictObject({
    /** A broker adds a key by itself when the newest is this many days old; 0: never. */
    rotate_every_days: z.number().int().min(0).max(3650).default(0),
    /** A key signs once it is this old (see the module header for the 40 s default). */
    use_after_seconds: z.number().int().min(0).max(3600).default(40),
    /** How often each broker re-reads the keys from the store. */
    refresh_seconds: z.number().int().min(1).max(300).default(5),
  })
  // A key used before every broker has re-read the store could sign tokens that a
  // broker which has not yet seen it cannot verify.
  .refine((k) => k.use_after_seconds >= k.refresh_seconds, {
    message: 'use_after_seconds must be at least refresh_seconds',
    path: ['use_after_seconds'],
  });

export const DEFAULT_KEYS_FILE: z.output<typeof KeysSchema> = {
  rotate_every_days: 0,
  use_after_seconds: 40,
  refresh_seconds: 5,
};

/** Signing-key timing, from the policy's `keys` and `tokens.max_ttl_seconds`. */
export interface KeyRules {
  /** 0 when rotation is left to `npx baton rotate-key`. */
  readonly rotateEveryDays: number;
  readonly useAfterSeconds: number;
  readonly refreshSeconds: number;
  /** The longest a token may live (`tokens.max_ttl_seconds`). */
  readonly maxTtlSeconds: number;
}

export function toKeyRules(k: z.output<typeof KeysSchema>, maxTtlSeconds: number): KeyRules {
  return Object.freeze({
    rotateEveryDays: k.rotate_every_days,
    useAfterSeconds: k.use_after_seconds,
    refreshSeconds: k.refresh_seconds,
    maxTtlSeconds,
  });
}

export const DEFAULT_KEY_RULES: KeyRules = toKeyRules(DEFAULT_KEYS_FILE, 3600);

type Key = Pick<StoredSigningKey, 'kid' | 'createdAt' | 'retiredAt'>;

/** Newest first; equal times by kid, so every broker orders the same keys the same way. */
export function newestFirst<K extends Key>(keys: readonly K[]): K[] {
  return [...keys].sort((a, b) =>
    b.createdAt !== a.createdAt ? b.createdAt - a.createdAt : b.kid < a.kid ? -1 : 1,
  );
}

/**
 * The key to sign with now: the newest one at least `useAfterSeconds` old, or, when none
 * is, the oldest (a first start, or several keys added within moments). A key marked
 * retired never signs unless every key is. `keys` must be newest first and not empty.
 */
export function signingKeyOf<K extends Key>(
  keys: readonly K[],
  now: number,
  rules: Pick<KeyRules, 'useAfterSeconds'>,
): K {
  const live = keys.filter((k) => k.retiredAt === null);
  const candidates = live.length > 0 ? live : keys;
  return (
    candidates.find((k) => now - k.createdAt >= rules.useAfterSeconds) ??
    candidates[candidates.length - 1]!
  );
}

/**
 * When a key whose next newer key was created at `successorCreatedAt` leaves the JWKS:
 * after the last token it could have signed has expired.
 */
export function leavesJwksAt(
  successorCreatedAt: number,
  rules: Pick<KeyRules, 'useAfterSeconds' | 'maxTtlSeconds'>,
): number {
  return successorCreatedAt + rules.useAfterSeconds + rules.maxTtlSeconds + CLOCK_SKEW_SECONDS;
}

/**
 * The keys to publish now: the newest, every key not yet in use, and every older key a
 * live token may still be signed by. `keys` must be newest first.
 */
export function publishedKeys<K extends Key>(
  keys: readonly K[],
  now: number,
  rules: Pick<KeyRules, 'useAfterSeconds' | 'maxTtlSeconds'>,
): K[] {
  return keys.filter((_k, i) => i === 0 || now < leavesJwksAt(keys[i - 1]!.createdAt, rules));
}

/** Whether the schedule asks for a new key: the newest is `rotateEveryDays` old or older. */
export function rotationDue(
  keys: readonly Key[],
  now: number,
  rules: Pick<KeyRules, 'rotateEveryDays'>,
): boolean {
  if (rules.rotateEveryDays <= 0) return false;
  const newest = newestFirst(keys)[0];
  return newest === undefined || now - newest.createdAt >= rules.rotateEveryDays * DAY;
}
