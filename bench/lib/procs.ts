/**
 * Child processes for the benchmark: free ports, start a server with its output in a
 * log file, wait until it answers, read its CPU time from /proc, and stop it, always.
 * Every process started here is tracked, so `stopAll()` (run from `finally`, on SIGINT
 * and on exit) leaves nothing behind.
 * @module
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) once the process has gone. */
  readonly exited: Promise<number | string>;
  /** The signal that asks it to finish cleanly (SIGINT for Baton, which then flushes and closes). */
  readonly stopSignal: NodeJS.Signals;
}

const running = new Set<ManagedProcess>();

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  stopSignal?: NodeJS.Signals;
}

/** Spawns a server with stdout and stderr in `logFile`; the PID is the process itself. */
export function startProcess(o: StartOptions): ManagedProcess {
  const log = openSync(o.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(o.command, o.args, { cwd: o.cwd, env: o.env, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log); // the child holds its own copy of the descriptor
  }
  if (child.pid === undefined) throw new Error(`${o.name}: could not spawn ${o.command}`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', () => resolve('spawn error'));
  });
  const proc: ManagedProcess = {
    name: o.name,
    child,
    pid: child.pid,
    logFile: o.logFile,
    exited,
    stopSignal: o.stopSignal ?? 'SIGTERM',
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Waits until the port accepts connections; fails early if the process exits first. */
export async function waitForPort(
  proc: ManagedProcess,
  port: number,
  timeoutMs = 30_000,
): Promise<void> {
  let gone: number | string | undefined;
  void proc.exited.then((c) => (gone = c));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone !== undefined)
      throw new Error(
        `${proc.name} exited (${gone}) before listening on ${port}:\n${tail(proc.logFile)}`,
      );
    if (await portAnswers(port)) return;
    await sleep(100);
  }
  throw new Error(
    `${proc.name} did not listen on ${port} within ${timeoutMs / 1000} s:\n${tail(proc.logFile)}`,
  );
}

/** The last lines of a log file, for an error message. */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Asks a process to stop with its stop signal; SIGKILL after `graceMs`. */
export async function stopProcess(proc: ManagedProcess, graceMs = 10_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill(proc.stopSignal);
  const timer = sleep(graceMs).then(() => 'timeout' as const);
  if ((await Promise.race([proc.exited, timer])) === 'timeout') {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

/** Stops every process this module started (in parallel). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => stopProcess(p)));
}

/** Last resort from a synchronous `exit` handler: SIGKILL whatever is still running. */
export function killAllNow(): void {
  for (const p of running) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function treePids(pid: number): number[] {
  const out = [pid];
  const dir = `/proc/${pid}/task`;
  const tasks = existsSync(dir) ? readdirSync(dir) : [];
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`${dir}/${t}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean))
        out.push(...treePids(Number(c)));
    } catch {
      /* task gone or no children file */
    }
  }
  return out;
}

/**
 * CPU time (user + system, seconds) of a process and its descendants, from
 * /proc/<pid>/stat fields 14 and 15 (utime, stime; all threads), as the reference's
 * load.mjs reads it. 0 where /proc is missing.
 */
export function cpuSeconds(pid: number): number {
  let total = 0;
  for (const p of treePids(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / ticksPerSecond();
    } catch {
      /* exited */
    }
  }
  return total;
}
