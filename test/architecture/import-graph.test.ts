import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkImportGraph, relativeSpecifiers } from '../../test-support/check-import-graph.js';

const trees: string[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) rmSync(t, { recursive: true, force: true });
});

/** A throwaway source tree: path → TypeScript text. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tramite-gate-'));
  trees.push(root);
  writeFileSync(join(root, 'package.json'), '{}');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('import-graph gate', () => {
  it('passes a tree whose dependencies point inward', () => {
    const root = tree({
      'src/core/party.ts': 'export type Party = string;\n',
      'envelopes/egov/header.ts': "import type { Party } from '../../src/core/party.js';\nexport type H = Party;\n",
      'src/node/reception.ts': "import type { H } from '../../envelopes/egov/header.js';\nexport type R = H;\n",
    });
    expect(checkImportGraph(root).problems).toEqual([]);
  });

  it('fails when the wire package imports the node', () => {
    const root = tree({
      'src/node/registry.ts': 'export const r = 1;\n',
      'envelopes/busta/request.ts': "import { r } from '../../src/node/registry.js';\nexport const x = r;\n",
    });
    expect(checkImportGraph(root).problems).toEqual(['envelopes/busta/request.ts (envelopes) imports src/node/registry.ts (node)']);
  });

  it('sees a dynamic import() of a concrete adapter from the node', () => {
    const root = tree({
      'adapters/pec/pec-adapter.ts': 'export default {};\n',
      'src/node/adapter-host.ts': "export const load = () => import('../../adapters/pec/pec-adapter.js');\n",
    });
    expect(checkImportGraph(root).problems).toEqual(['src/node/adapter-host.ts (node) imports adapters/pec/pec-adapter.ts (adapters)']);
  });

  it('lets the built-in table name concrete adapters, and refuses it to the node', () => {
    const root = tree({
      'adapters/pec/pec-adapter.ts': 'export default {};\n',
      'adapters/builtin.ts': "export const BUILTIN = { pec: () => import('./pec/pec-adapter.js') };\n",
      'src/cli/start.ts': "export { BUILTIN } from '../../adapters/builtin.js';\n",
      'src/node/adapter-host.ts': "export { BUILTIN } from '../../adapters/builtin.js';\n",
    });
    expect(checkImportGraph(root).problems).toEqual(['src/node/adapter-host.ts (node) imports adapters/builtin.ts (adapter-table)']);
  });

  it('fails when one adapter imports another instead of the SDK', () => {
    const root = tree({
      'adapters/siatel/codice-fiscale.ts': 'export const cf = 1;\n',
      'adapters/ina-saia/registry-event.ts': "export { cf } from '../siatel/codice-fiscale.js';\n",
    });
    expect(checkImportGraph(root).problems).toEqual([
      'adapters/ina-saia/registry-event.ts (adapter ina-saia) imports adapters/siatel/codice-fiscale.ts (adapter siatel): adapters share code through adapters/sdk',
    ]);
  });

  it('reports an import cycle', () => {
    const root = tree({
      'src/log/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'src/log/b.ts': "import { a } from './a.js';\nexport const b = a;\n",
    });
    expect(checkImportGraph(root).problems).toEqual(['import cycle: src/log/a.ts → src/log/b.ts → src/log/a.ts']);
  });

  it('reads every form of relative import', () => {
    const text = [
      "import a from './a.js';",
      "import type { B } from '../b.js';",
      "export * from './c.js';",
      "export { d } from './d.js';",
      "import './e.js';",
      "const f = await import('./f.js');",
      "import { g } from 'node:fs';",
    ].join('\n');
    expect(relativeSpecifiers(text).sort()).toEqual(['../b.js', './a.js', './c.js', './d.js', './e.js', './f.js']);
  });
});
