import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPecMessage, providerPki, sampleDaticert, sampleOriginal } from '../fixtures/pec/pec-fixture.js';
import { runCli } from './run-cli.js';

let dir: string;
let caFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-pec-cli-'));
  caFile = join(dir, 'provider-ca.pem');
  writeFileSync(caFile, providerPki().ca.certPem);
});

const fileWith = (name: string, bytes: Buffer | string) => {
  const f = join(dir, name);
  writeFileSync(f, bytes);
  return f;
};

describe('tramite pec parse', () => {
  it('prints a signed delivery-failure receipt with tipo, errore, mapping and no quarantine (exit 0)', async () => {
    const daticert = sampleDaticert('errore-consegna', {
      errore: 'no-dest',
      erroreEsteso: '5.1.1 - Gestore di Prova: indirizzo non valido',
    });
    const r = await runCli([
      'pec',
      'parse',
      fileWith('errore.eml', buildPecMessage({ kind: 'errore-consegna', daticert })),
      '--trust',
      caFile,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      pec: true,
      kind: 'errore-consegna',
      tipo: 'errore-consegna',
      errore: 'no-dest',
      signature: { status: 'valid', digestAlgorithm: 'SHA-256' },
      mapping: {
        state: 'FAILED',
        recipient: 'ufficio.tributi@pec.regione-prova.example',
        reason: '5.1.1 - Gestore di Prova: indirizzo non valido',
      },
      quarantine: null,
      malformed: [],
      daticert: { dati: { msgid: '<20250304.101500.4242@pec.comune-valverde.example>' } },
    });
  });

  it('prints the original of a busta with its attachments as size and SHA-256', async () => {
    const r = await runCli([
      'pec',
      'parse',
      fileWith('busta.eml', buildPecMessage({ kind: 'posta-certificata', original: await sampleOriginal() })),
      '--trust',
      caFile,
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.mapping).toEqual({ state: 'INBOUND' });
    expect(out.original.attachments).toEqual([
      {
        filename: 'delibera-12-2025.pdf',
        contentType: 'application/pdf',
        size: expect.any(Number),
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
      {
        filename: 'segnatura.xml',
        contentType: 'application/xml',
        size: expect.any(Number),
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
  });

  it('parses a message without its signature part (exit 0) and says it would be quarantined', async () => {
    const r = await runCli([
      'pec',
      'parse',
      fileWith('unsigned.eml', buildPecMessage({ kind: 'accettazione', signer: null, lineEnd: '\n' })),
      '--trust',
      caFile,
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      pec: true,
      tipo: 'accettazione',
      signature: { status: 'absent' },
      quarantine: { code: 'TRAMITE_ERR_PEC_UNSIGNED' },
    });
  });

  it('says untrusted without --trust, and honours --at', async () => {
    const raw = fileWith('expired.eml', buildPecMessage({ kind: 'avvenuta-consegna', signer: providerPki().expired }));
    const noTrust = JSON.parse((await runCli(['pec', 'parse', raw])).stdout);
    expect(noTrust.signature).toMatchObject({ status: 'untrusted', code: 'TRAMITE_ERR_CERT_UNTRUSTED' });
    const expired = JSON.parse((await runCli(['pec', 'parse', raw, '--trust', caFile])).stdout);
    expect(expired.signature).toMatchObject({ status: 'untrusted', code: 'TRAMITE_ERR_CERT_EXPIRED' });
    const back = JSON.parse(
      (await runCli(['pec', 'parse', raw, '--trust', caFile, '--at', new Date(Date.now() - 5 * 86_400_000).toISOString()])).stdout,
    );
    expect(back.signature.status).toBe('valid');
  });

  it('exits 1 with {"pec":false} for an ordinary e-mail', async () => {
    const r = await runCli([
      'pec',
      'parse',
      fileWith('plain.eml', 'From: a@example.org\r\nTo: b@example.org\r\nSubject: CONSEGNA: ciao\r\n\r\nciao\r\n'),
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ pec: false, reason: expect.stringContaining('X-Ricevuta') });
  });

  it('exits 2 on a usage error: missing file, bad --at, unknown option', async () => {
    const missing = await runCli(['pec', 'parse', join(dir, 'missing.eml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing.eml');
    const badAt = await runCli(['pec', 'parse', fileWith('x.eml', 'X-Ricevuta: accettazione\r\n\r\n'), '--at', 'ieri']);
    expect(badAt.code).toBe(2);
    expect(badAt.stderr).toContain('--at');
    const unknown = await runCli(['pec', 'parse', '--nope']);
    expect(unknown.code).toBe(2);
  });
});
