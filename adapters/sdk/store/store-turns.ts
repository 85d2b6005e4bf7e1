/**
 * One thing at a time, in arrival order: a store's connection runs one transaction at a time, and a
 * statement outside it must not slip into it (on SQLite it would join it; on a shared PostgreSQL
 * session it would see its uncommitted rows).
 */
export class StoreTurns {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(work);
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
