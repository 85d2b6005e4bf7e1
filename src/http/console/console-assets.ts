import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../config/package-root.js';

/** The console's static files (console-assets/ at the package root): a style sheet and the progress bar's script. */
const ASSETS: Readonly<Record<string, string>> = {
  'console.css': 'text/css; charset=utf-8',
  'verify-progress.js': 'text/javascript; charset=utf-8',
};

const cache = new Map<string, Buffer>();

/** A shipped asset by name; undefined for any other name (no path is ever built from the request). */
export function consoleAsset(name: string): { readonly contentType: string; readonly body: Buffer } | undefined {
  const contentType = ASSETS[name];
  if (!contentType || !Object.hasOwn(ASSETS, name)) return undefined;
  let body = cache.get(name);
  if (!body) cache.set(name, (body = readFileSync(join(packageRoot(), 'console-assets', name))));
  return { contentType, body };
}
