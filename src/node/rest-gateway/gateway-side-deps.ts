import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { RestExchangeRecorder } from '../../core/rest-exchange.js';
import type { RevocationChecker } from '../../crypto/revocation/revocation-checker.js';
import type { JtiReplayFilter } from '../../../envelopes/modi-rest/rest-token-verify.js';
import type { RegistrySource } from '../registry/registry.js';
import type { PdndAccess } from './pdnd-access.js';
import type { RestApiDirectory } from './rest-api-directory.js';

/** What both sides of the gateway (fruizione, erogazione) work with. */
export interface GatewaySideDeps {
  readonly directory: RestApiDirectory;
  readonly registry: RegistrySource;
  readonly exchanges: RestExchangeRecorder;
  /** The jti filter, kept in the log store. */
  readonly replay: JtiReplayFilter;
  readonly clock: Clock;
  readonly log: Logger;
  /** node.clockSkewSeconds, for every token and voucher. */
  readonly skewSeconds: number;
  readonly revocation?: RevocationChecker | undefined;
  readonly pdnd?: PdndAccess | undefined;
}
