/**
 * PDND's JWKS (the voucher signing keys), fetched and kept: refreshed after `maxAgeSeconds`; a kid not
 * in it (PDND rotated its key) triggers ONE refetch, shared by concurrent verifiers and at most one per
 * `minRefetchIntervalSeconds`, so a flood of vouchers with made-up kids cannot make the node hammer PDND.
 * A failed scheduled refresh keeps the keys already known. Only RSA signing keys (RS256) are taken.
 */
import { type KeyObject, createPublicKey } from 'node:crypto';
import { type Dispatcher, request } from 'undici';
import { type Clock, systemClock } from '../core/clock.js';
import { TramiteError } from '../core/errors.js';
import { readBoundedBody } from '../core/bounded-body.js';

export interface JwksCacheOptions {
  /** e.g. https://uat.interop.pagopa.it/.well-known/jwks.json */
  readonly url: string;
  /** Refresh after this long even without an unknown kid (default 1 h). */
  readonly maxAgeSeconds?: number;
  /** At most one unknown-kid refetch per this interval (default 30 s). */
  readonly minRefetchIntervalSeconds?: number;
  readonly timeoutMs?: number;
  /** Largest JWKS read (default 256 KiB). */
  readonly maxBytes?: number;
  readonly dispatcher?: Dispatcher;
  readonly clock?: Clock;
}

/** What the voucher verifier needs: a key by kid. */
export interface VoucherKeySource {
  keyFor(kid: string): Promise<KeyObject | undefined>;
}

export class JwksCache implements VoucherKeySource {
  /** JWKS downloads made, for logs and tests. */
  fetches = 0;
  private keys = new Map<string, KeyObject>();
  private fetchedAt: number | undefined;
  private inflight: Promise<void> | undefined;
  private readonly clock: Clock;

  constructor(private readonly opts: JwksCacheOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  async keyFor(kid: string): Promise<KeyObject | undefined> {
    const now = this.clock.now().getTime();
    if (this.fetchedAt === undefined) await this.refresh(true);
    else if (now - this.fetchedAt >= (this.opts.maxAgeSeconds ?? 3600) * 1000) await this.refresh(false);
    const known = this.keys.get(kid);
    if (known) return known;
    // A refetch already under way (another verifier's unknown kid) may bring this one too: wait for it.
    if (this.inflight) {
      await this.refresh(false);
      return this.keys.get(kid);
    }
    if (this.clock.now().getTime() - this.fetchedAt! < (this.opts.minRefetchIntervalSeconds ?? 30) * 1000) return undefined;
    await this.refresh(true);
    return this.keys.get(kid);
  }

  /** One download at a time; `mustSucceed` false keeps the old keys when it fails. */
  private async refresh(mustSucceed: boolean): Promise<void> {
    this.inflight ??= this.download().finally(() => (this.inflight = undefined));
    try {
      await this.inflight;
    } catch (err) {
      if (mustSucceed || this.keys.size === 0) throw err;
    }
  }

  private async download(): Promise<void> {
    const url = this.opts.url;
    const timeoutMs = this.opts.timeoutMs ?? 5000;
    this.fetches++;
    // Counted as an attempt even when it fails: the rate limit holds against an unreachable PDND too.
    this.fetchedAt = this.clock.now().getTime();
    let doc: unknown;
    try {
      const res = await request(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
        ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
      });
      const body = await readBoundedBody(res.body, {
        maxBytes: this.opts.maxBytes ?? 256 * 1024,
        source: `PDND JWKS ${url}`,
        declaredLength: res.headers['content-length'],
      });
      if (res.statusCode !== 200) throw new TramiteError('TRAMITE_ERR_PDND_JWKS', `HTTP ${res.statusCode}`);
      doc = JSON.parse(body.toString('utf8'));
    } catch (cause) {
      throw new TramiteError('TRAMITE_ERR_PDND_JWKS', `PDND JWKS ${url} cannot be fetched: ${(cause as Error).message}`, { cause });
    }
    const list = (doc as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(list)) throw new TramiteError('TRAMITE_ERR_PDND_JWKS', `PDND JWKS ${url} is not a JWK set ({"keys":[…]})`);
    const keys = new Map<string, KeyObject>();
    for (const jwk of list as Record<string, unknown>[]) {
      if (!jwk || jwk.kty !== 'RSA' || typeof jwk.kid !== 'string') continue;
      if ((jwk.use !== undefined && jwk.use !== 'sig') || (jwk.alg !== undefined && jwk.alg !== 'RS256')) continue;
      try {
        keys.set(jwk.kid, createPublicKey({ key: { kty: 'RSA', n: jwk.n as string, e: jwk.e as string }, format: 'jwk' }));
      } catch {
        // A key we cannot read is one no voucher can be verified with; the others still are.
      }
    }
    this.keys = keys;
  }
}
