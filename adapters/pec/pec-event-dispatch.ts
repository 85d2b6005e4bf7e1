/**
 * The second half of ingress: the events recorded by the mailbox reader (PENDING in pec_event) are
 * sent on the bus, oldest first, and marked SENT.
 *
 * Where a duplicate can still happen: after `bus.send` resolved (the bus has logged the message) and
 * before `markEventSent` committed. Nothing else runs between them, so the window is one store write
 * (a millisecond or so); only a process kill or a failed write (disk full, database gone) right there
 * makes the event go out again at the next dispatch — by this process or the next lease holder. The bus offers no
 * idempotency key to close it; a receiver can recognise the repeat by the payload's identificativo
 * and tipo (and destinatario).
 *
 * An event the bus refuses stays PENDING (attempts and last error recorded, health degraded) and is
 * tried again at every poll; the others are not held up behind it.
 */
import type { AdapterLogger, BusClient } from '../sdk/index.js';
import type { PecStore, ReaderFence } from './pec-store.js';

/**
 * Sends what is PENDING, while `fence` holds: only the process reading the mailbox sends its events
 * (each is checked still PENDING, under the fence, just before it is sent), so two node processes do
 * not send the same event.
 */
export async function dispatchPendingEvents(
  store: PecStore,
  fence: ReaderFence,
  bus: BusClient,
  party: string,
  log: AdapterLogger,
  stopRequested: () => boolean,
): Promise<{ sent: number; failed: number }> {
  let sent = 0;
  let failed = 0;
  let after = 0;
  for (;;) {
    const batch = await store.pendingEvents(after);
    if (batch.length === 0) return { sent, failed };
    for (const event of batch) {
      if (stopRequested()) return { sent, failed };
      after = event.seq;
      const now = await store.eventToSend(event.seq, fence);
      if (now === 'fenced') return { sent, failed }; // the lease passed on: its next holder sends the rest
      if (now === 'sent') continue;
      let busMessageId: string;
      try {
        const state = await bus.send({
          to: party,
          service: event.service,
          payload: event.payload,
          ...(event.refId ? { refId: event.refId } : {}),
        });
        busMessageId = state.id;
      } catch (err) {
        failed += 1;
        const attempts = event.attempts + 1;
        await store.markEventFailed(event.seq, (err as Error).message);
        // Loud at attempts 1, 2, 4, 8…: a refusal retried at every poll would otherwise fill the log.
        const level = (attempts & (attempts - 1)) === 0 ? 'error' : 'debug';
        log[level](
          { event: event.key, service: event.service, attempts, err: (err as Error).message },
          'the bus did not take a PEC event: kept, tried again at the next poll',
        );
        continue;
      }
      // Nothing may come between the send resolving and this write: it is the duplicate window.
      await store.markEventSent(event.seq, busMessageId);
      sent += 1;
      log.info({ event: event.key, service: event.service, refId: event.refId, busMessageId }, 'PEC event sent on the bus');
    }
  }
}
