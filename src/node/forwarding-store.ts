import type { MessageKey, MessageListQuery, MessageRecord, MessageStatus, MessageStore, StateChange } from '../core/message-record.js';

/**
 * A message store that hands every call to another: the base of the decorators the pipelines see
 * (notifying, measuring), which override only the calls they add to.
 */
export class ForwardingStore implements MessageStore {
  constructor(protected readonly inner: MessageStore) {}

  create(rec: MessageRecord, envelope: string): Promise<void> {
    return this.inner.create(rec, envelope);
  }

  transition(key: MessageKey, change: StateChange, replyEnvelope?: string): Promise<MessageRecord> {
    return this.changing(key, change, () => this.inner.transition(key, change, replyEnvelope));
  }

  transitionIf(
    key: MessageKey,
    from: readonly MessageStatus[],
    change: StateChange,
    replyEnvelope?: string,
  ): Promise<MessageRecord | undefined> {
    return this.changing(key, change, () => this.inner.transitionIf(key, from, change, replyEnvelope));
  }

  /**
   * Where a decorator adds to a change of a message (`make` logs it): both kinds of change pass here, a
   * conditional one answering undefined when it was not made.
   */
  protected changing<T extends MessageRecord | undefined>(_key: MessageKey, _change: StateChange, make: () => Promise<T>): Promise<T> {
    return make();
  }

  resealed(id: string, envelope: string, change: StateChange): Promise<MessageRecord> {
    return this.inner.resealed(id, envelope, change);
  }

  get(key: MessageKey): Promise<MessageRecord | undefined> {
    return this.inner.get(key);
  }

  envelopeOf(key: MessageKey): Promise<string | undefined> {
    return this.inner.envelopeOf(key);
  }

  replyEnvelopeOf(key: MessageKey): Promise<string | undefined> {
    return this.inner.replyEnvelopeOf(key);
  }

  list(q: MessageListQuery): Promise<MessageRecord[]> {
    return this.inner.list(q);
  }
}
