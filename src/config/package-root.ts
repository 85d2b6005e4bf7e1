import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

/**
 * A worker thread's entry point `fileName`, beside the module `moduleUrl` (its import.meta.url): next to
 * it when that module runs compiled; under vitest (sources), the compiled twin in dist/. Undefined when
 * that is not built yet: the caller says so with its own code.
 */
export function compiledWorkerScript(moduleUrl: string, fileName: string): URL | undefined {
  const here = fileURLToPath(moduleUrl);
  if (here.endsWith('.js')) return new URL(`./${fileName}`, moduleUrl);
  const compiled = join(packageRoot(), 'dist', relative(packageRoot(), dirname(here)), fileName);
  return existsSync(compiled) ? pathToFileURL(compiled) : undefined;
}
