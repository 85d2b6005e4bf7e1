/**
 * Timing helpers for the benchmarks: run an operation for a fixed wall-clock duration, single-threaded,
 * timing every call, then summarise throughput and latency. Measures only — never asserts.
 */

export interface MeasureOptions {
  /** Timed duration, seconds. */
  readonly seconds: number;
  /** Untimed warm-up before it (JIT, caches, lazy initialisation), seconds. */
  readonly warmupSeconds: number;
}

export interface Measurement {
  /** Completed operations in the timed window. */
  readonly ops: number;
  /** Length of the timed window, seconds (a little over the target: the last call runs to its end). */
  readonly elapsedSeconds: number;
  readonly opsPerSec: number;
  readonly meanUs: number;
  readonly p50us: number;
  readonly p99us: number;
}

/** Growable store of per-call latencies in nanoseconds (a typed array: millions of samples stay compact). */
class Samples {
  #data = new Float64Array(1 << 16);
  #length = 0;

  push(ns: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = ns;
  }

  get length(): number {
    return this.#length;
  }

  sorted(): Float64Array {
    return this.#data.slice(0, this.#length).sort();
  }
}

/** Nearest-rank percentile (p in 0..100) of ascending `sorted`. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Results are kept here so the engine cannot drop a call whose result is otherwise unused. */
let sink: unknown;
export function consumed(): unknown {
  return sink;
}

const now = (): bigint => process.hrtime.bigint();
const NS_PER_S = 1e9;

/**
 * Calls `op` repeatedly for `warmupSeconds` (discarded), then for `seconds`, timing each call with
 * the monotonic high-resolution clock. Throughput is completed calls over the timed window, so it
 * includes the (tens of nanoseconds) cost of reading the clock.
 */
export function measure(op: () => unknown, opts: MeasureOptions): Measurement {
  const warmupEnd = now() + BigInt(Math.round(opts.warmupSeconds * NS_PER_S));
  while (now() < warmupEnd) sink = op();

  const samples = new Samples();
  const start = now();
  const end = start + BigInt(Math.round(opts.seconds * NS_PER_S));
  let t = start;
  do {
    const t0 = t;
    sink = op();
    t = now();
    samples.push(Number(t - t0));
  } while (t < end);
  return summarise(samples, Number(t - start));
}

/** `measure` for an asynchronous operation: each call is awaited before the next starts. */
export async function measureAsync(op: () => Promise<unknown>, opts: MeasureOptions): Promise<Measurement> {
  const warmupEnd = now() + BigInt(Math.round(opts.warmupSeconds * NS_PER_S));
  while (now() < warmupEnd) sink = await op();
  const samples = new Samples();
  const start = now();
  const end = start + BigInt(Math.round(opts.seconds * NS_PER_S));
  let t = start;
  do {
    const t0 = t;
    sink = await op();
    t = now();
    samples.push(Number(t - t0));
  } while (t < end);
  return summarise(samples, Number(t - start));
}

function summarise(samples: Samples, elapsedNs: number): Measurement {
  const sorted = samples.sorted();
  let total = 0;
  for (const ns of sorted) total += ns;
  return {
    ops: samples.length,
    elapsedSeconds: elapsedNs / NS_PER_S,
    opsPerSec: samples.length / (elapsedNs / NS_PER_S),
    meanUs: total / samples.length / 1e3,
    p50us: percentile(sorted, 50) / 1e3,
    p99us: percentile(sorted, 99) / 1e3,
  };
}
