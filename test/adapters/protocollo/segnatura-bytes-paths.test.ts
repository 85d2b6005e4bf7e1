/**
 * A Segnatura reaches the reader as the bytes its sender wrote, whichever way it travelled, so that its
 * own XML declaration decides how it is decoded: an ISO-8859-1 one must never be read as UTF-8 on the
 * way. The bus path (tp:File, base64) and the CLI are covered in test/integration/protocollo.test.ts and
 * test/cli/protocollo-cli.test.ts; here: a PEC busta's attachment, through the PEC adapter's ingest and
 * the MessaggioPEC payload the protocollo adapter reads.
 */
import { readFileSync } from 'node:fs';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { describe, expect, it } from 'vitest';
import { ingestMailboxMessage } from '../../../adapters/pec/pec-ingest.js';
import { readMessaggioPec } from '../../../adapters/sdk/pec-formats/pec-bus-xml.js';
import { readSegnatura } from '../../../adapters/protocollo/segnatura/segnatura-reader.js';
import { RECIPIENT, buildPecMessage, providerPki } from '../../fixtures/pec/pec-fixture.js';

const LEGACY = readFileSync(new URL('../../fixtures/protocollo/segnatura-2001-provincia-latin1.xml', import.meta.url));

describe('a 2001 ISO-8859-1 Segnatura over PEC', () => {
  for (const encoding of ['8bit', 'quoted-printable', 'base64'] as const) {
    it(`arrives at the reader as the sender's bytes, as a text/xml; charset=ISO-8859-1 attachment (${encoding})`, async () => {
      const original = await new MailComposer({
        from: 'Provincia di Chieti <protocollo@pec.provincia.chieti.it>',
        to: RECIPIENT,
        subject: 'Prot. n. 0018342 del 20/11/2026',
        messageId: '<prot-0018342@pec.provincia.chieti.it>',
        text: 'Si trasmette la nota in oggetto.',
        attachments: [
          { filename: 'Segnatura.xml', contentType: 'text/xml; charset=ISO-8859-1', content: LEGACY, contentTransferEncoding: encoding },
          { filename: 'Nota_0018342_2026.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 nota\n') },
        ],
      })
        .compile()
        .build();
      const ingested = await ingestMailboxMessage(buildPecMessage({ kind: 'posta-certificata', original }), {
        trust: providerPki().trust,
        acceptSha1: false,
        receiptService: 'RicevutaPEC',
        inboundService: 'MessaggioPEC',
        outbound: async () => undefined,
      });
      expect(ingested.outcome.kind).toBe('event');
      const payload = (ingested.outcome as { event: { payload: string } }).event.payload;
      const segnaturaXml = readMessaggioPec(payload).allegati.find((a) => a.nome === 'Segnatura.xml')!;
      // Text parts travel with CRLF line ends in a signed mail (S/MIME canonical form); XML reads both the
      // same. Every other byte is the sender's: nothing on the way decoded it, least of all as UTF-8.
      const lineEndsAside = Buffer.from(segnaturaXml.contenuto.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
      expect(lineEndsAside.equals(LEGACY)).toBe(true);
      expect(readSegnatura(segnaturaXml.contenuto).segnatura.oggetto).toMatch(/in località Sant'Apollinare\. .* dell'Autorità di bacino$/);
    });
  }
});
