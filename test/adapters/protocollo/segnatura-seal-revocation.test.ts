/**
 * The Segnatura's XAdES seal against revocation: the adapter is handed the node's check in its
 * context, and a seal whose certificate the CA has revoked (CRL made by `openssl ca -gencrl`) is
 * refused with 001_ValidazioneFirma, naming the certificate.
 */
import { sqliteAdapterFolder } from '../../../adapters/sdk/store/sqlite-adapter-store.js';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolloAoo } from '../../../adapters/protocollo/protocollo-aoo.js';
import type { ProtocolloOptions } from '../../../adapters/protocollo/protocollo-options.js';
import { readSegnatura } from '../../../adapters/protocollo/segnatura/segnatura-reader.js';
import { buildSegnaturaXml } from '../../../adapters/protocollo/segnatura/segnatura-writer.js';
import type { AdapterContext } from '../../../adapters/sdk/index.js';
import { signXades } from '../../../adapters/sdk/xades/xades-sign.js';
import { ProtocolloError } from '../../../src/core/errors.js';
import { RevocationChecker } from '../../../src/crypto/revocation/revocation-checker.js';
import { AnchorPolicies } from '../../../src/crypto/revocation/revocation-policy.js';
import { TrustStore } from '../../../src/crypto/trust-store.js';
import { OpensslCa, type IssuedCert } from '../../fixtures/openssl-ca.js';
import { richSegnatura } from '../../fixtures/protocollo/sample-segnatura.js';
import { memorySigner } from '../../../src/crypto/signer/memory-signer.js';

const AOO = { codiceAmministrazione: 'c_g141', codiceAOO: 'AOO_ORTONA', codiceRegistro: 'PROT', denominazione: 'Comune di Ortona' };

let dir: string;
let ca: OpensslCa;
let sealer: IssuedCert;
let crlFile: string;
const aoos: ProtocolloAoo[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-seal-revocation-'));
  ca = OpensslCa.create(join(dir, 'ca'), 'Seal CA');
  sealer = ca.issue('ComuneValverde', { subject: '/C=IT/O=SPC/CN=ComuneValverde' });
  crlFile = join(dir, 'seal.crl.pem');
});

afterAll(async () => {
  for (const aoo of aoos) await aoo.close();
  rmSync(dir, { recursive: true, force: true });
});

async function aooWithRevocation(): Promise<ProtocolloAoo> {
  const revocation = new RevocationChecker({
    policies: new AnchorPolicies({ mode: 'hard', allowSha1Crl: false }),
    crlFiles: [crlFile],
    ocsp: false,
    fetchCrls: false,
    failureCacheSeconds: 0,
  });
  const noop = (): undefined => undefined;
  const ctx = {
    party: 'SPC/ComuneOrtona',
    options: { aoo: AOO, service: 'ProtocolloInteroperabile' } as unknown as ProtocolloOptions,
    ...sqliteAdapterFolder(mkdtempSync(join(dir, 'aoo-'))),
    log: { debug: noop, info: noop, warn: noop, error: noop },
    bus: {} as AdapterContext<ProtocolloOptions>['bus'],
    identity: memorySigner({ privateKey: createPrivateKey(sealer.keyPem), certificate: sealer.certificate, certPem: sealer.certPem }),
    trust: TrustStore.fromPem(ca.certPem),
    revocation,
    clock: { now: () => new Date() },
  } satisfies AdapterContext<ProtocolloOptions>;
  const aoo = await ProtocolloAoo.open(ctx);
  aoos.push(aoo);
  return aoo;
}

async function sealed(): Promise<Buffer> {
  const xml = await signXades(
    buildSegnaturaXml(richSegnatura()),
    memorySigner({ privateKey: createPrivateKey(sealer.keyPem), certificate: sealer.certificate, certPem: sealer.certPem }),
  );
  return Buffer.from(xml);
}

describe('the Segnatura seal and revocation', () => {
  it('accepts a seal whose certificate the CRL does not list, refuses it once revoked (001_ValidazioneFirma)', async () => {
    ca.crl(crlFile);
    const bytes = await sealed();
    const { segnatura } = readSegnatura(bytes);
    await (await aooWithRevocation()).checkSegnatura(bytes, segnatura, 'SPC/ComuneValverde');

    ca.revoke(sealer);
    ca.crl(crlFile);
    const err = await (await aooWithRevocation()).checkSegnatura(bytes, segnatura, 'SPC/ComuneValverde').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProtocolloError);
    expect((err as ProtocolloError).code).toBe('001_ValidazioneFirma');
    expect((err as ProtocolloError).message).toContain('Segnatura seal "CN=ComuneValverde, O=SPC, C=IT"');
    expect((err as ProtocolloError).message).toContain('is revoked since');
  });
});
