/**
 * The client endpoints under a tight per-client rate limit (SPEC §10: 429 with
 * `Retry-After`): whatever is sent, every answer is still well-formed (see `oracle.ts`,
 * which also wants `Retry-After` on a 429), and a request turned away files no refusal
 * (checked through `ledger.ts`: a turned-away request is no refused grant, yet nothing
 * it carried may reach the ledger either way).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { anyRequest, anyRequestSpecArb } from './anything.js';
import { makeFixtures, type Fixtures } from './fixtures.js';
import { checkRefusalsSince, refusalMark } from './ledger.js';
import { answerTo, PropertyBroken, read } from './oracle.js';
import { send, type Endpoint } from './requests.js';
import { fuzzOptions, timeoutFor } from './settings.js';

/** Share of FUZZ_RUNS taken by this file's property (the suite's shares add up to 1). */
const SHARE = 0.01;
/** Enough for the fixtures' own requests, and soon spent. */
const BURST = 10;

let fx: Fixtures;
beforeAll(async () => {
  // The test clock stands still, so after the burst every authenticated request is over.
  fx = await makeFixtures({ rateLimits: { requests_per_second: 1, burst: BURST } });
});
afterAll(async () => {
  await fx.b.close();
});

describe('rate-limited endpoints, fuzzed', () => {
  it(
    'answer any request with RFC 6749 JSON, a 429 with Retry-After once over the limit',
    async () => {
      // planner's burst is spent from the start, so the fuzz surely meets the limit.
      let over = await read(await fx.b.post('/introspect', { token: 'x' }, 'planner'));
      for (let i = 0; i < BURST && over.status === 200; i++) {
        over = await read(await fx.b.post('/introspect', { token: 'x' }, 'planner'));
      }
      if (over.status !== 429) throw new PropertyBroken('planner is over its limit', over);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Endpoint>('/token', '/introspect', '/revoke', '/bc-authorize'),
          anyRequestSpecArb,
          async (path, spec) => {
            const req = anyRequest(path, spec, fx).req;
            const mark = await refusalMark(fx.b);
            const a = await answerTo(() => send(fx.b.app, req), req);
            await checkRefusalsSince(fx.b, mark, a);
            if (a.status === 429 && (await refusalMark(fx.b)) !== mark) {
              throw new PropertyBroken('a request over the limit files no refusal', a);
            }
          },
        ),
        fuzzOptions(SHARE),
      );
    },
    timeoutFor(SHARE),
  );
});
