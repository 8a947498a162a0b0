/**
 * SPEC §4 rules 1–10, end to end through `app.request`: status, the whole body, and the
 * claims of every issued token.
 */
import type { JWTPayload } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyFile } from '../../broker/config/policy.js';
import {
  API,
  AT,
  basic,
  ISSUER,
  JWT_TYPE,
  SECRETS,
  TE,
  claimsOf,
  makeBroker,
  type TestBroker,
} from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker();
});
afterEach(async () => {
  await b.close();
});

type Result = { status: number; body: Record<string, unknown> };
const bad = (error: string, error_description: string): Result => ({
  status: 400,
  body: { error, error_description },
});

/** A person's token from the trusted IdP (scope 'trips:read trips:book flights:book' unless overridden). */
const idToken = (claims: JWTPayload = {}, opts?: { exp?: number; iat?: number }) =>
  b.idp.sign({ sub: 'alice', ...claims }, opts);

async function clientToken(
  client: string,
  form: Record<string, string | string[]> = {},
): Promise<Result> {
  const res = await b.post('/token', { grant_type: 'client_credentials', ...form }, client);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Exchanges and insists on success; returns the issued access token. */
async function ok(client: string, form: Record<string, string | string[]>): Promise<string> {
  const res = await b.exchange(client, form);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.access_token as string;
}

/** alice's IdP token → planner hands off to booker. */
const handOff = async (form: Record<string, string> = {}) =>
  ok('planner', { subject_token: await idToken(), audience: 'agent:booker', ...form });

describe('rule 1: the actor is the authenticated client; actor_token must be its own', () => {
  it('accepts a client_credentials actor_token of the same client, and its exp bounds the issued exp', async () => {
    const actor = await clientToken('planner', { expires_in: '60' });
    expect(actor.status).toBe(200);
    const res = await b.exchange('planner', {
      subject_token: await idToken(),
      actor_token: actor.body.access_token as string,
      actor_token_type: AT,
      audience: API,
    });
    expect(res.status).toBe(200);
    expect(res.body.expires_in).toBe(60);
    const claims = claimsOf(res.body.access_token);
    expect(claims.exp).toBe(claimsOf(actor.body.access_token).exp);
    expect(claims).toMatchObject({ sub: 'alice', act: { sub: 'planner' }, client_id: 'planner' });
  });

  it('refuses an actor_token whose sub is another client', async () => {
    const booker = await clientToken('booker');
    const res = await b.exchange('planner', {
      subject_token: await idToken(),
      actor_token: booker.body.access_token as string,
      actor_token_type: AT,
      audience: API,
    });
    expect(res).toEqual(bad('invalid_request', "the actor token's subject is not planner"));
  });

  it('refuses a revoked actor_token', async () => {
    const actor = (await clientToken('planner')).body.access_token as string;
    expect((await b.post('/revoke', { token: actor }, 'planner')).status).toBe(200);
    const res = await b.exchange('planner', {
      subject_token: await idToken(),
      actor_token: actor,
      actor_token_type: AT,
      audience: API,
    });
    expect(res).toEqual(bad('invalid_request', 'the actor token has been revoked'));
  });

  it('refuses an expired actor_token', async () => {
    const actor = (await clientToken('planner', { expires_in: '60' })).body.access_token as string;
    b.clock.now += 60;
    const res = await b.exchange('planner', {
      subject_token: await idToken(),
      actor_token: actor,
      actor_token_type: AT,
      audience: API,
    });
    expect(res).toEqual(bad('invalid_request', 'the actor token has expired'));
  });

  it('refuses actor_token without actor_token_type, and actor_token_type without actor_token', async () => {
    const actor = (await clientToken('planner')).body.access_token as string;
    const together = bad('invalid_request', 'actor_token and actor_token_type go together');
    expect(
      await b.exchange('planner', {
        subject_token: await idToken(),
        actor_token: actor,
        audience: API,
      }),
    ).toEqual(together);
    expect(
      await b.exchange('planner', {
        subject_token: await idToken(),
        actor_token_type: AT,
        audience: API,
      }),
    ).toEqual(together);
  });

  it("refuses an actor_token from the IdP, even one naming the client, because it is not one of Baton's", async () => {
    const res = await b.exchange('planner', {
      subject_token: await idToken(),
      actor_token: await b.idp.sign({ sub: 'planner' }),
      actor_token_type: AT,
      audience: API,
    });
    expect(res).toEqual(bad('invalid_request', 'the actor token is signed with an unknown key'));
  });
});

describe('rule 2: the subject token and who may exchange it', () => {
  it("refuses a trusted token whose aud is not Baton's configured audience", async () => {
    const res = await b.exchange('planner', {
      subject_token: await idToken({ aud: 'https://other.example' }),
      audience: API,
    });
    expect(res).toEqual(bad('invalid_request', 'the subject token has an unacceptable aud claim'));
  });

  it('lets only the client named by may_act.sub exchange a trusted token', async () => {
    const subject = await idToken({ may_act: { sub: 'planner' } });
    const issued = await ok('planner', { subject_token: subject, audience: API });
    expect(claimsOf(issued)).toMatchObject({ sub: 'alice', act: { sub: 'planner' } });
    expect(claimsOf(issued).may_act).toBeUndefined();
    expect(await b.exchange('booker', { subject_token: subject, audience: API })).toEqual(
      bad('invalid_request', "the subject token's may_act does not name booker"),
    );
  });

  it("accepts may_act.iss equal to Baton's issuer and refuses any other", async () => {
    await ok('planner', {
      subject_token: await idToken({ may_act: { sub: 'planner', iss: ISSUER } }),
      audience: API,
    });
    const res = await b.exchange('planner', {
      subject_token: await idToken({ may_act: { sub: 'planner', iss: 'https://idp.test' } }),
      audience: API,
    });
    expect(res).toEqual(bad('invalid_request', "the subject token's may_act names another issuer"));
  });

  it('reads scopes from scp (array or string) when scope is absent, and prefers scope when both are there', async () => {
    const fromArray = await b.exchange('planner', {
      subject_token: await idToken({ scope: undefined, scp: ['trips:read', 'flights:book'] }),
      audience: API,
    });
    expect(fromArray.body.scope).toBe('trips:read flights:book');
    const fromString = await b.exchange('planner', {
      subject_token: await idToken({ scope: undefined, scp: 'trips:book trips:read' }),
      audience: API,
    });
    expect(fromString.body.scope).toBe('trips:book trips:read');
    expect(claimsOf(fromString.body.access_token).scope).toBe('trips:book trips:read');
    const both = await b.exchange('planner', {
      subject_token: await idToken({ scope: 'trips:read', scp: ['flights:book'] }),
      audience: API,
    });
    expect(both.body.scope).toBe('trips:read');
  });

  it('refuses a token from an issuer Baton does not trust', async () => {
    const res = await b.exchange('planner', {
      subject_token: await idToken({ iss: 'https://evil.example' }),
      audience: API,
    });
    expect(res).toEqual(
      bad(
        'invalid_request',
        'the subject token comes from https://evil.example, an issuer Baton does not trust',
      ),
    );
  });

  it('lets the agent a Baton token was handed to exchange it, and no other', async () => {
    const handoff = await handOff();
    await ok('booker', { subject_token: handoff, audience: API });
    expect(await b.exchange('narrow', { subject_token: handoff, audience: API })).toEqual(
      bad('invalid_request', 'the subject token was not handed to narrow'),
    );
  });

  it('lets the current actor re-target its own token without adding a level, but not an earlier actor', async () => {
    const apiToken = await ok('booker', {
      subject_token: await handOff(),
      audience: API,
      scope: 'flights:book',
    });
    const retargeted = await ok('booker', { subject_token: apiToken, audience: 'agent:narrow' });
    expect(claimsOf(retargeted)).toMatchObject({
      sub: 'alice',
      aud: 'agent:narrow',
      scope: 'flights:book',
      client_id: 'booker',
      act: { sub: 'booker', act: { sub: 'planner' } },
    });
    expect(claimsOf(retargeted).act).toEqual({ sub: 'booker', act: { sub: 'planner' } });
    expect(await b.exchange('planner', { subject_token: apiToken, audience: API })).toEqual(
      bad('invalid_request', 'the subject token was not handed to planner'),
    );
  });

  it('lets a client re-target its own client_credentials token, with no act', async () => {
    const own = (await clientToken('planner', { scope: 'trips:read' })).body.access_token as string;
    const issued = claimsOf(await ok('planner', { subject_token: own, audience: API }));
    expect(issued).toMatchObject({
      sub: 'planner',
      client_id: 'planner',
      aud: API,
      scope: 'trips:read',
    });
    expect(issued.act).toBeUndefined();
  });
});

describe('rule 3: sub is kept and act nests, current actor outermost', () => {
  it('keeps sub and nests each new actor over the earlier ones', async () => {
    const handoff = await handOff();
    expect(claimsOf(handoff)).toMatchObject({ sub: 'alice', act: { sub: 'planner' } });
    const narrowHandoff = await ok('booker', { subject_token: handoff, audience: 'agent:narrow' });
    const issued = claimsOf(await ok('narrow', { subject_token: narrowHandoff, audience: API }));
    expect(issued.sub).toBe('alice');
    expect(issued.act).toEqual({ sub: 'narrow', act: { sub: 'booker', act: { sub: 'planner' } } });
  });

  it("nests over a trusted token's own act, and counts its levels toward the depth limit", async () => {
    const upstream = { sub: 'gateway', act: { sub: 'frontend' } };
    const handoff = await ok('planner', {
      subject_token: await idToken({ act: upstream }),
      audience: 'agent:booker',
    });
    expect(claimsOf(handoff).act).toEqual({ sub: 'planner', act: upstream });
    // Depth 3 so far; booker makes 4, the maximum: allowed.
    const res = await b.exchange('booker', { subject_token: handoff, audience: API });
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token).act).toEqual({
      sub: 'booker',
      act: { sub: 'planner', act: upstream },
    });
    // Four upstream levels plus planner would be 5.
    const deep = { sub: 'a', act: { sub: 'b', act: { sub: 'c', act: { sub: 'd' } } } };
    expect(
      await b.exchange('planner', { subject_token: await idToken({ act: deep }), audience: API }),
    ).toEqual(bad('invalid_request', 'delegation depth 5 exceeds the maximum of 4'));
  });
});

describe('rule 4: scopes only narrow', () => {
  it('issues a requested subset of subject ∩ actor, and refuses anything outside it', async () => {
    // alice has trips:read trips:book flights:book; booker may hold flights:book trips:read.
    const res = await b.exchange('booker', {
      subject_token: await idToken(),
      audience: API,
      scope: 'flights:book',
    });
    expect(res.body.scope).toBe('flights:book');
    expect(claimsOf(res.body.access_token).scope).toBe('flights:book');
    expect(
      await b.exchange('booker', {
        subject_token: await idToken(),
        audience: API,
        scope: 'trips:book',
      }),
    ).toEqual(
      bad('invalid_scope', 'scope not allowed: trips:book (may ask for: trips:read flights:book)'),
    );
    expect(
      await b.exchange('booker', {
        subject_token: await idToken({ scope: 'trips:read' }),
        audience: API,
        scope: 'flights:book',
      }),
    ).toEqual(bad('invalid_scope', 'scope not allowed: flights:book (may ask for: trips:read)'));
  });

  it('issues the whole intersection when no scope is requested', async () => {
    const res = await b.exchange('booker', { subject_token: await idToken(), audience: API });
    expect(res.body.scope).toBe('trips:read flights:book');
    expect(claimsOf(res.body.access_token).scope).toBe('trips:read flights:book');
  });

  it('refuses an empty intersection with invalid_scope', async () => {
    expect(
      await b.exchange('booker', {
        subject_token: await idToken({ scope: 'trips:book' }),
        audience: API,
      }),
    ).toEqual(bad('invalid_scope', 'the subject token and the client share no scope'));
  });
});

describe('rule 5: audience only narrows to what policy allows', () => {
  it('requires audience or resource', async () => {
    expect(await b.exchange('planner', { subject_token: await idToken() })).toEqual(
      bad('invalid_request', 'audience or resource is required'),
    );
  });

  it("refuses an audience outside the actor's allow-list with invalid_target", async () => {
    expect(
      await b.exchange('planner', {
        subject_token: await idToken(),
        audience: [API, 'https://evil.example'],
      }),
    ).toEqual(
      bad(
        'invalid_target',
        `audience not allowed: https://evil.example (may ask for: agent:booker ${API} agent:narrow)`,
      ),
    );
  });

  it('accepts resource, and issues exactly the requested values as aud', async () => {
    expect(
      claimsOf(await ok('planner', { subject_token: await idToken(), resource: API })).aud,
    ).toBe(API);
    const many = claimsOf(
      await ok('planner', { subject_token: await idToken(), audience: [API, 'agent:booker'] }),
    );
    expect(many.aud).toEqual([API, 'agent:booker']);
    const mixed = claimsOf(
      await ok('planner', {
        subject_token: await idToken(),
        audience: 'agent:narrow',
        resource: API,
      }),
    );
    expect(mixed.aud).toEqual(['agent:narrow', API]);
  });

  it('refuses a resource that is not an absolute URI with invalid_target', async () => {
    expect(
      await b.exchange('planner', { subject_token: await idToken(), resource: `${API}#frag` }),
    ).toEqual(
      bad('invalid_target', `resource must be an absolute URI without a fragment: ${API}#frag`),
    );
  });
});

describe('rule 6: lifetime never grows', () => {
  it("caps exp at the subject token's exp", async () => {
    const res = await b.exchange('planner', {
      subject_token: await idToken({}, { exp: b.clock.now + 1 }),
      audience: API,
    });
    expect(res.status).toBe(200);
    expect(res.body.expires_in).toBe(1);
    expect(claimsOf(res.body.access_token).exp).toBe(b.clock.now + 1);
    const handoff = await handOff({ expires_in: '100' });
    const next = await b.exchange('booker', { subject_token: handoff, audience: API });
    expect(next.body.expires_in).toBe(100);
    expect(claimsOf(next.body.access_token).exp).toBe(claimsOf(handoff).exp);
  });

  it("caps at the client's max_ttl and the policy maximum, and defaults to the policy default", async () => {
    const far = { exp: b.clock.now + 10_000 };
    const planner = await b.exchange('planner', {
      subject_token: await idToken({}, far),
      audience: API,
      expires_in: '5000',
    });
    expect(planner.body.expires_in).toBe(900);
    expect(claimsOf(planner.body.access_token).exp).toBe(b.clock.now + 900);
    const booker = await b.exchange('booker', {
      subject_token: await idToken({}, far),
      audience: API,
      expires_in: '5000',
    });
    expect(booker.body.expires_in).toBe(3600);
    const byDefault = await b.exchange('planner', {
      subject_token: await idToken({}, far),
      audience: API,
    });
    expect(byDefault.body.expires_in).toBe(300);
    expect(
      claimsOf(byDefault.body.access_token).exp! - claimsOf(byDefault.body.access_token).iat!,
    ).toBe(300);
  });

  it('refuses an expired subject token, trusted or Baton', async () => {
    const expired = await idToken({}, { iat: b.clock.now - 100, exp: b.clock.now });
    expect(await b.exchange('planner', { subject_token: expired, audience: API })).toEqual(
      bad('invalid_request', 'the subject token has expired'),
    );
    const handoff = await handOff();
    b.clock.now += 300;
    expect(await b.exchange('booker', { subject_token: handoff, audience: API })).toEqual(
      bad('invalid_request', 'the subject token has expired'),
    );
  });
});

describe('rule 7: depth is bounded and chains never loop', () => {
  const hops = (p: PolicyFile): PolicyFile => ({
    ...p,
    clients: [
      ...p.clients,
      ...[1, 2, 3, 4, 5].map((i): PolicyFile['clients'][number] => ({
        client_id: `hop${i}`,
        client_secret_sha256: p.clients.find((c) => c.client_id === 'planner')!
          .client_secret_sha256,
        grant_types: [TE],
        scopes: ['trips:read'],
        audiences: [API, ...(i < 5 ? [`agent:hop${i + 1}`] : [])],
      })),
    ],
  });

  it('reaches depth 4 in four hand-offs and refuses the fifth hop', async () => {
    const hb = await makeBroker({ policy: hops });
    try {
      const as = (client: string, form: Record<string, string>) =>
        hb.post('/token', { grant_type: TE, subject_token_type: AT, ...form }, null, {
          authorization: basic(client, SECRETS.planner),
        });
      let token = await hb.idp.sign({ sub: 'alice' });
      for (let i = 1; i <= 4; i++) {
        const res = await as(`hop${i}`, { subject_token: token, audience: `agent:hop${i + 1}` });
        expect(res.status).toBe(200);
        token = ((await res.json()) as { access_token: string }).access_token;
      }
      expect(claimsOf(token).act).toEqual({
        sub: 'hop4',
        act: { sub: 'hop3', act: { sub: 'hop2', act: { sub: 'hop1' } } },
      });
      // hop4 is the current actor: re-targeting adds no level, so it stays within the limit.
      expect((await as('hop4', { subject_token: token, audience: API })).status).toBe(200);
      const fifth = await as('hop5', { subject_token: token, audience: API });
      expect({ status: fifth.status, body: await fifth.json() }).toEqual(
        bad('invalid_request', 'delegation depth 5 exceeds the maximum of 4'),
      );
    } finally {
      await hb.close();
    }
  });

  it('honours a lower max_delegation_depth', async () => {
    const lb = await makeBroker({ policy: (p) => ({ ...p, max_delegation_depth: 1 }) });
    try {
      const handoff = await lb.exchange('planner', {
        subject_token: await lb.idp.sign({ sub: 'alice' }),
        audience: 'agent:booker',
      });
      expect(handoff.status).toBe(200);
      expect(
        await lb.exchange('booker', {
          subject_token: handoff.body.access_token as string,
          audience: API,
        }),
      ).toEqual(bad('invalid_request', 'delegation depth 2 exceeds the maximum of 1'));
    } finally {
      await lb.close();
    }
  });

  it('refuses an actor that already appears deeper in the chain', async () => {
    const backToPlanner = await ok('booker', {
      subject_token: await handOff(),
      audience: 'agent:planner',
    });
    expect(await b.exchange('planner', { subject_token: backToPlanner, audience: API })).toEqual(
      bad('invalid_request', 'planner already acts earlier in this chain; a chain may not loop'),
    );
  });
});

describe('rule 8: token types and the response', () => {
  it('refuses a missing or unknown subject_token_type', async () => {
    const subject_token = await idToken();
    const missing = await b.post(
      '/token',
      { grant_type: TE, subject_token, audience: API },
      'planner',
    );
    const expected = {
      error: 'invalid_request',
      error_description: 'subject_token_type must be an access_token or jwt token type',
    };
    expect({ status: missing.status, body: await missing.json() }).toEqual({
      status: 400,
      body: expected,
    });
    const unknown = await b.exchange('planner', {
      subject_token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      audience: API,
    });
    expect(unknown).toEqual({ status: 400, body: expected });
  });

  it('accepts the jwt token type for subject and actor tokens, and refuses an unknown actor_token_type', async () => {
    const actor = (await clientToken('planner')).body.access_token as string;
    const subject_token = await idToken();
    expect(
      (
        await b.exchange('planner', {
          subject_token,
          subject_token_type: JWT_TYPE,
          actor_token: actor,
          actor_token_type: JWT_TYPE,
          audience: API,
        })
      ).status,
    ).toBe(200);
    expect(
      await b.exchange('planner', {
        subject_token,
        actor_token: actor,
        actor_token_type: 'urn:ietf:params:oauth:token-type:saml2',
        audience: API,
      }),
    ).toEqual(bad('invalid_request', 'actor_token_type must be an access_token or jwt token type'));
  });

  it('refuses a requested_token_type of refresh_token or id_token', async () => {
    const subject_token = await idToken();
    for (const type of ['refresh_token', 'id_token']) {
      expect(
        await b.exchange('planner', {
          subject_token,
          requested_token_type: `urn:ietf:params:oauth:token-type:${type}`,
          audience: API,
        }),
      ).toEqual(
        bad(
          'invalid_request',
          'requested_token_type must be an access_token or jwt token type; Baton issues no other',
        ),
      );
    }
    expect(
      (await b.exchange('planner', { subject_token, requested_token_type: AT, audience: API }))
        .status,
    ).toBe(200);
  });

  it('answers with exactly access_token, issued_token_type, token_type, expires_in and scope, never a refresh token', async () => {
    const res = await b.post(
      '/token',
      {
        grant_type: TE,
        subject_token_type: AT,
        subject_token: await idToken(),
        audience: API,
        scope: 'trips:read',
      },
      'planner',
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      access_token: expect.any(String),
      issued_token_type: AT,
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'trips:read',
    });
    const claims = claimsOf(body.access_token);
    expect(Object.keys(claims).sort()).toEqual([
      'act',
      'aud',
      'client_id',
      'exp',
      'iat',
      'iss',
      'jti',
      'scope',
      'sub',
    ]);
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: 'alice',
      aud: API,
      client_id: 'planner',
      scope: 'trips:read',
      exp: b.clock.now + 300,
      iat: b.clock.now,
    });
  });
});

describe('rule 9: errors', () => {
  it('refuses a client without the token-exchange grant with unauthorized_client', async () => {
    expect(await b.exchange('api', { subject_token: await idToken(), audience: API })).toEqual(
      bad('unauthorized_client', `api may not use ${TE}`),
    );
  });

  it('refuses a subject token that is not a JWT with invalid_request', async () => {
    expect(await b.exchange('planner', { subject_token: 'not-a-jwt', audience: API })).toEqual(
      bad('invalid_request', 'the subject token is not a valid signed JWT'),
    );
  });

  it('refuses a revoked Baton subject token with invalid_request', async () => {
    const handoff = await handOff();
    await b.post('/revoke', { token: handoff }, 'planner');
    expect(await b.exchange('booker', { subject_token: handoff, audience: API })).toEqual(
      bad('invalid_request', 'the subject token has been revoked'),
    );
  });
});

describe('rule 10: client_credentials', () => {
  it("issues a token for the client itself, with its scopes and Baton's issuer as aud by default", async () => {
    const res = await clientToken('planner');
    expect(res).toEqual({
      status: 200,
      body: {
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 300,
        scope: 'trips:read trips:book flights:book',
      },
    });
    const claims = claimsOf(res.body.access_token);
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: 'planner',
      client_id: 'planner',
      aud: ISSUER,
      scope: 'trips:read trips:book flights:book',
    });
    expect(claims.act).toBeUndefined();
  });

  it('narrows to a requested subset and refuses a scope outside the client’s', async () => {
    const res = await clientToken('planner', { scope: 'trips:read' });
    expect(res.body.scope).toBe('trips:read');
    expect(claimsOf(res.body.access_token).scope).toBe('trips:read');
    expect(await clientToken('planner', { scope: 'trips:read admin' })).toEqual(
      bad(
        'invalid_scope',
        'scope not allowed: admin (may ask for: trips:read trips:book flights:book)',
      ),
    );
  });

  it('takes audience or resource from the allow-list, else invalid_target', async () => {
    expect(claimsOf((await clientToken('planner', { audience: API })).body.access_token).aud).toBe(
      API,
    );
    expect(
      claimsOf(
        (await clientToken('planner', { resource: API, audience: 'agent:booker' })).body
          .access_token,
      ).aud,
    ).toEqual(['agent:booker', API]);
    expect(await clientToken('planner', { audience: 'https://evil.example' })).toEqual(
      bad(
        'invalid_target',
        `audience not allowed: https://evil.example (may ask for: agent:booker ${API} agent:narrow)`,
      ),
    );
  });

  it('refuses client_credentials to a client not allowed the grant', async () => {
    const res = await b.post(
      '/token',
      { grant_type: 'client_credentials', client_id: 'poster', client_secret: SECRETS.poster! },
      null,
    );
    expect({ status: res.status, body: await res.json() }).toEqual(
      bad('unauthorized_client', 'poster may not use client_credentials'),
    );
  });
});
