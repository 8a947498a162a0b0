/**
 * Property-based tests of the token endpoint (RFC 6749 §3.2, RFC 8693, SPEC §3/§4),
 * in-process against a real broker on a temp SQLite:
 * - a valid exchange or client_credentials request, in any equivalent form spelling and
 *   with headers and parameters a server must ignore, gets a token within policy;
 * - every mutation of it that the contract refuses (broken subject or actor token, widened
 *   scope, audience outside the allow-list, a parameter twice or twice-once-empty, the
 *   wrong content type, broken client authentication) gets no token;
 * - a fresh client assertion authenticates, a broken one never does;
 * - a CIBA poll for a request nobody approved gets no token;
 * - any request at all gets a well-formed answer (see `oracle.ts`), the same answer in
 *   every equivalent spelling, a token only within the caller's policy, and leaves at
 *   most one small, printable refusal row (`ledger.ts`).
 * Case counts come from `FUZZ_RUNS` (settings.ts); a failure prints its seed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { CIBA, claimsOf } from '../helpers.js';
import { anyRequest, anyRequestSpecArb, tokenOutsidePolicy } from './anything.js';
import { JWT_BEARER, makeFixtures, type Fixtures } from './fixtures.js';
import { breakJwt, jwtBreakArb } from './jwt-breaks.js';
import { tokenBaseArb, tokenValid, unmutated } from './bases.js';
import { apply, mutationArb, TOKEN_FAMILIES } from './mutations.js';
import { checkRefusalsSince, refusalMark } from './ledger.js';
import { answerTo, checkRefused, PropertyBroken, read, sameAnswer, type Answer } from './oracle.js';
import {
  bodyOf,
  encodingArb,
  FORM,
  harmlessHeadersArb,
  send,
  type FuzzRequest,
} from './requests.js';
import { fuzzOptions, timeoutFor } from './settings.js';

/** Shares of FUZZ_RUNS taken by this file's properties (the suite's shares add up to 1). */
const SHARE = {
  valid: 0.05,
  family: 0.03,
  assertion: 0.02,
  ciba: 0.02,
  anything: 0.045,
  spellings: 0.02,
};

let fx: Fixtures;
beforeAll(async () => {
  fx = await makeFixtures();
});
afterAll(async () => {
  await fx.b.close();
});

/** Sends, checks the answer, and checks what the request left in the refusal ledger. */
async function ask(req: FuzzRequest): Promise<Answer> {
  const mark = await refusalMark(fx.b);
  const a = await answerTo(() => send(fx.b.app, req), req);
  await checkRefusalsSince(fx.b, mark, a);
  return a;
}

/** client_credentials for `signer`, authenticated by `assertion` (RFC 7523 §2.2). */
const assertionRequest = (assertion: string): FuzzRequest => ({
  path: '/token',
  params: [
    ['grant_type', 'client_credentials'],
    ['client_assertion_type', JWT_BEARER],
    ['client_assertion', assertion],
  ],
  contentType: FORM,
  authorization: null,
  headers: [],
  encoding: { style: 'whatwg', separators: 'single' },
});

/** Names a server must ignore (RFC 6749 §3.2: unrecognized parameters). */
const unknownParamArb = fc.tuple(
  fc.stringMatching(/^x_[a-z0-9_]{1,12}$/),
  fc.stringMatching(/^[ -~]{0,40}$/),
);

describe('POST /token, fuzzed', () => {
  it(
    'gives a token within policy for a valid request in any equivalent spelling',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          tokenBaseArb,
          encodingArb,
          harmlessHeadersArb,
          fc.uniqueArray(unknownParamArb, { maxLength: 3, selector: ([k]) => k }),
          fc.constantFrom('Basic', 'basic', 'BASIC'),
          fc.constantFrom(
            FORM,
            `${FORM}; charset=UTF-8`,
            `${FORM};charset=utf-8`,
            'Application/X-WWW-Form-URLEncoded',
          ),
          async (base, encoding, headers, unknown, scheme, contentType) => {
            const valid = tokenValid(base, fx);
            const built = unmutated(valid);
            const req: FuzzRequest = {
              path: '/token',
              params: [...built.params, ...unknown],
              contentType,
              authorization: scheme + built.authorization!.slice('Basic'.length),
              headers,
              encoding,
            };
            const a = await ask(req);
            if (a.status !== 200) throw new PropertyBroken('a valid request gets a token', a);
            const token = (a.json as { access_token: string }).access_token;
            const outside = tokenOutsidePolicy(token, valid.client);
            if (outside !== undefined)
              throw new PropertyBroken(`a token within policy: ${outside}`, a);
            const requestedScope = valid.params.find(([k]) => k === 'scope')?.[1];
            if (requestedScope !== undefined && claimsOf(token).scope !== requestedScope) {
              throw new PropertyBroken('the issued scope is the requested one', a);
            }
          },
        ),
        fuzzOptions(SHARE.valid),
      );
    },
    timeoutFor(SHARE.valid),
  );

  it.each(TOKEN_FAMILIES)(
    'never gives a token for a valid request broken by a %s mutation',
    async (family) => {
      await fc.assert(
        fc.asyncProperty(
          // client_credentials has no subject, and takes no actor token.
          family === 'subject' || family === 'actor'
            ? tokenBaseArb.filter((base) => base.kind !== 'client-credentials')
            : tokenBaseArb,
          mutationArb(family),
          encodingArb,
          harmlessHeadersArb,
          async (base, mutation, encoding, headers) => {
            const built = apply(tokenValid(base, fx), mutation, fx);
            checkRefused(await ask({ path: '/token', ...built, headers, encoding }));
          },
        ),
        fuzzOptions(SHARE.family),
      );
    },
    timeoutFor(SHARE.family),
  );

  it(
    'authenticates a fresh client assertion, and never a broken one',
    async () => {
      const intact = await ask(assertionRequest(await fx.assertion()));
      if (intact.status !== 200)
        throw new PropertyBroken('an intact client assertion authenticates', intact);
      await fc.assert(
        fc.asyncProperty(jwtBreakArb, encodingArb, async (brk, encoding) => {
          // Fresh each time, so a refusal is the break's doing and not a replayed jti.
          const assertion = breakJwt(await fx.assertion(), brk, fx);
          checkRefused(await ask({ ...assertionRequest(assertion), encoding }));
        }),
        fuzzOptions(SHARE.assertion),
      );
    },
    timeoutFor(SHARE.assertion),
  );

  it(
    'never gives a token for a CIBA poll of a request nobody approved',
    async () => {
      // Real pending requests exist too: the property must hold for them as well.
      const started = await fx.b.post(
        '/bc-authorize',
        { login_hint: 'alice', scope: 'trips:read', audience: 'agent:booker' },
        'planner',
      );
      const pending =
        ((await read(started)).json as { auth_req_id?: string }).auth_req_id ?? 'none';
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.constant(pending),
            fc.string({ maxLength: 60 }),
            fc.base64String({ minLength: 43, maxLength: 44 }),
          ),
          fc.constantFrom('planner' as const, 'booker' as const),
          encodingArb,
          async (authReqId, client, encoding) => {
            const built = unmutated({
              client,
              params: [
                ['grant_type', CIBA],
                ['auth_req_id', authReqId],
              ],
              allowedScopes: [],
              allowedAudiences: [],
            });
            checkRefused(await ask({ path: '/token', ...built, headers: [], encoding }));
          },
        ),
        fuzzOptions(SHARE.ciba),
      );
    },
    timeoutFor(SHARE.ciba),
  );

  it(
    'answers any form, headers and encoding with RFC 6749 JSON, and a token only within policy',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyRequestSpecArb, async (spec) => {
          const { req, client } = anyRequest('/token', spec, fx);
          const a = await ask(req);
          if (a.status !== 200) return;
          const token = (a.json as { access_token: string }).access_token;
          const outside =
            client === null
              ? 'a token without valid client credentials'
              : tokenOutsidePolicy(token, client);
          if (outside !== undefined)
            throw new PropertyBroken(`a token only within policy: ${outside}`, a);
        }),
        fuzzOptions(SHARE.anything),
      );
    },
    timeoutFor(SHARE.anything),
  );

  it(
    'answers every equivalent spelling of any request alike',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyRequestSpecArb, encodingArb, async (spec, other) => {
          // Garbled bytes change what the form says, so only the clean spellings compare.
          const { req } = anyRequest('/token', { ...spec, garble: null }, fx);
          const respelled = { ...req, encoding: other };
          // One spelling may be over the 64 KB cap and the other not: that is no difference.
          if (Math.max(bodyOf(req).length, bodyOf(respelled).length) > 64 * 1024) return;
          const one = await ask(req);
          const two = await ask(respelled);
          if (!sameAnswer(one, two)) {
            throw new PropertyBroken(
              `the same request spelled ${JSON.stringify(other)} was answered ${two.status} ${two.text.slice(0, 300)}`,
              one,
            );
          }
        }),
        fuzzOptions(SHARE.spellings),
      );
    },
    timeoutFor(SHARE.spellings),
  );
});
