/**
 * Vouchers kept per purpose until shortly before they expire, as the reference (§5.6) asks:
 *
 *  - one token request at a time per purpose: concurrent callers share the request in flight;
 *  - a cached voucher is used until `expiryMarginSeconds` before its exp; once `renewAtFraction` of its
 *    lifetime has passed (GovWay: 90 %) a new one is asked for in the background (a timer, and any
 *    caller in that window), so callers under load never wait for PDND;
 *  - AUDIT_REST_02: a voucher bound to an audit token's digest is cached per (purpose, digest), never
 *    shared with another digest, not renewed in the background (its audit token expires with it), and
 *    at most `maxDigestVouchers` of them are kept.
 */
import { type Clock, systemClock } from '../core/clock.js';
import type { IssuedVoucher, VoucherDigest, VoucherSource } from './voucher-client.js';

export interface VoucherCacheOptions {
  readonly source: VoucherSource;
  /** A voucher is not handed out in its last seconds (default 30 s; capped at half its lifetime). */
  readonly expiryMarginSeconds?: number;
  /** Renew in the background once this fraction of the lifetime has passed (default 0.9). */
  readonly renewAtFraction?: number;
  readonly maxDigestVouchers?: number;
  /** Told when a background renewal fails (the next caller past the margin asks again). */
  readonly onRenewalError?: (err: unknown, purposeId: string | undefined) => void;
  readonly clock?: Clock;
}

interface Entry {
  readonly purposeId: string | undefined;
  readonly digest: VoucherDigest | undefined;
  voucher?: IssuedVoucher;
  inflight?: Promise<IssuedVoucher>;
  timer?: NodeJS.Timeout;
  /** After a failed background renewal, none again before this instant (PDND down: not one request per caller). */
  backoffUntil?: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const RENEWAL_BACKOFF_MS = 5000;

export class VoucherCache {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private closed = false;

  constructor(private readonly opts: VoucherCacheOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /**
   * A voucher for `purposeId` (bound to `digest` for AUDIT_REST_02), from the cache when still good;
   * purposeId undefined: the API interoperabilità voucher (tracing, key lookup).
   */
  async get(purposeId: string | undefined, digest?: VoucherDigest): Promise<IssuedVoucher> {
    const key = `${purposeId ?? ''}\u0000${digest?.value.toLowerCase() ?? ''}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { purposeId, digest };
      this.entries.set(key, entry);
      if (digest) this.pruneDigestEntries();
    }
    const now = this.clock.now().getTime();
    const v = entry.voucher;
    if (v && now < this.usableUntil(v)) {
      if (!digest && now >= this.renewAt(v) && !entry.inflight && now >= (entry.backoffUntil ?? 0)) this.renewInBackground(entry);
      return v;
    }
    return entry.inflight ?? this.fetch(entry);
  }

  /** Stops the renewal timers (the node's shutdown). */
  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
  }

  private usableUntil(v: IssuedVoucher): number {
    const lifetime = v.expiresAt.getTime() - v.issuedAt.getTime();
    const margin = Math.min((this.opts.expiryMarginSeconds ?? 30) * 1000, lifetime / 2);
    return v.expiresAt.getTime() - margin;
  }

  private renewAt(v: IssuedVoucher): number {
    const lifetime = v.expiresAt.getTime() - v.issuedAt.getTime();
    return Math.min(v.issuedAt.getTime() + lifetime * (this.opts.renewAtFraction ?? 0.9), this.usableUntil(v));
  }

  private fetch(entry: Entry): Promise<IssuedVoucher> {
    const inflight = this.opts.source
      .requestVoucher({
        ...(entry.purposeId !== undefined ? { purposeId: entry.purposeId } : {}),
        ...(entry.digest ? { digest: entry.digest } : {}),
      })
      .then((voucher) => {
        entry.voucher = voucher;
        if (!entry.digest) this.schedule(entry, voucher);
        return voucher;
      })
      .finally(() => {
        if (entry.inflight === inflight) delete entry.inflight;
      });
    entry.inflight = inflight;
    return inflight;
  }

  private renewInBackground(entry: Entry): void {
    this.fetch(entry).catch((err: unknown) => {
      entry.backoffUntil = this.clock.now().getTime() + RENEWAL_BACKOFF_MS;
      this.opts.onRenewalError?.(err, entry.purposeId);
    });
  }

  private schedule(entry: Entry, voucher: IssuedVoucher): void {
    clearTimeout(entry.timer);
    if (this.closed) return;
    const delay = Math.max(0, Math.min(this.renewAt(voucher) - this.clock.now().getTime(), MAX_TIMER_MS));
    entry.timer = setTimeout(() => {
      if (!entry.inflight) this.renewInBackground(entry);
    }, delay);
    // A pending renewal must not keep a stopping process alive.
    entry.timer.unref();
  }

  private pruneDigestEntries(): void {
    const max = this.opts.maxDigestVouchers ?? 1000;
    const now = this.clock.now().getTime();
    let digestEntries = 0;
    for (const [key, e] of this.entries) {
      if (!e.digest) continue;
      if (e.voucher && !e.inflight && now >= this.usableUntil(e.voucher)) this.entries.delete(key);
      else digestEntries++;
    }
    // Oldest first (Map keeps insertion order): those are the audit tokens least likely to be used again.
    for (const [key, e] of this.entries) {
      if (digestEntries <= max) break;
      if (e.digest && !e.inflight) {
        this.entries.delete(key);
        digestEntries--;
      }
    }
  }
}
