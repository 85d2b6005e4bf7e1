/**
 * Ingress, one message: what a message read from the PEC mailbox means and what the adapter owes for
 * it — decided here without side effects, recorded by PecStore.recordRead, sent by the dispatcher.
 * - not from a PEC provider: ordinary mail, left in the mailbox and only recorded;
 * - a provider message `quarantineReason` objects to (unsigned, badly signed, untrusted, malformed),
 *   or one that cannot even be read: quarantined — never dropped, never taken for a receipt;
 * - a receipt about a message sent from here: a pec:Ricevuta for the bus, and the recipient states;
 *   about any other message: recorded only;
 * - a busta di trasporto (or di anomalia): a pec:MessaggioPEC for the bus.
 */
import type { CertificateChainCheck, TrustStore } from '../sdk/index.js';
import { messaggioPecXml, ricevutaXml } from '../sdk/index.js';
import { PecError } from './pec-errors.js';
import { type PecMessage, parsePecMessage, quarantineReason } from './pec-message.js';
import type { OutboundRecord, ReadOutcome, RecipientState } from './pec-store.js';

export interface IngestSettings {
  readonly trust: TrustStore;
  /** The node's revocation check for the provider's certificate chain (absent: not checked). */
  readonly revocation?: CertificateChainCheck;
  readonly acceptSha1: boolean;
  readonly receiptService: string;
  readonly inboundService: string;
  /** The messages sent from here, by Message-ID. */
  readonly outbound: (messageId: string) => Promise<OutboundRecord | undefined>;
}

export interface IngestResult {
  /** The Message-ID header of the message read, if any. */
  readonly messageId: string | undefined;
  readonly outcome: ReadOutcome;
  /** Something an operator should know that does not change the outcome. */
  readonly notice?: string;
}

export async function ingestMailboxMessage(raw: Buffer, settings: IngestSettings): Promise<IngestResult> {
  let msg: PecMessage;
  try {
    msg = await parsePecMessage(raw, {
      trust: settings.trust,
      acceptSha1: settings.acceptSha1,
      ...(settings.revocation ? { revocation: settings.revocation } : {}),
    });
  } catch (err) {
    if (err instanceof PecError && err.code === 'TRAMITE_ERR_PEC_NOT_PEC') {
      return { messageId: headerMessageId(raw), outcome: { kind: 'recorded', disposition: 'not-pec', detail: err.message } };
    }
    // Claims to be PEC but breaks the parser: stuck in INBOX it would be read again forever.
    return {
      messageId: headerMessageId(raw),
      outcome: { kind: 'quarantined', code: 'TRAMITE_ERR_PEC_MALFORMED', reason: `unreadable: ${(err as Error).message}` },
    };
  }
  const quarantine = quarantineReason(msg);
  if (quarantine) return { messageId: msg.messageId, outcome: { kind: 'quarantined', code: quarantine.code, reason: quarantine.reason } };
  if (msg.kind === 'posta-certificata' || msg.kind === 'errore') return busta(msg, settings);
  return await receipt(msg, settings);
}

/**
 * What a provider message *is*, the same however often it is read or delivered. The daticert
 * identificativo alone is not enough: the provider gives it to the original message, so the
 * acceptance and each recipient's delivery receipt share it. Kind and recipient tell them apart;
 * the original Message-ID guards against two providers' identifiers colliding. Everything but the
 * fallback comes from daticert.xml, which the provider's signature covers.
 */
export function eventKey(msg: PecMessage): string | undefined {
  const dati = msg.daticert?.dati;
  if (dati)
    return [
      'daticert',
      msg.kind,
      dati.identificativo,
      dati.consegna?.toLowerCase() ?? '',
      dati.msgid ?? msg.riferimentoMessageId ?? '',
    ].join(' ');
  return msg.messageId ? ['message-id', msg.kind, msg.messageId].join(' ') : undefined;
}

async function receipt(msg: PecMessage, settings: IngestSettings): Promise<IngestResult> {
  const ref = msg.riferimentoMessageId!; // a receipt without one is malformed, so quarantined before this
  const sent = await settings.outbound(ref);
  const key = eventKey(msg);
  if (!sent || !key) {
    return {
      messageId: msg.messageId,
      outcome: { kind: 'recorded', disposition: 'uncorrelated', detail: `${msg.kind} about ${ref}, which was not sent from this mailbox` },
    };
  }
  const { state, recipient, reason } = msg.mapping;
  const stato = state as Exclude<RecipientState, 'PENDING' | 'SUBMITTED'>; // INBOUND is for buste only
  const unknownRecipient = recipient && !sent.recipients.some((r) => r.address.toLowerCase() === recipient.toLowerCase());
  const payload = ricevutaXml({
    tipo: msg.kind,
    stato,
    ...(recipient ? { destinatario: recipient } : {}),
    messageId: ref,
    ...(msg.errore ? { errore: msg.errore } : {}),
    ...(msg.daticert ? { identificativo: msg.daticert.dati.identificativo, data: msg.daticert.dati.data.instant } : {}),
    ...(reason ? { motivo: reason } : {}),
  });
  return {
    messageId: msg.messageId,
    outcome: {
      kind: 'event',
      disposition: 'receipt',
      event: { key, service: settings.receiptService, refId: sent.busMessageId, payload },
      update: { messageId: ref, ...(recipient ? { recipient } : {}), state: stato, ...(reason ? { reason } : {}) },
    },
    ...(unknownRecipient ? { notice: `the ${msg.kind} receipt names ${recipient}, who is not among the recipients of ${ref}` } : {}),
  };
}

function busta(msg: PecMessage, settings: IngestSettings): IngestResult {
  const original = msg.original;
  const key = eventKey(msg);
  if (!original || !key) {
    // Only a busta di anomalia gets here without postacert.eml (for a busta di trasporto it is malformed).
    return {
      messageId: msg.messageId,
      outcome: {
        kind: 'recorded',
        disposition: 'no-content',
        detail: `${msg.kind} busta without ${original ? 'an identifier' : 'the original message (postacert.eml)'}`,
      },
    };
  }
  const intestazione = msg.daticert?.intestazione;
  const payload = messaggioPecXml({
    tipo: msg.kind as 'posta-certificata' | 'errore',
    ...((original.messageId ?? msg.riferimentoMessageId) ? { messageId: (original.messageId ?? msg.riferimentoMessageId)! } : {}),
    ...(msg.daticert ? { identificativo: msg.daticert.dati.identificativo, data: msg.daticert.dati.data.instant } : {}),
    // daticert says who sent it to whom under the provider's signature; the original's headers are the sender's.
    mittente: intestazione?.mittente ?? original.from ?? '',
    destinatari: intestazione ? intestazione.destinatari.map((d) => d.indirizzo) : original.to,
    oggetto: original.subject ?? intestazione?.oggetto ?? '',
    testo: original.text ?? '',
    allegati: original.attachments.map((a) => ({
      ...(a.filename ? { nome: a.filename } : {}),
      mimeType: a.contentType,
      contenuto: a.content,
    })),
  });
  return {
    messageId: msg.messageId,
    outcome: { kind: 'event', disposition: 'inbound', event: { key, service: settings.inboundService, payload } },
  };
}

/** The Message-ID header of a message the PEC parser would not read (for the record only). */
function headerMessageId(raw: Buffer): string | undefined {
  const crlf = raw.indexOf('\r\n\r\n');
  const end = crlf >= 0 ? crlf : raw.indexOf('\n\n');
  const header = raw.subarray(0, end >= 0 ? end : Math.min(raw.length, 64 * 1024)).toString('latin1');
  return /^message-id:[ \t]*(<[^>\r\n]*>)/im.exec(header)?.[1];
}
