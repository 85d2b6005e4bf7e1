/**
 * An adapter's options, checked one way wherever they are checked (the node at load, the conformance
 * kit in the integrator's tests): its JSON Schema (draft-07, or 2020-12 when `$schema` says so) compiled
 * once by ajv in strict mode, all errors reported, defaults applied; and the validated options frozen,
 * deeply, before the adapter sees them — an adapter cannot change what the configuration said.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export type OptionsValidator = ValidateFunction;

const compiled = new WeakMap<object, OptionsValidator>();

/** The validator of `schema` (compiled at the first call, then reused). Throws ajv's error for a schema strict mode refuses. */
export function compileOptionsSchema(schema: Readonly<Record<string, unknown>>): OptionsValidator {
  const known = compiled.get(schema);
  if (known) return known;
  const settings = { allErrors: true, useDefaults: true, verbose: true, strict: true } as const;
  const ajv = String(schema['$schema'] ?? '').includes('2020-12') ? new Ajv2020(settings) : new Ajv(settings);
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  compiled.set(schema, validate);
  return validate;
}

/** `value` and everything reachable from it, frozen. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}
