import { describe, expect, it } from 'vitest';
import { compileOptionsSchema } from '../../adapters/sdk/options-schema.js';
import { siatelOptionsSchema } from '../../adapters/siatel/siatel-options.js';
import { schemaProblem } from '../../src/config/schema-problems.js';

/** The refusals of an adapter's options, as the node words them. */
function problems(options: unknown) {
  const validate = compileOptionsSchema(siatelOptionsSchema);
  expect(validate(structuredClone(options))).toBe(false);
  return (validate.errors ?? []).map((e) => schemaProblem(e, 'options'));
}

describe('schema problems a person can act on', () => {
  it('names the missing property of a dependency, and a date-time written wrong, with the fix', () => {
    expect(problems({ clockAnchor: '2026-12-07T00:00:00Z' })).toEqual([
      {
        path: 'options.clockFactor',
        what: 'is missing: clockAnchor is given, and means nothing without it',
        fix: 'add "clockFactor", or remove "clockAnchor"',
      },
    ]);
    expect(problems({ clockFactor: 60, clockAnchor: '2026-12-07' })).toEqual([
      {
        path: 'options.clockAnchor',
        what: '"2026-12-07" is not a valid date-time',
        fix: 'write an ISO 8601 instant with its time zone like "2026-12-07T00:00:00Z"',
      },
    ]);
  });
});
