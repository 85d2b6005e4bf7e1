/**
 * A point in time by which a piece of work must be over (a shutdown, typically), shared by the steps
 * that make it up: each step gets what is left, so one slow step cannot push the whole past the bound.
 */
export class Deadline {
  private constructor(private readonly at: number) {}

  static in(ms: number): Deadline {
    return new Deadline(Date.now() + ms);
  }

  /** Milliseconds left, never negative. */
  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  /** A deadline `ms` earlier: what the steps before a last one may use, keeping `ms` for it. */
  earlier(ms: number): Deadline {
    return new Deadline(this.at - ms);
  }

  /** What is left, but at most `ms`: a step with its own cap. */
  capped(ms: number): number {
    return Math.min(ms, this.remainingMs());
  }
}

/** Whether `p` settled (fulfilled or rejected) within `ms`; the work itself is not cancelled. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
