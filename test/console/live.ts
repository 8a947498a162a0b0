/**
 * A real broker on a loopback port for the browser tests: the same `createApp` as
 * `npm start` (console included), a temp SQLite, the admin token set, and the issuer its
 * real URL, so a browser and agents speak to it over HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp } from '../../broker/app.js';
import { buildDeps } from '../../broker/build.js';
import { parsePolicy, type PolicyFile } from '../../broker/config/policy.js';
import type { BrokerDeps } from '../../broker/deps.js';
import { openStore } from '../../broker/store/open-store.js';
import { ADMIN_TOKEN, makeIdp, testPolicy } from '../helpers.js';

export interface ConsoleBroker {
  url: string;
  deps: BrokerDeps;
  close(): Promise<void>;
}

export async function startConsoleBroker(
  policy: (p: PolicyFile) => PolicyFile,
): Promise<ConsoleBroker> {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-console-'));
  let app: Hono | undefined;
  const { server, port } = await new Promise<{ server: ServerType; port: number }>(
    (resolve, reject) => {
      const s = serve(
        { fetch: (req, env) => app!.fetch(req, env), port: 0, hostname: '127.0.0.1' },
        (info) => resolve({ server: s, port: info.port }),
      );
      s.once('error', reject);
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const idp = await makeIdp(() => Math.floor(Date.now() / 1000));
  const store = await openStore({ dbFile: path.join(dir, 'baton.db'), synchronous: 'FULL' });
  const deps = await buildDeps({
    issuer: url,
    policy: parsePolicy(policy(testPolicy(idp.jwk)), url),
    store,
    adminToken: ADMIN_TOKEN,
  });
  app = createApp(deps);
  return {
    url,
    deps,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          void store.close().then(() => {
            rmSync(dir, { recursive: true, force: true });
            resolve();
          });
        });
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
