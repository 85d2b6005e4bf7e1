/**
 * The time SIATEL's limits are counted in, on both sides (the Comune's adapter and the simulator).
 *
 * Normally the real clock. The demo may run it `clockFactor` times faster (60: an hour a minute) so that
 * a bulk of 1,000 codes — two Italian days at 500 codes a day — completes in minutes: the limits logic
 * is the same, only the time it reads moves faster. The fast clock runs from a fixed anchor, so two
 * processes configured with the same factor and anchor read the same fast time and the simulator's
 * counters see what the client's quota saw. The anchor is the `clockAnchor` option when given (one
 * instant for every process of a run, wherever and whenever each starts); without it, the start of the
 * real current UTC day — a restart on the same day goes on from the same fast time, one after 00:00 UTC
 * starts a new fast timeline (fine for a demo, which is why the factor is a demo option only).
 *
 * The adapter's sleeps can be cut short by its stop: a query waiting hours for the next day must not
 * keep the process alive, nor run after the adapter closed its stores.
 */
import { TramiteError } from '../../src/core/errors.js';
import type { QuotaTime } from './siatel-quota.js';

const DAY_MS = 86_400_000;

/**
 * The clock `factor` times faster than `realNow` (factor 1: `realNow` itself), from `anchor` (the
 * instant where fast and real time meet; default: the start of the real current UTC day).
 */
export function fastClock(factor: number, realNow: () => Date, anchorAt?: Date): () => Date {
  if (!(factor >= 1) || !Number.isFinite(factor)) throw new RangeError(`clockFactor must be a finite number ≥ 1, not ${factor}`);
  if (anchorAt !== undefined && !Number.isFinite(anchorAt.getTime())) throw new RangeError('clockAnchor must be a valid instant');
  if (factor === 1) return realNow;
  const anchor = anchorAt?.getTime() ?? Math.floor(realNow().getTime() / DAY_MS) * DAY_MS;
  return () => new Date(anchor + (realNow().getTime() - anchor) * factor);
}

/** The `clockAnchor` option, on the adapter and the simulator alike. */
export function clockAnchorSchema(advice: string) {
  return {
    type: 'string',
    format: 'date-time',
    examples: ['2026-12-07T00:00:00Z'],
    description: `Demo and tests, only with clockFactor: the instant (ISO 8601 with a time zone, e.g. 2026-12-07T00:00:00Z) where the fast clock starts, the same for every process of a run — without it each process anchors at the start of the UTC day it started on, so processes started on either side of 00:00 UTC count on different timelines. ${advice}`,
  } as const;
}

/** Thrown by a sleep cut short by the adapter's stop. */
export function stoppingError(): TramiteError {
  return new TramiteError('TRAMITE_ERR_ADAPTER_UNAVAILABLE', 'the SIATEL adapter is stopping');
}

/** Quota time on a (possibly fast) clock: a sleep of `ms` clock milliseconds lasts ms / factor real ones. */
export function stoppableQuotaTime(now: () => Date, factor: number, signal: AbortSignal): QuotaTime {
  return {
    now,
    factor,
    sleep: (ms) =>
      new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(stoppingError());
        const onAbort = () => {
          clearTimeout(timer);
          reject(stoppingError());
        };
        const timer = setTimeout(
          () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          Math.max(0, ms / factor),
        );
        signal.addEventListener('abort', onAbort, { once: true });
      }),
  };
}

/** A given quota time (tests: a virtual one) whose sleeps also end, rejected, when the adapter stops. */
export function stoppable(inner: QuotaTime, signal: AbortSignal): QuotaTime {
  return {
    now: () => inner.now(),
    ...(inner.factor !== undefined ? { factor: inner.factor } : {}),
    sleep: (ms) =>
      new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(stoppingError());
        const onAbort = () => reject(stoppingError());
        signal.addEventListener('abort', onAbort, { once: true });
        inner.sleep(ms).then(
          () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          (err: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(err);
          },
        );
      }),
  };
}
