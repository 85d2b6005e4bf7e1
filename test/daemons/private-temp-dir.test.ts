import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createPrivateTempDir } from '../../src/daemons/private-temp-dir.js';

describe('createPrivateTempDir', () => {
  it('makes a 0700 folder named after its user, removed with its contents, twice harmlessly', () => {
    const dir = createPrivateTempDir('unit');
    expect(dir.path).toMatch(/tramite-unit-[^/]+$/);
    expect(statSync(dir.path).mode & 0o777).toBe(0o700);
    writeFileSync(join(dir.path, 'file'), 'x');
    dir.remove();
    expect(existsSync(dir.path)).toBe(false);
    dir.remove();
  });

  it('is removed when the process exits without removing it', () => {
    const module = fileURLToPath(new URL('../../dist/src/daemons/private-temp-dir.js', import.meta.url));
    const script = `const { createPrivateTempDir } = await import(${JSON.stringify(module)}); console.log(createPrivateTempDir('unit').path);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    const path = run.stdout.trim();
    expect(path).toMatch(/tramite-unit-/);
    expect(existsSync(path)).toBe(false);
  });
});
