/**
 * The one token hashing helper: the stored form is what `openssl dgst -sha256` would give (checked
 * against a known vector, not against the helper itself), and matching accepts exactly the stored
 * hashes of the token, whatever their case or prefix, and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { hashToken, tokenMatches } from '../../src/core/token-hash.js';

// SHA-256("test"), the example config.schema.json gives for apiTokens.
const TEST_HASH = 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

describe('hashToken', () => {
  it('writes sha256: and the lowercase hex SHA-256 of the UTF-8 bytes', () => {
    expect(hashToken('test')).toBe(TEST_HASH);
    // printf 'città' | openssl dgst -sha256: the UTF-8 bytes, not Latin-1 or UTF-16.
    expect(hashToken('città')).toBe('sha256:74486d610c94568c13bdf76de467bf3fb915a5f6023979874dcd4cca877c0649');
  });
});

describe('tokenMatches', () => {
  it('matches the token against its stored hash, among others', () => {
    expect(tokenMatches('test', [TEST_HASH])).toBe(true);
    expect(tokenMatches('test', [hashToken('other'), TEST_HASH, hashToken('third')])).toBe(true);
  });

  it('takes the stored hash in any case and with or without the sha256: prefix', () => {
    expect(tokenMatches('test', [TEST_HASH.toUpperCase().replace('SHA256:', 'sha256:')])).toBe(true);
    expect(tokenMatches('test', [TEST_HASH.slice('sha256:'.length)])).toBe(true);
  });

  it('refuses another token, an empty list, and the stored hash presented as the token', () => {
    expect(tokenMatches('Test', [TEST_HASH])).toBe(false);
    expect(tokenMatches('test', [])).toBe(false);
    expect(tokenMatches(TEST_HASH, [TEST_HASH])).toBe(false);
  });

  it('matches nothing with a stored value that is not a whole SHA-256 hash (no prefix match, no throw)', () => {
    expect(tokenMatches('test', [TEST_HASH.slice(0, -2)])).toBe(false);
    expect(tokenMatches('test', [`${TEST_HASH}00`])).toBe(false);
    expect(tokenMatches('test', ['sha256:zz' + TEST_HASH.slice(9)])).toBe(false);
    expect(tokenMatches('test', ['md5:' + TEST_HASH.slice(7)])).toBe(false);
  });
});
