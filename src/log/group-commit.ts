/** One item's outcome in a committed group: its result, or why that item alone was refused. */
export type ItemOutcome<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

/**
 * Group commit: the appends that concurrent requests make while the log is busy (or within one turn of
 * the event loop) are committed together — one transaction, one fsync — and each caller's promise
 * settles only once that transaction is durable. `commitGroup` commits a group in order and says per
 * item whether it went in; when it throws, the whole group failed and every caller gets the error.
 * One group is committed at a time, so the order of the calls is the order in the log.
 */
export class GroupCommit<I, R> {
  private waiting: Array<{ item: I; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private draining: Promise<void> | undefined;

  constructor(
    private readonly commitGroup: (items: readonly I[]) => Promise<Array<ItemOutcome<R>>>,
    /** The most items in one transaction: a bound on how long one commit holds the log. */
    private readonly maxGroup = 256,
  ) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.draining ??= this.drain().finally(() => (this.draining = undefined));
    });
  }

  /** Settles once every item submitted so far is committed (or refused). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    for (;;) {
      // Let the rest of this turn of the event loop add its appends to the group.
      await new Promise<void>((r) => setImmediate(r));
      if (this.waiting.length === 0) return;
      const group = this.waiting.splice(0, this.maxGroup);
      let outcomes: Array<ItemOutcome<R>>;
      try {
        outcomes = await this.commitGroup(group.map((g) => g.item));
      } catch (err) {
        for (const g of group) g.reject(err);
        continue;
      }
      group.forEach((g, i) => {
        const o = outcomes[i]!;
        if (o.ok) g.resolve(o.value);
        else g.reject(o.error);
      });
    }
  }
}
