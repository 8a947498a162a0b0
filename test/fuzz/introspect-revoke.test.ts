/**
 * Property-based tests of introspection (RFC 7662) and revocation (RFC 7009), in-process
 * against a real broker on a temp SQLite (each `describe` its own):
 * - an intact token, in any equivalent spelling, introspects as active / is revoked;
 * - any broken token (RFC 7515 §2 spelling, signature, issuer, shape, expiry) introspects
 *   as exactly `{"active": false}`, and revoking it answers an empty 200 and revokes
 *   nothing (the intact token stays unrevoked in the ledger);
 * - a request broken by a duplicate, a duplicate-once-empty, the wrong content type or
 *   broken client authentication is refused, and revokes nothing;
 * - any request at all gets a well-formed answer (see `oracle.ts`).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { claimsOf } from '../helpers.js';
import { anyRequest, anyRequestSpecArb } from './anything.js';
import { makeFixtures, plannerToken, type Fixtures } from './fixtures.js';
import { tokenParamBaseArb, tokenParamValid, unmutated } from './bases.js';
import { breakJwt, jwtBreakArb, type JwtBreak } from './jwt-breaks.js';
import { apply, mutationArb, TOKEN_PARAM_FAMILIES } from './mutations.js';
import { answerTo, checkRefused, PropertyBroken, type Answer } from './oracle.js';
import { encodingArb, harmlessHeadersArb, send, type FuzzRequest } from './requests.js';
import { fuzzOptions, timeoutFor } from './settings.js';

/** Shares of FUZZ_RUNS taken by this file's properties (the suite's shares add up to 1). */
const SHARE = { valid: 0.015, broken: 0.05, family: 0.02, anything: 0.04 };

/** A broken token, or a token that is fine but not Baton's (alice's IdP token). */
type TokenBreak = { brk: JwtBreak } | { foreign: 'alice' };
const tokenBreakArb: fc.Arbitrary<TokenBreak> = fc.oneof(
  { weight: 9, arbitrary: jwtBreakArb.map((brk) => ({ brk })) },
  { weight: 1, arbitrary: fc.constant({ foreign: 'alice' as const }) },
);
const broken = (token: string, b: TokenBreak, fx: Fixtures) =>
  'foreign' in b ? fx.alice : breakJwt(token, b.brk, fx);

describe('POST /introspect, fuzzed', () => {
  let fx: Fixtures;
  let tokens: string[];
  beforeAll(async () => {
    fx = await makeFixtures();
    tokens = [await plannerToken(fx.b), fx.handoff];
  });
  afterAll(async () => {
    await fx.b.close();
  });
  const ask = (req: FuzzRequest): Promise<Answer> => answerTo(() => send(fx.b.app, req), req);

  it(
    'shows an intact token as active in any equivalent spelling',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          tokenParamBaseArb,
          fc.nat(1),
          encodingArb,
          harmlessHeadersArb,
          async (base, which, encoding, headers) => {
            const token = tokens[which]!;
            const a = await ask({
              path: '/introspect',
              ...unmutated(tokenParamValid(base, token)),
              headers,
              encoding,
            });
            const body = a.json as Record<string, unknown> | undefined;
            if (a.status !== 200 || body?.active !== true || body.jti !== claimsOf(token).jti) {
              throw new PropertyBroken('an intact token is active, with its jti', a);
            }
          },
        ),
        fuzzOptions(SHARE.valid),
      );
    },
    timeoutFor(SHARE.valid),
  );

  it(
    'answers exactly {"active": false} for a broken or foreign token',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          tokenParamBaseArb,
          fc.nat(1),
          tokenBreakArb,
          encodingArb,
          async (base, which, brk, encoding) => {
            const token = broken(tokens[which]!, brk, fx);
            const a = await ask({
              path: '/introspect',
              ...unmutated(tokenParamValid(base, token)),
              headers: [],
              encoding,
            });
            if (a.status !== 200 || JSON.stringify(a.json) !== '{"active":false}') {
              throw new PropertyBroken('a broken token is {"active": false} (RFC 7662 §2.2)', a);
            }
          },
        ),
        fuzzOptions(SHARE.broken),
      );
    },
    timeoutFor(SHARE.broken),
  );

  it.each(TOKEN_PARAM_FAMILIES)(
    'refuses a request broken by a %s mutation',
    async (family) => {
      await fc.assert(
        fc.asyncProperty(
          tokenParamBaseArb,
          fc.nat(1),
          mutationArb(family),
          encodingArb,
          async (base, which, mutation, encoding) => {
            const built = apply(tokenParamValid(base, tokens[which]!), mutation, fx);
            checkRefused(await ask({ path: '/introspect', ...built, headers: [], encoding }));
          },
        ),
        fuzzOptions(SHARE.family),
      );
    },
    timeoutFor(SHARE.family),
  );

  it(
    'answers any form, headers and encoding with RFC 6749 JSON or introspection JSON',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyRequestSpecArb, async (spec) => {
          await ask(anyRequest('/introspect', spec, fx).req);
        }),
        fuzzOptions(SHARE.anything),
      );
    },
    timeoutFor(SHARE.anything),
  );
});

describe('POST /revoke, fuzzed', () => {
  let fx: Fixtures;
  /** planner's token that the cases try to revoke; replaced once a case revokes it. */
  let target: string;
  beforeAll(async () => {
    fx = await makeFixtures();
    target = await plannerToken(fx.b);
  });
  afterAll(async () => {
    await fx.b.close();
  });
  const ask = (req: FuzzRequest): Promise<Answer> => answerTo(() => send(fx.b.app, req), req);
  const revokedAt = (token: string) => fx.b.store.revokedAt(claimsOf(token).jti!);

  /** An unrevoked token of planner's: the last one, unless a case revoked it. */
  async function live(): Promise<string> {
    if ((await revokedAt(target)) !== null) target = await plannerToken(fx.b);
    return target;
  }

  async function expectUnrevoked(token: string, a: Answer): Promise<void> {
    if ((await revokedAt(token)) !== null)
      throw new PropertyBroken('a request that must fail revokes nothing', a);
  }

  it(
    'revokes an intact token in any equivalent spelling, with an empty 200',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          tokenParamBaseArb,
          encodingArb,
          harmlessHeadersArb,
          async (base, encoding, headers) => {
            const token = await live();
            const a = await ask({
              path: '/revoke',
              ...unmutated(tokenParamValid(base, token)),
              headers,
              encoding,
            });
            if (a.status !== 200 || (await revokedAt(token)) === null)
              throw new PropertyBroken('an intact token is revoked', a);
          },
        ),
        fuzzOptions(SHARE.valid),
      );
    },
    timeoutFor(SHARE.valid),
  );

  it(
    'answers an empty 200 for a broken or foreign token, and revokes nothing',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          tokenParamBaseArb,
          tokenBreakArb,
          encodingArb,
          async (base, brk, encoding) => {
            const token = await live();
            const a = await ask({
              path: '/revoke',
              ...unmutated(tokenParamValid(base, broken(token, brk, fx))),
              headers: [],
              encoding,
            });
            if (a.status !== 200)
              throw new PropertyBroken('an invalid token is answered 200 (RFC 7009 §2.2)', a);
            await expectUnrevoked(token, a);
          },
        ),
        fuzzOptions(SHARE.broken),
      );
    },
    timeoutFor(SHARE.broken),
  );

  it.each(TOKEN_PARAM_FAMILIES)(
    'refuses a request broken by a %s mutation, and revokes nothing',
    async (family) => {
      await fc.assert(
        fc.asyncProperty(
          tokenParamBaseArb,
          mutationArb(family),
          encodingArb,
          async (base, mutation, encoding) => {
            const token = await live();
            const a = await ask({
              path: '/revoke',
              ...apply(tokenParamValid(base, token), mutation, fx),
              headers: [],
              encoding,
            });
            checkRefused(a);
            await expectUnrevoked(token, a);
          },
        ),
        fuzzOptions(SHARE.family),
      );
    },
    timeoutFor(SHARE.family),
  );

  it(
    'answers any form, headers and encoding with RFC 6749 JSON or an empty 200',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyRequestSpecArb, async (spec) => {
          await ask(anyRequest('/revoke', spec, fx).req);
        }),
        fuzzOptions(SHARE.anything),
      );
    },
    timeoutFor(SHARE.anything),
  );
});
