/**
 * The operator's endpoints (SPEC §10):
 * - `GET /healthz`: 200 `{"status":"ok"}` when the database answers a trivial query and a
 *   signing key is loaded; otherwise 503 `{"status":"unavailable","failing":[...]}`
 *   naming what failed (`database`, `signing_key`), for a load balancer or an orchestrator.
 *   Open to anyone: it says nothing an outsider could use.
 * - `GET /metrics`: Prometheus text. With `BATON_ADMIN_TOKEN` set it needs that bearer
 *   token (from anywhere); without one it answers only callers on the loopback interface,
 *   so a local Prometheus or `curl` works out of the box and a broker bound to a public
 *   address does not publish its traffic. (Behind a reverse proxy on the same host every
 *   caller is loopback: set `BATON_ADMIN_TOKEN` there, or do not forward `/metrics`.)
 * @module
 */
import type { Context, Hono } from 'hono';
import type { BrokerDeps } from '../deps.js';
import { requireAdminBearer } from '../oauth/admin-bearer.js';
import { BearerError } from '../oauth/errors.js';
import { NO_STORE } from '../endpoints/urls.js';
import { isLoopback, peerAddress } from './peer.js';

export const OPS_PATHS = { health: '/healthz', metrics: '/metrics' } as const;

async function failing(deps: BrokerDeps): Promise<string[]> {
  const out: string[] = [];
  try {
    await deps.store.ping();
  } catch {
    out.push('database');
  }
  if (deps.keyRing.privateKey === undefined || deps.keyRing.publicKeys.size === 0)
    out.push('signing_key');
  return out;
}

function mayReadMetrics(c: Context, adminToken: string | undefined): void {
  const challenge = { realm: 'baton-metrics' };
  if (adminToken === undefined) {
    if (isLoopback(peerAddress(c))) return;
    throw new BearerError(
      'invalid_request',
      401,
      'metrics are served to loopback callers, or with BATON_ADMIN_TOKEN set',
      challenge,
      true,
    );
  }
  requireAdminBearer(c, adminToken, 'metrics need the admin bearer token', 'baton-metrics');
}

export function mountOps(app: Hono, deps: BrokerDeps): void {
  app.get(OPS_PATHS.health, async (c) => {
    const problems = await failing(deps);
    return problems.length === 0
      ? c.json({ status: 'ok' }, 200, NO_STORE)
      : c.json({ status: 'unavailable', failing: problems }, 503, NO_STORE);
  });
  app.get(OPS_PATHS.metrics, async (c) => {
    mayReadMetrics(c, deps.adminToken);
    const text = await deps.metrics.text();
    return c.body(text, 200, { ...NO_STORE, 'Content-Type': deps.metrics.contentType });
  });
}
