/**
 * A read shared by the scrapes within `ttlMs` of each other (Prometheus servers in a pair, a dashboard
 * refreshing): the grouped query over the message log runs at most once per period. A read in
 * progress is shared too; a failed read is not kept.
 */
export class CachedRead<T> {
  private last: { readonly at: number; readonly value: Promise<T> } | undefined;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get(): Promise<T> {
    const t = this.now();
    if (this.last && t - this.last.at < this.ttlMs) return this.last.value;
    const value = this.read();
    const entry = { at: t, value };
    this.last = entry;
    value.catch(() => {
      if (this.last === entry) this.last = undefined;
    });
    return value;
  }
}
