/**
 * Every message the simulated provider issues about a certified message, each as the rules shape it:
 * headers (X-Ricevuta / X-Trasporto, X-Riferimento-Message-ID = the original's Message-ID, subject
 * prefix), daticert.xml (tipo, errore, msgid, identificativo, data with zona, gestore-emittente,
 * consegna, errore-esteso) and the text, then signed with the provider's certificate.
 */
import {
  type Daticert,
  type DaticertDestinatario,
  type PostacertErrore,
  type PostacertTipo,
  daticertData,
} from '../../adapters/pec/daticert.js';
import type { SmimeSigner } from '../../adapters/pec/smime-sign.js';
import { breveOriginal } from './breve-original.js';
// Italian providers write daticert times in Italian local time with its offset (+0100 / +0200), so the
// simulator does too: the offset of the Europe/Rome rules at that instant, not the machine's time zone.
import { romeOffset } from '../../adapters/sdk/index.js';
import { type ProviderMessage, composeSignedMessage } from './provider-message.js';
import {
  type ReceiptTextFacts,
  acceptanceText,
  deliveryErrorText,
  deliveryText,
  deliveryTimeoutText,
  nonAcceptanceText,
  transportEnvelopeText,
} from './receipt-texts.js';
import type { SubmittedMessage } from './submission.js';

/** A submitted message the provider has given its identifier to. */
export interface CertifiedMessage {
  /** The provider's identifier: daticert `identificativo` and, in angle brackets, the busta's Message-ID. */
  readonly identificativo: string;
  /** The mailbox that sent it (the authenticated user, the SMTP reverse path). */
  readonly sender: string;
  /** The SMTP recipients, as daticert lists them. */
  readonly destinatari: readonly DaticertDestinatario[];
  readonly submitted: SubmittedMessage;
}

/** Who issues a provider message, and when. */
export interface Issuer {
  /** daticert `gestore-emittente`. */
  readonly gestore: string;
  readonly signer: SmimeSigner;
  /** The PEC domain the message comes from: `posta-certificata@<domain>`. */
  readonly domain: string;
  readonly at: Date;
  /** The new message's own Message-ID, with angle brackets. */
  readonly messageId: string;
}

/** Why a recipient was not reached, as daticert and the text say it. */
export interface DeliveryFailure {
  readonly errore: PostacertErrore;
  /** e.g. `5.1.1 - …`. */
  readonly erroreEsteso: string;
  /** Set for the failure after the maximum delivery time: how long was waited, in words. */
  readonly waited?: string;
}

/** Subject prefixes (the rules' wording; classification is by header, never by these). */
const SUBJECT_PREFIX = {
  accettazione: 'ACCETTAZIONE: ',
  'non-accettazione': 'AVVISO DI NON ACCETTAZIONE: ',
  'posta-certificata': 'POSTA CERTIFICATA: ',
  'avvenuta-consegna': 'CONSEGNA: ',
  'errore-consegna': 'AVVISO DI MANCATA CONSEGNA: ',
  timeout: 'AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: ',
} as const;

export async function buildAcceptance(msg: CertifiedMessage, issuer: Issuer): Promise<Buffer> {
  const daticert = daticertOf(msg, issuer, 'accettazione', 'nessuno');
  return composeSignedMessage(
    receiptTo(msg, issuer, 'accettazione', SUBJECT_PREFIX.accettazione, daticert, acceptanceText(facts(msg, daticert))),
    issuer.signer,
  );
}

export async function buildNonAcceptance(msg: CertifiedMessage, issuer: Issuer, problems: readonly string[]): Promise<Buffer> {
  const daticert = daticertOf(msg, issuer, 'non-accettazione', 'altro', { erroreEsteso: problems.join('; ') });
  const text = nonAcceptanceText(facts(msg, daticert), problems);
  return composeSignedMessage(
    receiptTo(msg, issuer, 'non-accettazione', SUBJECT_PREFIX['non-accettazione'], daticert, text),
    issuer.signer,
  );
}

/** The busta di trasporto: the original, whole, as postacert.eml, "on behalf of" the sender. */
export async function buildTransportEnvelope(msg: CertifiedMessage, issuer: Issuer): Promise<Buffer> {
  const { submitted } = msg;
  const daticert = daticertOf(msg, issuer, 'posta-certificata', 'nessuno', { ricevuta: submitted.tipoRicevuta });
  const busta: ProviderMessage = {
    from: { name: `Per conto di: ${msg.sender}`, address: providerAddress(issuer) },
    to: submitted.to,
    cc: submitted.cc,
    replyTo: submitted.replyTo ?? msg.sender,
    subject: `${SUBJECT_PREFIX['posta-certificata']}${submitted.subject}`,
    messageId: `<${msg.identificativo}>`,
    date: issuer.at,
    pecHeaders: [
      ['X-Trasporto', 'posta-certificata'],
      ['X-Riferimento-Message-ID', submitted.messageId],
    ],
    text: transportEnvelopeText(facts(msg, daticert)),
    daticert,
    original: submitted.raw,
  };
  return composeSignedMessage(busta, issuer.signer);
}

/**
 * avvenuta-consegna for one recipient, in the form the sender asked for: `completa` carries the
 * original, `breve` the original with its attachments replaced by their hashes, `sintetica` nothing.
 */
export async function buildDeliveryReceipt(msg: CertifiedMessage, issuer: Issuer, recipient: string): Promise<Buffer> {
  const tipo = msg.submitted.tipoRicevuta;
  const daticert = daticertOf(msg, issuer, 'avvenuta-consegna', 'nessuno', { ricevuta: tipo, consegna: recipient });
  const original = tipo === 'completa' ? msg.submitted.raw : tipo === 'breve' ? await breveOriginal(msg.submitted.raw) : undefined;
  const receipt = receiptTo(
    msg,
    issuer,
    'avvenuta-consegna',
    SUBJECT_PREFIX['avvenuta-consegna'],
    daticert,
    deliveryText(facts(msg, daticert)),
    [['X-TipoRicevuta', tipo]],
  );
  return composeSignedMessage({ ...receipt, ...(original ? { original } : {}) }, issuer.signer);
}

/** errore-consegna for one recipient: unknown mailbox, undeliverable, or not delivered in the maximum time. */
export async function buildDeliveryError(
  msg: CertifiedMessage,
  issuer: Issuer,
  recipient: string,
  failure: DeliveryFailure,
): Promise<Buffer> {
  const daticert = daticertOf(msg, issuer, 'errore-consegna', failure.errore, { consegna: recipient, erroreEsteso: failure.erroreEsteso });
  const f = facts(msg, daticert);
  const [prefix, text] =
    failure.waited === undefined
      ? [SUBJECT_PREFIX['errore-consegna'], deliveryErrorText(f, failure.erroreEsteso)]
      : [SUBJECT_PREFIX.timeout, deliveryTimeoutText(f, failure.waited, true)];
  return composeSignedMessage(receiptTo(msg, issuer, 'errore-consegna', prefix, daticert, text), issuer.signer);
}

/** preavviso-errore-consegna: the recipient's provider has not confirmed delivery after `waited`. */
export async function buildDeliveryWarning(
  msg: CertifiedMessage,
  issuer: Issuer,
  recipient: string,
  waited: string,
  erroreEsteso: string,
): Promise<Buffer> {
  // A warning, not yet an error: errore stays `nessuno`, the reason goes in errore-esteso.
  const daticert = daticertOf(msg, issuer, 'preavviso-errore-consegna', 'nessuno', { consegna: recipient, erroreEsteso });
  const text = deliveryTimeoutText(facts(msg, daticert), waited, false);
  return composeSignedMessage(receiptTo(msg, issuer, 'preavviso-errore-consegna', SUBJECT_PREFIX.timeout, daticert, text), issuer.signer);
}

// ---------------------------------------------------------------------------------------------------

function providerAddress(issuer: Issuer): string {
  return `posta-certificata@${issuer.domain}`;
}

/** The sender's own address as the message gives it; the SMTP sender when From is unusable (a non-acceptance). */
function mittenteOf(msg: CertifiedMessage): string {
  return msg.submitted.from.length === 1 ? msg.submitted.from[0]! : msg.sender;
}

/** A receipt: from the provider to the mailbox that sent the message. */
function receiptTo(
  msg: CertifiedMessage,
  issuer: Issuer,
  kind: PostacertTipo,
  prefix: string,
  daticert: Daticert,
  text: string,
  extraHeaders: ReadonlyArray<readonly [string, string]> = [],
): ProviderMessage {
  return {
    from: { address: providerAddress(issuer) },
    to: [msg.sender],
    subject: `${prefix}${msg.submitted.subject}`,
    messageId: issuer.messageId,
    date: issuer.at,
    pecHeaders: [['X-Ricevuta', kind], ['X-Riferimento-Message-ID', msg.submitted.messageId], ...extraHeaders],
    text,
    daticert,
  };
}

function daticertOf(
  msg: CertifiedMessage,
  issuer: Issuer,
  tipo: PostacertTipo,
  errore: PostacertErrore,
  dati: Partial<Pick<Daticert['dati'], 'ricevuta' | 'consegna' | 'erroreEsteso'>> = {},
): Daticert {
  const mittente = mittenteOf(msg);
  return {
    tipo,
    errore,
    intestazione: {
      mittente,
      destinatari: msg.destinatari,
      risposte: msg.submitted.replyTo ?? mittente,
      oggetto: msg.submitted.subject,
    },
    dati: {
      gestoreEmittente: issuer.gestore,
      data: daticertData(issuer.at, romeOffset(issuer.at)),
      identificativo: msg.identificativo,
      msgid: msg.submitted.messageId,
      ricezione: [],
      ...dati,
    },
  };
}

function facts(msg: CertifiedMessage, daticert: Daticert): ReceiptTextFacts {
  return {
    data: daticert.dati.data,
    oggetto: msg.submitted.subject,
    mittente: daticert.intestazione.mittente,
    destinatari: msg.destinatari,
    identificativo: msg.identificativo,
    ...(daticert.dati.consegna ? { consegna: daticert.dati.consegna } : {}),
  };
}
