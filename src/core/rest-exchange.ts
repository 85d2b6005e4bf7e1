/**
 * One ModI REST exchange as the gateway hands it to the message log, once the response was returned
 * or the request refused. Types only: the log (src/log) writes it, the gateway fills it.
 */
export interface LoggedHttpMessage {
  /** Request: method and target as forwarded (path + query, e.g. "POST /rest/in/Anagrafe/v1/residenti?x=1"). Response: the status. */
  readonly method?: string;
  readonly target?: string;
  readonly status?: number;
  /** Headers as sent or received, in order, names lower-case, repeated names repeated. Bearer vouchers are already redacted by the caller. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
}

export interface RestExchange {
  /** The node's exchange id (a UUID it assigns). */
  readonly id: string;
  /** out: this node's party called a provider (fruizione); in: a consumer called this node's party (erogazione). */
  readonly direction: 'out' | 'in';
  /** Consumer party code (tipo/nome), or the PDND client id when the consumer is known only by voucher. */
  readonly from: string;
  /** Provider party code. */
  readonly to: string;
  readonly service: string;
  /** API version, e.g. "v1". */
  readonly version: string;
  /** ISO, request received. */
  readonly createdAt: string;
  /** out: DELIVERED/FAILED; in: DISPATCHED/FAILED. */
  readonly status: 'DELIVERED' | 'DISPATCHED' | 'FAILED';
  /** The request as forwarded (out) / as received (in). */
  readonly request: LoggedHttpMessage;
  /** The response as returned to the caller (absent when none). */
  readonly response?: LoggedHttpMessage;
  /** Plain JSON facts: patterns satisfied, token jtis, signer, purposeId, voucher jti, client id, HTTP status, error {code,message}. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Where the gateway records its exchanges: the message log. */
export interface RestExchangeRecorder {
  recordRestExchange(x: RestExchange): Promise<void>;
}
