/**
 * The PEC adapter's bus formats, without servers: the strict reader of pec:InvioPEC (what egress
 * refuses, and that the refusal is final), the writers of pec:Ricevuta and pec:MessaggioPEC (well
 * formed whatever a mail carries), the deterministic Message-ID, and the options schema's defaults.
 */
import { sqliteAdapterFolder } from '../../../adapters/sdk/store/sqlite-adapter-store.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import pec from '../../../adapters/pec/pec-adapter.js';
import { messageIdFor } from '../../../adapters/pec/pec-egress.js';
import { PEC_BUS_NS, messaggioPecXml, readInvioPec, ricevutaXml } from '../../../adapters/sdk/pec-formats/pec-bus-xml.js';
import { pecOptionsSchema, type PecOptions } from '../../../adapters/pec/pec-options.js';
import { ConfigError } from '../../../src/core/errors.js';
import { AdapterError, parseUntrustedXml } from '../../../adapters/sdk/index.js';

const invio = (body: string) => `<pec:InvioPEC xmlns:pec="${PEC_BUS_NS}">${body}</pec:InvioPEC>`;
const GOOD =
  '<pec:Destinatario>ufficio@pec.regione-prova.example</pec:Destinatario><pec:Destinatario>altro@pec.ente.example</pec:Destinatario>' +
  '<pec:Oggetto>Delibera n. 12 &amp; allegati</pec:Oggetto><pec:Testo>Riga uno\nRiga due  </pec:Testo>' +
  `<pec:Allegato nome="delibera.pdf" mimeType="application/pdf">${Buffer.from('%PDF-1.4 prova').toString('base64')}</pec:Allegato>`;

function refusal(payload: string): AdapterError {
  try {
    readInvioPec(payload);
  } catch (err) {
    return err as AdapterError;
  }
  throw new Error('accepted');
}

describe('pec:InvioPEC reader', () => {
  it('reads recipients, subject, text (untrimmed) and attachments', () => {
    const m = readInvioPec(invio(GOOD));
    expect(m.destinatari).toEqual(['ufficio@pec.regione-prova.example', 'altro@pec.ente.example']);
    expect(m.oggetto).toBe('Delibera n. 12 & allegati');
    expect(m.testo).toBe('Riga uno\nRiga due  ');
    expect(m.allegati).toHaveLength(1);
    expect(m.allegati[0]).toMatchObject({ nome: 'delibera.pdf', mimeType: 'application/pdf' });
    expect(m.allegati[0]!.contenuto.toString()).toBe('%PDF-1.4 prova');
    expect(readInvioPec(invio('<pec:Destinatario>a@b.example</pec:Destinatario><pec:Oggetto>x</pec:Oggetto><pec:Testo/>')).testo).toBe('');
  });

  it.each([
    ['not XML', '<pec:InvioPEC', /not acceptable XML/],
    ['a DOCTYPE', `<!DOCTYPE x [<!ENTITY e "boom">]>${invio(GOOD)}`, /DOCTYPE/],
    ['another root', `<pec:Altro xmlns:pec="${PEC_BUS_NS}"/>`, /not <InvioPEC>/],
    ['another namespace', '<InvioPEC xmlns="urn:altro"/>', /not <InvioPEC>/],
    ['no recipient', invio('<pec:Oggetto>x</pec:Oggetto><pec:Testo/>'), /before any <pec:Destinatario>/],
    [
      'a display name',
      invio('<pec:Destinatario>Ufficio &lt;u@pec.example.it&gt;</pec:Destinatario><pec:Oggetto>x</pec:Oggetto><pec:Testo/>'),
      /not an e-mail address/,
    ],
    [
      'a header injection',
      invio('<pec:Destinatario>u@pec.example.it&#10;Bcc: x@y.it</pec:Destinatario><pec:Oggetto>x</pec:Oggetto><pec:Testo/>'),
      /not an e-mail address/,
    ],
    [
      'a recipient twice',
      invio(
        '<pec:Destinatario>u@pec.example.it</pec:Destinatario><pec:Destinatario>U@pec.example.it</pec:Destinatario><pec:Oggetto>x</pec:Oggetto><pec:Testo/>',
      ),
      /twice/,
    ],
    [
      'a two-line subject',
      invio('<pec:Destinatario>u@pec.example.it</pec:Destinatario><pec:Oggetto>x&#13;&#10;Bcc: y@z.it</pec:Oggetto><pec:Testo/>'),
      /one non-empty line/,
    ],
    ['no Testo', invio('<pec:Destinatario>u@pec.example.it</pec:Destinatario><pec:Oggetto>x</pec:Oggetto>'), /no <pec:Testo>/],
    [
      'a misspelt element',
      invio('<pec:Destinatario>u@pec.example.it</pec:Destinatario><pec:Oggetto>x</pec:Oggetto><pec:Testo/><pec:Allegati/>'),
      /not part of InvioPEC/,
    ],
    [
      'the wrong order',
      invio('<pec:Oggetto>x</pec:Oggetto><pec:Destinatario>u@pec.example.it</pec:Destinatario><pec:Testo/>'),
      /before any/,
    ],
    [
      'a path as file name',
      invio(
        '<pec:Destinatario>u@pec.example.it</pec:Destinatario><pec:Oggetto>x</pec:Oggetto><pec:Testo/><pec:Allegato nome="../etc/passwd" mimeType="text/plain">eA==</pec:Allegato>',
      ),
      /file name/,
    ],
    [
      'bad base64',
      invio(
        '<pec:Destinatario>u@pec.example.it</pec:Destinatario><pec:Oggetto>x</pec:Oggetto><pec:Testo/><pec:Allegato nome="a.txt" mimeType="text/plain">***</pec:Allegato>',
      ),
      /not base64/,
    ],
    [
      'an unknown attribute',
      invio('<pec:Destinatario tipo="cc">u@pec.example.it</pec:Destinatario><pec:Oggetto>x</pec:Oggetto><pec:Testo/>'),
      /attribute tipo/,
    ],
  ])('refuses %s, for good (TRAMITE_ERR_ADAPTER_REFUSED)', (_what, payload, reason) => {
    const err = refusal(payload);
    expect(err).toBeInstanceOf(AdapterError);
    expect(err.retriable).toBe(false);
    expect(err.code).toBe('TRAMITE_ERR_ADAPTER_REFUSED');
    expect(err.message).toMatch(reason);
  });
});

describe('pec:Ricevuta and pec:MessaggioPEC writers', () => {
  it('write well-formed XML in the project namespace, escaping what mail may carry', () => {
    const ricevuta = ricevutaXml({
      tipo: 'errore-consegna',
      stato: 'FAILED',
      destinatario: 'u@pec.example.it',
      messageId: '<a&b"c@pec.example.it>',
      errore: 'no-dest',
      motivo: '5.1.1 - <indirizzo> non valido\u0000',
    });
    const r = parseUntrustedXml(ricevuta).doc.documentElement!;
    expect(r.namespaceURI).toBe(PEC_BUS_NS);
    expect(r.getAttribute('messageId')).toBe('<a&b"c@pec.example.it>');
    expect(r.getAttribute('stato')).toBe('FAILED');
    expect(r.hasAttribute('identificativo')).toBe(false);
    expect(r.textContent).toBe('5.1.1 - <indirizzo> non valido\ufffd');

    const testo = 'Riga uno\r\nRiga due\tfine \u0007';
    const messaggio = messaggioPecXml({
      tipo: 'posta-certificata',
      messageId: '<m@x.example>',
      mittente: 'a@pec.example.it',
      destinatari: ['b@pec.example.it'],
      oggetto: 'Oggetto "citato" & <marcato>',
      testo,
      allegati: [
        { nome: 'a b.pdf', mimeType: 'application/pdf', contenuto: Buffer.from([0, 1, 2, 255]) },
        { mimeType: 'text/plain', contenuto: Buffer.from('senza nome') },
      ],
    });
    const m = parseUntrustedXml(messaggio).doc.documentElement!;
    const child = (name: string) => Array.from(m.getElementsByTagNameNS(PEC_BUS_NS, name));
    expect(child('Oggetto')[0]!.textContent).toBe('Oggetto "citato" & <marcato>');
    expect(child('Testo')[0]!.textContent).toBe('Riga uno\r\nRiga due\tfine \ufffd');
    const allegati = child('Allegato');
    expect(allegati.map((a) => (a.hasAttribute('nome') ? a.getAttribute('nome') : undefined))).toEqual(['a b.pdf', undefined]);
    expect(Buffer.from(allegati[0]!.textContent!, 'base64')).toEqual(Buffer.from([0, 1, 2, 255]));
  });
});

describe('Message-ID of a sent PEC', () => {
  it('is derived from the bus message id alone: the same id, the same Message-ID; another id, another', () => {
    const id = 'ComuneOrtona_CSTChietiSPCoopIT_0000001_2026-11-23_10:00';
    const a = messageIdFor(id, 'protocollo@pec.comune-ortona.example');
    expect(a).toMatch(/^<tramite\.[0-9a-f]{40}@pec\.comune-ortona\.example>$/);
    expect(messageIdFor(id, 'protocollo@pec.comune-ortona.example')).toBe(a);
    expect(messageIdFor(`${id}1`, 'protocollo@pec.comune-ortona.example')).not.toBe(a);
  });
});

describe('PEC options schema', () => {
  it('applies the documented defaults, nested ones included', () => {
    const ajv = new Ajv({ useDefaults: true, strict: true, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(pecOptionsSchema);
    const options: Record<string, unknown> = {
      address: 'protocollo@pec.comune-ortona.example',
      smtp: { host: 'smtps.pec.example', port: 465, user: 'u', passwordFile: 'smtp.pwd' },
      imap: { host: 'imaps.pec.example', port: 993, user: 'u', passwordFile: 'imap.pwd' },
      providerCaFiles: ['gestore-ca.pem'],
    };
    expect(validate(options)).toBe(true);
    expect(options).toMatchObject({
      smtp: { secure: false, requireTLS: true },
      imap: { secure: false, requireTLS: true },
      tls: { rejectUnauthorized: true },
      pollMs: 5000,
      acceptSha1: false,
      receiptService: 'RicevutaPEC',
      inboundService: 'MessaggioPEC',
      quarantineFolder: 'Quarantena',
    });
    expect(validate({ ...options, address: 'Ufficio <u@pec.example.it>' })).toBe(false);
  });
});

describe('PEC adapter start', () => {
  it('refuses to start without its password or CA files, naming the option, before any connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-pec-start-'));
    try {
      writeFileSync(join(dir, 'imap.pwd'), 'x');
      writeFileSync(join(dir, 'smtp.pwd'), 'x');
      writeFileSync(join(dir, 'vuoto.pem'), 'nessun certificato qui');
      const options: PecOptions = {
        address: 'protocollo@pec.comune-valverde.example',
        smtp: { host: '127.0.0.1', port: 1, secure: false, requireTLS: true, user: 'u', passwordFile: 'manca.pwd' },
        imap: { host: '127.0.0.1', port: 1, secure: false, requireTLS: true, user: 'u', passwordFile: 'imap.pwd' },
        tls: { rejectUnauthorized: true },
        providerCaFiles: ['vuoto.pem'],
        pollMs: 5000,
        acceptSha1: false,
        receiptService: 'RicevutaPEC',
        inboundService: 'MessaggioPEC',
        quarantineFolder: 'Quarantena',
        maxMessageBytes: 32 * 1024 * 1024,
        readerLease: { ttlMs: 30_000, renewMs: 10_000 },
      };
      const quiet = () => undefined;
      const start = async (o: PecOptions) => {
        const instance = await pec.setup({
          party: 'SPC/ComuneValverde',
          options: o,
          ...sqliteAdapterFolder(dir),
          log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
          bus: undefined as never,
          identity: undefined as never,
          trust: undefined as never,
          clock: { now: () => new Date() },
        });
        try {
          await instance.start();
        } finally {
          await instance.stop();
        }
      };
      const missing = await start(options).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(missing).toBeInstanceOf(ConfigError);
      expect(missing).toMatchObject({ code: 'TRAMITE_ERR_CONFIG_INVALID', field: 'smtp.passwordFile' });
      expect((missing as Error).message).toContain(join(dir, 'manca.pwd'));
      await expect(start({ ...options, smtp: { ...options.smtp, passwordFile: 'smtp.pwd' } })).rejects.toMatchObject({
        code: 'TRAMITE_ERR_KEY_INVALID',
        message: expect.stringContaining('providerCaFiles.0'),
      });
      // A lease renewed no sooner than it runs out would pass from process to process.
      await expect(start({ ...options, readerLease: { ttlMs: 1000, renewMs: 1000 } })).rejects.toMatchObject({
        code: 'TRAMITE_ERR_CONFIG_INVALID',
        field: 'readerLease.renewMs',
        message: expect.stringContaining('must be below readerLease.ttlMs'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
