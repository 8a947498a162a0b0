/**
 * `npm start`: env → policy → database (migrations) → keys → serve. The only module
 * with start-up side effects. A configuration problem prints `field: what is wrong`
 * and exits 1, never a bare stack trace. The banner is human text on stdout; request
 * logs are JSON lines on stderr (SPEC §10). SIGTERM (or SIGINT) stops taking
 * connections, lets requests in flight finish, closes the database, flushes the logs and
 * exits 0.
 * @module
 */
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { createMcpMount } from '../mcp-server/http.js';
import { createApp } from './app.js';
import { buildDeps } from './build.js';
import { DEMO_CLIENTS, DEMO_USERS, demoPolicy } from './config/demo-policy.js';
import { parseEnv, type BrokerEnv } from './config/env.js';
import { ConfigError } from './config/format-issues.js';
import { loadPolicyFile, parsePolicy, type Policy } from './config/policy.js';
import type { BrokerDeps } from './deps.js';
import { createLogger, flushLogs } from './ops/log.js';
import { limitServer, serverOptions } from './ops/server-limits.js';
import { describeStore, openStore, storeLocation } from './store/open-store.js';
import { startRetention } from './ledger/retention.js';
import { startKeyRefresh } from './tokens/key-refresh.js';

export interface RunningBroker {
  deps: BrokerDeps;
  server: ServerType;
  url: string;
  close(): Promise<void>;
}

async function loadPolicy(env: BrokerEnv): Promise<{ policy: Policy; demo: boolean }> {
  if (env.policyFile !== undefined)
    return { policy: loadPolicyFile(env.policyFile, env.issuer), demo: false };
  return { policy: parsePolicy(await demoPolicy(env.issuer, env.dbFile), env.issuer), demo: true };
}

function banner(env: BrokerEnv, policy: Policy, demo: boolean, url: string): string {
  const lines = [
    `Baton delegation broker listening on ${url}`,
    `  issuer   ${env.issuer}`,
    `  metadata ${env.issuer}/.well-known/oauth-authorization-server`,
    `  ledger   ${describeStore(storeLocation(env))}`,
    `  mcp      ${env.issuer}/mcp (Streamable HTTP; npx baton-mcp for stdio)`,
    `  console  ${env.issuer}/console`,
    `  policy   ${env.policyFile ?? 'built-in demo policy (public secrets: for trying Baton, never for deployment)'}`,
    `  audit    ${env.adminToken ? `${env.issuer}/audit/tokens (Bearer BATON_ADMIN_TOKEN)` : 'API off: set BATON_ADMIN_TOKEN; `npx baton audit <jti>` reads the ledger directly'}`,
  ];
  if (demo) {
    lines.push('', 'Demo clients (client_id / client secret):');
    for (const [id, credential] of Object.entries(DEMO_CLIENTS)) {
      const c = policy.clients.get(id)!;
      lines.push(
        `  ${id.padEnd(14)} ${credential}   scopes: ${c.scopes.join(' ') || '-'}   audiences: ${[...c.audiences].join(' ') || '-'}`,
      );
    }
    lines.push(
      `Demo users: ${Object.keys(DEMO_USERS).join(', ')} (an agent's approval requests: npx baton approvals, then approve <id> or deny <id>)`,
    );
    lines.push(
      '',
      'A first token, and a hand-off:',
      `  ALICE=$(npx baton demo-token alice)     # alice's token from the demo identity provider`,
      `  curl -s -u trip-planner:${DEMO_CLIENTS['trip-planner']} ${env.issuer}/token \\`,
      `    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\`,
      `    -d subject_token_type=urn:ietf:params:oauth:token-type:access_token -d subject_token=$ALICE \\`,
      `    -d audience=agent:flight-booker -d scope=flights:book`,
      '  (the README walks the whole chain)',
    );
  }
  return lines.join('\n');
}

/** Starts a broker from the environment; resolves once it listens. */
export async function startBroker(
  processEnv: NodeJS.ProcessEnv = process.env,
): Promise<RunningBroker> {
  const env = parseEnv(processEnv);
  const { policy, demo } = await loadPolicy(env);
  const store = await openStore(env);
  const log = createLogger(env.logLevel);
  const deps = await buildDeps({
    issuer: env.issuer,
    policy,
    store,
    adminToken: env.adminToken,
    log,
  });
  deps.metrics.collectProcessMetrics();
  // Ledger retention (policy `retention`): background batches; stopped before the store closes.
  const retention = startRetention(deps, {
    onPass: (pruned) => log.info({ pruned }, 'retention pass'),
    onError: (err) => log.error({ err }, 'retention pass failed'),
  });
  // Signing keys (SPEC §9): re-read every few seconds, rotated on the policy's schedule.
  const keyRefresh = startKeyRefresh(deps, {
    onNewKeys: (kids) => log.info({ kids }, 'signing keys published'),
    onRotated: (key) => log.info({ kid: key.kid }, 'signing key rotated on schedule'),
    onError: (err) => log.error({ err }, 'signing key refresh failed'),
  });
  const app = createApp(deps, [createMcpMount({ allowedOrigins: env.mcpAllowedOrigins })]);
  const { server, port } = await new Promise<{ server: ServerType; port: number }>(
    (resolve, reject) => {
      const s = serve(
        {
          fetch: app.fetch,
          port: env.port,
          hostname: env.host,
          serverOptions: serverOptions(env.server),
        },
        (info) => resolve({ server: s, port: info.port }),
      );
      s.once('error', reject);
    },
  );
  const closeServer = limitServer(server as Server, env.server);
  const url = `http://${env.host.includes(':') ? `[${env.host}]` : env.host}:${port}`;
  console.log(banner(env, policy, demo, url));
  log.info({ url, issuer: env.issuer, max_connections: env.server.maxConnections }, 'listening');
  return {
    deps,
    server,
    url,
    async close() {
      await closeServer(env.server.shutdownTimeoutMs);
      await retention.stop();
      await keyRefresh.stop();
      await store.close();
      log.info('stopped');
      flushLogs(log);
    },
  };
}

/** Runs the broker until SIGINT/SIGTERM; a bad configuration exits 1 with its message. */
export async function runMain(): Promise<void> {
  try {
    const broker = await startBroker();
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: finishing in-flight requests, closing the ledger`);
      void broker.close().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(`Baton did not stop cleanly: ${(error as Error).message}`);
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Baton cannot start: bad configuration\n${error.message}`);
    } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error('Baton cannot start: the port is already in use (set PORT to another one)');
    } else {
      console.error(`Baton cannot start: ${(error as Error).message}`);
    }
    process.exit(1);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runMain();
}
