import { readEnvelope, readPlainFault, type ReadEnvelope } from '../../../envelopes/envelope.js';
import type { SoapFault } from '../../../envelopes/soap/soap-envelope.js';
import type { XmlLimits } from '../../../envelopes/xml/hardened-xml.js';
import { DeliveryError } from '../../core/errors.js';
import { refusalFrom } from '../receipts/peer-refusal.js';

/** A peer's answer to an envelope, read whole within the bound. */
export interface PeerAnswer {
  readonly url: string;
  readonly status: number;
  readonly bytes: Buffer;
  readonly text: string;
}

/** A reply envelope a peer answered with (2xx, no Fault), still to be checked (src/node/receipts). */
export interface PeerReply {
  readonly status: number;
  readonly envelope: ReadEnvelope;
}

/**
 * What a peer's answer means for the message, in one place: busy or failing (retry), a refusal
 * (its EGOV_IT code, final), nothing where a reply was due, or the reply envelope to check.
 * Returns undefined when the peer took a message that expects no reply.
 */
export function readPeerAnswer({ url, status, bytes, text }: PeerAnswer, expectsReply: boolean, limits: XmlLimits): PeerReply | undefined {
  // A busy peer (its verification queue is full) took nothing: try again later, whatever its body says.
  if (status === 503) throw new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', `peer at ${url} is busy (HTTP 503)`, { retriable: true });
  if (!text.trim()) {
    if (status >= 200 && status < 300 && !expectsReply) return undefined;
    // 202 without a body: the peer has the message but its reply is not signed yet (another copy is
    // being processed, or its process died mid-way): the next attempt gets the reply.
    const pending = status === 202;
    throw new DeliveryError(
      status >= 500 || pending ? 'TRAMITE_ERR_PEER_UNREACHABLE' : 'TRAMITE_ERR_RECEIPT_INVALID',
      `peer answered HTTP ${status} without the ${expectsReply ? 'signed reply' : 'envelope'} expected${pending ? ' (reply pending)' : ''}`,
      { retriable: status >= 500 || pending },
    );
  }
  let reply: ReadEnvelope;
  try {
    // From the bytes, so that a reply in a declared single-byte encoding reads (and is logged) right.
    reply = readEnvelope(bytes, limits);
  } catch (cause) {
    const fault = plainFault(text, limits);
    if (fault) throw refusalFrom({ fault }, status);
    throw new DeliveryError(
      'TRAMITE_ERR_RECEIPT_INVALID',
      `peer answered HTTP ${status} with no readable envelope: ${(cause as Error).message}`,
      { retriable: status >= 500, cause },
    );
  }
  if (reply.fault) throw refusalFrom(reply, status);
  if (status < 200 || status >= 300)
    throw new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', `peer answered HTTP ${status}`, { retriable: true });
  return { status, envelope: reply };
}

function plainFault(text: string, limits: XmlLimits): SoapFault | undefined {
  try {
    return readPlainFault(text, limits);
  } catch {
    return undefined;
  }
}
