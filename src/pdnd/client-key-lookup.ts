/**
 * Consumers' PDND keys by kid, for the provider's INTEGRITY_REST_02 / AUDIT_REST_02 check (the wire
 * package's `keyByKid`): `GET {apiUrl}/keys/{kid}` on the PDND interoperability API, authorised by the
 * provider's own API interoperabilità voucher, answered with a JWK. Found keys are kept (bounded LRU,
 * `maxAgeSeconds`); a kid PDND does not know is remembered as unknown for `negativeSeconds`, so a flood
 * of made-up kids is not a flood of PDND calls.
 */
import { type KeyObject, createPublicKey } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { type Dispatcher, request } from 'undici';
import { TramiteError } from '../core/errors.js';
import { readBoundedBody } from '../core/bounded-body.js';

export interface ClientKeyLookupOptions {
  /** PDND interoperability API base, e.g. https://api.uat.interop.pagopa.it/v1 (the simulator's URL). */
  readonly apiUrl: string;
  /** The provider's API interoperabilità voucher (a VoucherCache of that client, without purpose). */
  readonly voucher: () => Promise<string>;
  readonly maxKeys?: number;
  readonly maxAgeSeconds?: number;
  readonly negativeSeconds?: number;
  readonly timeoutMs?: number;
  readonly dispatcher?: Dispatcher;
}

export class PdndClientKeys {
  private readonly cache: LRUCache<string, { key: KeyObject | null }>;
  private readonly inflight = new Map<string, Promise<KeyObject | undefined>>();
  /** Per client, the kids it uploaded. */
  private readonly owned: LRUCache<string, ReadonlySet<string>>;

  constructor(private readonly opts: ClientKeyLookupOptions) {
    this.cache = new LRUCache({ max: opts.maxKeys ?? 10_000, ttl: (opts.maxAgeSeconds ?? 3600) * 1000 });
    this.owned = new LRUCache({ max: 1000, ttl: (opts.maxAgeSeconds ?? 3600) * 1000 });
  }

  /**
   * Whether `kid` is a key of `clientId` (PDND's `GET /clients/{clientId}/keys`): a kid-signed token speaks
   * for a client only with that client's own key. Kept like keys; an unknown client owns no key.
   */
  async isKeyOf(clientId: string, kid: string): Promise<boolean> {
    const hit = this.owned.get(clientId);
    const kids = hit ?? (await this.fetchKidsOf(clientId));
    return kids.has(kid);
  }

  private async fetchKidsOf(clientId: string): Promise<ReadonlySet<string>> {
    const url = `${this.opts.apiUrl.replace(/\/$/, '')}/clients/${encodeURIComponent(clientId)}/keys`;
    const { status, body } = await this.ask(url, 256 * 1024, `PDND client keys ${url}`);
    let kids: ReadonlySet<string>;
    if (status === 404) kids = new Set();
    else if (status !== 200) throw new TramiteError('TRAMITE_ERR_PDND_JWKS', `PDND client keys ${url}: HTTP ${status}`);
    else {
      let parsed: { keys?: unknown };
      try {
        parsed = JSON.parse(body.toString('utf8')) as { keys?: unknown };
      } catch (cause) {
        throw new TramiteError('TRAMITE_ERR_PDND_JWKS', `PDND client keys ${url}: the answer is not JSON`, { cause });
      }
      if (!Array.isArray(parsed.keys)) throw new TramiteError('TRAMITE_ERR_PDND_JWKS', `PDND client keys ${url}: no keys array`);
      kids = new Set(
        parsed.keys.flatMap((k: unknown) => (k && typeof (k as { kid?: unknown }).kid === 'string' ? [(k as { kid: string }).kid] : [])),
      );
    }
    this.owned.set(clientId, kids, status === 404 ? { ttl: (this.opts.negativeSeconds ?? 60) * 1000 } : {});
    return kids;
  }

  /** One GET on PDND's API with the API-interoperabilità voucher, its answer read within `maxBytes`; unreachable is TRAMITE_ERR_PDND_JWKS. */
  private async ask(url: string, maxBytes: number, source: string): Promise<{ status: number; body: Buffer }> {
    try {
      const res = await request(url, {
        headers: { authorization: `Bearer ${await this.opts.voucher()}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
        ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
      });
      return {
        status: res.statusCode,
        body: await readBoundedBody(res.body, { maxBytes, source, declaredLength: res.headers['content-length'] }),
      };
    } catch (cause) {
      throw new TramiteError('TRAMITE_ERR_PDND_JWKS', `${source}: ${(cause as Error).message}`, { cause });
    }
  }

  /** The key under `kid`, or undefined when PDND knows none; throws TRAMITE_ERR_PDND_JWKS when PDND cannot be asked. */
  async keyByKid(kid: string): Promise<KeyObject | undefined> {
    const hit = this.cache.get(kid);
    if (hit) return hit.key ?? undefined;
    let pending = this.inflight.get(kid);
    if (!pending) {
      pending = this.fetch(kid).finally(() => this.inflight.delete(kid));
      this.inflight.set(kid, pending);
    }
    return pending;
  }

  private async fetch(kid: string): Promise<KeyObject | undefined> {
    const url = `${this.opts.apiUrl.replace(/\/$/, '')}/keys/${encodeURIComponent(kid)}`;
    const { status, body } = await this.ask(url, 64 * 1024, `PDND key lookup ${url}`);
    if (status === 404) {
      this.cache.set(kid, { key: null }, { ttl: (this.opts.negativeSeconds ?? 60) * 1000 });
      return undefined;
    }
    if (status !== 200) throw new TramiteError('TRAMITE_ERR_PDND_JWKS', `PDND key lookup ${url}: HTTP ${status}`);
    let key: KeyObject;
    try {
      const jwk = JSON.parse(body.toString('utf8')) as { kty?: unknown; n?: unknown; e?: unknown; kid?: unknown };
      if (jwk.kty !== 'RSA' || jwk.kid !== kid) throw new TramiteError('TRAMITE_ERR_PDND_JWKS', 'not the RSA JWK of that kid');
      key = createPublicKey({ key: { kty: 'RSA', n: jwk.n as string, e: jwk.e as string }, format: 'jwk' });
    } catch (cause) {
      throw new TramiteError('TRAMITE_ERR_PDND_JWKS', `PDND key lookup ${url}: the answer is not the key's JWK`, { cause });
    }
    this.cache.set(kid, { key });
    return key;
  }
}
