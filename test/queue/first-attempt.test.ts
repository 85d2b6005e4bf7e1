/**
 * The first attempt made at once, with its queue (real BullMQ on a real Redis) as its
 * safety net: delivered once by whichever runs, never by the first attempt and the queue's job at the
 * same time, retried by the queue at the retry delay, and delivered by the job when the process that
 * made the first attempt is gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../src/core/deadline.js';
import { FirstAttempt } from '../../src/queue/first-attempt.js';
import { openRedis, type NodeRedis } from '../../src/queue/redis-connection.js';
import { jobIdOf, WorkQueue, type AttemptOutcome, type WorkItem } from '../../src/queue/work-queue.js';

const dir = mkdtempSync(join(tmpdir(), 'tramite-immediate-'));
let redis: NodeRedis;
beforeAll(async () => {
  redis = await openRedis({ dataDir: dir });
}, 60_000);
afterAll(async () => {
  await redis.close(Deadline.in(10_000));
  rmSync(dir, { recursive: true, force: true });
});

const log = pino({ level: 'silent' });
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

interface Call {
  readonly via: 'first' | 'queue';
  readonly start: number;
  /** The attempt's number, as the queue or the first attempt gave it. */
  readonly n: number;
  end?: number;
}

/** What the attempts did, per key; and whether two ever ran at once for one key. */
class Attempts {
  readonly calls: Call[] = [];
  overlapped = false;
  private readonly active = new Set<string>();
  constructor(private readonly behaviour: (via: Call['via'], n: number) => Promise<AttemptOutcome>) {}
  async run(item: WorkItem, via: Call['via'], n = 0): Promise<AttemptOutcome> {
    if (this.active.has(item.key)) this.overlapped = true;
    this.active.add(item.key);
    const call: Call = { via, start: Date.now(), n };
    this.calls.push(call);
    try {
      return await this.behaviour(via, this.calls.length);
    } finally {
      call.end = Date.now();
      this.active.delete(item.key);
    }
  }
}

let prefixes = 0;
/** One "process": its deliver queue (worker included) and its first attempts, on a prefix of its own unless given. */
function processWith(
  attempts: Attempts,
  timing: { firstAttemptTimeoutMs: number; safetyNetDelayMs: number },
  prefix?: string,
  exhausted: (item: WorkItem, attempts: number) => void = () => undefined,
) {
  const p = prefix ?? `test-immediate-${process.pid}-${++prefixes}`;
  let immediate!: FirstAttempt<WorkItem>;
  const queue = new WorkQueue<WorkItem>({
    name: 'deliver',
    connection: redis.connection,
    prefix: p,
    concurrency: 4,
    attempt: async (item, n) => {
      await immediate.settled(item.key);
      return attempts.run(item, 'queue', n);
    },
    exhausted: async (item, n) => exhausted(item, n),
  });
  immediate = new FirstAttempt<WorkItem>({ log, queue, attempt: (item, n) => attempts.run(item, 'first', n), timing });
  const close = async () => {
    await immediate.stop(Deadline.in(5000));
    await queue.close(Deadline.in(5000));
  };
  closers.push(close);
  return { prefix: p, immediate, queue, close };
}

async function jobOf(prefix: string, key: string) {
  const q = new Queue('deliver', { connection: redis.connection, prefix });
  try {
    return await q.getJob(jobIdOf(key));
  } finally {
    await q.close();
  }
}

const item = (key: string, initialDelayMs = 50): WorkItem => ({
  key,
  messageId: key,
  retry: { initialDelayMs, factor: 2, maxDelayMs: 1000, maxAttempts: 5 },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('FirstAttempt', () => {
  it('a first attempt that delivers: one attempt in all, and no job left behind on the queue', async () => {
    const attempts = new Attempts(async () => ({ kind: 'done' }));
    const p = processWith(attempts, { firstAttemptTimeoutMs: 200, safetyNetDelayMs: 600 });
    await p.immediate.start(item('M-1'));
    await expect.poll(() => attempts.calls.length).toBe(1);
    await expect.poll(() => jobOf(p.prefix, 'M-1')).toBeUndefined();
    await sleep(1200); // past the safety net's time: nothing more runs
    expect(attempts.calls.map((c) => c.via)).toEqual(['first']);
  });

  it('a first attempt that fails is retried by the queue at the retry delay, not the safety net delay', async () => {
    const attempts = new Attempts(async (via) => (via === 'first' ? { kind: 'retry', error: new Error('peer away') } : { kind: 'done' }));
    const p = processWith(attempts, { firstAttemptTimeoutMs: 200, safetyNetDelayMs: 60_000 });
    await p.immediate.start(item('M-2'));
    await expect.poll(() => attempts.calls.map((c) => c.via), { timeout: 10_000 }).toEqual(['first', 'queue']);
    await expect.poll(() => jobOf(p.prefix, 'M-2')).toBeUndefined();
  });

  it("the queue's job never runs beside this process's first attempt: it waits for it, then runs", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const attempts = new Attempts(async (via) => {
      if (via === 'first') {
        await held;
        return { kind: 'retry', error: new Error('slow peer') };
      }
      return { kind: 'done' };
    });
    const p = processWith(attempts, { firstAttemptTimeoutMs: 5000, safetyNetDelayMs: 200 });
    await p.immediate.start(item('M-3', 60_000));
    await sleep(1000); // the safety net's job is due and taken meanwhile
    expect(attempts.calls.map((c) => c.via)).toEqual(['first']);
    release();
    await expect.poll(() => attempts.calls.map((c) => c.via), { timeout: 10_000 }).toEqual(['first', 'queue']);
    expect(attempts.overlapped).toBe(false);
    expect(attempts.calls[1]!.start).toBeGreaterThanOrEqual(attempts.calls[0]!.end!);
  });

  it('the process gone during its first attempt: the job delivers the message once the safety net is due', async () => {
    const never = new Attempts(() => new Promise<AttemptOutcome>(() => undefined));
    const timing = { firstAttemptTimeoutMs: 200, safetyNetDelayMs: 800 };
    const crashed = processWith(never, timing);
    await crashed.immediate.start(item('M-4'));
    await expect.poll(() => never.calls.length).toBe(1);
    // The process is gone: its queue stops taking jobs, its first attempt never ends.
    await crashed.queue.close(Deadline.in(1000));
    const restarted = new Attempts(async () => ({ kind: 'done' }));
    processWith(restarted, timing, crashed.prefix);
    await expect.poll(() => restarted.calls.map((c) => c.via), { timeout: 10_000 }).toEqual(['queue']);
    await expect.poll(() => jobOf(crashed.prefix, 'M-4')).toBeUndefined();
  });

  it('a queue that refuses the safety net does not hold the first attempt back', async () => {
    const attempts = new Attempts(async () => ({ kind: 'done' }));
    let immediate!: FirstAttempt<WorkItem>;
    const queue = new WorkQueue<WorkItem>({
      name: 'deliver',
      connection: redis.connection,
      prefix: `test-immediate-${process.pid}-down`,
      concurrency: 1,
      attempt: async (i) => {
        await immediate.settled(i.key);
        return attempts.run(i, 'queue');
      },
      exhausted: async () => undefined,
      available: () => false, // Redis known to be away: enqueue refuses at once
    });
    closers.push(async () => void (await queue.close(Deadline.in(2000))));
    immediate = new FirstAttempt<WorkItem>({ log, queue, attempt: (i) => attempts.run(i, 'first') });
    await immediate.start(item('M-5'));
    await expect.poll(() => attempts.calls.map((c) => c.via)).toEqual(['first']);
  });

  it('with a single allowed attempt, the queue makes it and nothing else runs: one attempt in all, even when it fails', async () => {
    const attempts = new Attempts(async () => ({ kind: 'retry', error: new Error('peer away') }));
    const p = processWith(attempts, { firstAttemptTimeoutMs: 200, safetyNetDelayMs: 600 });
    await p.immediate.start({ ...item('M-7'), retry: { initialDelayMs: 50, factor: 2, maxDelayMs: 100, maxAttempts: 1 } });
    await expect.poll(() => attempts.calls.length, { timeout: 10_000 }).toBe(1);
    await sleep(1500); // past the safety net's time and several retry delays
    expect(attempts.calls.map((c) => c.via)).toEqual(['queue']);
  });

  it('the attempts are numbered 1, 2, 3 across the first attempt and the queue, and exhaustion reports the 3 made', async () => {
    const attempts = new Attempts(async () => ({ kind: 'retry', error: new Error('peer away') }));
    let reported: number | undefined;
    const p = processWith(attempts, { firstAttemptTimeoutMs: 200, safetyNetDelayMs: 60_000 }, undefined, (_, n) => (reported = n));
    await p.immediate.start({ ...item('M-9'), retry: { initialDelayMs: 50, factor: 2, maxDelayMs: 100, maxAttempts: 3 } });
    await expect.poll(() => reported, { timeout: 10_000 }).toBe(3);
    expect(attempts.calls.map((c) => [c.via, c.n])).toEqual([
      ['first', 1],
      ['queue', 2],
      ['queue', 3],
    ]);
  });

  it("a job a reconciliation queued before the first attempt's own waits for that attempt instead of running beside it", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const attempts = new Attempts(async (via) => {
      if (via === 'first') await held;
      return { kind: 'done' };
    });
    const p = processWith(attempts, { firstAttemptTimeoutMs: 5000, safetyNetDelayMs: 60_000 });
    // The same key already queued, due now (what reconciliation does), then the message's first attempt.
    await Promise.all([p.queue.enqueue(item('M-8'), 0), p.immediate.start(item('M-8'))]);
    await sleep(800);
    expect(attempts.calls.map((c) => c.via)).toEqual(['first']);
    release();
    await expect.poll(() => jobOf(p.prefix, 'M-8'), { timeout: 10_000 }).toBeUndefined();
    expect(attempts.overlapped).toBe(false);
  });

  it('a stop that runs out of time counts what it hands back: the first attempt still running (its job queued) and the job cut short', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const attempts = new Attempts(async () => {
      await held;
      return { kind: 'done' };
    });
    const p = processWith(attempts, { firstAttemptTimeoutMs: 5000, safetyNetDelayMs: 60_000 });
    await p.immediate.start(item('M-9'));
    await p.queue.enqueue(item('M-10'), 0);
    await expect.poll(() => attempts.calls.map((c) => c.via).sort()).toEqual(['first', 'queue']);
    expect(await p.immediate.stop(Deadline.in(300))).toBe(1);
    expect(await jobOf(p.prefix, 'M-9')).toBeDefined();
    expect(await p.queue.close(Deadline.in(300))).toBe(1);
    // The attempts end after the cut: their outcome must not reach the cut connections (BullMQ spun on
    // them, holding the event loop: nothing below would run).
    release();
    await sleep(200);
    // Nothing cut short when the attempts end in time.
    const q = processWith(new Attempts(async () => ({ kind: 'done' })), { firstAttemptTimeoutMs: 5000, safetyNetDelayMs: 60_000 });
    await q.immediate.start(item('M-11'));
    expect(await q.immediate.stop(Deadline.in(5000))).toBe(0);
    expect(await q.queue.close(Deadline.in(5000))).toBe(0);
  });

  it('once stopping, it starts no first attempt (the job stays for the next start)', async () => {
    const attempts = new Attempts(async () => ({ kind: 'done' }));
    const p = processWith(attempts, { firstAttemptTimeoutMs: 200, safetyNetDelayMs: 60_000 });
    await p.immediate.stop(Deadline.in(1000));
    await p.immediate.start(item('M-6'));
    await sleep(300);
    expect(attempts.calls).toEqual([]);
    expect(await jobOf(p.prefix, 'M-6')).toBeDefined();
  });

  it("an attempt that finds the work held by another ('later') is made again after its delay, spending no attempt", async () => {
    // Two allowed attempts; the work is held elsewhere three times, then free: done, never reported exhausted.
    const attempts = new Attempts(async (_, n) => (n <= 3 ? { kind: 'later', delayMs: 100 } : { kind: 'done' }));
    let reported: number | undefined;
    const p = processWith(attempts, { firstAttemptTimeoutMs: 200, safetyNetDelayMs: 60_000 }, undefined, (_, n) => (reported = n));
    await p.queue.enqueue({ ...item('M-12'), retry: { initialDelayMs: 50, factor: 2, maxDelayMs: 100, maxAttempts: 2 } }, 0);
    await expect.poll(() => attempts.calls.length, { timeout: 10_000 }).toBe(4);
    await expect.poll(() => jobOf(p.prefix, 'M-12'), { timeout: 10_000 }).toBeUndefined();
    expect(reported).toBeUndefined();
    // Each one numbered as the first: none was spent.
    expect(attempts.calls.map((c) => c.n)).toEqual([1, 1, 1, 1]);
    // Not before the delay it asked for.
    for (let i = 1; i < 4; i++) expect(attempts.calls[i]!.start - attempts.calls[i - 1]!.end!).toBeGreaterThanOrEqual(90);
  });

  it("a first attempt that finds the work held by another ('later') leaves it to the queue's job, due after that delay", async () => {
    const attempts = new Attempts(async (via) => (via === 'first' ? { kind: 'later', delayMs: 300 } : { kind: 'done' }));
    const p = processWith(attempts, { firstAttemptTimeoutMs: 200, safetyNetDelayMs: 60_000 });
    await p.immediate.start(item('M-13'));
    await expect.poll(() => attempts.calls.map((c) => c.via), { timeout: 10_000 }).toEqual(['first', 'queue']);
    expect(attempts.calls[1]!.start - attempts.calls[0]!.end!).toBeGreaterThanOrEqual(250);
  });
});
