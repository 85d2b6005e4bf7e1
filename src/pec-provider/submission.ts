/**
 * A message as the provider's access point receives it on submission, and the formal checks the
 * access point makes before certifying it (RFC 6109 §3.1.1): a failed check makes a non-acceptance
 * (avviso di non accettazione) instead of an acceptance.
 */
import { type AddressObject, type EmailAddress, simpleParser } from 'mailparser';
import { type TipoRicevuta, TIPI_RICEVUTA } from '../../adapters/pec/daticert.js';
import { canonicalCrlf } from '../../adapters/pec/multipart-signed.js';

export interface SmtpEnvelope {
  /** Reverse path: always the authenticated mailbox (the SMTP server refuses any other). */
  readonly sender: string;
  /** Forward paths, as given with RCPT TO. */
  readonly recipients: readonly string[];
}

export interface SubmittedMessage {
  /** The message as it will be certified: CRLF line ends, a Message-ID guaranteed. */
  readonly raw: Buffer;
  /** With angle brackets. */
  readonly messageId: string;
  readonly subject: string;
  /** Header addresses, lower case. */
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly replyTo: string | undefined;
  /** X-TipoRicevuta: the delivery receipt the sender asks for; `completa` when absent or unknown. */
  readonly tipoRicevuta: TipoRicevuta;
}

/**
 * Reads the submitted bytes. A message without a Message-ID gets one (`newMessageId()`) prepended,
 * as a submission server may (RFC 6409 §8.3): every receipt refers to the original by it.
 */
export async function readSubmittedMessage(bytes: Buffer, newMessageId: () => string): Promise<SubmittedMessage> {
  let raw = canonicalCrlf(bytes);
  const parsed = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  let messageId = parsed.messageId;
  if (!messageId) {
    messageId = newMessageId();
    raw = Buffer.concat([Buffer.from(`Message-ID: ${messageId}\r\n`, 'latin1'), raw]);
  }
  const tipo = parsed.headers.get('x-tiporicevuta');
  const tipoText = typeof tipo === 'string' ? tipo.trim().toLowerCase() : '';
  return {
    raw,
    messageId,
    subject: parsed.subject ?? '',
    from: addressesOf(parsed.from),
    to: addressesOf(parsed.to),
    cc: addressesOf(parsed.cc),
    bcc: addressesOf(parsed.bcc),
    replyTo: addressesOf(parsed.replyTo)[0],
    tipoRicevuta: (TIPI_RICEVUTA as readonly string[]).includes(tipoText) ? (tipoText as TipoRicevuta) : 'completa',
  };
}

/**
 * Why the access point must not accept the message (empty: it passes), in Italian: the reasons go
 * into the non-acceptance the sender reads. `maxMessageBytes` bounds the size times the number of
 * recipients, as the rules count it.
 */
export function formalProblems(msg: SubmittedMessage, envelope: SmtpEnvelope, maxMessageBytes: number): string[] {
  const problems: string[] = [];
  const sender = envelope.sender.toLowerCase();
  const [from] = msg.from;
  if (msg.from.length !== 1 || !from)
    problems.push(`l'intestazione From deve contenere un solo indirizzo (ne contiene ${msg.from.length})`);
  else if (from !== sender)
    problems.push(
      `il mittente "${from}" dell'intestazione From non coincide con la casella che ha inviato il messaggio (${envelope.sender})`,
    );
  if (msg.to.length === 0) problems.push("manca l'intestazione To con almeno un destinatario");
  if (msg.bcc.length > 0) problems.push('il messaggio ha destinatari in copia nascosta (Bcc)');

  const forward = new Set(envelope.recipients.map((r) => r.toLowerCase()));
  const headers = new Set([...msg.to, ...msg.cc]);
  const hidden = [...forward].filter((r) => !headers.has(r));
  if (hidden.length > 0) problems.push(`i destinatari ${hidden.join(', ')} non compaiono nelle intestazioni To o Cc`);
  const notSent = [...headers].filter((r) => !forward.has(r));
  if (notSent.length > 0)
    problems.push(`i destinatari ${notSent.join(', ')} delle intestazioni To o Cc non sono tra quelli della trasmissione`);

  const total = msg.raw.length * Math.max(1, forward.size);
  if (total > maxMessageBytes)
    problems.push(`la dimensione del messaggio per il numero dei destinatari (${total} byte) supera il limite di ${maxMessageBytes} byte`);
  return problems;
}

/** The domain part of an address, lower case. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

function addressesOf(field: AddressObject | AddressObject[] | undefined): string[] {
  const flatten = (list: readonly EmailAddress[]): string[] =>
    list.flatMap((a) => (a.group ? flatten(a.group) : a.address ? [a.address.toLowerCase()] : []));
  return [field ?? []].flat().flatMap((object) => flatten(object.value));
}
