/**
 * The attack corpus as files (test/fixtures/attacks, made by test-support/attack-fixtures.ts): every
 * envelope is read from disk and verified as a live node would, as of a minute after it was signed,
 * trusting only the fixture federation CA. attacks.json says what each file reproduces and how it must
 * be refused. xmlsec1, an independent XML-DSig implementation, confirms the control envelopes verify
 * and that tampering breaks them — so each fixture is what its name says, not an envelope we alone
 * happen to refuse. Only the manifest's type comes from the generator: the test reads files, never makes them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEnvelope } from '../../../envelopes/envelope.js';
import { EnvelopeError, SecurityError } from '../../../src/core/errors.js';
import { TrustStore } from '../../../src/crypto/trust-store.js';
import type { ManifestEntry } from '../../../test-support/attack-fixtures.js';
import { xmlsec1Verify, WS_SECURITY_IDS } from '../../../test-support/xmlsec1.js';

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'attacks');
const manifest = JSON.parse(readFileSync(join(DIR, 'attacks.json'), 'utf8')) as ManifestEntry[];
const pem = (name: string) => readFileSync(join(DIR, 'pki', name), 'utf8');
const trust = TrustStore.fromPem(pem('ca-cert.pem'));
/** The fixtures were signed at 2026-12-06T09:00:00Z (test-support/attack-fixtures.ts, SIGNED_AT). */
const VERIFIED_AT = new Date('2026-12-06T09:01:00Z');
const policy = { trust, at: VERIFIED_AT, maxAgeSeconds: 300, skewSeconds: 5 };
const envelope = (file: string) => readFileSync(join(DIR, file), 'utf8');

describe('attack corpus (test/fixtures/attacks)', () => {
  it('has a control and the same attacks for both profiles', () => {
    const names = (profile: string) => manifest.filter((m) => m.profile === profile).map((m) => m.file.replace(/^[a-z]+\//, ''));
    expect(names('egov')).toContain('control.xml');
    expect(names('modi')).toEqual(names('egov'));
    expect(manifest.length).toBeGreaterThanOrEqual(20);
  });

  for (const entry of manifest) {
    it(`${entry.file}: ${entry.what} → ${entry.expect.outcome === 'accepted' ? 'accepted' : `${entry.expect.code} ${entry.expect.reason ?? ''}`.trim()}`, () => {
      const xml = envelope(entry.file);
      const expected = entry.expect;
      if (expected.outcome === 'accepted') {
        expect(openEnvelope(xml, policy).profile).toBe(entry.profile);
        return;
      }
      let thrown: unknown;
      try {
        openEnvelope(xml, policy);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, 'the envelope was accepted').toBeDefined();
      expect(thrown).toBeInstanceOf(expected.error === 'SecurityError' ? SecurityError : EnvelopeError);
      const e = thrown as SecurityError;
      expect({ code: e.code, ...(expected.reason ? { reason: e.reason } : {}) }, e.message).toEqual({
        code: expected.code,
        ...(expected.reason ? { reason: expected.reason } : {}),
      });
      if (expected.posizione) expect(e.posizione, e.message).toBe(expected.posizione);
    });
  }

  describe.each(['egov', 'modi'])('xmlsec1 agrees (%s)', (profile) => {
    const signer = pem('comune-a-cert.pem');
    it('the control envelope verifies under xmlsec1, chained to the fixture CA', () => {
      const verdict = xmlsec1Verify(envelope(`${profile}/control.xml`), {
        signerCertPem: signer,
        trustedCaPem: pem('ca-cert.pem'),
        ids: WS_SECURITY_IDS,
      });
      expect(verdict.ok, verdict.output).toBe(true);
    });
    it.each(['body-one-character-changed', 'signature-value-changed', 'timestamp-expires-pushed-forward'])(
      '%s does not verify under xmlsec1',
      (name) => {
        expect(xmlsec1Verify(envelope(`${profile}/${name}.xml`), { signerCertPem: signer, ids: WS_SECURITY_IDS }).ok).toBe(false);
      },
    );
  });
});
