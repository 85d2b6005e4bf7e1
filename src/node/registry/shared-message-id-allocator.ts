import type { Clock } from '../../core/clock.js';
import { formatMessageId } from '../../core/message-id.js';
import type { MessageIds } from './message-ids.js';

/** The serial is 7 digits: a minute has ten million ids for one PdD, across every process. */
const SERIALS_PER_MINUTE = 10_000_000;
/** Serials a process reserves at a time: one round trip per thousand ids; a stop or a new minute leaves the rest unused. */
const BLOCK = 1_000;
/**
 * Reservations of minutes older than this are forgotten. Only a host whose clock is this far behind
 * could issue one of their ids again, and peers refuse its envelopes long before (clock skew checks).
 */
const FORGET_AFTER_MS = 7 * 86_400_000;

/** The shared database's reservation of serials (PostgresLogStore). */
export interface SerialReservations {
  /** Raises the minute's reserved count by `count`; the new count, the end (exclusive) of this caller's block. */
  reserveMessageSerials(pdd: string, minute: string, count: number): Promise<number>;
  forgetMessageSerialsBefore(minute: string): Promise<number>;
}

/**
 * Issues e-Gov message ids that stay unique across every process and host sharing the PostgreSQL log:
 * each process reserves blocks of the current minute's serials with one atomic statement, so two blocks
 * never overlap whatever the processes' number, start or death. Nothing is leased, so nothing expires and
 * nothing needs a process's liveness to be judged; the only clock the scheme reads is the minute that
 * the id itself carries (two hosts whose clocks disagree reserve in different minutes' rows, or in the
 * same row in turn: either way apart). Past ten million ids in a minute, `next()` waits for the next.
 */
export class SharedMessageIdAllocator implements MessageIds {
  private minute = '';
  private serial = 0;
  private end = 0;
  private reserving: { minute: string; done: Promise<void> } | undefined;
  private forgottenHour = '';

  constructor(
    private readonly reservations: SerialReservations,
    private readonly pdd: string,
    private readonly clock: Clock,
  ) {}

  async next(soggetto: string): Promise<string> {
    for (;;) {
      const now = this.clock.now();
      const minute = now.toISOString().slice(0, 16);
      if (minute === this.minute && this.serial < this.end) return formatMessageId(soggetto, this.pdd, this.serial++, now);
      if (minute === this.minute && this.end >= SERIALS_PER_MINUTE) {
        await new Promise((r) => setTimeout(r, 60_000 - (now.getTime() % 60_000) + 1));
        continue;
      }
      await this.reserve(minute, now);
    }
  }

  /** One reservation at a time per minute: concurrent callers that ran out wait for the same block. */
  private reserve(minute: string, now: Date): Promise<void> {
    if (this.reserving?.minute === minute) return this.reserving.done;
    const done = this.reservations
      .reserveMessageSerials(this.pdd, minute, BLOCK)
      .then((end) => {
        this.minute = minute;
        this.serial = Math.min(end - BLOCK, SERIALS_PER_MINUTE);
        this.end = Math.min(end, SERIALS_PER_MINUTE);
      })
      .finally(() => {
        if (this.reserving?.done === done) this.reserving = undefined;
      });
    this.reserving = { minute, done };
    this.forgetOldMinutes(now);
    return done;
  }

  /** Once an hour, at a new block: the table keeps a week of minutes, not every minute ever. */
  private forgetOldMinutes(now: Date): void {
    const hour = now.toISOString().slice(0, 13);
    if (hour === this.forgottenHour) return;
    this.forgottenHour = hour;
    const before = new Date(now.getTime() - FORGET_AFTER_MS).toISOString().slice(0, 16);
    // Housekeeping only: a failure leaves rows that the next hour's sweep removes.
    this.reservations.forgetMessageSerialsBefore(before).catch(() => undefined);
  }

  /** Nothing is held: the rest of a reserved block is simply never used. */
  release(): void {}
}
