/**
 * The real broker as one Node process (`node --import tsx broker/main.ts`, what
 * `npm start` runs, without npm in between), for the operations tests: its exit code is
 * the broker's own, a signal reaches it directly, and its stdout and stderr are kept
 * apart (the banner is text, the logs are JSON lines).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort, ROOT } from './broker-process.js';

export interface NodeBroker {
  url: string;
  port: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once `text` has appeared on stdout or stderr. */
  waitFor(text: string): Promise<void>;
  /** The exit code, once the process has exited. */
  exited: Promise<number | null>;
  /** Kills it if still running (for `afterEach`). */
  kill(): Promise<void>;
}

export async function startNodeBroker(env: Record<string, string>): Promise<NodeBroker> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const check = () => {
    for (const w of waiters.splice(0)) {
      if (out.includes(w.text) || err.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    check();
  });
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
    check();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const waitFor = (text: string) =>
    new Promise<void>((resolve, reject) => {
      waiters.push({ text, resolve });
      check();
      void exited.then(() => reject(new Error(`broker exited before "${text}":\n${out}\n${err}`)));
    });
  await waitFor('listening on');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor,
    exited,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
