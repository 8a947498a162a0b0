/**
 * The README stands alone (issue 9, "an operator's first hour"): every link it and the
 * project's docs hold points at a file inside the repository (a clone has no
 * `../shared/`), and every `npx baton <command>` it shows is a command the CLI knows.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DOCS = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Markdown link targets that are not web addresses or in-page anchors. */
function localLinks(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.split('#')[0]!);
}

describe('the README and docs stand alone', () => {
  it('link the contract inside the repository', () => {
    expect(localLinks('README.md')).toContain('docs/SPEC.md');
    expect(existsSync(path.join(ROOT, 'docs/SPEC.md'))).toBe(true);
  });

  for (const file of DOCS) {
    it(`${file}: every local link resolves to a file inside the repository`, () => {
      const outside = localLinks(file).filter((target) => {
        const resolved = path.resolve(ROOT, path.dirname(file), target);
        return !resolved.startsWith(`${ROOT}${path.sep}`) || !existsSync(resolved);
      });
      expect(outside).toEqual([]);
    });
  }

  it('shows only `npx baton` commands that the CLI knows', async () => {
    const usage = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        [path.join(ROOT, 'bin/baton.js'), 'help'],
        { cwd: ROOT },
        (_e, stdout) => resolve(stdout),
      );
    });
    const known = new Set([...usage.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!));
    expect(known.has('audit')).toBe(true);
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const shown = new Set(
      [...readme.matchAll(/(?:npx )?baton ([a-z][a-z-]*)/g)]
        .map((m) => m[1]!)
        .filter((c) => c !== 'mcp'),
    );
    expect([...shown].filter((command) => !known.has(command))).toEqual([]);
  });
});
