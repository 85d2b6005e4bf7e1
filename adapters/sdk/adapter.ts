import type { Signer } from '../../src/core/signer.js';
import type { AdapterStoreOpener } from './store/adapter-store.js';
import type { CollaborationProfile } from '../../src/core/service-profile.js';
import type { ErrorCode } from '../../src/core/error-codes.js';
import { TramiteError } from '../../src/core/errors.js';
import type { TrustStore } from '../../src/crypto/trust-store.js';
import type { CertificateChainCheck } from '../../src/crypto/revocation/certificate-chain-check.js';

/**
 * The adapter contract. An adapter connects one external system (a protocol register, a PEC mailbox,
 * a population registry…) to the bus for one hosted party:
 * - ingress: the external system's traffic becomes bus messages, through `ctx.bus`;
 * - egress: a bus message for the party, on a service the adapter serves, goes to the external
 *   system, which returns an outcome (or, for a sincrono service, the reply body).
 * Shaped like a Fastify plugin: a plain typed definition plus a JSON Schema for its options (checked
 * by the node at start, errors naming the field), and lifecycle hooks. It sees only this SDK and the
 * core types, never the node's internals.
 */
export interface AdapterDefinition<Options = Record<string, unknown>> {
  /** Stable identifier, lower-case (`protocollo`, `pec`): what config's `use` names for built-ins. */
  readonly id: string;
  /** Semantic version of the adapter. */
  readonly version: string;
  /**
   * The bus API (this SDK's contract, BUS_API_VERSION) the adapter was written for, as a semver range:
   * `'^1'`. The node refuses to load an adapter whose range leaves its own version out.
   */
  readonly busApi: string;
  readonly description: string;
  /** JSON Schema (draft-07 or 2020-12) of the options; defaults in it are applied before `setup`. */
  readonly optionsSchema: Readonly<Record<string, unknown>>;
  /** The services the adapter serves when the configuration names none (by service name). */
  readonly services?: readonly string[];
  /**
   * true for an adapter that stands in for a real system during development (the dev-echo back office):
   * the node loads it only when its configuration says it is a development node (`node.development`),
   * and refuses to start otherwise (TRAMITE_ERR_DEVELOPMENT_ONLY).
   */
  readonly developmentOnly?: boolean;
  /** Builds one instance for one party. Must not start I/O: `start` does. */
  setup(ctx: AdapterContext<Options>): AdapterInstance | Promise<AdapterInstance>;
  /**
   * The certificate files its (validated) options name, for the node's certificate inventory
   * (`tramite certs`, /health, expiry warnings). Pure: reads no file; relative paths are taken from
   * the adapter's data folder, as `setup`'s `dataDir`.
   */
  certificateFiles?(options: Options): readonly AdapterCertificateFile[];
}

/** A certificate file an adapter's options name: what it is for (`PEC provider CA`), and the file. */
export interface AdapterCertificateFile {
  readonly role: string;
  readonly file: string;
}

/** One adapter instance, serving one hosted party. */
export interface AdapterInstance {
  /** Opens connections, listeners, timers. Called once the node is up; a second call must be harmless. */
  start(): Promise<void>;
  /** Closes everything `start` opened. Must be harmless when called twice, or without `start`. */
  stop(): Promise<void>;
  /** What the adapter knows of its external system right now. */
  health(): Promise<AdapterHealth>;
  /**
   * A bus message for the party, on a served service. Resolves when the external system has it.
   * Throws AdapterError: `retriable` ones are tried again by the node's dispatch queue with the
   * service's retry policy, final ones end the message FAILED with the error's code.
   */
  egress(message: BusMessage, signal: AbortSignal): Promise<EgressOutcome>;
}

export interface AdapterHealth {
  readonly status: 'up' | 'degraded' | 'down';
  readonly detail?: string;
}

/** A message as the bus hands it to an adapter (verified, logged, at most once by id). */
export interface BusMessage {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly service: string;
  readonly action?: string;
  readonly profile: CollaborationProfile;
  /** The message it answers or refers to (RiferimentoMessaggio). */
  readonly refId?: string;
  readonly conversationId?: string;
  /** The SOAP Body content: well-formed XML. */
  readonly payload: string;
}

/** What egress achieved: the external system took it (with its own reference, if any), or, for a sincrono service, the reply. */
export type EgressOutcome =
  { readonly kind: 'accepted'; readonly reference?: string } | { readonly kind: 'reply'; readonly payload: string };

/** What an adapter asks the bus to send from its party (ingress). */
export interface OutgoingMessage {
  readonly to: string;
  readonly service: string;
  readonly serviceTipo?: string;
  readonly action?: string;
  readonly payload: string;
  readonly refId?: string;
  readonly conversationId?: string;
  readonly expiresAt?: string;
}

/** A message of the party as the bus knows it. */
export interface MessageState {
  readonly id: string;
  readonly direction: 'in' | 'out';
  readonly status: 'ACCEPTED' | 'SENDING' | 'DELIVERED' | 'FAILED' | 'RECEIVED' | 'DISPATCHED';
  readonly attempts: number;
  readonly reply?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

/** The bus as an adapter sees it: it acts for its party only. */
export interface BusClient {
  /** Sends (accepted once logged; delivered reliably). */
  send(message: OutgoingMessage): Promise<MessageState>;
  /**
   * Sends and waits for the outcome: DELIVERED (with `reply` for a sincrono service) or FAILED (with
   * `error`); after `timeoutMs` the state as it is then (the message still goes on being delivered).
   */
  sendAndWait(message: OutgoingMessage, opts: { timeoutMs: number }): Promise<MessageState>;
  /**
   * Answers an asynchronous request the party received. `from` is its sender (the egress message's
   * `from`): ids are unique per sender only, and when two senders used one id it says which is meant.
   */
  answer(requestId: string, payload: string, from?: string): Promise<MessageState>;
  /** The state of one of the party's messages; `from` names an inbound message's sender, as for `answer`. */
  state(id: string, direction: 'in' | 'out', from?: string): Promise<MessageState | undefined>;
}

/** pino-compatible: `log.info({ id }, 'message')`. */
export interface AdapterLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Everything an instance gets from the node. */
export interface AdapterContext<Options> {
  /** The hosted party served (tipo/nome). */
  readonly party: string;
  /** The options, validated against `optionsSchema`, defaults applied, deeply frozen. */
  readonly options: Options;
  /** A folder of its own, kept across restarts (`<dataDir>/adapters/<party nome>/<adapter id>`). */
  readonly dataDir: string;
  /**
   * Opens a store of the adapter's own for its state (registers, queues, cursors, quotas): a SQLite file
   * in `dataDir` on a one-host node, a PostgreSQL schema of its own when the node's log is in PostgreSQL
   * and several node processes share it. State that must hold across processes goes here, never in a
   * file of `dataDir` (which each host has its own of).
   */
  readonly openStore: AdapterStoreOpener;
  readonly log: AdapterLogger;
  readonly bus: BusClient;
  /** What the party signs with (e.g. an AOO's seal): its certificate, chain and a sign operation; the key may be on a token. */
  readonly identity: Signer;
  /** The CAs the node trusts (its own and its peers'): for signatures inside payloads. */
  readonly trust: TrustStore;
  /**
   * The node's revocation check (CRL, OCSP, by each trust anchor's policy), for the chain `trust`
   * accepted (leaf first, anchor last); absent when every policy is off. Rejects with a SecurityError.
   */
  readonly revocation?: CertificateChainCheck;
  readonly clock: { now(): Date };
}

/**
 * An adapter's failure, typed: `retriable` says whether trying again later can succeed (the external
 * system is down, busy, timed out) or not (it refused the content).
 */
export class AdapterError extends TramiteError {
  readonly retriable: boolean;
  constructor(code: ErrorCode, message: string, options: { retriable: boolean; cause?: unknown }) {
    super(code, message, options);
    this.retriable = options.retriable;
  }

  /** The external system could not be reached or was busy: the node tries again. */
  static unavailable(message: string, cause?: unknown): AdapterError {
    return new AdapterError('TRAMITE_ERR_ADAPTER_UNAVAILABLE', message, { retriable: true, cause });
  }

  /** The external system refused the message for good, with `code` (a protocol code where there is one). */
  static refused(code: ErrorCode, message: string, cause?: unknown): AdapterError {
    return new AdapterError(code, message, { retriable: false, cause });
  }
}

/**
 * Adapters a node may load by id (config `use: "<id>"`), each a lazy import of a module whose default
 * (or `adapter`) export is an AdapterDefinition. Handed to the node by its composition root.
 */
export type AdapterCatalog = Readonly<Record<string, () => Promise<unknown>>>;

/** Declares an adapter; the identity function gives integrators type inference on `setup`. */
export function defineAdapter<Options>(definition: AdapterDefinition<Options>): AdapterDefinition<Options> {
  return Object.freeze(definition);
}
