import { sealRequest } from '../../../envelopes/busta/request.js';
import { DeliveryError } from '../../core/errors.js';
import type { MessageRecord } from '../../core/message-record.js';
import type { Registry, ServiceDef } from '../registry/registry.js';

/**
 * The signed request envelope of an outbound message, as of `sealedAt`, signed by its sending party —
 * when it is accepted, and again when a retry finds its Timestamp too old for the peer.
 */
export async function sealMessage(registry: Registry, rec: MessageRecord, service: ServiceDef, sealedAt: Date): Promise<string> {
  const hosted = registry.hostedParty(rec.from);
  if (!hosted) throw new DeliveryError('TRAMITE_ERR_NO_ROUTE', `${rec.from} is no longer hosted by this node`, { retriable: false });
  return await sealRequest(
    {
      id: rec.id,
      now: new Date(rec.createdAt),
      sealedAt,
      from: rec.from,
      to: rec.to,
      service,
      payload: rec.payload ?? '',
      ...(rec.action !== undefined ? { action: rec.action } : {}),
      ...(rec.refId !== undefined ? { refId: rec.refId } : {}),
      ...(rec.conversationId !== undefined ? { conversationId: rec.conversationId } : {}),
      ...(rec.expiresAt ? { expiresAt: new Date(rec.expiresAt) } : {}),
    },
    hosted.identity,
  );
}
