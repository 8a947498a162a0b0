/**
 * A real Baton broker listening on a free port, for tests of `baton/verify`: the verifier
 * fetches the metadata, JWKS and introspection over real HTTP, so the broker's issuer
 * must be the URL it listens on. The server starts on port 0 first and the broker is
 * built once the port is known, so no other process can take the port in between.
 * The clock is the real one plus an offset a test can move (to mint tokens that are
 * already expired in real time, with no sleeping).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { createApp } from '../../broker/app.js';
import { buildDeps } from '../../broker/build.js';
import { parsePolicy } from '../../broker/config/policy.js';
import type { BrokerDeps } from '../../broker/deps.js';
import { openSqliteStore } from '../../broker/store/sqlite-store.js';
import {
  ADMIN_TOKEN,
  AT,
  basic,
  makeIdp,
  TE,
  testPolicy,
  toBody,
  type TestIdp,
} from '../helpers.js';

export interface LiveBroker {
  issuer: string;
  deps: BrokerDeps;
  idp: TestIdp;
  /** Seconds added to the real clock for the broker and the test IdP. */
  clock: { offset: number };
  /** The path of every request the broker has answered, in order (to count JWKS fetches). */
  requests: string[];
  /** POSTs a form to the broker over HTTP, with Basic auth for `client`. */
  post(p: string, form: Record<string, string>, client: string): Promise<Response>;
  /** A token exchange by `client`; throws unless it succeeds. */
  exchange(client: string, form: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

export async function startLiveBroker(): Promise<LiveBroker> {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-verify-'));
  let fetchApp: ((req: Request) => Response | Promise<Response>) | undefined;
  const server = serve({
    fetch: (req) => (fetchApp ? fetchApp(req) : new Response('starting', { status: 503 })),
    port: 0,
    hostname: '127.0.0.1',
  });
  if (!server.listening) await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const clock = { offset: 0 };
  const now = () => Math.floor(Date.now() / 1000) + clock.offset;
  const idp = await makeIdp(now);
  const store = openSqliteStore(path.join(dir, 'baton.db'));
  const deps = await buildDeps({
    issuer,
    policy: parsePolicy(testPolicy(idp.jwk), issuer),
    store,
    adminToken: ADMIN_TOKEN,
    now,
  });
  const app = createApp(deps);
  const requests: string[] = [];
  fetchApp = (req) => {
    requests.push(new URL(req.url).pathname);
    return app.fetch(req);
  };

  const post: LiveBroker['post'] = (p, form, client) =>
    fetch(`${issuer}${p}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(client),
      },
      body: toBody(form),
    });

  return {
    issuer,
    deps,
    idp,
    clock,
    requests,
    post,
    async exchange(client, form) {
      const res = await post(
        '/token',
        form.grant_type ? form : { grant_type: TE, subject_token_type: AT, ...form },
        client,
      );
      const body = (await res.json()) as Record<string, unknown>;
      if (res.status !== 200)
        throw new Error(`exchange by ${client} failed: ${JSON.stringify(body)}`);
      return body.access_token as string;
    },
    async close() {
      server.close();
      await once(server, 'close');
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
