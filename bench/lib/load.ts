/**
 * The load: autocannon (as a library) against one URL, a warm-up and then N timed runs,
 * each checked for errors, with the server's CPU time per request from /proc. The
 * summary is the median of the runs, as the reference's load.mjs reports it.
 * @module
 */
import autocannon from 'autocannon';
import { cpuSeconds } from './procs.js';

export interface LoadRequest {
  /** One server, or several behind no balancer: autocannon spreads connections over them. */
  url: string | readonly string[];
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: string;
}

export interface LoadSettings {
  connections: number;
  /** Seconds per timed run. */
  duration: number;
  runs: number;
  /** Seconds of warm-up before the timed runs (JIT, caches), not counted. */
  warmup: number;
}

export interface RunRow {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  serverCores: number;
  loadgenCores: number;
  serverCpuUsPerReq: number;
  /** CPU of the database server's processes per request, when it is measured (PostgreSQL). */
  dbCpuUsPerReq?: number;
}

export interface LoadSummary {
  ok: boolean;
  /** Why the scenario failed, when it did. */
  failure?: string;
  rps: number;
  rpsMin: number;
  rpsMax: number;
  p50ms: number;
  p99ms: number;
  serverCpuUsPerReq: number;
  dbCpuUsPerReq?: number;
  serverCores: number;
  loadgenCores: number;
  non2xx: number;
  errors: number;
  runs: RunRow[];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const inFlight = new Set<autocannon.Instance>();

function fire(req: LoadRequest, connections: number, duration: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        // autocannon takes an array of URLs too (its types say string only).
        url: req.url as string,
        method: req.method,
        headers: req.headers,
        body: req.body,
        connections,
        duration,
      },
      (err, res) => {
        inFlight.delete(instance);
        if (err) reject(err);
        else resolve(res);
      },
    );
    inFlight.add(instance);
  });
}

/** Stops any load in progress (on SIGINT), so a server asked to stop is not kept busy. */
export function stopLoad(): void {
  for (const instance of inFlight) instance.stop();
  inFlight.clear();
}

/**
 * Warm-up, then `runs` timed runs. A run with any non-2xx answer, connection error or
 * timeout marks the whole scenario failed and stops it there: a benchmark of errors
 * measures nothing.
 */
export async function runLoad(
  req: LoadRequest,
  s: LoadSettings,
  serverPid: number | readonly number[],
  log: (line: string) => void = () => {},
  dbPid?: number,
): Promise<LoadSummary> {
  const pids = typeof serverPid === 'number' ? [serverPid] : serverPid;
  const serverSeconds = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const rows: RunRow[] = [];
  let failure: string | undefined;
  if (s.warmup > 0) {
    const w = await fire(req, s.connections, s.warmup);
    if (w.non2xx > 0 || w.errors > 0)
      failure = `warm-up: ${w.non2xx} non-2xx, ${w.errors} errors (${w.timeouts} timeouts)`;
  }
  for (let i = 0; i < s.runs && failure === undefined; i++) {
    const cpu0 = serverSeconds();
    const db0 = dbPid === undefined ? 0 : cpuSeconds(dbPid);
    const own0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const res = await fire(req, s.connections, s.duration);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const serverCpu = serverSeconds() - cpu0;
    const dbCpu = dbPid === undefined ? undefined : cpuSeconds(dbPid) - db0;
    const own = process.cpuUsage(own0);
    const total = res.requests.total;
    const row: RunRow = {
      rps: total / res.duration,
      p50: res.latency.p50,
      p99: res.latency.p99,
      max: res.latency.max,
      requests: total,
      non2xx: res.non2xx,
      errors: res.errors,
      timeouts: res.timeouts,
      serverCores: serverCpu / wall,
      loadgenCores: (own.user + own.system) / 1e6 / wall,
      serverCpuUsPerReq: total > 0 ? (serverCpu * 1e6) / total : Number.NaN,
      ...(dbCpu === undefined
        ? {}
        : { dbCpuUsPerReq: total > 0 ? (dbCpu * 1e6) / total : Number.NaN }),
    };
    rows.push(row);
    log(
      `    run ${i + 1}/${s.runs}: ${Math.round(row.rps)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, ` +
        `${Math.round(row.serverCpuUsPerReq)} µs CPU/req, non2xx ${row.non2xx}, errors ${row.errors}`,
    );
    if (row.non2xx > 0 || row.errors > 0 || total === 0) {
      const codes = Object.entries(res.statusCodeStats ?? {})
        .map(([code, v]) => `${code}×${v.count ?? 0}`)
        .join(' ');
      failure = `run ${i + 1}: ${row.non2xx} non-2xx, ${row.errors} errors (${row.timeouts} timeouts)${codes ? `; status ${codes}` : ''}`;
    }
  }
  const pick = (k: keyof RunRow) => median(rows.map((r) => r[k] ?? Number.NaN));
  const summary: LoadSummary = {
    ok: failure === undefined,
    rps: Math.round(pick('rps')),
    rpsMin: Math.round(Math.min(...rows.map((r) => r.rps))),
    rpsMax: Math.round(Math.max(...rows.map((r) => r.rps))),
    p50ms: pick('p50'),
    p99ms: pick('p99'),
    serverCpuUsPerReq: Math.round(pick('serverCpuUsPerReq')),
    ...(dbPid === undefined ? {} : { dbCpuUsPerReq: Math.round(pick('dbCpuUsPerReq')) }),
    serverCores: Number(pick('serverCores').toFixed(2)),
    loadgenCores: Number(pick('loadgenCores').toFixed(2)),
    non2xx: rows.reduce((a, r) => a + r.non2xx, 0),
    errors: rows.reduce((a, r) => a + r.errors, 0),
    runs: rows,
  };
  if (failure !== undefined) summary.failure = failure;
  return summary;
}
