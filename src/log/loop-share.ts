import { setImmediate as nextTurn } from 'node:timers/promises';

/** Most work between two turns of the event loop: short enough that health probes and peers' envelopes keep flowing. */
const SLICE_MS = 10;
/** Most records between two turns, whatever their cost: a fast walk still lets the loop in regularly. */
const SLICE_RECORDS = 256;

/**
 * Lets a long walk over the log share the event loop. With SQLite a walk does no real I/O, so its
 * `await`s settle as microtasks and the node would answer nothing (not /health, not a peer) until it
 * ends; calling `turn()` after each record gives the loop a turn every few milliseconds of work.
 */
export class LoopShare {
  private since = performance.now();
  private records = 0;

  async turn(): Promise<void> {
    this.records += 1;
    if (this.records < SLICE_RECORDS && performance.now() - this.since < SLICE_MS) return;
    await nextTurn();
    this.records = 0;
    this.since = performance.now();
  }
}
