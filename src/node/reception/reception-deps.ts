import type { DispatchWorker } from '../dispatch/dispatch-worker.js';
import type { PipelineDeps } from '../pipeline-deps.js';

/** What the inbound stages use: the shared lookups and storage, this node's porta, and the way on to the back office. */
export interface ReceptionDeps extends PipelineDeps {
  /** Identifies this node in fault details (IdentificativoPorta). */
  readonly porta: string;
  /** The dispatch leg: who takes a party's messages, the inline hand-over (sincrono), the queued one. */
  readonly dispatch: Pick<DispatchWorker, 'hasReceiver' | 'handOver' | 'schedule' | 'dispatchNow'>;
  /**
   * With a log shared by several processes (PostgreSQL), a copy logged but not yet answered may be in
   * another process's hands, which this one cannot see: it is taken for interrupted (and its riscontro
   * signed for the retry) only once logged this long ago. Absent: this process alone receives (SQLite),
   * and what it is receiving right now says it all.
   */
  readonly othersMayBeReceivingForMs?: number;
}

/** The HTTP answer to an envelope. */
export interface InboundReply {
  readonly status: number;
  readonly body: string;
  /** With 503: when the sender may try again (the HTTP Retry-After header). */
  readonly retryAfterSeconds?: number;
}
