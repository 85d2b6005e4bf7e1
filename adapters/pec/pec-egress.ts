/**
 * Egress: a bus message on InvioPEC becomes one PEC message submitted to the provider.
 *
 * Idempotent by bus message id. The Message-ID is derived from the bus message id alone, and the
 * message is recorded (SENDING) before SMTP and marked SUBMITTED after, so:
 * - a second egress of a SUBMITTED message sends nothing and returns the same Message-ID;
 * - so does one of a message the provider already sent a receipt for (it has it, whatever our row says);
 * - a submission claims the message in the store first (`claimSending`, under a lock on the bus id):
 *   the same bus message given to two node processes at once is submitted by one; the other gets a
 *   retriable refusal while the claim lasts (EGRESS_CLAIM_MS);
 * - a re-delivery after a crash between the provider's 250 and the SUBMITTED mark sends the message
 *   again with the same Message-ID, once the crashed submission's claim has expired. That window is the
 *   SMTP reply's trip plus one store write; the provider will certify the second copy too (PEC providers
 *   do not deduplicate by Message-ID), and both copies' receipts correlate to the same bus message.
 */
import { createHash } from 'node:crypto';
import { AdapterError, type AdapterLogger, type BusMessage } from '../sdk/index.js';
import { readInvioPec } from '../sdk/index.js';
import { domainOf } from './pec-options.js';
import type { PecSmtpSender } from './pec-smtp-sender.js';
import type { PecStore } from './pec-store.js';

export interface PecEgressDeps {
  readonly store: PecStore;
  readonly sender: PecSmtpSender;
  /** The party's PEC address (From). */
  readonly address: string;
  readonly now: () => Date;
  readonly log: AdapterLogger;
}

/**
 * `<tramite.<40 hex of SHA-256(bus id)>@<our domain>>`: the same bus message always gets the same
 * Message-ID, whatever characters its id holds (e-Gov ids contain ':' and '_').
 */
export function messageIdFor(busMessageId: string, address: string): string {
  const digest = createHash('sha256').update(`tramite-pec\u0000${busMessageId}`, 'utf8').digest('hex').slice(0, 40);
  return `<tramite.${digest}@${domainOf(address)}>`;
}

export async function sendInvioPec(
  message: BusMessage,
  deps: PecEgressDeps,
  signal?: AbortSignal,
): Promise<{ kind: 'accepted'; reference: string }> {
  if (message.profile === 'sincrono') {
    throw AdapterError.refused(
      'TRAMITE_ERR_ADAPTER_REFUSED',
      'PEC cannot answer a sincrono request: receipts come later, on the receipt service',
    );
  }
  const known = await deps.store.outboundByBusId(message.id);
  if (known && (known.status === 'SUBMITTED' || known.receipts > 0)) return alreadySent(message.id, known.messageId, deps);
  // Parsed before anything is recorded: a payload that can never be sent leaves no trace to clean up.
  const invio = readInvioPec(message.payload);
  const claim = await deps.store.claimSending({
    busMessageId: message.id,
    messageId: messageIdFor(message.id, deps.address),
    subject: invio.oggetto,
    recipients: invio.destinatari,
  });
  if (claim.kind === 'sent') return alreadySent(message.id, claim.record.messageId, deps);
  if (claim.kind === 'busy') {
    throw AdapterError.unavailable(`PEC for bus message ${message.id} is being submitted already (by this or another node process)`);
  }
  const { messageId } = claim;
  try {
    const result = await deps.sender.send(
      {
        from: deps.address,
        to: invio.destinatari,
        subject: invio.oggetto,
        text: invio.testo,
        attachments: invio.allegati,
        messageId,
        date: deps.now(),
      },
      signal,
    );
    await deps.store.recordSubmitted(messageId, result);
    deps.log.info(
      {
        busMessageId: message.id,
        messageId,
        recipients: invio.destinatari.length,
        rejected: result.rejected.map((r) => r.address),
        smtp: result.response,
      },
      'PEC submitted to the provider',
    );
    return { kind: 'accepted', reference: messageId };
  } catch (err) {
    const failure = err instanceof AdapterError ? err : AdapterError.unavailable((err as Error).message, err);
    if (failure.retriable)
      await deps.store.releaseSending(messageId).catch(() => undefined); // else the claim expires
    else await deps.store.recordRefused(messageId, failure.message);
    deps.log.warn({ busMessageId: message.id, messageId, retriable: failure.retriable, err: failure.message }, 'PEC not submitted');
    throw failure;
  }
}

function alreadySent(busMessageId: string, messageId: string, deps: PecEgressDeps): { kind: 'accepted'; reference: string } {
  deps.log.info({ busMessageId, messageId }, 'PEC already sent for this bus message: not sent again');
  return { kind: 'accepted', reference: messageId };
}
