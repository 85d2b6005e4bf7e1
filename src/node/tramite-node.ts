import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import type { NodeConfig } from '../config/config-types.js';
import { DEFAULT_XML_LIMITS, type XmlLimits } from '../crypto/hardened-xml.js';
import { InboundPipeline } from './inbound-pipeline.js';
import { InMemoryMessageStore } from './in-memory-message-store.js';
import { MessageIdAllocator } from './message-id-allocator.js';
import type { MessageStore } from './message-record.js';
import { OutboundPipeline } from './outbound-pipeline.js';
import { Registry } from './registry.js';

export interface NodeOptions {
  readonly clock?: Clock;
  /** Also write the node's log lines to stdout (the `tramite start` default). */
  readonly logToStdout?: boolean;
  /** Log level, default `info`. */
  readonly logLevel?: string;
}

/**
 * The composition root: one node = registry + store + id allocator + the two pipelines, sharing one
 * clock and one logger. HTTP is a thin shell over it (src/http), so tests can drive it either way.
 */
export class TramiteNode {
  readonly registry: Registry;
  readonly store: MessageStore;
  readonly outbound: OutboundPipeline;
  readonly inbound: InboundPipeline;
  readonly log: Logger;
  readonly logFile: string;
  readonly limits: XmlLimits;
  private readonly ids: MessageIdAllocator;
  private publicUrl: string;

  constructor(readonly config: NodeConfig, opts: NodeOptions = {}) {
    const clock = opts.clock ?? systemClock;
    mkdirSync(config.node.dataDir, { recursive: true });
    this.logFile = join(config.node.dataDir, 'tramite.log');
    const streams: pino.StreamEntry[] = [{ stream: pino.destination({ dest: this.logFile, sync: true, mkdir: true }) }];
    if (opts.logToStdout) streams.push({ stream: process.stdout });
    this.log = pino({ level: opts.logLevel ?? 'info', base: { node: config.node.name } }, pino.multistream(streams));
    this.registry = new Registry(config);
    this.store = new InMemoryMessageStore();
    this.ids = MessageIdAllocator.lease(config.node.dataDir, config.node.pdd, clock);
    this.limits = { ...DEFAULT_XML_LIMITS, maxBytes: config.node.limits.maxEnvelopeBytes, maxDepth: config.node.limits.maxDepth };
    this.publicUrl = config.node.publicUrl ?? '';
    const common = {
      registry: this.registry,
      store: this.store,
      ids: this.ids,
      clock,
      log: this.log,
      limits: this.limits,
      clockSkewSeconds: config.node.clockSkewSeconds,
      timestampMaxAgeSeconds: config.node.timestampMaxAgeSeconds,
    };
    this.inbound = new InboundPipeline({ ...common, backOfficeTimeoutMs: 10_000, porta: config.node.pdd });
    this.outbound = new OutboundPipeline({ ...common, selfUrl: () => this.envelopeUrl, httpTimeoutMs: 30_000 });
  }

  /** Where peers (and the node itself, for local parties) post envelopes. */
  get envelopeUrl(): string {
    return this.publicUrl;
  }

  /** Set once the HTTP server knows its address, unless the configuration fixed publicUrl. */
  bindAddress(baseUrl: string): void {
    if (!this.config.node.publicUrl) this.publicUrl = `${baseUrl}/tramite/envelope`;
  }

  async stop(): Promise<void> {
    await this.outbound.drain();
    this.ids.release();
    this.log.info('node stopped');
    this.log.flush();
  }
}
