import { type EgovCode, type ErrorCode, type ProtocolloCode, type TramiteCode, describeCode } from './error-codes.js';

export type Rilevanza = 'INFO' | 'LIEVE' | 'GRAVE';

/** Base of every error the bus throws on purpose: a stable code, a message, an optional cause. */
export class TramiteError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? describeCode(code), options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A malformed or unacceptable envelope: carries the EGOV_IT code and the position (posizione) the
 * protocol puts in an Eccezione, so the reply can name exactly what was wrong.
 */
export class EnvelopeError extends TramiteError {
  declare readonly code: EgovCode;
  readonly posizione: string;
  readonly rilevanza: Rilevanza;
  readonly contestoCodifica: string;
  constructor(
    code: EgovCode,
    posizione: string,
    message?: string,
    options?: { cause?: unknown; rilevanza?: Rilevanza; contesto?: 'intestazione' | 'processamento' },
  ) {
    super(code, message ?? `${code} - ${describeCode(code)} (${posizione})`, options);
    this.posizione = posizione;
    this.rilevanza = options?.rilevanza ?? 'GRAVE';
    this.contestoCodifica =
      (options?.contesto ?? (code >= 'EGOV_IT_300' ? 'processamento' : 'intestazione')) === 'processamento'
        ? 'ErroreProcessamentoMessaggioSPCoop'
        : 'ErroreIntestazioneMessaggioSPCoop';
  }
}

/**
 * A signature, certificate or timestamp failure. `code` is the protocol code that travels on the wire
 * (EGOV_IT_202 for the signature itself, EGOV_IT_200 for certificate trust/validity); `reason` is the
 * bus's precise cause, for logs and for `tramite envelope verify`.
 */
export class SecurityError extends TramiteError {
  declare readonly code: EgovCode;
  readonly reason: TramiteCode;
  readonly posizione: string;
  /** Subject of the signer certificate, when the failure came after it was read. */
  readonly signer: string | undefined;
  constructor(reason: TramiteCode, message: string, options?: { cause?: unknown; posizione?: string; signer?: string }) {
    const wire: EgovCode =
      // The service's security policy (the signer's certificate, the ModI patterns it requires) is not met.
      reason === 'TRAMITE_ERR_CERT_UNTRUSTED' ||
      reason === 'TRAMITE_ERR_CERT_EXPIRED' ||
      reason === 'TRAMITE_ERR_CERT_USAGE' ||
      reason === 'TRAMITE_ERR_CERT_REVOKED' ||
      reason === 'TRAMITE_ERR_CERT_STATUS_UNKNOWN' ||
      reason === 'TRAMITE_ERR_REVOCATION_INVALID' ||
      reason === 'TRAMITE_ERR_MODI_PATTERN' ||
      reason.startsWith('TRAMITE_ERR_TLS_CLIENT_')
        ? 'EGOV_IT_200'
        : // The connected peer (its TLS client certificate) does not host the sender: the sender is not authorised.
          reason === 'TRAMITE_ERR_TLS_PEER_NOT_SENDER'
          ? 'EGOV_IT_201'
          : 'EGOV_IT_202';
    super(wire, message, options);
    this.reason = reason;
    this.posizione = options?.posizione ?? 'Header/Security';
    this.signer = options?.signer;
  }
}

/** Configuration and key material: refused at start with the field and the fix. */
export class ConfigError extends TramiteError {
  readonly field: string | undefined;
  constructor(code: TramiteCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(code, message, options);
    this.field = options?.field;
  }
}

/** Back-office API errors, each mapped to one HTTP status. */
export class ApiError extends TramiteError {
  readonly status: number;
  constructor(code: TramiteCode, status: number, message?: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

/**
 * Delivery to a peer failed. `retriable` says whether a later attempt may succeed (network, 5xx)
 * or whether the failure is final (the peer refused the envelope) — the "fail now" class.
 */
export class DeliveryError extends TramiteError {
  readonly retriable: boolean;
  readonly eccezioni: ReadonlyArray<{ codiceEccezione: string; posizione: string }>;
  constructor(
    code: ErrorCode,
    message: string,
    options: { retriable: boolean; cause?: unknown; eccezioni?: ReadonlyArray<{ codiceEccezione: string; posizione: string }> },
  ) {
    super(code, message, options);
    this.retriable = options.retriable;
    this.eccezioni = options.eccezioni ?? [];
  }
}

/**
 * A protocollo interoperabile anomaly (Segnatura invalid, signature, Impronta, unknown identifier): the
 * code is the one NotificaEccezione carries back to the sending AOO; `where` names the element or file.
 */
export class ProtocolloError extends TramiteError {
  declare readonly code: ProtocolloCode;
  readonly where: string | undefined;
  constructor(code: ProtocolloCode, message: string, options?: { cause?: unknown; where?: string }) {
    super(code, message, options);
    this.where = options?.where;
  }
}

/**
 * A child server process (Redis, Dovecot, PostgreSQL) that cannot be run: not installed, given
 * options it cannot use, or not ready in time. `output` is the tail of what it printed (and of its log
 * file), the first thing to read when it would not start.
 */
export class DaemonError extends TramiteError {
  readonly output: string;
  constructor(code: TramiteCode, message: string, options?: { cause?: unknown; output?: string }) {
    super(code, message, options);
    this.output = options?.output ?? '';
  }
}
