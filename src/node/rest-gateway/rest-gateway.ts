import { Agent } from 'undici';
import { nodeStoreOpener } from '../node-store-opener.js';
import type { Logger } from 'pino';
import type { NodeConfig } from '../../config/config-types.js';
import type { Clock } from '../../core/clock.js';
import type { RestExchangeRecorder } from '../../core/rest-exchange.js';
import { TLS_POLICY } from '../../core/tls-policy.js';
import type { RevocationChecker } from '../../crypto/revocation/revocation-checker.js';
import type { JtiReplayFilter } from '../../../envelopes/modi-rest/rest-token-verify.js';
import type { RegistrySource } from '../registry/registry.js';
import type { PeerClient } from '../peer-client/peer-client.js';
import { PdndAccess } from './pdnd-access.js';
import { RestApiDirectory } from './rest-api-directory.js';
import { RestConsumer } from './rest-consumer.js';
import { RestProvider } from './rest-provider.js';

export interface RestGatewayDeps {
  readonly config: NodeConfig;
  readonly registry: RegistrySource;
  readonly peers: PeerClient;
  readonly exchanges: RestExchangeRecorder;
  readonly replay: JtiReplayFilter;
  readonly clock: Clock;
  readonly log: Logger;
  readonly revocation?: RevocationChecker | undefined;
}

/**
 * The node as an API gateway for REST APIs (docs/rest-apis.md, "The node as a gateway"): fruizione
 * (`consumer`) for the hosted parties' back offices, erogazione (`provider`) for the APIs they provide,
 * and what both share — the directory of APIs, PDND access, the back offices' connections.
 */
export class RestGateway {
  readonly directory: RestApiDirectory;
  readonly consumer: RestConsumer;
  readonly provider: RestProvider;
  readonly pdnd: PdndAccess | undefined;
  private readonly upstream: Agent;

  constructor(deps: RestGatewayDeps) {
    const { config, registry } = deps;
    this.directory = new RestApiDirectory(config.restServices, (code) => registry.current().hostedParty(code) !== undefined);
    this.pdnd = config.pdnd ? new PdndAccess(config.pdnd, config.parties, nodeStoreOpener(config), deps.clock, deps.log) : undefined;
    // The back offices' APIs: kept-alive connections; https ones verified with the system's store.
    this.upstream = new Agent({ keepAliveTimeout: 4000, connections: 64, connect: { ...TLS_POLICY } });
    const shared = {
      directory: this.directory,
      registry,
      exchanges: deps.exchanges,
      replay: deps.replay,
      clock: deps.clock,
      log: deps.log,
      skewSeconds: config.node.clockSkewSeconds,
      revocation: deps.revocation,
      pdnd: this.pdnd,
    };
    this.consumer = new RestConsumer({ ...shared, peers: deps.peers, timeoutMs: config.node.http.requestTimeoutMs });
    this.provider = new RestProvider({ ...shared, upstream: this.upstream });
  }

  /** Largest body any API takes: the HTTP layer reads no more. */
  maxBodyBytes(): number {
    return Math.max(
      0,
      ...this.directory.providedHere().map((a) => a.api.maxBodyBytes),
      ...this.directory.consumedHere().map((a) => a.api.maxBodyBytes),
    );
  }

  async close(): Promise<void> {
    await this.upstream.close();
    await this.pdnd?.close();
  }
}
