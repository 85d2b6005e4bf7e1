/** Variants of a node configuration for the loader's tests, and how to read its refusals. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/core/errors.js';

export type Json = any;

let written = 0;

/** Writes `base` changed by `edit` into `dir` (beside the dev PKI, so its relative paths resolve) and returns its path. */
export function writeConfigCase(dir: string, base: Json, edit: (config: Json) => void, prefix = 'case'): string {
  const config = structuredClone(base);
  edit(config);
  const file = join(dir, `${prefix}-${++written}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** The ConfigError loading `file` is refused with (the test fails when it loads). */
export function configRefusal(file: string): ConfigError {
  try {
    loadConfig(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected ${file} to be refused`);
}

/** The one line of the refusal that is about `field`. */
export function problemAbout(err: ConfigError, field: string): string {
  const line = err.message.split('\n').find((l) => l.startsWith(`config ${field}: `));
  expect(line, `no problem reported for ${field} in:\n${err.message}`).toBeDefined();
  return line!;
}
