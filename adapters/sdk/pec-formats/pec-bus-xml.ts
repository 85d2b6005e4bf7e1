/**
 * The XML the PEC adapter exchanges with the bus, in the project's namespace `urn:tramite:pec:1`:
 * - `pec:InvioPEC` (egress): what to send by PEC — recipients, subject, text, attachments;
 * - `pec:Ricevuta` (ingress): one provider receipt about a message sent, per recipient where the
 *   receipt is per recipient;
 * - `pec:MessaggioPEC` (ingress): a PEC message received (the content of a busta di trasporto).
 * The reader is strict (unknown elements or attributes are refused, not ignored) because a sender
 * who misspells `Allegato` must learn it now, not when the recipient misses the attachment.
 */
import { AdapterError } from '../adapter.js';
import { childElements, parseUntrustedXml, textOf, DEFAULT_XML_LIMITS } from '../xml-security.js';
import { escapeAttribute, escapeText, replaceForbiddenXmlChars } from '../../../envelopes/xml/xml-escape.js';

export const PEC_BUS_NS = 'urn:tramite:pec:1';

/** A PEC message carries at most about 100 MB (providers' limit); base64 adds a third. */
const INVIO_LIMITS = { ...DEFAULT_XML_LIMITS, maxBytes: 150 * 1024 * 1024 };

/** An e-mail address as PEC uses it: no display name, no comments, no route, nothing to inject in a header. */
export const PEC_ADDRESS = /^[^\s@<>(),;:"[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const MIME_TYPE = /^[\w.+-]+\/[\w.+-]+$/;
// A file name that is one name: no folder separators, no control characters.
// eslint-disable-next-line no-control-regex
const FILE_NAME = /^[^/\\\u0000-\u001f\u007f]{1,255}$/;

export interface PecAllegato {
  readonly nome: string;
  readonly mimeType: string;
  readonly contenuto: Buffer;
}

export interface InvioPec {
  readonly destinatari: readonly string[];
  readonly oggetto: string;
  readonly testo: string;
  readonly allegati: readonly PecAllegato[];
}

/**
 * Reads `<pec:InvioPEC>`:
 * `<pec:Destinatario>` one or more, `<pec:Oggetto>`, `<pec:Testo>` (may be empty), then
 * `<pec:Allegato nome="…" mimeType="…">base64</pec:Allegato>` zero or more, in this order.
 * Anything else is AdapterError.refused TRAMITE_ERR_ADAPTER_REFUSED: the same payload will never do.
 */
export function readInvioPec(payload: string): InvioPec {
  let doc: Document;
  try {
    doc = parseUntrustedXml(payload, INVIO_LIMITS).doc;
  } catch (cause) {
    throw refused(`the payload is not acceptable XML: ${(cause as Error).message.replace(/^EGOV_IT_\d+ - /, '')}`, cause);
  }
  const root = doc.documentElement!;
  if (root.namespaceURI !== PEC_BUS_NS || root.localName !== 'InvioPEC') {
    throw refused(
      `the payload is <${root.tagName}>${root.namespaceURI ? ` in ${root.namespaceURI}` : ''}, not <InvioPEC> in ${PEC_BUS_NS}`,
    );
  }
  onlyAttributes(root, []);
  const destinatari: string[] = [];
  let oggetto: string | undefined;
  let testo: string | undefined;
  const allegati: PecAllegato[] = [];
  for (const el of childElements(root)) {
    if (el.namespaceURI !== PEC_BUS_NS) throw refused(`<${el.tagName}> is not an element of ${PEC_BUS_NS}`);
    const name = el.localName;
    const after = (what: string, seen: boolean) => {
      if (seen) throw refused(`<pec:${name}> comes after <pec:${what}>: the order is Destinatario+, Oggetto, Testo, Allegato*`);
    };
    onlyTextInside(el);
    switch (name) {
      case 'Destinatario': {
        after('Oggetto', oggetto !== undefined);
        onlyAttributes(el, []);
        const address = textOf(el);
        if (!PEC_ADDRESS.test(address)) throw refused(`Destinatario "${address}" is not an e-mail address (local@dominio, nothing else)`);
        if (destinatari.some((d) => d.toLowerCase() === address.toLowerCase())) throw refused(`Destinatario ${address} is given twice`);
        destinatari.push(address);
        break;
      }
      case 'Oggetto':
        if (destinatari.length === 0) throw refused('<pec:Oggetto> before any <pec:Destinatario>');
        if (oggetto !== undefined) throw refused('<pec:Oggetto> is given twice');
        onlyAttributes(el, []);
        oggetto = textOf(el);
        // A subject is one header line: a line break in it would be folded away or worse.
        if (oggetto.length === 0 || /[\r\n]/.test(oggetto)) throw refused('<pec:Oggetto> must be one non-empty line');
        break;
      case 'Testo':
        if (oggetto === undefined) throw refused('<pec:Testo> before <pec:Oggetto>');
        if (testo !== undefined) throw refused('<pec:Testo> is given twice');
        onlyAttributes(el, []);
        // Not trimmed: the body is the sender's, to the last space.
        testo = el.textContent ?? '';
        break;
      case 'Allegato':
        if (testo === undefined) throw refused('<pec:Allegato> before <pec:Testo>');
        allegati.push(readAllegato(el));
        break;
      default:
        throw refused(`<pec:${name}> is not part of InvioPEC (Destinatario, Oggetto, Testo, Allegato)`);
    }
  }
  if (destinatari.length === 0) throw refused('InvioPEC has no <pec:Destinatario>');
  if (oggetto === undefined) throw refused('InvioPEC has no <pec:Oggetto>');
  if (testo === undefined) throw refused('InvioPEC has no <pec:Testo> (it may be empty: <pec:Testo/>)');
  return { destinatari, oggetto, testo, allegati };
}

/** Writes `<pec:InvioPEC>`: what another adapter (protocollo over PEC) asks the PEC adapter to send. */
export function invioPecXml(i: InvioPec): string {
  const parts = [
    ...i.destinatari.map((d) => `<pec:Destinatario>${xmlText(d)}</pec:Destinatario>`),
    `<pec:Oggetto>${xmlText(i.oggetto)}</pec:Oggetto>`,
    `<pec:Testo>${xmlText(i.testo)}</pec:Testo>`,
    ...i.allegati.map(
      (a) =>
        `<pec:Allegato${attrs([
          ['nome', a.nome],
          ['mimeType', a.mimeType],
        ])}>${a.contenuto.toString('base64')}</pec:Allegato>`,
    ),
  ];
  return `<pec:InvioPEC xmlns:pec="${PEC_BUS_NS}">${parts.join('')}</pec:InvioPEC>`;
}

/**
 * Reads `<pec:MessaggioPEC>` (what the PEC adapter emits for a busta di trasporto), for an adapter that
 * takes PEC messages from the bus. The PEC adapter wrote it from a signed busta; a reader still refuses
 * anything else, since the bus message could come from elsewhere.
 */
export function readMessaggioPec(payload: string): MessaggioPecPayload {
  let root: Element;
  try {
    root = parseUntrustedXml(payload, INVIO_LIMITS).doc.documentElement!;
  } catch (cause) {
    throw AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', `MessaggioPEC: not acceptable XML: ${(cause as Error).message}`, cause);
  }
  const bad = (why: string) => AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', `MessaggioPEC: ${why}`);
  if (root.namespaceURI !== PEC_BUS_NS || root.localName !== 'MessaggioPEC')
    throw bad(`the payload is <${root.tagName}>, not <MessaggioPEC> in ${PEC_BUS_NS}`);
  const tipo = root.getAttribute('tipo');
  if (tipo !== 'posta-certificata' && tipo !== 'errore') throw bad(`tipo "${tipo ?? ''}" is neither posta-certificata nor errore`);
  let mittente: string | undefined;
  let oggetto = '';
  let testo = '';
  const destinatari: string[] = [];
  const allegati: Array<{ nome?: string; mimeType: string; contenuto: Buffer }> = [];
  for (const el of childElements(root)) {
    if (el.namespaceURI !== PEC_BUS_NS) throw bad(`<${el.tagName}> is not an element of ${PEC_BUS_NS}`);
    if (el.localName === 'Mittente') mittente = textOf(el);
    else if (el.localName === 'Destinatario') destinatari.push(textOf(el));
    else if (el.localName === 'Oggetto') oggetto = textOf(el);
    else if (el.localName === 'Testo') testo = el.textContent ?? '';
    else if (el.localName === 'Allegato') {
      const base64 = (el.textContent ?? '').replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw bad('an Allegato is not base64');
      const nome = el.getAttribute('nome');
      allegati.push({
        ...(nome ? { nome } : {}),
        mimeType: el.getAttribute('mimeType') ?? 'application/octet-stream',
        contenuto: Buffer.from(base64, 'base64'),
      });
    } else throw bad(`<pec:${el.localName}> is not part of MessaggioPEC`);
  }
  if (!mittente || !PEC_ADDRESS.test(mittente)) throw bad('no valid Mittente');
  const optional = (name: string) => root.getAttribute(name) ?? undefined;
  const messageId = optional('messageId');
  const identificativo = optional('identificativo');
  const data = optional('data');
  return {
    tipo,
    mittente,
    destinatari,
    oggetto,
    testo,
    allegati,
    ...(messageId ? { messageId } : {}),
    ...(identificativo ? { identificativo } : {}),
    ...(data ? { data } : {}),
  };
}

function readAllegato(el: Element): PecAllegato {
  onlyAttributes(el, ['nome', 'mimeType']);
  const nome = el.getAttribute('nome') ?? '';
  const mimeType = el.getAttribute('mimeType') ?? '';
  if (!FILE_NAME.test(nome))
    throw refused(`Allegato nome "${nome}" must be a file name (1 to 255 characters, no / \\ or control characters)`);
  if (!MIME_TYPE.test(mimeType)) throw refused(`Allegato ${nome}: mimeType "${mimeType}" is not a MIME type (type/subtype)`);
  const base64 = (el.textContent ?? '').replace(/\s+/g, '');
  if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw refused(`Allegato ${nome}: the content is not base64`);
  return { nome, mimeType, contenuto: Buffer.from(base64, 'base64') };
}

function onlyAttributes(el: Element, allowed: readonly string[]): void {
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i)!;
    if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) continue;
    if (a.namespaceURI || !allowed.includes(a.name))
      throw refused(`attribute ${a.name} is not allowed on <${el.tagName}>${allowed.length ? ` (only ${allowed.join(', ')})` : ''}`);
  }
}

function onlyTextInside(el: Element): void {
  const child = childElements(el)[0];
  if (child) throw refused(`<${el.tagName}> holds text only, not <${child.tagName}>`);
}

function refused(message: string, cause?: unknown): AdapterError {
  return AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', `InvioPEC: ${message}`, cause);
}

// ---------------------------------------------------------------------------------------------------
// What ingress sends on the bus

export interface RicevutaPayload {
  /** The receipt kind (X-Ricevuta): accettazione, avvenuta-consegna, errore-consegna… */
  readonly tipo: string;
  /** What it means: ACCEPTED_BY_PROVIDER, DELIVERED, FAILED or WARNING. */
  readonly stato: string;
  /** The recipient the receipt is about (per-recipient receipts only). */
  readonly destinatario?: string;
  /** Message-ID of the message sent (angle brackets included). */
  readonly messageId: string;
  /** daticert postacert@errore: nessuno, no-dest, no-dominio, virus, altro. */
  readonly errore?: string;
  /** The provider's identifier of the message (daticert identificativo). */
  readonly identificativo?: string;
  /** When the provider issued it (daticert data, ISO 8601 UTC). */
  readonly data?: string;
  /** The provider's reason (errore-esteso) or an explanation; empty when there is none. */
  readonly motivo?: string;
}

/** `<pec:Ricevuta tipo stato destinatario? messageId errore? identificativo? data?>motivo</pec:Ricevuta>` */
export function ricevutaXml(r: RicevutaPayload): string {
  const attributes = attrs([
    ['tipo', r.tipo],
    ['stato', r.stato],
    ['destinatario', r.destinatario],
    ['messageId', r.messageId],
    ['errore', r.errore],
    ['identificativo', r.identificativo],
    ['data', r.data],
  ]);
  return `<pec:Ricevuta xmlns:pec="${PEC_BUS_NS}"${attributes}>${xmlText(r.motivo ?? '')}</pec:Ricevuta>`;
}

export interface MessaggioPecPayload {
  /** posta-certificata (a certified message) or errore (busta di anomalia: not certified). */
  readonly tipo: 'posta-certificata' | 'errore';
  /** Message-ID of the original message. */
  readonly messageId?: string;
  readonly identificativo?: string;
  readonly data?: string;
  readonly mittente: string;
  readonly destinatari: readonly string[];
  readonly oggetto: string;
  readonly testo: string;
  readonly allegati: ReadonlyArray<{ readonly nome?: string; readonly mimeType: string; readonly contenuto: Buffer }>;
}

/**
 * `<pec:MessaggioPEC tipo messageId? identificativo? data?>` with `<pec:Mittente>`, `<pec:Destinatario>*`,
 * `<pec:Oggetto>`, `<pec:Testo>`, `<pec:Allegato nome? mimeType>base64</pec:Allegato>*` — InvioPEC's
 * shape plus the sender, so a back office reads both with one parser.
 */
export function messaggioPecXml(m: MessaggioPecPayload): string {
  const head = attrs([
    ['tipo', m.tipo],
    ['messageId', m.messageId],
    ['identificativo', m.identificativo],
    ['data', m.data],
  ]);
  const parts = [
    `<pec:Mittente>${xmlText(m.mittente)}</pec:Mittente>`,
    ...m.destinatari.map((d) => `<pec:Destinatario>${xmlText(d)}</pec:Destinatario>`),
    `<pec:Oggetto>${xmlText(m.oggetto)}</pec:Oggetto>`,
    `<pec:Testo>${xmlText(m.testo)}</pec:Testo>`,
    ...m.allegati.map(
      (a) =>
        `<pec:Allegato${attrs([
          ['nome', a.nome],
          ['mimeType', a.mimeType],
        ])}>${a.contenuto.toString('base64')}</pec:Allegato>`,
    ),
  ];
  return `<pec:MessaggioPEC xmlns:pec="${PEC_BUS_NS}"${head}>${parts.join('')}</pec:MessaggioPEC>`;
}

function attrs(pairs: ReadonlyArray<readonly [string, string | undefined]>): string {
  return pairs
    .filter((p): p is readonly [string, string] => p[1] !== undefined)
    .map(([k, v]) => ` ${k}="${xmlAttribute(v)}"`)
    .join('');
}

/**
 * Characters XML 1.0 cannot hold at all (most C0 controls, U+FFFE/U+FFFF, lone surrogates) become
 * U+FFFD: mail may carry them, and one of them would make the whole bus payload unreadable.
 */
export function xmlText(s: string): string {
  return escapeText(replaceForbiddenXmlChars(s));
}

function xmlAttribute(s: string): string {
  return escapeAttribute(replaceForbiddenXmlChars(s));
}
