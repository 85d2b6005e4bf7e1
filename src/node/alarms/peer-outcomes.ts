/**
 * Each peer's recent delivery outcomes, as this process's delivery attempts report them (through the
 * measuring store): since when every attempt has failed with no success after it. In memory: a restart
 * starts the count again, and the alarm then needs `peerFailingMinutes` of failures again to be raised
 * (a raised one stays, and is cleared by the next success).
 */
export class PeerOutcomes {
  private readonly failingSince = new Map<string, { since: number; failures: number; lastCode: string }>();
  private readonly known = new Set<string>();

  constructor(private readonly now: () => number) {}

  succeeded(peer: string): void {
    this.known.add(peer);
    this.failingSince.delete(peer);
  }

  failed(peer: string, code: string): void {
    this.known.add(peer);
    const had = this.failingSince.get(peer);
    this.failingSince.set(peer, { since: had?.since ?? this.now(), failures: (had?.failures ?? 0) + 1, lastCode: code });
  }

  /** Peers failing since before `before` (ms), with when it started, how many failures, and the last error code. */
  failingBefore(before: number): Array<{ peer: string; since: number; failures: number; lastCode: string }> {
    return [...this.failingSince].filter(([, f]) => f.since <= before).map(([peer, f]) => ({ peer, ...f }));
  }
}
