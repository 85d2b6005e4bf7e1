/**
 * Architecture gate, run before the tests: dependencies point inward, as README's layout section says,
 * and no module imports itself back through a cycle. Reads the TypeScript sources (static imports,
 * re-exports, side-effect imports and `import()`), so it needs no build of its own.
 *
 * `node dist/test-support/check-import-graph.js [root]` checks the tree at root (default: this package).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SOURCE_DIRS = ['src', 'envelopes', 'adapters'];

interface LayerRule {
  readonly layer: string;
  readonly match: RegExp;
  readonly may: readonly string[];
}

/**
 * Each layer and what it may import (besides itself). Order matters: the first match names a file's
 * layer. Keep in step with README.md, "Layout".
 */
export const LAYER_RULES: readonly LayerRule[] = [
  { layer: 'core', match: /^src\/core\//, may: [] },
  { layer: 'envelopes', match: /^envelopes\//, may: ['core'] },
  { layer: 'crypto', match: /^src\/crypto\//, may: ['core'] },
  { layer: 'daemons', match: /^src\/daemons\//, may: ['core'] },
  { layer: 'config', match: /^src\/config\//, may: ['core', 'crypto'] },
  { layer: 'log', match: /^src\/log\//, may: ['core', 'crypto', 'config'] },
  { layer: 'queue', match: /^src\/queue\//, may: ['core', 'daemons'] },
  { layer: 'adapter-sdk', match: /^adapters\/sdk\//, may: ['core', 'envelopes', 'crypto'] },
  { layer: 'adapters', match: /^adapters\/[^/]+\//, may: ['core', 'adapter-sdk'] },
  // The built-in table: the one file that names concrete adapters, for the composition root.
  { layer: 'adapter-table', match: /^adapters\/builtin\.ts$/, may: ['adapter-sdk', 'adapters'] },
  { layer: 'node', match: /^src\/node\//, may: ['core', 'envelopes', 'crypto', 'config', 'log', 'queue', 'adapter-sdk', 'pdnd'] },
  { layer: 'http', match: /^src\/http\//, may: ['core', 'envelopes', 'config', 'log', 'node'] },
  { layer: 'pec-provider', match: /^src\/pec-provider\//, may: ['core', 'crypto', 'daemons', 'adapter-sdk', 'adapters'] },
  { layer: 'pdnd', match: /^src\/pdnd\//, may: ['core', 'envelopes', 'adapter-sdk'] },
  { layer: 'pdnd-simulator', match: /^src\/pdnd-simulator\//, may: ['core'] },
  {
    layer: 'demo',
    match: /^src\/demo\//,
    may: [
      'core',
      'crypto',
      'envelopes',
      'config',
      'daemons',
      'node',
      'http',
      'adapter-sdk',
      'adapters',
      'pec-provider',
      'pdnd',
      'pdnd-simulator',
    ],
  },
  {
    layer: 'cli',
    match: /^src\/cli\//,
    may: [
      'core',
      'envelopes',
      'crypto',
      'config',
      'log',
      'queue',
      'daemons',
      'node',
      'http',
      'demo',
      'adapter-sdk',
      'adapters',
      'adapter-table',
      'pec-provider',
      'pdnd',
      'pdnd-simulator',
    ],
  },
];

/** Specifiers of relative imports in a TypeScript source: static, re-export, side-effect and dynamic. */
export function relativeSpecifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /(?:^|[\n;])\s*(?:import|export)\s[^'"]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/g,
    /(?:^|[\n;])\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/g,
    /\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]!);
  return found;
}

function layerOf(file: string): LayerRule | undefined {
  return LAYER_RULES.find((r) => r.match.test(file));
}

/** `adapters/<name>/…` → name; the SDK and files directly under adapters/ have none. */
function adapterOf(file: string): string | undefined {
  const m = /^adapters\/([^/]+)\//.exec(file);
  return m && m[1] !== 'sdk' ? m[1] : undefined;
}

/** Every rule the tree at root breaks, one line each; empty when the graph is sound. */
export function checkImportGraph(root: string): { modules: number; problems: string[] } {
  const graph = new Map<string, string[]>();
  const problems: string[] = [];
  for (const top of SOURCE_DIRS) {
    for (const abs of tsFiles(join(root, top))) {
      const file = toPosix(relative(root, abs));
      const deps: string[] = [];
      for (const spec of relativeSpecifiers(readFileSync(abs, 'utf8'))) {
        const target = toPosix(relative(root, resolve(dirname(abs), spec.replace(/\.js$/, '.ts'))));
        deps.push(target);
        const problem = ruleBroken(file, target);
        if (problem) problems.push(problem);
      }
      graph.set(file, deps);
    }
  }
  problems.push(...cycles(graph));
  return { modules: graph.size, problems };
}

function ruleBroken(file: string, target: string): string | undefined {
  const from = layerOf(file);
  const to = layerOf(target);
  if (!from || !to) return undefined;
  if (from.layer === to.layer) {
    const a = adapterOf(file);
    const b = adapterOf(target);
    if (from.layer === 'adapters' && a !== b)
      return `${file} (adapter ${a}) imports ${target} (adapter ${b}): adapters share code through adapters/sdk`;
    return undefined;
  }
  if (!from.may.includes(to.layer)) return `${file} (${from.layer}) imports ${target} (${to.layer})`;
  return undefined;
}

function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 1);
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 1) found.push(`import cycle: ${[...stack.slice(stack.indexOf(d)), d].join(' → ')}`);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return found;
}

function* tsFiles(dir: string): Generator<string> {
  if (!isPresent(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) yield p;
  }
}

function isPresent(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

const toPosix = (p: string): string => p.split(sep).join('/');

function packageRoot(start: string): string {
  let dir = start;
  while (!isPresent(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = process.argv[2] ? resolve(process.argv[2]) : packageRoot(dirname(fileURLToPath(import.meta.url)));
  const { modules, problems } = checkImportGraph(root);
  if (problems.length > 0) {
    process.stderr.write(`import graph check failed:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write(`import graph ok: ${modules} modules, dependencies point inward, no cycles\n`);
}
