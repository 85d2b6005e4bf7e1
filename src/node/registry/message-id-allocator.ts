import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TramiteError } from '../../core/errors.js';
import { formatMessageId } from '../../core/message-id.js';
import type { Clock } from '../../core/clock.js';
import type { MessageIds } from './message-ids.js';

/** Serials per minute a process may issue: the 7-digit serial is slot (2 digits) ‖ counter (5 digits). */
const PER_SLOT = 100_000;
const SLOTS = 100;
/** Serials reserved on disk at a time, so a slot reused within the same minute never repeats one. */
const BLOCK = 1_000;

/**
 * Issues e-Gov message ids that stay unique when several node processes share a data directory (with
 * the SQLite log; processes sharing a PostgreSQL log use SharedMessageIdAllocator instead).
 * Each process leases a slot (an exclusively created lock file naming its pid; a slot whose pid is
 * gone is taken over) and numbers its messages inside that slot, restarting every minute because
 * the minute is part of the id. 100 000 ids per minute per process; past that, `next()` waits for
 * the next minute rather than reuse a serial.
 *
 * A slot released (or left by a crash) and leased again within the same minute must not start over:
 * serials are reserved in blocks in `slot-NN.state` ("<minute> <reserved up to>") before they are
 * used, so the next holder continues past anything its predecessor may have issued.
 */
export class MessageIdAllocator implements MessageIds {
  private minuteKey = '';
  private counter = 0;
  private reserved = 0;
  private readonly stateFile: string;
  private constructor(
    readonly slot: number,
    private readonly lockFile: string,
    private readonly pdd: string,
    private readonly clock: Clock,
  ) {
    this.stateFile = lockFile.replace(/\.lock$/, '.state');
    const [minute, upTo] = readState(this.stateFile);
    this.minuteKey = minute;
    this.counter = this.reserved = upTo;
  }

  static lease(dataDir: string, pdd: string, clock: Clock): MessageIdAllocator {
    const dir = join(dataDir, 'id-slots');
    mkdirSync(dir, { recursive: true });
    for (let slot = 0; slot < SLOTS; slot++) {
      const file = join(dir, `slot-${String(slot).padStart(2, '0')}.lock`);
      if (tryCreate(file) || (isStale(file) && takeOver(file))) return new MessageIdAllocator(slot, file, pdd, clock);
    }
    throw new TramiteError('TRAMITE_ERR_ID_EXHAUSTED', `all ${SLOTS} id slots in ${dir} are held by live processes`);
  }

  /** The next id for a message sent by `soggetto` (the sending party's code name). */
  async next(soggetto: string): Promise<string> {
    for (;;) {
      const now = this.clock.now();
      const key = now.toISOString().slice(0, 16);
      if (key !== this.minuteKey) {
        this.minuteKey = key;
        this.counter = this.reserved = 0;
      }
      if (this.counter >= this.reserved && this.counter < PER_SLOT) {
        this.reserved = Math.min(this.counter + BLOCK, PER_SLOT);
        writeFileSync(this.stateFile, `${key} ${this.reserved}`);
      }
      if (this.counter < PER_SLOT) {
        const serial = this.slot * PER_SLOT + this.counter;
        this.counter += 1;
        return formatMessageId(soggetto, this.pdd, serial, now);
      }
      await new Promise((r) => setTimeout(r, 60_000 - (now.getTime() % 60_000) + 1));
    }
  }

  release(): void {
    rmSync(this.lockFile, { force: true });
  }
}

function readState(file: string): [string, number] {
  try {
    const [minute, upTo] = readFileSync(file, 'utf8').trim().split(' ');
    const n = Number(upTo);
    return minute && Number.isInteger(n) && n >= 0 && n <= PER_SLOT ? [minute, n] : ['', 0];
  } catch {
    return ['', 0];
  }
}

function tryCreate(file: string): boolean {
  try {
    const fd = openSync(file, 'wx', 0o644);
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch {
    return false;
  }
}

function isStale(file: string): boolean {
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Replaces a stale lock. The check-and-replace runs under a second, exclusively created guard file so
 * that two processes that both saw the lock stale cannot both end up holding the slot.
 */
function takeOver(file: string): boolean {
  const guard = `${file}.takeover`;
  if (!tryCreate(guard)) return false;
  try {
    if (!isStale(file)) return false;
    rmSync(file, { force: true });
    return tryCreate(file);
  } finally {
    rmSync(guard, { force: true });
  }
}
