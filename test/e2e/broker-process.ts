/**
 * Runs the real broker the way a user does (`npm start`) on a free port, for the
 * end-to-end tests: its own process group, so stopping it stops npm and node together.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export interface BrokerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `npm start` with the given environment; resolves once it listens. */
export async function startBrokerProcess(
  env: Record<string, string>,
  port?: number,
): Promise<BrokerProcess> {
  const p = port ?? (await freePort());
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(p), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`broker did not start in 30 s:\n${out}`)),
      30_000,
    );
    const check = () => {
      if (out.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`broker exited before listening:\n${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${p}`,
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      try {
        process.kill(-child.pid!, signal);
      } catch {
        /* already gone */
      }
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/** Runs `npx baton <args>` (the CLI, as an operator does) with `env` added; never rejects. */
export function runBatonCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'broker/cli.ts', ...args],
      // Exports can be large; stdin is closed at once, as in a script.
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
    ).stdin!.end();
  });
}
