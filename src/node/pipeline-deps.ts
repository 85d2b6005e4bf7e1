import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { XmlLimits } from '../../envelopes/xml/hardened-xml.js';
import type { MessageIds } from './registry/message-ids.js';
import type { MessageStore } from '../core/message-record.js';
import type { RegistrySource } from './registry/registry.js';
import type { EnvelopeVerifier } from './reception/verification-pool.js';
import type { RevocationChecker } from '../crypto/revocation/revocation-checker.js';

/** What every leg of the message's path shares: lookups, storage, ids, time, logging, and the verification policy. */
export interface PipelineDeps {
  /** Each piece of work (one message's reception, submission, delivery attempt, hand-over) takes `current()` once, at its start. */
  readonly registry: RegistrySource;
  readonly store: MessageStore;
  readonly ids: MessageIds;
  readonly clock: Clock;
  readonly log: Logger;
  readonly limits: XmlLimits;
  readonly timestampMaxAgeSeconds: number;
  readonly clockSkewSeconds: number;
  /** Where envelopes are parsed and verified: worker threads, off the event loop. */
  readonly verifier: EnvelopeVerifier;
  /**
   * Revocation of the signer chains the workers hand back (CRL, OCSP), judged here on the main thread,
   * where its caches serve every envelope; absent when every trust anchor's policy is off.
   */
  readonly revocation?: RevocationChecker;
}
