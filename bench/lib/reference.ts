/**
 * The reference servers from ../shared/bench-reference, run in the same session so
 * Baton's numbers can be read as ratios: the ceiling probe (`server-hono.mjs`,
 * INSERT=group PARSE=text ALG=ES256) and the peer (`server-oidc.mjs`, node-oidc-provider,
 * ALG=ES256 INSERT=drizzle). They run from a copy (they write data/ where they run),
 * with `npm install` there once. The request is the one their load.mjs sends for the
 * kinds `exchange-ES256` and `oidc-te-ES256`, built with their own keys.mjs.
 * @module
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LoadRequest } from './load.js';

export interface ReferenceCase {
  label: 'ref-ceiling' | 'ref-oidc-peer';
  description: string;
  script: string;
  kind: 'exchange-ES256' | 'oidc-te-ES256';
  env: Record<string, string>;
}

export const REFERENCE_CASES: readonly ReferenceCase[] = [
  {
    label: 'ref-ceiling',
    description: 'ceiling probe: server-hono.mjs INSERT=group PARSE=text ALG=ES256',
    script: 'server-hono.mjs',
    kind: 'exchange-ES256',
    env: { ALG: 'ES256', INSERT: 'group', PARSE: 'text', WORKERS: '1' },
  },
  {
    label: 'ref-oidc-peer',
    description: 'peer: server-oidc.mjs (node-oidc-provider) ALG=ES256 INSERT=drizzle',
    script: 'server-oidc.mjs',
    kind: 'oidc-te-ES256',
    env: { ALG: 'ES256', INSERT: 'drizzle', WORKERS: '1' },
  },
];

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    p.once('error', reject);
    p.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${cmd} ${args.join(' ')} in ${cwd} exited ${code}`)),
    );
  });
}

/** Copies the reference folder to `dest` (keeping an existing node_modules) and installs once. */
export async function prepareReference(
  source: string,
  dest: string,
  log: (s: string) => void,
): Promise<void> {
  if (!existsSync(path.join(source, 'server-hono.mjs')))
    throw new Error(`no reference servers in ${source}`);
  mkdirSync(dest, { recursive: true });
  cpSync(source, dest, {
    recursive: true,
    force: true,
    // only the sources: never their install, data, logs or results
    filter: (src) =>
      !['node_modules', 'data', 'logs', 'results'].includes(
        path.relative(source, src).split(path.sep)[0] ?? '',
      ),
  });
  if (!existsSync(path.join(dest, 'node_modules', 'oidc-provider'))) {
    log(`  npm install in ${dest} (first use; needs the npm registry)`);
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], dest);
  }
}

interface KeysModule {
  mintSubjectToken(dir: string, alg: string): Promise<string>;
}

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/**
 * The request the reference load.mjs sends for `kind`, with a subject token minted by
 * the copied keys.mjs from the server's DATA dir (so the server knows the key).
 */
export async function referenceRequest(
  refDir: string,
  c: ReferenceCase,
  dataDir: string,
  port: number,
): Promise<LoadRequest> {
  const keys = (await import(pathToFileURL(path.join(refDir, 'keys.mjs')).href)) as KeysModule;
  const subjectToken = await keys.mintSubjectToken(dataDir, 'ES256');
  const auth =
    c.kind === 'exchange-ES256'
      ? basic('agent-calendar-writer-21b9', 's3cret-s3cret-s3cret')
      : basic('bench-client', 'bench-secret-bench-secret');
  return {
    url: `http://127.0.0.1:${port}/token`,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      audience: 'https://api.example.com/calendar',
      scope: 'calendar.read calendar.events.write',
    }).toString(),
  };
}
