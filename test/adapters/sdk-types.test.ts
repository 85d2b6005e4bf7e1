/**
 * The published SDK ships its types: the package as `npm pack` makes it (after the build), unpacked
 * into a fresh node_modules/tramite, type-checks a small adapter that imports `tramite/adapters/sdk`
 * with the repository's TypeScript (NodeNext resolution, as integrators use), and refuses one that
 * leaves out busApi.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
let project: string;

const GOOD = `import { AdapterError, defineAdapter, type AdapterContext, type BusMessage } from 'tramite/adapters/sdk';

interface Options {
  readonly folder: string;
}

export default defineAdapter<Options>({
  id: 'piccolo',
  version: '1.0.0',
  busApi: '^1',
  description: 'A tiny adapter, compiled against the packed types',
  optionsSchema: { type: 'object', additionalProperties: false, required: ['folder'], properties: { folder: { type: 'string' } } },
  setup: (ctx: AdapterContext<Options>) => ({
    start: async () => undefined,
    stop: async () => undefined,
    health: async () => ({ status: 'up' as const }),
    egress: async (m: BusMessage) => {
      if (m.payload.length === 0) throw AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', 'empty payload');
      return { kind: 'accepted' as const, reference: \`\${ctx.options.folder}/\${m.id}\` };
    },
  }),
});
`;

// No busApi: the bus API range is part of the contract.
const BAD = `import { defineAdapter } from 'tramite/adapters/sdk';

export default defineAdapter({
  id: 'rotto',
  version: '1.0.0',
  description: 'Breaks the contract',
  optionsSchema: { type: 'object' },
  setup: () => ({
    start: async () => undefined,
    stop: async () => undefined,
    health: async () => ({ status: 'up' as const }),
    egress: async () => ({ kind: 'accepted' as const }),
  }),
});
`;

function typecheck(file: string): { ok: boolean; output: string } {
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
      },
      files: [file],
    }),
  );
  const run = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

beforeAll(() => {
  if (!existsSync(join(repo, 'dist', 'adapters', 'sdk', 'index.d.ts')))
    throw new Error('dist/adapters/sdk/index.d.ts is missing: build first (npx tsc -p tsconfig.json)');
  project = mkdtempSync(join(tmpdir(), 'tramite-sdk-types-'));
  const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', project], {
    cwd: repo,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop()!;
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, 'tramite'), { recursive: true });
  execFileSync('tar', ['-xzf', join(project, packed), '-C', join(modules, 'tramite'), '--strip-components=1']);
  // The package's own dependencies (and @types/node), as an install would provide them.
  for (const name of readdirSync(join(repo, 'node_modules'))) {
    if (name !== 'tramite' && !name.startsWith('.')) symlinkSync(join(repo, 'node_modules', name), join(modules, name));
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'integrator', private: true, type: 'module' }));
  writeFileSync(join(project, 'good-adapter.ts'), GOOD);
  writeFileSync(join(project, 'bad-adapter.ts'), BAD);
}, 180_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the packed SDK’s type declarations', () => {
  it('ship in the package, named by exports', () => {
    expect(existsSync(join(project, 'node_modules', 'tramite', 'dist', 'adapters', 'sdk', 'index.d.ts'))).toBe(true);
  });

  it('type-check an adapter that keeps the contract', () => {
    const result = typecheck('good-adapter.ts');
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  }, 180_000);

  it('refuse an adapter that declares no busApi', () => {
    const result = typecheck('bad-adapter.ts');
    expect(result.ok).toBe(false);
    expect(result.output).toContain("Property 'busApi' is missing");
  }, 180_000);
});
