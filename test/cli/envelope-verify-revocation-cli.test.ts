/**
 * `tramite envelope verify --crl FILE --ocsp`: the signer's revocation status from CRL files made by
 * `openssl ca -gencrl` and from a real `openssl ocsp` responder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEgovEnvelope } from '../../envelopes/envelope.js';
import { freePorts } from '../../src/daemons/free-port.js';
import { OcspResponder, OpensslCa, type IssuedCert } from '../fixtures/openssl-ca.js';
import { runCli } from './run-cli.js';

let dir: string;
let ca: OpensslCa;
let responder: OcspResponder;
let signer: IssuedCert;
let signed: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-cli-revocation-'));
  ca = OpensslCa.create(join(dir, 'ca'));
  const [port] = (await freePorts(1)) as [number];
  signer = ca.issue('ComuneA', { ocspUrl: `http://127.0.0.1:${port}` });
  responder = await OcspResponder.start(ca, port);
  const unsigned = join(dir, 'unsigned.xml');
  writeFileSync(
    unsigned,
    buildEgovEnvelope(
      {
        mittente: [{ tipo: 'SPC', nome: 'ComuneA' }],
        destinatario: { tipo: 'SPC', nome: 'RegioneX' },
        profiloCollaborazione: { profile: 'oneway' },
        servizio: { tipo: 'SPC', nome: 'Protocollo' },
        azione: 'Invia',
        messaggio: {
          identificatore: 'ComuneA_ComuneASPCoopIT_0000001_2026-11-23_10:00',
          oraRegistrazione: { value: '2026-11-23T10:00:00Z', tempo: 'EGOV_IT_SPC' },
        },
        profiloTrasmissione: { inoltro: 'EGOV_IT_ALPIUUNAVOLTA', confermaRicezione: true },
        riscontri: [],
        trasmissioni: [],
        eccezioni: [],
      },
      '<p:Documento xmlns:p="urn:test"/>',
    ),
  );
  const r = await runCli(['envelope', 'seal', '--profile', 'egov', '--key', signer.keyFile, '--cert', signer.certFile, unsigned]);
  expect(r.code, r.stderr).toBe(0);
  signed = join(dir, 'signed.xml');
  writeFileSync(signed, r.stdout);
});

afterAll(async () => {
  await responder?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const verify = (...extra: string[]) => runCli(['envelope', 'verify', signed, '--trust', ca.certFile, ...extra]);

describe('tramite envelope verify --crl / --ocsp', () => {
  it('is valid with a CRL that does not list the signer, and with the responder saying good', async () => {
    const crl = ca.crl(join(dir, 'before.crl.pem'));
    let r = await verify('--crl', crl);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, revocation: 'good' });
    r = await verify('--ocsp');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, revocation: 'good' });
  });

  it("with only another CA's CRL and without --ocsp, no status: refused", async () => {
    const other = OpensslCa.create(join(dir, 'other'), 'Other CA');
    const foreign = await verify('--crl', other.crl(join(dir, 'other.crl.pem')));
    expect(foreign.code).toBe(1);
    expect(JSON.parse(foreign.stdout)).toMatchObject({ valid: false, code: 'EGOV_IT_200' });
    expect(JSON.parse(foreign.stdout).reason).toMatch(/^TRAMITE_ERR_CERT_STATUS_UNKNOWN/);
  });

  it('once revoked: refused by the re-made CRL and by the responder, naming the certificate', async () => {
    ca.revoke(signer);
    await responder.restart();
    const crl = ca.crl(join(dir, 'after.crl.pem'));
    for (const r of [await verify('--crl', crl), await verify('--ocsp')]) {
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ valid: false, code: 'EGOV_IT_200', signer: 'CN=ComuneA, O=SPC, C=IT' });
      expect(out.reason).toMatch(/^TRAMITE_ERR_CERT_REVOKED: signer "CN=ComuneA, O=SPC, C=IT" \(serial [0-9A-F]+\) is revoked since/);
    }
  });
});
