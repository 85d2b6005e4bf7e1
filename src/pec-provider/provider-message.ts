/**
 * The shape every message a PEC provider issues shares — receipt or busta di trasporto: outer
 * headers (unsigned), then an S/MIME multipart/signed over a multipart/mixed of the human-readable
 * text (plain + html alternative), daticert.xml and, for a busta or a `completa`/`breve` delivery
 * receipt, the original message as postacert.eml.
 *
 * nodemailer's MimeNode builds the signed entity and the outer header block (encoding, folding,
 * boundaries). Two things are written by hand: the multipart/signed wrapper (smime-sign.ts), because
 * the signature covers the entity's exact bytes, and the PEC header fields (see below).
 */
import MimeNode from 'nodemailer/lib/mime-node';
import { type Daticert, buildDaticertXml } from '../../adapters/pec/daticert.js';
import { type SmimeSigner, signMultipartSigned } from '../../adapters/pec/smime-sign.js';

export interface MailAddress {
  readonly name?: string;
  readonly address: string;
}

export interface ProviderMessage {
  readonly from: MailAddress;
  readonly to: readonly string[];
  readonly cc?: readonly string[];
  readonly replyTo?: string;
  readonly subject: string;
  /** With angle brackets. */
  readonly messageId: string;
  readonly date: Date;
  /** X-Ricevuta or X-Trasporto, X-Riferimento-Message-ID, X-TipoRicevuta…: written first, in this order, one line each. */
  readonly pecHeaders: ReadonlyArray<readonly [name: string, value: string]>;
  /** The human-readable text; the html alternative is made from it. */
  readonly text: string;
  readonly daticert: Daticert;
  /** postacert.eml: the original message (or its breve form), CRLF line ends. */
  readonly original?: Buffer;
}

/** The whole message (RFC 5322, CRLF), signed by `signer`. */
export async function composeSignedMessage(msg: ProviderMessage, signer: SmimeSigner): Promise<Buffer> {
  const signed = signMultipartSigned(await signedEntity(msg), signer, { signingTime: msg.date });

  const outer = new MimeNode(signed.contentType);
  outer.setHeader('Date', msg.date);
  outer.setHeader('Message-ID', msg.messageId);
  outer.setHeader('From', { ...msg.from });
  outer.setHeader('To', msg.to.join(', '));
  if (msg.cc && msg.cc.length > 0) outer.setHeader('Cc', msg.cc.join(', '));
  if (msg.replyTo) outer.setHeader('Reply-To', msg.replyTo);
  outer.setHeader('Subject', msg.subject);
  // The PEC fields are written by hand, first: MimeNode would respell them (`X-Tiporicevuta`) and
  // fold a long Message-ID onto a second line; readers, and people with grep, look for these lines
  // as the rules write them. Their values are keywords and message ids: one line each.
  const pecFields = msg.pecHeaders.map(([name, value]) => `${name}: ${value.replace(/[\r\n]+/g, ' ')}\r\n`).join('');
  // buildHeaders adds MIME-Version and keeps Content-Type (with the signing boundary) last.
  return Buffer.concat([Buffer.from(`${pecFields}${outer.buildHeaders()}\r\n\r\n`, 'utf8'), signed.body]);
}

/** The multipart/mixed entity the provider signs: just its MIME headers and body, no message headers. */
async function signedEntity(msg: ProviderMessage): Promise<Buffer> {
  // A root MimeNode would add Date, Message-ID and MIME-Version to what is signed: the entity is
  // built as the child of a root that is never itself built.
  const root = new MimeNode('multipart/mixed');
  const mixed = root.createChild('multipart/mixed');

  const alternative = mixed.createChild('multipart/alternative');
  alternative.createChild('text/plain; charset=utf-8').setContent(msg.text);
  alternative.createChild('text/html; charset=utf-8').setContent(htmlOf(msg.text));

  const daticert = mixed.createChild('application/xml', { filename: 'daticert.xml' });
  daticert.setHeader('Content-Disposition', 'inline');
  daticert.setContent(Buffer.from(buildDaticertXml(msg.daticert), 'utf8'));

  if (msg.original) {
    const eml = mixed.createChild('message/rfc822', { filename: 'postacert.eml' });
    eml.setHeader('Content-Disposition', 'inline');
    // message/rfc822 may not be base64-encoded (RFC 2046 §5.2.1): declare what its bytes are.
    eml.setHeader('Content-Transfer-Encoding', isSevenBit(msg.original) ? '7bit' : '8bit');
    eml.setContent(msg.original);
  }
  return mixed.build();
}

function isSevenBit(bytes: Buffer): boolean {
  return bytes.every((b) => b < 0x80);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** The text as a small html document: paragraphs from blank-line-separated blocks, line breaks kept. */
function htmlOf(text: string): string {
  const escape = (s: string) => s.replace(/[&<>"]/g, (c) => HTML_ESCAPES[c] ?? c);
  const paragraphs = text
    .split(/\n{2,}/)
    .map((block) => `<p>${block.split('\n').map(escape).join('<br>\n')}</p>`)
    .join('\n');
  return `<!DOCTYPE html>\n<html lang="it"><head><meta charset="utf-8"></head><body>\n${paragraphs}\n</body></html>\n`;
}
