import type { ModiSoapPattern } from '../../core/service-profile.js';
import { certificateFromDer } from './certificate-cache.js';
import { KeyObject, X509Certificate } from 'node:crypto';
import { EnvelopeError, SecurityError, TramiteError, type Rilevanza } from '../../core/errors.js';
import type { EgovCode, ErrorCode, TramiteCode } from '../../core/error-codes.js';
import type { SecurityTimestamp } from '../../../envelopes/modi/modi-header.js';
import type { XmlLimits } from '../../../envelopes/xml/hardened-xml.js';
import type { VerifiedSignature } from '../../../envelopes/security/ws-security-verify.js';

/*
 * What crosses the thread boundary between the node and its verification workers. Functions and
 * X509Certificate objects cannot: certificates travel as DER, errors as their class and fields, and
 * both are turned back here into the same typed values the rest of the node uses.
 */

/** One envelope to parse and verify. */
export interface VerifyJob {
  /** The envelope exactly as received (bytes, or the text a reply was read as). */
  readonly envelope: Uint8Array | string;
  /** The instant the verdict is for (the node's clock), epoch milliseconds. */
  readonly at: number;
  /**
   * The party the signer must be trusted for and bound to. Absent: the envelope's own sender
   * (Mittente, or wsa:From) — an inbound request. A reply is verified for the party it was sent to.
   */
  readonly party?: string;
  /** ModI patterns the envelope must satisfy; absent: any (ID_AUTH_SOAP_01), the service decides later. */
  readonly modiPatterns?: readonly ModiSoapPattern[];
  /** The registry version the work runs under (its peers' CAs, its signers); absent: the worker's newest. */
  readonly registryVersion?: number;
}

/** A new registry version for the workers (VerificationPool.reload): its configuration, as configForWorker makes it. */
export interface RegistryUpdate {
  readonly registry: { readonly version: number; readonly config: unknown };
}

export interface SerializedSignature {
  readonly signerDer: Uint8Array;
  readonly chainDer: readonly Uint8Array[];
  readonly timestamp: SecurityTimestamp;
  readonly signed: readonly string[];
}

export type SerializedError =
  | {
      readonly kind: 'envelope';
      readonly code: EgovCode;
      readonly posizione: string;
      readonly message: string;
      readonly rilevanza: Rilevanza;
      readonly processamento: boolean;
    }
  | {
      readonly kind: 'security';
      readonly reason: TramiteCode;
      readonly message: string;
      readonly posizione: string;
      readonly signer?: string;
    }
  | { readonly kind: 'tramite'; readonly code: ErrorCode; readonly message: string }
  | { readonly kind: 'unexpected'; readonly message: string };

/** The worker's verdict. `messageId` (the id the envelope claims, when it could be read) is for the log only. */
export type VerifyOutcome =
  | { readonly ok: true; readonly signature: SerializedSignature }
  | { readonly ok: false; readonly error: SerializedError; readonly messageId?: string };

/** What each worker is started with: the configuration (without private keys) and the verification policy. */
export interface WorkerSetup {
  readonly config: unknown;
  /** The registry version `config` makes; default 1. */
  readonly registryVersion?: number;
  readonly limits: XmlLimits;
  readonly maxAgeSeconds: number;
  readonly skewSeconds: number;
}

export function serializeSignature(sig: VerifiedSignature): SerializedSignature {
  return {
    signerDer: new Uint8Array(sig.signer.raw),
    chainDer: sig.chain.map((c) => new Uint8Array(c.raw)),
    timestamp: sig.timestamp,
    signed: [...sig.signed],
  };
}

export function reviveSignature(s: SerializedSignature): VerifiedSignature {
  return {
    signer: certificateFromDer(s.signerDer),
    chain: s.chainDer.map((d) => certificateFromDer(d)),
    timestamp: s.timestamp,
    signed: s.signed,
  };
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof EnvelopeError) {
    return {
      kind: 'envelope',
      code: err.code,
      posizione: err.posizione,
      message: err.message,
      rilevanza: err.rilevanza,
      processamento: err.contestoCodifica === 'ErroreProcessamentoMessaggioSPCoop',
    };
  }
  if (err instanceof SecurityError) {
    return {
      kind: 'security',
      reason: err.reason,
      message: err.message,
      posizione: err.posizione,
      ...(err.signer !== undefined ? { signer: err.signer } : {}),
    };
  }
  if (err instanceof TramiteError) return { kind: 'tramite', code: err.code, message: err.message };
  return { kind: 'unexpected', message: err instanceof Error ? err.message : String(err) };
}

/** The same typed error the verification threw in the worker. */
export function reviveError(e: SerializedError): TramiteError {
  switch (e.kind) {
    case 'envelope':
      return new EnvelopeError(e.code, e.posizione, e.message, {
        rilevanza: e.rilevanza,
        contesto: e.processamento ? 'processamento' : 'intestazione',
      });
    case 'security':
      return new SecurityError(e.reason, e.message, { posizione: e.posizione, ...(e.signer !== undefined ? { signer: e.signer } : {}) });
    case 'tramite':
      return new TramiteError(e.code, e.message);
    case 'unexpected':
      // A fault of the verifier itself, not of the envelope: refused as a processing error, as before.
      return new TramiteError('EGOV_IT_300', e.message);
  }
}

const CERTIFICATE = '__x509Pem';
/** Secrets held as text in the configuration (a party's key PEM, a webhook secret): never sent to a worker. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['keyPem', 'secret']);

/**
 * The node's configuration as a worker may receive it: certificates as PEM; private keys (any
 * KeyObject, and the secrets kept as text) left out — a worker verifies, it never signs. Everything
 * else is plain data.
 */
export function configForWorker(value: unknown): unknown {
  if (value instanceof X509Certificate) return { [CERTIFICATE]: value.toString() };
  if (value instanceof KeyObject || typeof value === 'function') return undefined;
  if (Array.isArray(value)) return value.map(configForWorker);
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_FIELDS.has(k)) continue;
      const converted = configForWorker(v);
      if (converted !== undefined) out[k] = converted;
    }
    return out;
  }
  return value;
}

/** The inverse of configForWorker, in the worker: certificates become X509Certificate objects again. */
export function configFromNode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(configFromNode);
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof Date)) {
    const pem = (value as Record<string, unknown>)[CERTIFICATE];
    if (typeof pem === 'string') return new X509Certificate(pem);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, configFromNode(v)]));
  }
  return value;
}
