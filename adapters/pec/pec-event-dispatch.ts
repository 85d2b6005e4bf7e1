/**
 * The second half of ingress: the events recorded by the mailbox reader (PENDING in pec_event) are
 * sent on the bus, oldest first, and marked SENT.
 *
 * Where a duplicate can still happen: after `bus.send` resolved (the bus has logged the message) and
 * before `markEventSent` committed. Both run back to back in one turn of the event loop, so the window
 * is one synchronous SQLite write (well under a millisecond); only a process kill or a failed write
 * (disk full) right there makes the event go out again at the next dispatch. The bus offers no
 * idempotency key to close it; a receiver can recognise the repeat by the payload's identificativo
 * and tipo (and destinatario).
 *
 * An event the bus refuses stays PENDING (attempts and last error recorded, health degraded) and is
 * tried again at every poll; the others are not held up behind it.
 */
import type { AdapterLogger, BusClient } from '../sdk/index.js';
import type { PecStore } from './pec-store.js';

export async function dispatchPendingEvents(
  store: PecStore,
  bus: BusClient,
  party: string,
  log: AdapterLogger,
  stopRequested: () => boolean,
): Promise<{ sent: number; failed: number }> {
  let sent = 0;
  let failed = 0;
  let after = 0;
  for (;;) {
    const batch = store.pendingEvents(after);
    if (batch.length === 0) return { sent, failed };
    for (const event of batch) {
      if (stopRequested()) return { sent, failed };
      after = event.seq;
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
        store.markEventFailed(event.seq, (err as Error).message);
        // Loud at attempts 1, 2, 4, 8…: a refusal retried at every poll would otherwise fill the log.
        const level = (attempts & (attempts - 1)) === 0 ? 'error' : 'debug';
        log[level](
          { event: event.key, service: event.service, attempts, err: (err as Error).message },
          'the bus did not take a PEC event: kept, tried again at the next poll',
        );
        continue;
      }
      // Nothing may come between the send resolving and this write: it is the duplicate window.
      store.markEventSent(event.seq, busMessageId);
      sent += 1;
      log.info({ event: event.key, service: event.service, refId: event.refId, busMessageId }, 'PEC event sent on the bus');
    }
  }
}
