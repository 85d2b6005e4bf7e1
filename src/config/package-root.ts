import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TramiteError } from '../core/errors.js';

let cached: string | undefined;

/**
 * The folder of Tramite's package.json, found by walking up from this module: the same answer
 * whether the code runs compiled (dist/src/…) or from sources (src/…, under vitest).
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tramite') return (cached = dir);
    const up = dirname(dir);
    if (up === dir)
      throw new TramiteError('TRAMITE_ERR_PACKAGE_ROOT', 'cannot find the tramite package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** Reads a JSON file shipped with the package (schemas/, config/). */
export function readPackageJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(packageRoot(), ...parts), 'utf8')) as T;
}
