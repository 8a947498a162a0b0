/**
 * A real broker listening on a free port whose issuer is its real URL, so an HTTP
 * client that reads only the metadata document (like `baton-mcp`) can use it. The app
 * is the same `createApp` as `npm start`, with the `/mcp` mount, over the test policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp } from '../../broker/app.js';
import { buildDeps } from '../../broker/build.js';
import { parsePolicy, type PolicyFile } from '../../broker/config/policy.js';
import type { BrokerDeps } from '../../broker/deps.js';
import { openStore } from '../../broker/store/open-store.js';
import { mountMcp } from '../../mcp-server/http.js';
import { makeIdp, testPolicy, type TestIdp } from '../helpers.js';

export interface LiveBroker {
  url: string;
  deps: BrokerDeps;
  idp: TestIdp;
  close(): Promise<void>;
}

export async function startLiveBroker(
  options: { policy?: (p: PolicyFile, issuer: string) => PolicyFile } = {},
): Promise<LiveBroker> {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-mcp-test-'));
  let app: Hono | undefined;
  const { server, port } = await new Promise<{ server: ServerType; port: number }>(
    (resolve, reject) => {
      const s = serve({ fetch: (req) => app!.fetch(req), port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve({ server: s, port: info.port }),
      );
      s.once('error', reject);
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const idp = await makeIdp(() => Math.floor(Date.now() / 1000));
  const policyFile = (options.policy ?? ((p) => p))(testPolicy(idp.jwk), url);
  const store = await openStore({ dbFile: path.join(dir, 'baton.db'), synchronous: 'FULL' });
  const deps = await buildDeps({ issuer: url, policy: parsePolicy(policyFile, url), store });
  app = createApp(deps, [mountMcp]);
  return {
    url,
    deps,
    idp,
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

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
