import { ApiError } from '../../core/errors.js';
import { inboundKey, type MessageRecord, type MessageStore } from '../../core/message-record.js';

/**
 * The received message `id` a caller means: one sent to one of `parties`, from `from` when given.
 * Inbound ids are unique per sender only — another party may reuse an id — so when two senders' messages
 * share it the caller must say whose (409 TRAMITE_ERR_AMBIGUOUS_ID) rather than be shown either.
 */
export async function findReceived(
  store: MessageStore,
  id: string,
  parties: ReadonlySet<string>,
  from?: string,
): Promise<MessageRecord | undefined> {
  if (from !== undefined) {
    const rec = await store.get(inboundKey(id, from));
    return rec && parties.has(rec.to) ? rec : undefined;
  }
  const matches = (await store.list({ direction: 'in', id, parties, limit: 10 })).filter((r) => parties.has(r.to));
  if (matches.length > 1) {
    const senders = matches
      .map((r) => r.from)
      .sort()
      .join(', ');
    throw new ApiError('TRAMITE_ERR_AMBIGUOUS_ID', 409, `${senders} each sent a message with id ${id}: name the sender with from=<party>`);
  }
  return matches[0];
}
