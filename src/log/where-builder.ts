/**
 * Builds a WHERE clause. `ph(i)` writes the i-th placeholder (`?` for SQLite, `$i` for PostgreSQL);
 * a value used twice is bound twice, so both styles work.
 */
export class WhereBuilder {
  readonly parts: string[] = [];
  readonly params: unknown[] = [];
  /** `bound`: how many parameters the statement has before this clause's (a clause of a UNION's second part, say). */
  constructor(
    private readonly ph: (i: number) => string,
    private readonly bound = 0,
  ) {}
  /** Adds `clause` with one placeholder per use of `value`. */
  add(value: unknown, uses: number, clause: (...p: string[]) => string): void {
    const ps = Array.from({ length: uses }, () => {
      this.params.push(value);
      return this.ph(this.bound + this.params.length);
    });
    this.parts.push(clause(...ps));
  }
  /** Adds `clause` with one placeholder per value, in order. */
  addEach(values: readonly unknown[], clause: (...p: string[]) => string): void {
    const ps = values.map((value) => {
      this.params.push(value);
      return this.ph(this.bound + this.params.length);
    });
    this.parts.push(clause(...ps));
  }
  result(): { sql: string; params: unknown[] } {
    return { sql: this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '', params: this.params };
  }
}
