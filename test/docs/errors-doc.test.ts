import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EGOV_CODES, PROTOCOLLO_CODES, TRAMITE_CODES } from '../../src/core/error-codes.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `((?:EGOV_IT|TRAMITE_ERR)_\w+|\d{3}_\w+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]),
);

describe('docs/errors.md', () => {
  it('documents every code of the registry, with the registry description', () => {
    for (const [code, text] of Object.entries({ ...EGOV_CODES, ...TRAMITE_CODES, ...PROTOCOLLO_CODES })) {
      expect(documented.get(code), code).toBe(text);
    }
  });

  it('documents no code the registry does not have', () => {
    const known = new Set([...Object.keys(EGOV_CODES), ...Object.keys(TRAMITE_CODES), ...Object.keys(PROTOCOLLO_CODES)]);
    expect([...documented.keys()].filter((c) => !known.has(c))).toEqual([]);
  });
});
