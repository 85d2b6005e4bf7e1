import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { BackgroundWorker, type BackgroundWorkerOptions, type PassOutcome, type WorkerPass } from '../../../adapters/sdk/index.js';

const workers: BackgroundWorker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(0);
});

function recordingLog() {
  const errors: Array<{ obj: object; msg?: string }> = [];
  const quiet = () => undefined;
  return { errors, log: { debug: quiet, info: quiet, warn: quiet, error: (obj: object, msg?: string) => errors.push({ obj, msg }) } };
}

function worker(pass: BackgroundWorkerOptions['pass'], extra: Partial<BackgroundWorkerOptions> = {}) {
  const { log, errors } = recordingLog();
  const w = new BackgroundWorker({ name: 'test-loop', log, pass, ...extra });
  workers.push(w);
  return { w, errors };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await delay(5);
  }
}

describe('the background worker', () => {
  it('never overlaps passes: a wake during a pass gives one more pass after it, not a second one beside it', async () => {
    let active = 0;
    let most = 0;
    let passes = 0;
    let release!: () => void;
    const { w } = worker(async () => {
      active++;
      most = Math.max(most, active);
      passes++;
      if (passes === 1) await new Promise<void>((r) => (release = r));
      active--;
    });
    w.start();
    await until(() => passes === 1);
    w.wake();
    w.wake();
    w.wake();
    release();
    await until(() => passes === 2);
    await w.drain();
    await delay(30);
    expect(passes).toBe(2);
    expect(most).toBe(1);
  });

  it('runs again at once while a pass reports a backlog; drain waits for the backlog', async () => {
    let left = 5;
    const { w } = worker(async (): Promise<PassOutcome> => (--left > 0 ? 'more' : 'idle'));
    w.start();
    await w.drain();
    expect(left).toBe(0);
  });

  it('runs every intervalMs when nothing wakes it', async () => {
    let passes = 0;
    const { w } = worker(async () => void passes++, { intervalMs: 20 });
    w.start();
    await until(() => passes >= 4);
  });

  it('waits the delay a pass asks for before trying again', async () => {
    const at: number[] = [];
    const { w } = worker(async (): Promise<PassOutcome> => {
      at.push(Date.now());
      return at.length < 2 ? { retryInMs: 80 } : 'idle';
    });
    w.start();
    await until(() => at.length === 2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(75);
  });

  it('logs a pass that throws, with its name, and goes on', async () => {
    let passes = 0;
    const { w, errors } = worker(
      async () => {
        passes++;
        if (passes === 1) throw new Error('disk on fire');
      },
      { intervalMs: 10 },
    );
    w.start();
    await until(() => passes >= 2);
    expect(errors[0]).toEqual({ obj: { err: 'disk on fire' }, msg: 'test-loop: pass failed' });
  });

  it('stop lets the pass in flight finish within the grace, and runs no pass after', async () => {
    let passes = 0;
    let sawStopping = false;
    const { w } = worker(
      async (p: WorkerPass) => {
        passes++;
        await delay(30);
        sawStopping = p.stopping();
      },
      { intervalMs: 5 },
    );
    w.start();
    await until(() => passes === 1);
    expect(await w.stop(1000)).toBe(true);
    expect(sawStopping).toBe(true);
    const after = passes;
    w.wake();
    await delay(40);
    expect(passes).toBe(after);
    expect(await w.stop()).toBe(true); // twice: harmless
  });

  it('stop aborts a pass that outlives the grace, and waits for it to settle', async () => {
    let settled = false;
    const { w } = worker(async (p: WorkerPass) => {
      await new Promise<void>((resolve) => p.signal.addEventListener('abort', () => resolve()));
      await delay(10);
      settled = true;
    });
    w.start();
    await delay(20);
    expect(await w.stop(30)).toBe(false);
    expect(settled).toBe(true);
  });

  it('can start again after a stop', async () => {
    let passes = 0;
    const { w } = worker(async () => void passes++);
    w.start();
    await until(() => passes === 1);
    await w.stop();
    w.start();
    await until(() => passes === 2);
  });
});
