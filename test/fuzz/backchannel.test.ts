/**
 * Property-based tests of the backchannel authentication endpoint (OpenID CIBA Core §7,
 * SPEC §6), in-process against a real broker on a temp SQLite:
 * - a valid request, in any equivalent spelling, is acknowledged (CIBA §7.3);
 * - every mutation the contract refuses (a scope beyond the client's, an audience
 *   outside its allow-list, a parameter twice or twice-once-empty, the wrong content
 *   type, broken client authentication, a login_hint that is not a username) is refused
 *   and files no pending request;
 * - any request at all gets a well-formed answer (see `oracle.ts`).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { denyRequest } from '../../broker/approvals/decide.js';
import { anyRequest, anyRequestSpecArb } from './anything.js';
import { makeFixtures, type Fixtures } from './fixtures.js';
import { backchannelBaseArb, backchannelValid, unmutated } from './bases.js';
import { apply, BACKCHANNEL_FAMILIES, mutationArb } from './mutations.js';
import { ledgerApprovals } from '../helpers.js';
import { checkRefusalsSince, refusalMark } from './ledger.js';
import { answerTo, checkRefused, PropertyBroken, type Answer } from './oracle.js';
import { encodingArb, harmlessHeadersArb, send, type FuzzRequest } from './requests.js';
import { fuzzOptions, timeoutFor } from './settings.js';

/** Shares of FUZZ_RUNS taken by this file's properties (the suite's shares add up to 1). */
const SHARE = { valid: 0.015, family: 0.02, anything: 0.04 };

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
const pendingCount = async () =>
  (await ledgerApprovals(fx.b.store)).filter((a) => a.status === 'pending').length;

describe('POST /bc-authorize, fuzzed', () => {
  it(
    'acknowledges a valid request in any equivalent spelling',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          backchannelBaseArb,
          encodingArb,
          harmlessHeadersArb,
          async (base, encoding, headers) => {
            const a = await ask({
              path: '/bc-authorize',
              ...unmutated(backchannelValid(base)),
              headers,
              encoding,
            });
            if (a.status !== 200)
              throw new PropertyBroken('a valid backchannel request is acknowledged', a);
            // Answer it, so the cases never run into a cap on pending requests.
            await denyRequest(fx.b.store, (a.json as { auth_req_id: string }).auth_req_id, {
              now: fx.b.clock.now,
            });
          },
        ),
        fuzzOptions(SHARE.valid),
      );
    },
    timeoutFor(SHARE.valid),
  );

  it.each(BACKCHANNEL_FAMILIES)(
    'refuses a valid request broken by a %s mutation, and files nothing',
    async (family) => {
      await fc.assert(
        fc.asyncProperty(
          backchannelBaseArb,
          mutationArb(family),
          encodingArb,
          harmlessHeadersArb,
          async (base, mutation, encoding, headers) => {
            const before = await pendingCount();
            const a = await ask({
              path: '/bc-authorize',
              ...apply(backchannelValid(base), mutation, fx),
              headers,
              encoding,
            });
            checkRefused(a);
            if ((await pendingCount()) !== before)
              throw new PropertyBroken('a refused request files no pending approval', a);
          },
        ),
        fuzzOptions(SHARE.family),
      );
    },
    timeoutFor(SHARE.family),
  );

  it(
    'answers any form, headers and encoding with RFC 6749 JSON or a CIBA acknowledgement',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyRequestSpecArb, async (spec) => {
          const a = await ask(anyRequest('/bc-authorize', spec, fx).req);
          if (a.status === 200)
            await denyRequest(fx.b.store, (a.json as { auth_req_id: string }).auth_req_id, {
              now: fx.b.clock.now,
            });
        }),
        fuzzOptions(SHARE.anything),
      );
    },
    timeoutFor(SHARE.anything),
  );
});
