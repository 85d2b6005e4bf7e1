/**
 * A message from a PEC provider — receipt, busta di trasporto or busta di anomalia — read from its
 * raw bytes: classified by its X-Ricevuta / X-Trasporto header (never by subject), its daticert.xml
 * read, its S/MIME signature verified, and what it means for the message it refers to mapped.
 *
 * The outer headers are not covered by the provider's signature; daticert.xml is. So the header's
 * classification and reference are cross-checked against daticert, and a disagreement makes the
 * message malformed. Everything below the outer headers is parsed from the signed bytes only.
 * `quarantineReason` is the one place that decides whether a parsed message may be acted on.
 */
import { type Attachment, type ParsedMail, type SimpleParserOptions, type StructuredHeader, simpleParser } from 'mailparser';
import { SecurityError } from '../../src/core/errors.js';
import { type CertificateChainCheck, type TrustStore, describeCertificate } from '../sdk/index.js';
import { type Daticert, type PostacertErrore, type PostacertTipo, type TipoRicevuta, TIPI_RICEVUTA, readDaticert } from './daticert.js';
import { splitHeaderAndBody, splitMultipartSigned } from './multipart-signed.js';
import { PecError } from './pec-errors.js';
import { type SignatureProblemCode, verifyDetachedSignature } from './smime-signature.js';

/** What X-Ricevuta says a receipt is. */
export const RICEVUTA_KINDS = [
  'accettazione',
  'non-accettazione',
  'presa-in-carico',
  'avvenuta-consegna',
  'errore-consegna',
  'preavviso-errore-consegna',
  'rilevazione-virus',
] as const;
/** What X-Trasporto says a busta is: the transport envelope, or the anomaly envelope (`errore`). */
export const TRASPORTO_KINDS = ['posta-certificata', 'errore'] as const;
export type PecKind = (typeof RICEVUTA_KINDS)[number] | (typeof TRASPORTO_KINDS)[number];

export type PecSignature =
  | { readonly status: 'valid'; readonly signer: string; readonly digestAlgorithm: string }
  | {
      readonly status: 'absent' | 'invalid' | 'untrusted';
      readonly code: SignatureProblemCode;
      readonly reason: string;
      readonly signer?: string;
    };

export interface PecAttachment {
  readonly filename: string | undefined;
  readonly contentType: string;
  readonly content: Buffer;
}

/** The original message (postacert.eml) a busta, or a `completa` delivery receipt, carries. */
export interface PecOriginal {
  readonly messageId: string | undefined;
  readonly from: string | undefined;
  readonly to: readonly string[];
  readonly subject: string | undefined;
  readonly date: Date | undefined;
  readonly text: string | undefined;
  readonly attachments: readonly PecAttachment[];
}

export type PecDeliveryState = 'ACCEPTED_BY_PROVIDER' | 'DELIVERED' | 'FAILED' | 'WARNING' | 'INBOUND';

/** What the message means for the message it refers to. Only to be acted on when `quarantineReason` is undefined. */
export interface PecMapping {
  readonly state: PecDeliveryState;
  /** The recipient a per-recipient receipt is about (daticert consegna). */
  readonly recipient?: string;
  /** The provider's reason (errore-esteso) for FAILED and WARNING, or an explanation. */
  readonly reason?: string;
}

export interface PecMessage {
  /** From X-Ricevuta / X-Trasporto. */
  readonly kind: PecKind;
  /** daticert postacert@tipo (undefined when daticert.xml is missing or unreadable). */
  readonly tipo: PostacertTipo | undefined;
  /** daticert postacert@errore. */
  readonly errore: PostacertErrore | undefined;
  /** X-Riferimento-Message-ID: the Message-ID of the message sent, angle brackets included. */
  readonly riferimentoMessageId: string | undefined;
  readonly messageId: string | undefined;
  readonly date: Date | undefined;
  readonly from: string | undefined;
  readonly subject: string | undefined;
  /** The kind of delivery receipt asked for: daticert ricevuta@tipo, else X-TipoRicevuta. */
  readonly tipoRicevuta?: TipoRicevuta;
  readonly daticert: Daticert | undefined;
  readonly signature: PecSignature;
  readonly original?: PecOriginal;
  readonly mapping: PecMapping;
  /** Every way the message departs from the PEC rules; empty when well formed. */
  readonly malformed: readonly string[];
}

export interface PecParseOptions {
  /** CAs trusted for provider signatures. Without it every signature is at best `untrusted`. */
  readonly trust?: TrustStore;
  /** Judge the signer certificate at this instant instead of the message's own date. */
  readonly at?: Date;
  /** Accept SHA-1 provider signatures (off by default; see smime-signature.ts). */
  readonly acceptSha1?: boolean;
  /** The node's revocation check of the provider's chain, at the message's own instant (absent: not checked). */
  readonly revocation?: CertificateChainCheck;
}

export interface PecQuarantine {
  readonly code: SignatureProblemCode;
  readonly reason: string;
}

const PARSER_OPTIONS: SimpleParserOptions = {
  // postacert.eml must stay an attachment (its bytes are the original), and a daticert.xml inside it
  // (a forwarded receipt) must not be taken for the provider's own.
  ignoreEmbedded: true,
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  keepCidLinks: true,
  checksumAlgo: false,
};

const SIGNATURE_TYPES = ['application/pkcs7-signature', 'application/x-pkcs7-signature'];

/**
 * Reads a raw message (RFC 5322 bytes, as fetched from the mailbox). Resolves for anything that
 * claims to come from a PEC provider, however broken (see `malformed`, `signature` and
 * `quarantineReason`); rejects with PecError TRAMITE_ERR_PEC_NOT_PEC when it does not claim to.
 */
export async function parsePecMessage(raw: Buffer, opts: PecParseOptions = {}): Promise<PecMessage> {
  const split = splitHeaderAndBody(raw);
  if (!split) throw new PecError('TRAMITE_ERR_PEC_NOT_PEC', 'not an e-mail message: no blank line ends the header');
  let outer: ParsedMail;
  try {
    outer = await simpleParser(split.header, PARSER_OPTIONS);
  } catch (cause) {
    throw new PecError('TRAMITE_ERR_PEC_NOT_PEC', `not an e-mail message: ${messageOf(cause)}`, { cause });
  }
  const malformed: string[] = [];
  const kind = classify(outer, malformed);

  const envelope = openEnvelope(outer, raw, split.body, malformed);
  const attachments = await readAttachments(envelope.content, malformed);
  // The anomaly envelope wraps a message its provider could not certify: no daticert is promised.
  const daticert = readDaticertPart(attachments, kind !== 'errore', malformed);
  const original = await readOriginal(attachments, malformed);
  const date = dateHeader(outer);
  const riferimentoMessageId = withAngleBrackets(headerText(outer, 'X-Riferimento-Message-ID', malformed));
  crossCheck({ kind, daticert, riferimentoMessageId, hasOriginal: !!original }, malformed);

  // The daticert timestamp is signed; the Date header is not, so it only stands in when daticert is missing.
  const at = opts.at ?? (daticert ? new Date(daticert.dati.data.instant) : date) ?? new Date();
  const signature = await checkSignature(envelope, {
    at,
    ...(opts.trust ? { trust: opts.trust } : {}),
    ...(opts.acceptSha1 ? { acceptSha1: true } : {}),
    ...(opts.revocation ? { revocation: opts.revocation } : {}),
  });
  const tipoRicevuta = daticert?.dati.ricevuta ?? tipoRicevutaHeader(outer);

  return {
    kind,
    tipo: daticert?.tipo,
    errore: daticert?.errore,
    riferimentoMessageId,
    messageId: outer.messageId,
    date,
    from: outer.from?.text,
    subject: outer.subject,
    ...(tipoRicevuta ? { tipoRicevuta } : {}),
    daticert,
    signature,
    ...(original ? { original } : {}),
    mapping: mapToDeliveryState(kind, daticert),
    malformed,
  };
}

/**
 * Why a parsed provider message must not be acted on — unsigned, badly signed, signed by a
 * certificate the trust store does not accept, or malformed — or undefined when it may be. Callers
 * quarantine the message with this reason and never treat it as a receipt.
 */
export function quarantineReason(msg: PecMessage): PecQuarantine | undefined {
  const reasons: string[] = [];
  let code: SignatureProblemCode | undefined;
  if (msg.signature.status !== 'valid') {
    code = msg.signature.code;
    const what = { absent: 'unsigned', invalid: 'bad signature', untrusted: 'untrusted signer' }[msg.signature.status];
    reasons.push(`${what}: ${msg.signature.reason}`);
  }
  if (msg.malformed.length > 0) {
    code ??= 'TRAMITE_ERR_PEC_MALFORMED';
    reasons.push(`malformed: ${msg.malformed.join('; ')}`);
  }
  return code ? { code, reason: reasons.join('; ') } : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Classification

function classify(outer: ParsedMail, malformed: string[]): PecKind {
  const ricevuta = headerText(outer, 'X-Ricevuta', malformed)?.toLowerCase();
  const trasporto = headerText(outer, 'X-Trasporto', malformed)?.toLowerCase();
  if (ricevuta === undefined && trasporto === undefined) {
    throw new PecError('TRAMITE_ERR_PEC_NOT_PEC', 'no X-Ricevuta or X-Trasporto header: not a message from a PEC provider');
  }
  if (ricevuta !== undefined && trasporto !== undefined)
    malformed.push(`both X-Ricevuta (${ricevuta}) and X-Trasporto (${trasporto}) are present`);
  if (ricevuta !== undefined) {
    if (!isOneOf(ricevuta, RICEVUTA_KINDS))
      throw new PecError('TRAMITE_ERR_PEC_NOT_PEC', `X-Ricevuta "${ricevuta}" is not a PEC receipt (${RICEVUTA_KINDS.join(', ')})`);
    return ricevuta;
  }
  if (!isOneOf(trasporto!, TRASPORTO_KINDS))
    throw new PecError('TRAMITE_ERR_PEC_NOT_PEC', `X-Trasporto "${trasporto}" is not a PEC envelope (${TRASPORTO_KINDS.join(', ')})`);
  return trasporto as PecKind;
}

/** Header and daticert must tell the same story: the headers are unsigned, daticert is not. */
function crossCheck(
  facts: { kind: PecKind; daticert: Daticert | undefined; riferimentoMessageId: string | undefined; hasOriginal: boolean },
  malformed: string[],
): void {
  const { kind, daticert } = facts;
  if (kind === 'errore') return;
  const header = kind === 'posta-certificata' ? 'X-Trasporto' : 'X-Ricevuta';
  if (!facts.riferimentoMessageId) malformed.push('no X-Riferimento-Message-ID header');
  if (!daticert) return; // its absence is already reported
  if (daticert.tipo !== kind) malformed.push(`${header} says ${kind} but daticert.xml says ${daticert.tipo}`);
  if (facts.riferimentoMessageId && daticert.dati.msgid && daticert.dati.msgid !== facts.riferimentoMessageId) {
    malformed.push(`X-Riferimento-Message-ID ${facts.riferimentoMessageId} differs from daticert msgid ${daticert.dati.msgid}`);
  }
  if ((kind === 'avvenuta-consegna' || kind === 'errore-consegna') && !daticert.dati.consegna)
    malformed.push(`a ${kind} receipt without daticert <consegna> names no recipient`);
  if (kind === 'posta-certificata' && !facts.hasOriginal) malformed.push('the busta di trasporto carries no postacert.eml');
}

function mapToDeliveryState(kind: PecKind, daticert: Daticert | undefined): PecMapping {
  const recipient = daticert?.dati.consegna;
  const providerReason = (fallback: string) =>
    daticert?.dati.erroreEsteso || (daticert && daticert.errore !== 'nessuno' ? daticert.errore : fallback);
  const withRecipient = recipient ? { recipient } : {};
  switch (kind) {
    case 'accettazione':
      return { state: 'ACCEPTED_BY_PROVIDER' };
    case 'presa-in-carico':
      // Provider to provider: the recipient's provider has taken the message in charge.
      return { state: 'ACCEPTED_BY_PROVIDER', reason: "presa in carico by the recipient's provider" };
    case 'avvenuta-consegna':
      return { state: 'DELIVERED', ...withRecipient };
    case 'errore-consegna':
      return { state: 'FAILED', ...withRecipient, reason: providerReason('not delivered') };
    case 'non-accettazione':
      return { state: 'FAILED', reason: providerReason('not accepted by the provider') };
    case 'rilevazione-virus':
      return { state: 'FAILED', ...withRecipient, reason: providerReason('virus detected') };
    case 'preavviso-errore-consegna':
      return { state: 'WARNING', ...withRecipient, reason: providerReason('not delivered yet') };
    case 'posta-certificata':
      return { state: 'INBOUND' };
    case 'errore':
      return { state: 'INBOUND', reason: "busta di anomalia: the recipient's provider could not certify this message" };
  }
}

// ---------------------------------------------------------------------------------------------------
// Envelope and signature

interface Envelope {
  /** The bytes everything is read from: the signed part, or the whole message when it is not signed. */
  readonly content: Buffer;
  readonly signaturePart?: Buffer;
  /** Why there is no signature to check, or why it cannot be checked. */
  readonly problem?: { readonly status: 'absent' | 'invalid'; readonly reason: string };
}

function openEnvelope(outer: ParsedMail, raw: Buffer, body: Buffer, malformed: string[]): Envelope {
  const contentType = outer.headers.get('content-type') as StructuredHeader | undefined;
  if (contentType?.value !== 'multipart/signed') {
    return {
      content: raw,
      problem: { status: 'absent', reason: `the message is ${contentType?.value ?? 'text/plain'}, not multipart/signed` },
    };
  }
  const boundary = contentType.params['boundary'];
  const parts = boundary ? splitMultipartSigned(body, boundary) : undefined;
  if (!parts) {
    malformed.push(boundary ? 'multipart/signed with no body part for its boundary' : 'multipart/signed without a boundary');
    return { content: raw, problem: { status: 'absent', reason: 'the multipart/signed body cannot be split into its parts' } };
  }
  if (parts.extraParts > 0) malformed.push(`multipart/signed has ${2 + parts.extraParts} body parts instead of 2`);
  const protocol = contentType.params['protocol']?.toLowerCase();
  if (!parts.signature)
    return { content: parts.signed, problem: { status: 'absent', reason: 'multipart/signed has no signature part (smime.p7s)' } };
  if (!protocol || !SIGNATURE_TYPES.includes(protocol)) {
    return {
      content: parts.signed,
      problem: { status: 'invalid', reason: `multipart/signed protocol "${protocol ?? ''}" is not S/MIME (application/pkcs7-signature)` },
    };
  }
  return { content: parts.signed, signaturePart: parts.signature };
}

async function checkSignature(
  envelope: Envelope,
  opts: { trust?: TrustStore; at: Date; acceptSha1?: boolean; revocation?: CertificateChainCheck },
): Promise<PecSignature> {
  if (envelope.problem) {
    const code = envelope.problem.status === 'absent' ? 'TRAMITE_ERR_PEC_UNSIGNED' : 'TRAMITE_ERR_PEC_BAD_SIGNATURE';
    return { status: envelope.problem.status, code, reason: envelope.problem.reason };
  }
  let p7s: Buffer | undefined;
  try {
    const part = await simpleParser(envelope.signaturePart!, PARSER_OPTIONS);
    p7s = part.attachments.find((a) => SIGNATURE_TYPES.includes(a.contentType.toLowerCase()))?.content;
  } catch {
    p7s = undefined;
  }
  if (!p7s || p7s.byteLength === 0) {
    return {
      status: 'invalid',
      code: 'TRAMITE_ERR_PEC_BAD_SIGNATURE',
      reason: 'the second part of multipart/signed is not an application/pkcs7-signature (smime.p7s)',
    };
  }
  const verified = await verifyDetachedSignature(envelope.content, p7s, opts);
  if (verified.status === 'valid') {
    // A provider certificate revoked before the message was signed: untrusted, quarantined like any other.
    try {
      await opts.revocation?.checkChain(verified.chain, { at: opts.at, role: 'PEC provider signer' });
    } catch (cause) {
      const code: SignatureProblemCode = cause instanceof SecurityError ? cause.reason : 'TRAMITE_ERR_CERT_STATUS_UNKNOWN';
      return { status: 'untrusted', code, reason: (cause as Error).message, signer: describeCertificate(verified.signer) };
    }
    return { status: 'valid', signer: describeCertificate(verified.signer), digestAlgorithm: verified.digestAlgorithm };
  }
  return {
    status: verified.status,
    code: verified.code,
    reason: verified.reason,
    ...(verified.signer ? { signer: describeCertificate(verified.signer) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Parts of the signed content

/** The parts of the signed content (mailparser lists every non-text part as an attachment). */
async function readAttachments(content: Buffer, malformed: string[]): Promise<readonly Attachment[]> {
  try {
    return (await simpleParser(content, PARSER_OPTIONS)).attachments;
  } catch (cause) {
    malformed.push(`the signed content is not readable MIME: ${messageOf(cause)}`);
    return [];
  }
}

function readDaticertPart(attachments: readonly Attachment[], required: boolean, malformed: string[]): Daticert | undefined {
  const parts = attachments.filter((a) => a.filename?.toLowerCase() === 'daticert.xml');
  if (parts.length === 0) {
    if (required) malformed.push('no daticert.xml part');
    return undefined;
  }
  if (parts.length > 1) malformed.push(`${parts.length} daticert.xml parts`);
  try {
    return readDaticert(parts[0]!.content);
  } catch (err) {
    if (!(err instanceof PecError)) throw err;
    malformed.push(err.message);
    return undefined;
  }
}

async function readOriginal(attachments: readonly Attachment[], malformed: string[]): Promise<PecOriginal | undefined> {
  const part =
    attachments.find((a) => a.filename?.toLowerCase() === 'postacert.eml') ??
    attachments.find((a) => a.contentType.toLowerCase() === 'message/rfc822');
  if (!part) return undefined;
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(part.content, PARSER_OPTIONS);
  } catch (cause) {
    malformed.push(`postacert.eml is not readable: ${messageOf(cause)}`);
    return undefined;
  }
  const to = [parsed.to ?? []].flat().flatMap((list) => list.value.map((a) => a.address ?? a.name));
  return {
    messageId: parsed.messageId,
    from: parsed.from?.text,
    to,
    subject: parsed.subject,
    date: dateHeader(parsed),
    text: parsed.text,
    attachments: parsed.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })),
  };
}

// ---------------------------------------------------------------------------------------------------
// Headers

/** A header that must occur at most once, as text; a repeated one is reported and its first value used. */
function headerText(mail: ParsedMail, name: string, malformed: string[]): string | undefined {
  const value = mail.headers.get(name.toLowerCase());
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  if (values.length > 1) malformed.push(`header ${name} appears ${values.length} times`);
  const first = values[0];
  return typeof first === 'string' ? first.trim() : undefined;
}

/**
 * The Date header, or undefined when absent or unreadable: mailparser substitutes the current time
 * for an unreadable date, which must never pass for the provider's.
 */
function dateHeader(mail: ParsedMail): Date | undefined {
  const line = mail.headerLines.find((l) => l.key === 'date')?.line;
  if (!line) return undefined;
  const date = new Date(
    line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim(),
  );
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function tipoRicevutaHeader(mail: ParsedMail): TipoRicevuta | undefined {
  const value = mail.headers.get('x-tiporicevuta');
  const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  return text && isOneOf(text, TIPI_RICEVUTA) ? text : undefined;
}

function withAngleBrackets(id: string | undefined): string | undefined {
  if (!id) return undefined;
  return `${id.startsWith('<') ? '' : '<'}${id}${id.endsWith('>') ? '' : '>'}`;
}

function isOneOf<T extends string>(value: string, values: readonly T[]): value is T {
  return (values as readonly string[]).includes(value);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
