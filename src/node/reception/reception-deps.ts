import type { DispatchWorker } from '../dispatch/dispatch-worker.js';
import type { PipelineDeps } from '../pipeline-deps.js';

/** What the inbound stages use: the shared lookups and storage, this node's porta, and the way on to the back office. */
export interface ReceptionDeps extends PipelineDeps {
  /** Identifies this node in fault details (IdentificativoPorta). */
  readonly porta: string;
  /** The dispatch leg: who takes a party's messages, the inline hand-over (sincrono), the queued one. */
  readonly dispatch: Pick<DispatchWorker, 'hasReceiver' | 'handOver' | 'schedule' | 'dispatchNow'>;
}

/** The HTTP answer to an envelope. */
export interface InboundReply {
  readonly status: number;
  readonly body: string;
  /** With 503: when the sender may try again (the HTTP Retry-After header). */
  readonly retryAfterSeconds?: number;
}
