import { Agent, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { HostedPartyConfig, PdndClientKey, PdndSettings } from '../../config/config-types.js';
import type { Clock } from '../../core/clock.js';
import { TLS_POLICY } from '../../core/tls-policy.js';
import { PdndVoucherClient } from '../../pdnd/voucher-client.js';
import { VoucherCache } from '../../pdnd/voucher-cache.js';
import { JwksCache } from '../../pdnd/jwks-cache.js';
import { PdndClientKeys } from '../../pdnd/client-key-lookup.js';
import { TracingLedger } from '../../pdnd/tracing-ledger.js';
import type { AdapterStoreOpener } from '../../../adapters/sdk/store/adapter-store.js';
import { TracingUploader } from '../../pdnd/tracing-uploader.js';
import { TracingSchedule } from '../../pdnd/tracing-schedule.js';
import { tracingDay, type TracingSummary } from '../../pdnd/tracing-ledger.js';
import { ApiError } from '../../core/errors.js';

/**
 * Everything the gateway asks of PDND, made once per node: per hosted party a voucher cache for its
 * e-service client (fruizione) and one for its API-interoperabilità client (tracing, key lookups); one
 * JWKS cache for the environment (erogazione); the tracing ledger beside the message log (in its
 * database when that is PostgreSQL). One undici
 * dispatcher for PDND (its own CA when pdnd.caFile is given, the system's store otherwise).
 */
export class PdndAccess {
  readonly dispatcher: Dispatcher;
  readonly jwks: JwksCache;
  readonly ledger: TracingLedger;
  readonly uploader: TracingUploader | undefined;
  /** Each day's tracing file uploaded after pdnd.uploadHourUtc, missed days caught up (only with pdnd.tracingUrl). */
  readonly schedule: TracingSchedule | undefined;
  private readonly clients = new Map<string, VoucherCache>();
  private readonly apiClients = new Map<string, VoucherCache>();
  private readonly clientKeys = new Map<string, PdndClientKeys>();

  constructor(
    readonly settings: PdndSettings,
    private readonly parties: readonly HostedPartyConfig[],
    /** Where the tracing ledger is kept (nodeStoreOpener: the data dir, or the log's PostgreSQL). */
    openStore: AdapterStoreOpener,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.dispatcher = new Agent({
      keepAliveTimeout: 4000,
      connect: { ...TLS_POLICY, ...(settings.caPem ? { ca: [...settings.caPem] } : {}) },
    });
    this.jwks = new JwksCache({ url: settings.jwksUrl, dispatcher: this.dispatcher, clock });
    this.ledger = new TracingLedger(openStore);
    this.uploader = settings.tracingUrl
      ? new TracingUploader({
          ledger: this.ledger,
          tracingUrl: settings.tracingUrl,
          voucher: (tenant) => this.tracingVoucher(tenant),
          dispatcher: this.dispatcher,
          clock,
        })
      : undefined;
    this.schedule = this.uploader
      ? new TracingSchedule({ ledger: this.ledger, uploader: this.uploader, clock, uploadHourUtc: settings.uploadHourUtc, log })
      : undefined;
  }

  /** Starts the tracing schedule (its first pass catches up days missed while the node was down). */
  start(): void {
    this.schedule?.start();
  }

  /** The tracing uploads' state, for GET /health's details. */
  tracingHealth(): Promise<TracingSummary> {
    return this.schedule?.health() ?? this.ledger.summary(tracingDay(this.clock.now()));
  }

  /** A voucher of `party`'s e-service client for `purposeId` (bound to `digest` for AUDIT_REST_02). */
  async voucher(party: string, purposeId: string, digest?: { alg: 'SHA256'; value: string }) {
    return this.cacheFor(party, 'client').get(purposeId, digest);
  }

  /** PDND keys by kid (INTEGRITY_REST_02, AUDIT_REST_02), looked up with `party`'s API-interoperabilità client. */
  keysFor(party: string): PdndClientKeys {
    let keys = this.clientKeys.get(party);
    if (!keys) {
      if (!this.settings.apiUrl)
        throw new ApiError('TRAMITE_ERR_CONFIG_INVALID', 500, 'pdnd.apiUrl is not configured: PDND keys cannot be looked up');
      const cache = this.cacheFor(party, 'api');
      keys = new PdndClientKeys({
        apiUrl: this.settings.apiUrl,
        voucher: async () => (await cache.get(undefined)).token,
        dispatcher: this.dispatcher,
      });
      this.clientKeys.set(party, keys);
    }
    return keys;
  }

  /** The tenant a hosted party traces its PDND traffic under. */
  tenantOf(party: string): string | undefined {
    return this.partyPdnd(party)?.tenantId;
  }

  private async tracingVoucher(tenant: string): Promise<string> {
    const party = this.parties.find((p) => p.pdnd?.tenantId === tenant && p.pdnd.api);
    if (!party)
      throw new ApiError(
        'TRAMITE_ERR_PDND_TOKEN_REQUEST',
        500,
        `no party of tenant ${tenant} has an API-interoperabilità client (pdnd.api)`,
      );
    return (await this.cacheFor(party.code, 'api').get(undefined)).token;
  }

  private partyPdnd(code: string) {
    return this.parties.find((p) => p.code === code)?.pdnd;
  }

  private cacheFor(party: string, which: 'client' | 'api'): VoucherCache {
    const map = which === 'client' ? this.clients : this.apiClients;
    let cache = map.get(party);
    if (!cache) {
      const pdnd = this.partyPdnd(party);
      const key: PdndClientKey | undefined = which === 'client' ? pdnd?.client : pdnd?.api;
      if (!key)
        throw new ApiError(
          'TRAMITE_ERR_PDND_TOKEN_REQUEST',
          502,
          `${party} has no PDND ${which === 'client' ? 'e-service client (parties[].pdnd)' : 'API-interoperabilità client (parties[].pdnd.api)'}`,
        );
      const source = new PdndVoucherClient({
        tokenEndpoint: this.settings.tokenEndpoint,
        assertionAudience: this.settings.assertionAudience,
        clientId: key.clientId,
        key: { privateKey: key.privateKey, alg: 'RS256', kid: key.kid },
        dispatcher: this.dispatcher,
        clock: this.clock,
      });
      cache = new VoucherCache({
        source,
        clock: this.clock,
        onRenewalError: (err, purposeId) =>
          this.log.warn(
            { party, purposeId, code: 'TRAMITE_ERR_PDND_TOKEN_REQUEST', err: (err as Error).message },
            'PDND voucher renewal failed',
          ),
      });
      map.set(party, cache);
    }
    return cache;
  }

  async close(): Promise<void> {
    await this.schedule?.stop();
    for (const c of [...this.clients.values(), ...this.apiClients.values()]) c.close();
    await this.ledger.close();
    await this.dispatcher.close();
  }
}
