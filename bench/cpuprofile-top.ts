/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`, e.g. the broker run by
 * `npm run bench -- --only=one-hop --cpu-prof=/tmp/baton-prof`): self time by area
 * (jose, hono, zod, drizzle, better-sqlite3, node core, our code, GC, idle...), the top
 * functions by self time, and the top functions by inclusive (total) time.
 *
 *   npx tsx bench/cpuprofile-top.ts /tmp/baton-prof            # newest profile in the dir
 *   npx tsx bench/cpuprofile-top.ts file.cpuprofile --top=40
 *
 * Only the main thread is sampled: WebCrypto work that runs on libuv's thread pool
 * (jose's ES256 sign and verify in Node) shows up as the JS that queued it, not as
 * its own CPU. Compare with the bench's "server CPU µs/req" for the whole process.
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Which part of the stack a frame belongs to, from its URL. */
export function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (idle), (program), (root)
    return 'native (C++ builtins, addons)';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?(?:deps\/)?([a-z_]+)/.exec(url);
    return `node:${m?.[1] ?? 'core'}`;
  }
  const ours = /\/(broker|bench|mcp-server)\/(.*)$/.exec(url);
  if (ours) return `baton ${ours[1]}/${ours[2]!.split('/')[0]!.replace(/\.ts$/, '')}`;
  return url.replace(/^file:\/\//, '');
}

function label(frame: CallFrame): string {
  const where =
    frame.url === ''
      ? ''
      : ` ${frame.url.replace(/^file:\/\/.*?\/(node_modules|broker)\//, '$1/')}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${where}`;
}

/**
 * A file as given, or in a directory the newest main-thread profile (node names them
 * CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread, the
 * others are workers such as tsx's module loader).
 */
function resolveFile(arg: string): string {
  if (!statSync(arg).isDirectory()) return arg;
  const files = readdirSync(arg)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(path.join(arg, b)).mtimeMs - statSync(path.join(arg, a)).mtimeMs);
  const main = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
  if (main === undefined) throw new Error(`no .cpuprofile in ${arg}`);
  return path.join(arg, main);
}

function table(rows: Array<[string, number]>, total: number, top: number, title: string): string {
  const lines = [`\n${title}`, '| ms | % | |', '| ---: | ---: | --- |'];
  for (const [name, us] of rows.slice(0, top)) {
    lines.push(
      `| ${(us / 1000).toFixed(0)} | ${((100 * us) / total).toFixed(1)} | ${name.replace(/\|/g, '/')} |`,
    );
  }
  return lines.join('\n');
}

function main(): void {
  const args = process.argv.slice(2);
  const topArg = args.find((a) => a.startsWith('--top='));
  const top = topArg ? Number(topArg.slice(6)) : 30;
  const target = args.find((a) => !a.startsWith('--'));
  if (target === undefined) {
    process.stderr.write('usage: tsx bench/cpuprofile-top.ts <file.cpuprofile | dir> [--top=N]\n');
    process.exit(2);
  }
  const file = resolveFile(target);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Sample i lasts from its timestamp to the next one (the last one to endTime).
  const stamps: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) stamps.push((t += d));
  const selfById = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dur = (stamps[i + 1] ?? profile.endTime) - stamps[i]!;
    const id = profile.samples[i]!;
    selfById.set(id, (selfById.get(id) ?? 0) + Math.max(0, dur));
  }

  const total = [...selfById.values()].reduce((a, b) => a + b, 0);
  const selfByFn = new Map<string, number>();
  const selfByArea = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfById) {
    const node = byId.get(id)!;
    const key = label(node.callFrame);
    selfByFn.set(key, (selfByFn.get(key) ?? 0) + us);
    const a = area(node.callFrame);
    selfByArea.set(a, (selfByArea.get(a) ?? 0) + us);
    // inclusive: each distinct function on this sample's stack, once
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur)!.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const idle = selfByArea.get('(idle)') ?? 0;
  const busy = total - idle;
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);

  const out = [
    `# ${file}`,
    `profiled ${(total / 1e6).toFixed(2)} s on the main thread: busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s (${((100 * idle) / total).toFixed(1)}%); percentages below are of busy time`,
    table(
      sorted(selfByArea).filter(([k]) => k !== '(idle)'),
      busy,
      top,
      '## Self time by area',
    ),
    table(
      sorted(selfByFn).filter(([k]) => !k.startsWith('(idle)')),
      busy,
      top,
      '## Top functions by self time',
    ),
    table(
      sorted(inclusive).filter(([k]) => !/^\((root|idle|program|garbage collector)\)/.test(k)),
      busy,
      top,
      '## Top functions by inclusive time (self + callees)',
    ),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

main();
