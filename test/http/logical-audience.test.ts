/**
 * SPEC §2 / RFC 8693 §2.1: an audience may be the logical name of a service (`mail-api`),
 * as Keycloak client ids and Auth0 API identifiers are. A policy naming one starts, and
 * an exchange or client_credentials request for it gets a token with exactly that `aud` (one value: a JWT string, RFC 7519 §4.1.3);
 * `resource` stays an absolute URI (RFC 8707).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approveRequest } from '../../broker/approvals/decide.js';
import {
  CIBA,
  ISSUER,
  claimsOf,
  makeBroker,
  withApprovals,
  withAudience,
  type TestBroker,
} from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker({
    policy: (p) => withAudience(withApprovals(p), 'planner', 'mail-api'),
  });
});
afterEach(async () => {
  await b.close();
});

describe('a logical audience name', () => {
  it('is exchanged for a token whose aud is exactly that name', async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    const { status, body } = await b.exchange('planner', {
      subject_token: alice,
      audience: 'mail-api',
      scope: 'trips:read',
    });
    expect({ status, body: { ...body, access_token: typeof body.access_token } }).toEqual({
      status: 200,
      body: {
        access_token: 'string',
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: 300,
        scope: 'trips:read',
      },
    });
    expect(claimsOf(body.access_token)).toMatchObject({
      iss: ISSUER,
      sub: 'alice',
      aud: 'mail-api',
      act: { sub: 'planner' },
    });
  });

  it('is granted to client_credentials as well', async () => {
    const res = await b.post(
      '/token',
      { grant_type: 'client_credentials', audience: 'mail-api' },
      'planner',
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(claimsOf(body.access_token)).toMatchObject({ sub: 'planner', aud: 'mail-api' });
  });

  it('is refused as a resource, which must be an absolute URI (RFC 8707)', async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    const { status, body } = await b.exchange('planner', {
      subject_token: alice,
      resource: 'mail-api',
      scope: 'trips:read',
    });
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_target');
  });

  it('is asked of a person over CIBA and issued once they approve', async () => {
    const started = await b.post(
      '/bc-authorize',
      {
        login_hint: 'alice',
        scope: 'trips:read',
        audience: 'mail-api',
        binding_message: 'Read the trip mails',
      },
      'planner',
    );
    expect(started.status).toBe(200);
    const { auth_req_id: id } = (await started.json()) as { auth_req_id: string };
    expect((await approveRequest(b.store, id, { now: b.clock.now })).ok).toBe(true);
    const res = await b.post('/token', { grant_type: CIBA, auth_req_id: id }, 'planner');
    expect(res.status).toBe(200);
    const token = ((await res.json()) as { access_token: string }).access_token;
    expect(claimsOf(token)).toMatchObject({
      sub: 'alice',
      aud: 'mail-api',
      act: { sub: 'planner' },
    });
  });
});
