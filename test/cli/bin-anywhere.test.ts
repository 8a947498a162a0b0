/**
 * `baton` run from anywhere (issue 9, "an operator's first hour"): outside the clone,
 * `npx baton` would fetch an unrelated registry package, so the README has operators
 * `npm link` the clone, which puts a symlink to bin/baton.js on their PATH. These run
 * that script as a real process from a folder outside the repository: it finds its own
 * code and the clone's tsconfig (not one that happens to sit in the folder), while
 * `BATON_DB` and init's file resolve against the folder the operator is in.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-anywhere-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: dir,
        env: {
          ...process.env,
          PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
          BATON_POLICY: '',
          BATON_DB: '',
          ...env,
        },
      },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
    );
  });
}

describe('bin/baton.js outside the clone', () => {
  it('runs through a symlink, as npm link installs it, from an unrelated folder', async () => {
    mkdirSync(path.join(dir, 'bin'));
    symlinkSync(path.join(ROOT, 'bin/baton.js'), path.join(dir, 'bin', 'baton'));
    const { code, stdout } = await run(path.join(dir, 'bin', 'baton'), ['help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: baton <command>\n/);
  });

  it('uses the clone’s tsconfig, not one in the folder it runs in', async () => {
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { zod: ['./fake-zod.ts'] } } }),
    );
    writeFileSync(
      path.join(dir, 'fake-zod.ts'),
      'throw new Error("the folder\'s tsconfig was used");\n',
    );
    const { code, stdout, stderr } = await run(process.execPath, [
      path.join(ROOT, 'bin/baton.js'),
      'help',
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^Usage: baton <command>\n/);
  });

  it('starts baton-mcp with the clone’s tsconfig too, from such a folder', async () => {
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { zod: ['./fake-zod.ts'] } } }),
    );
    writeFileSync(
      path.join(dir, 'fake-zod.ts'),
      'throw new Error("the folder\'s tsconfig was used");\n',
    );
    // With no agent identity in its environment it stops at its own check, past every import.
    const { code, stdout, stderr } = await run(
      process.execPath,
      [path.join(ROOT, 'bin/baton-mcp.js')],
      { BATON_URL: '', BATON_CLIENT_ID: '' },
    );
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toMatch(/^\[baton-mcp\] cannot start: bad environment\n/);
  });

  it('resolves a relative BATON_DB against the folder the operator runs in, and says so', async () => {
    const { code, stdout, stderr } = await run(
      process.execPath,
      [path.join(ROOT, 'bin/baton.js'), 'approvals'],
      { BATON_DB: 'data/baton.db' },
    );
    expect({ code, stdout, stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `baton: no ledger at ${path.join(dir, 'data/baton.db')} (BATON_DB): point BATON_DB at the broker's database, or start the broker once (npm start) to create it\n`,
    });
  });
});
