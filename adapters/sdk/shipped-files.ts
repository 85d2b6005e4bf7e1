import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TramiteError } from '../../src/core/errors.js';

let root: string | undefined;

/** The folder of Tramite's package.json, found by walking up from here (runs from src/ or dist/ alike). */
export function packageRoot(): string {
  if (root) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tramite') return (root = dir);
    if (dirname(dir) === dir) throw new TramiteError('TRAMITE_ERR_PACKAGE_ROOT', `cannot find the tramite package root above ${start}`);
  }
}

/** A file shipped in the package's `schemas/` folder (XSD, WSDL), for adapters that validate against it. */
export function shippedSchemaPath(...segments: string[]): string {
  return join(packageRoot(), 'schemas', ...segments);
}
