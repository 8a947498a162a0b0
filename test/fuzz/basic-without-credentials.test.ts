/**
 * Regression found by the fuzz suite: `Authorization: Basic` with no credentials (what
 * arrives once the header is trimmed, as Node and Fetch do) was not counted as a Basic
 * attempt, so alongside a `client_assertion` or a `client_secret` it was answered 401
 * without `WWW-Authenticate`, which RFC 6749 §5.2 requires when the client tried the
 * Authorization header. It is an attempt, so the request uses two methods: 400.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBroker, SECRETS, type TestBroker } from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker();
});
afterEach(async () => {
  await b.close();
});

const twoMethods = {
  error: 'invalid_request',
  error_description: 'use exactly one client authentication method',
};

describe('Authorization: Basic without credentials', () => {
  it.each([
    [
      'a client assertion',
      {
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: 'a.b.c',
      },
    ],
    ['a posted secret', { client_id: 'poster', client_secret: SECRETS.poster! }],
  ])('counts as a Basic attempt beside %s: two methods, 400', async (_, form) => {
    for (const header of ['Basic', 'Basic ', 'basic']) {
      const res = await b.post('/token', { grant_type: 'client_credentials', ...form }, null, {
        authorization: header,
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual(twoMethods);
    }
  });

  it('alone, is a failed Basic attempt: 401 with a Basic challenge', async () => {
    const res = await b.post('/token', { grant_type: 'client_credentials' }, null, {
      authorization: 'Basic',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="baton", charset="UTF-8"');
    expect(await res.json()).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
  });
});
