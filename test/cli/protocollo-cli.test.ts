import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../src/crypto/dev-pki.js';
import { buildSegnaturaXml } from '../../adapters/protocollo/segnatura/segnatura-writer.js';
import { signXades } from '../../adapters/sdk/xades/xades-sign.js';
import { richSegnatura } from '../fixtures/protocollo/sample-segnatura.js';
import { runCli } from './run-cli.js';
import { memorySigner } from '../../src/crypto/signer/memory-signer.js';

let dir: string;
let caFile: string;
let signed: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-prot-cli-'));
  const now = Date.now();
  const ca = issueCertificate({
    subject: { CN: 'AOO CA', O: 'Prova', C: 'IT' },
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 86_400_000),
    issuer: 'self',
    ca: true,
  });
  const seal = issueCertificate({
    subject: { CN: 'ComuneValverde', O: 'Prova', C: 'IT' },
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 86_400_000),
    issuer: ca,
  });
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  signed = await signXades(
    buildSegnaturaXml(richSegnatura()),
    memorySigner({ privateKey: createPrivateKey(seal.keyPem), certificate: new X509Certificate(seal.certPem), certPem: seal.certPem }),
  );
});

const fileWith = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('tramite protocollo validate', () => {
  it('prints the typed model of a sealed 2021 Segnatura and exits 0', async () => {
    const r = await runCli(['protocollo', 'validate', fileWith('ok.xml', signed), '--trust', caFile]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      valid: true,
      kind: 'segnatura',
      form: '2021',
      model: { identificatore: { numeroRegistrazione: '0004218' } },
    });
    expect(out.signer).toContain('CN=ComuneValverde');
  });

  it('gives 001 for a Segnatura altered after sealing, and 000 for one the schema refuses or a DOCTYPE', async () => {
    const altered = await runCli([
      'protocollo',
      'validate',
      fileWith('altered.xml', signed.replace('Urbanistica', 'Urbanistica!')),
      '--trust',
      caFile,
    ]);
    expect(altered.code).toBe(1);
    expect(JSON.parse(altered.stdout)).toMatchObject({ valid: false, code: '001_ValidazioneFirma' });
    const shortNumber = await runCli(['protocollo', 'validate', fileWith('short.xml', signed.replace('>0004218<', '>004218<'))]);
    expect(JSON.parse(shortNumber.stdout)).toMatchObject({ valid: false, code: '000_Irricevibile' });
    expect(JSON.parse(shortNumber.stdout).reason).toContain('NumeroRegistrazione');
    const doctype = await runCli([
      'protocollo',
      'validate',
      fileWith('dtd.xml', `<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n${signed.replace(/^<\?xml[^>]*>\s*/, '')}`),
    ]);
    expect(doctype.code).toBe(1);
    expect(JSON.parse(doctype.stdout)).toMatchObject({ valid: false, code: '000_Irricevibile' });
  });

  it('reads the 2013 form against its own schema, and says the seal was not checked without --trust', async () => {
    const r = await runCli(['protocollo', 'validate', join(import.meta.dirname, '../fixtures/protocollo/segnatura-2013-valverde.xml')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, form: '2013', kind: 'segnatura' });
    const unsignedCheck = await runCli(['protocollo', 'validate', fileWith('ok2.xml', signed)]);
    expect(JSON.parse(unsignedCheck.stdout).notes).toEqual(['seal not verified: pass --trust CA.pem']);
  });

  it('reads a real-world 2001 Segnatura: DOCTYPE, ISO-8859-1, no Impronta — documents flagged unchecked', async () => {
    const r = await runCli([
      'protocollo',
      'validate',
      join(import.meta.dirname, '../fixtures/protocollo/segnatura-2001-provincia-latin1.xml'),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ valid: true, kind: 'segnatura', form: '2001' });
    expect(out.model.oggetto).toMatch(
      /^S\.P\. n° 84 «Frentana»: .* in località Sant'Apollinare\. .* compatibilità idraulica e nulla osta dell'Autorità di bacino$/,
    );
    expect(out.model.documentoPrimario).toMatchObject({ nomeFile: 'Nota_0018342_2026.pdf', unchecked: true });
    expect(out.model.documentoPrimario.impronta).toBeUndefined();
    expect(out.notes).toContain(
      'no Impronta for Nota_0018342_2026.pdf, Relazione_idraulica.pdf: these documents cannot be checked against the Segnatura (the 2001 form allows it)',
    );
  });

  it('reads a 2013 Segnatura written in ISO-8859-1 and validates it against the 2013 schema', async () => {
    const xml2013 = readFileSync(join(import.meta.dirname, '../fixtures/protocollo/segnatura-2013-valverde.xml'), 'utf8')
      .replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
      .replace('<Denominazione>Comune di Valverde</Denominazione>', '<Denominazione>Città di Valverde</Denominazione>');
    const file = join(dir, 'latin1-2013.xml');
    writeFileSync(file, Buffer.from(xml2013, 'latin1'));
    const r = await runCli(['protocollo', 'validate', file]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ valid: true, form: '2013' });
    expect(out.model.mittente.denominazioneAmministrazione).toBe('Città di Valverde');
  });

  it('refuses a DOCTYPE naming another DTD than the 2001 Segnatura.dtd', async () => {
    const legacy = readFileSync(join(import.meta.dirname, '../fixtures/protocollo/segnatura-2001-provincia-latin1.xml'));
    const file = join(dir, 'other-dtd.xml');
    writeFileSync(
      file,
      Buffer.from(legacy.toString('latin1').replace('SYSTEM "Segnatura.dtd"', 'SYSTEM "http://example.org/Protocollo.dtd"'), 'latin1'),
    );
    const r = await runCli(['protocollo', 'validate', file]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      valid: false,
      code: '000_Irricevibile',
      reason: expect.stringMatching(/declares a DOCTYPE \(line 2\)/),
    });
  });

  it('exits 2 when the file cannot be read', async () => {
    const r = await runCli(['protocollo', 'validate', join(dir, 'missing.xml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing.xml');
  });
});
