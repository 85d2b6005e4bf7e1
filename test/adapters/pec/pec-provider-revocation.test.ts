/**
 * A PEC provider's S/MIME signature against revocation: the provider certificate is issued by an
 * `openssl ca` CA; once revoked (CRL re-made by `openssl ca -gencrl`) its receipts are quarantined
 * with TRAMITE_ERR_CERT_REVOKED instead of being taken for receipts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestMailboxMessage } from '../../../adapters/pec/pec-ingest.js';
import { TrustStore } from '../../../adapters/sdk/index.js';
import { RevocationChecker } from '../../../src/crypto/revocation/revocation-checker.js';
import { AnchorPolicies } from '../../../src/crypto/revocation/revocation-policy.js';
import { OpensslCa, type IssuedCert } from '../../fixtures/openssl-ca.js';
import { buildPecMessage } from '../../fixtures/pec/pec-fixture.js';

let dir: string;
let ca: OpensslCa;
let provider: IssuedCert;
let crlFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-pec-revocation-'));
  ca = OpensslCa.create(join(dir, 'ca'), 'Gestore di Prova CA');
  provider = ca.issue('gestore', {
    subject: '/C=IT/O=Gestore di Prova S.p.A./CN=Gestore PEC di Prova - firma ricevute',
    extensions: ['keyUsage = critical, digitalSignature, nonRepudiation', 'extendedKeyUsage = emailProtection'],
  });
  crlFile = join(dir, 'gestore.crl.pem');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ingest(): ReturnType<typeof ingestMailboxMessage> {
  const raw = buildPecMessage({ kind: 'accettazione', signer: { certPem: provider.certPem, keyPem: provider.keyPem } });
  return ingestMailboxMessage(raw, {
    trust: TrustStore.fromPem(ca.certPem),
    revocation: new RevocationChecker({
      policies: new AnchorPolicies({ mode: 'hard', allowSha1Crl: false }),
      crlFiles: [crlFile],
      ocsp: false,
      fetchCrls: false,
      failureCacheSeconds: 0,
    }),
    acceptSha1: false,
    receiptService: 'RicevutaPEC',
    inboundService: 'MessaggioPEC',
    outbound: async () => undefined,
  });
}

describe('PEC provider signatures and revocation', () => {
  it('takes the receipt while the provider certificate is good, quarantines it once revoked', async () => {
    ca.crl(crlFile);
    const good = await ingest();
    expect(good.outcome.kind).not.toBe('quarantined');

    ca.revoke(provider);
    ca.crl(crlFile);
    const revoked = await ingest();
    expect(revoked.outcome).toMatchObject({ kind: 'quarantined', code: 'TRAMITE_ERR_CERT_REVOKED' });
    expect((revoked.outcome as { reason: string }).reason).toContain('PEC provider signer "CN=Gestore PEC di Prova - firma ricevute');
  });
});
