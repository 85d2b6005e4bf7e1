/**
 * Architecture gate, run before the tests: dependencies point inward and no module imports itself
 * back through a cycle. Reads the TypeScript sources, so it needs no build of its own.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = findRoot(dirname(fileURLToPath(import.meta.url)));
const SOURCE_DIRS = ['src', 'envelopes', 'adapters'];

/** Layer of a file, and the layers it may import. */
const RULES: Array<{ layer: string; match: RegExp; may: string[] }> = [
  { layer: 'core', match: /^src\/core\//, may: ['core'] },
  { layer: 'crypto', match: /^src\/crypto\//, may: ['core', 'crypto'] },
  { layer: 'envelopes', match: /^envelopes\//, may: ['core', 'crypto', 'envelopes'] },
  { layer: 'config', match: /^src\/config\//, may: ['core', 'crypto', 'config'] },
  { layer: 'log', match: /^src\/log\//, may: ['core', 'crypto', 'config', 'log'] },
  { layer: 'daemons', match: /^src\/daemons\//, may: ['core', 'daemons'] },
  { layer: 'queue', match: /^src\/queue\//, may: ['core', 'daemons', 'queue'] },
  { layer: 'adapter-sdk', match: /^adapters\/sdk\//, may: ['core', 'crypto', 'adapter-sdk'] },
  { layer: 'adapters', match: /^adapters\//, may: ['core', 'adapter-sdk', 'adapters'] },
  { layer: 'node', match: /^src\/node\//, may: ['core', 'crypto', 'envelopes', 'config', 'log', 'queue', 'adapter-sdk', 'node'] },
  { layer: 'http', match: /^src\/http\//, may: ['core', 'crypto', 'envelopes', 'config', 'log', 'queue', 'node', 'http'] },
  { layer: 'demo', match: /^src\/demo\//, may: ['core', 'crypto', 'envelopes', 'config', 'node', 'http', 'demo', 'adapter-sdk', 'adapters', 'pec-provider', 'daemons'] },
  { layer: 'pec-provider', match: /^src\/pec-provider\//, may: ['core', 'crypto', 'adapter-sdk', 'adapters', 'pec-provider', 'daemons'] },
  { layer: 'cli', match: /^src\/cli\//, may: ['core', 'crypto', 'envelopes', 'config', 'log', 'queue', 'node', 'http', 'demo', 'cli', 'adapter-sdk', 'adapters', 'pec-provider', 'daemons'] },
];

const layerOf = (file: string) => RULES.find((r) => r.match.test(file));

function findRoot(start: string): string {
  let dir = start;
  while (!statSafe(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
function statSafe(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function* tsFiles(dir: string): Generator<string> {
  if (!statSafe(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) yield p;
  }
}

const graph = new Map<string, string[]>();
const problems: string[] = [];
for (const top of SOURCE_DIRS) {
  for (const abs of tsFiles(join(root, top))) {
    const file = relative(root, abs);
    const text = readFileSync(abs, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
      const target = relative(root, resolve(dirname(abs), m[1]!.replace(/\.js$/, '.ts')));
      deps.push(target);
      const from = layerOf(file);
      const to = layerOf(target);
      if (from && to && !from.may.includes(to.layer)) problems.push(`${file} (${from.layer}) imports ${target} (${to.layer})`);
    }
    graph.set(file, deps);
  }
}

// Cycles: depth-first search with colours.
const state = new Map<string, 1 | 2>();
const stack: string[] = [];
function visit(n: string): void {
  state.set(n, 1);
  stack.push(n);
  for (const d of graph.get(n) ?? []) {
    if (!graph.has(d)) continue;
    if (state.get(d) === 1) problems.push(`import cycle: ${[...stack.slice(stack.indexOf(d)), d].join(' → ')}`);
    else if (!state.has(d)) visit(d);
  }
  stack.pop();
  state.set(n, 2);
}
for (const n of graph.keys()) if (!state.has(n)) visit(n);

if (problems.length > 0) {
  process.stderr.write(`import graph check failed:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`import graph ok: ${graph.size} modules, dependencies point inward, no cycles\n`);
