import type { StaffTokenEntry } from '../core/staff-member.js';
import type { CompetenceTable } from '../core/competence.js';
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { CollaborationProfile, Inoltro } from '../core/service-profile.js';
import type { ModiRestPatternName, ModiSoapPattern } from '../core/service-profile.js';
import type { PartyIdentity } from '../crypto/party-identity.js';
import type { Signer } from '../core/signer.js';
import type { RevocationSettings } from '../crypto/revocation/revocation-settings.js';
import type { RevocationMode } from '../crypto/revocation/revocation-policy.js';

/*
 * Two shapes of the one config file. `ConfigFile*` is the JSON as schemas/config.schema.json describes
 * it, after validation filled in the defaults (kept in step with the schema by hand; a test compares
 * them). `NodeConfig` is what the node runs on: absolute paths, key material loaded, deeply frozen.
 */

export type EnvelopeFormat = 'egov' | 'modi';

export interface ConfigFileLimits {
  maxEnvelopeBytes: number;
  maxDepth: number;
  maxElements: number;
  maxAttributes: number;
  maxTotalAttributes: number;
  maxNamespaceDeclarations: number;
  maxTotalNamespaceDeclarations: number;
}

export interface ConfigFileVerification {
  /** Absent: the number of CPU cores minus one, at least 1. */
  workers?: number;
  queue: number;
}

/** At most `max` requests per `windowSeconds` for one caller. */
export interface ConfigFileRateLimit {
  max: number;
  windowSeconds: number;
}

/** The HTTP server's limits (docs/security.md says why each default). */
export interface ConfigFileHttp {
  /** Request line and headers must arrive within this; @defaultValue 10000 */
  headersTimeoutMs: number;
  /** The whole request must arrive within this; @defaultValue 60000 */
  requestTimeoutMs: number;
  /** Idle kept-alive connection closed after this; @defaultValue 5000 */
  keepAliveTimeoutMs: number;
  /** Connection with no traffic either way closed after this; @defaultValue 180000 */
  idleTimeoutMs: number;
  /** @defaultValue 512 */
  maxConnections: number;
  /** Request-body bytes held at once across all requests; @defaultValue 67108864 */
  maxBodyBytesInFlight: number;
  rateLimits: {
    /** Per back-office caller (its token's parties); @defaultValue 3000 per 60 s */
    api: ConfigFileRateLimit;
    /** Per remote address on the envelope endpoint; @defaultValue 6000 per 60 s */
    envelope: ConfigFileRateLimit;
  };
}

/** Where the node listens: over TLS, or plain HTTP only when the file says so (docs/operators.md). */
export interface ConfigFileListen {
  host: string;
  port: number;
  tls?: ConfigFileListenTls;
  /** @defaultValue false */
  plainHttp: boolean;
}

export interface ConfigFileListenTls {
  /** Server certificate then its intermediates (PEM); also the default client certificate towards peers. */
  certFile: string;
  keyFile: string;
  /** CAs of peers' client certificates (the system store is never used). */
  clientCaFiles: string[];
  /** @defaultValue true */
  requestCert: boolean;
  /** @defaultValue false */
  requireClientCert: boolean;
}

/** TLS towards one peer, and how that peer's own connections here are recognised. */
export interface ConfigFilePeerTls {
  /** CA(s) of the peer's server certificate: pinned, the system store is not used. */
  caFile: string;
  /** This node's client certificate and key for this peer; default node.listen.tls's. */
  certFile?: string;
  keyFile?: string;
  servername?: string;
  /** The client certificates the peer presents when it connects here. */
  clientCertificates?: ConfigFileSigner[];
}

export interface ConfigFileNode {
  name: string;
  soggetto: string;
  pdd: string;
  dataDir: string;
  listen: ConfigFileListen;
  publicUrl?: string;
  limits: ConfigFileLimits;
  http: ConfigFileHttp;
  verification: ConfigFileVerification;
  clockSkewSeconds: number;
  timestampMaxAgeSeconds: number;
  /** Longest a stop may take, whatever state Redis is in. */
  shutdownTimeoutSeconds: number;
  /**
   * The operators' tokens: `sha256:<64 lowercase hex>` of each, bare or with the name its holder's
   * actions are logged under. They read GET /health's details and GET /metrics, and sign in to the console.
   */
  operatorTokens: (string | StaffTokenEntry)[];
  /** A development node: only then may development-only adapters (dev-echo) run. */
  development: boolean;
  metrics: ConfigFileMetrics;
  console: ConfigFileConsole;
}

/** The operations console at /console (docs/operators.md, "Console"): its sessions, held in this process. */
export interface ConfigFileConsole {
  /** A session ends after this many minutes without a request. @defaultValue 30 */
  sessionIdleMinutes: number;
  /** …and after this many hours whatever happens. @defaultValue 8 */
  sessionMaxHours: number;
}

/** GET /metrics (docs/operators.md, "Metrics"). */
export interface ConfigFileMetrics {
  /** Scrapes without an operator token too. @defaultValue false */
  public: boolean;
}

export interface ConfigFileParty {
  code: string;
  /** PEM key (unencrypted, or encrypted with passphraseFile / passphraseEnv); with certFile, or keystore instead. */
  keyFile?: string;
  certFile?: string;
  /** Where the passphrase of an encrypted keyFile is: a file, or an environment variable (one of the two). */
  passphraseFile?: string;
  passphraseEnv?: string;
  /** A PKCS#12 keystore instead of keyFile + certFile. */
  keystore?: ConfigFileKeystore;
  /** A key on a PKCS#11 token instead of keyFile + certFile or keystore. */
  pkcs11?: ConfigFilePkcs11;
  /** `sha256:<64 lowercase hex>` of each token. */
  apiTokens: string[];
  backOffice?: { url: string };
  notify?: { url: string; secretFile: string };
  /** Filled with [] by the schema default when absent. */
  adapters?: ConfigFileAdapter[];
  /** When given, the only certificates that sign for this party (instead of the CN rule). */
  signers?: ConfigFileSigner[];
  pdnd?: ConfigFilePartyPdnd;
}

/** A PKCS#12 keystore; its passphrase is in a file or an environment variable (exactly one), never here. */
export interface ConfigFileKeystore {
  file: string;
  passphraseFile?: string;
  passphraseEnv?: string;
  /** Which key, when the keystore holds several (compared ignoring case). */
  alias?: string;
}

/** A key on a PKCS#11 token; its PIN is in a file or an environment variable (exactly one), never here. */
export interface ConfigFilePkcs11 {
  module: string;
  tokenLabel?: string;
  slot?: number;
  pinFile?: string;
  pinEnv?: string;
  keyLabel?: string;
  keyId?: string;
  certificateFile?: string;
}

/**
 * A certificate bound to a party: by its SHA-256 fingerprint (`AB:CD:…`), or by subject and issuer
 * (RFC 4514 text, most specific first), which also covers its renewals by the same CA.
 */
export type ConfigFileSigner = { fingerprint256: string } | { subject: string; issuer: string };

export interface ConfigFileAdapter {
  /** A built-in id, a module path (relative to the config file) or a package name. */
  use: string;
  options: Record<string, unknown>;
  services?: string[];
}

export interface ConfigFilePeer {
  name: string;
  url: string;
  parties: string[];
  caFile?: string;
  /** Certificates bound to the peer's parties; a party named here is bound by these only (not by CN). */
  signers?: Array<ConfigFileSigner & { party: string }>;
  tls?: ConfigFilePeerTls;
}

export interface ConfigFileService {
  provider: string;
  name: string;
  tipo: string;
  actions?: string[];
  profile: CollaborationProfile;
  /** asincronoSimmetrico: the consumer's service that receives the answer (servizioCorrelato). */
  correlatedService?: string;
  envelope: EnvelopeFormat;
  /**
   * envelope modi only: the ModI SOAP security patterns (one ID_AUTH pattern, optionally INTEGRITY_SOAP_01).
   * Absent in the file means ID_AUTH_SOAP_02 + INTEGRITY_SOAP_01; the loaded NodeConfig always has it for modi services.
   */
  modiPatterns?: ModiSoapPattern[];
  confermaRicezione: boolean;
  inoltro: Inoltro;
  expirySeconds?: number;
  consumers?: string[];
  retry?: Partial<ConfigFileRetry>;
  /** This service's stuck threshold, seconds (default alarms.stuckAfterSeconds). */
  stuckAfterSeconds?: number;
}

/** A REST API (`services[]` with an `api` block): see schemas/config.schema.json and docs/rest-apis.md. */
export interface ConfigFileRestService {
  provider: string;
  name: string;
  consumers?: string[];
  api: ConfigFileRestApi;
  /** This API's stuck threshold, seconds (default alarms.stuckAfterSeconds). */
  stuckAfterSeconds?: number;
}

export interface ConfigFileRestApi {
  kind: 'rest';
  /** @defaultValue "v1" */
  version: string;
  profiles: ModiRestPatternName[];
  audience: string;
  /** Fruizione: the provider's base URL (default from its peer's origin). */
  url?: string;
  /** Erogazione: the back office's API. */
  upstream?: { url: string; timeoutMs: number };
  pdnd?: {
    purposeId: string;
    purposes?: string[];
    audience?: string;
    eserviceId?: string;
    producerId?: string;
    descriptorId?: string;
    /** Fruizione with INTEGRITY_REST_02: the provider's PDND client, whose keys sign its responses. */
    providerClientId?: string;
  };
  audit?: { claims: string[] };
  emptyBody: 'refuse' | 'optional' | 'require';
  maxBodyBytes: number;
  tokenLifetimeSeconds: number;
  disclose: boolean;
}

/** A PDND client's key: its kid, and the key file when it is not the party's own signing key. */
export interface ConfigFilePdndKey {
  kid: string;
  keyFile?: string;
  passphraseFile?: string;
  passphraseEnv?: string;
}

/** `parties[].pdnd`: the party's tenant and clients on PDND. */
export interface ConfigFilePartyPdnd extends ConfigFilePdndKey {
  tenantId: string;
  clientId: string;
  api?: ConfigFilePdndKey & { clientId: string };
}

/** Top-level `pdnd`: which PDND environment. */
export interface ConfigFilePdnd {
  tokenEndpoint: string;
  assertionAudience: string;
  issuer: string;
  jwksUrl: string;
  apiUrl?: string;
  tracingUrl?: string;
  caFile?: string;
  /** @defaultValue 2 */
  uploadHourUtc: number;
}

export interface ConfigFileRetry {
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  maxAttempts: number;
}

export interface ConfigFileQueue {
  redisUrl?: string;
  concurrency: number;
  reconcileEverySeconds: number;
  retry: ConfigFileRetry;
}

export interface ConfigFileLog {
  store: 'sqlite' | 'postgres';
  sqliteFile: string;
  postgresUrl?: string;
  checkpointEveryRecords: number;
  checkpointEverySeconds: number;
  signer?: string;
  tsa?: { url: string; timeoutMs: number; caFile?: string };
  retentionDays?: number;
  /** Most records of one export (auditor API, console); a larger range is refused before it is read. @defaultValue 100000 */
  maxExportRecords: number;
  /** The auditors' read-only tokens, as operatorTokens. */
  auditorTokens: (string | StaffTokenEntry)[];
}

/** `alarms`: what the node watches for (docs/operators.md, "Alarms"). */
export interface ConfigFileAlarms {
  /** A message not final this long after its creation is stuck. @defaultValue 900 */
  stuckAfterSeconds: number;
  /** How often the rules are checked. @defaultValue 30 */
  evaluateEverySeconds: number;
  /** `backlog`: deliver-queue jobs waiting. @defaultValue 1000 */
  backlogJobs: number;
  /** `peer-failing`: minutes of failed deliveries with no success. @defaultValue 15 */
  peerFailingMinutes: number;
  /** `certificate-expiring`: days left. @defaultValue 30 */
  certificateDays: number;
  /** `checkpoint-lag`: records since the last checkpoint. @defaultValue 10000 */
  checkpointLagRecords: number;
  /** `checkpoint-lag`: minutes since the last checkpoint (with records after it). @defaultValue 60 */
  checkpointLagMinutes: number;
  /** Minutes between reminders of a raised alarm; 0 never. @defaultValue 60 */
  remindEveryMinutes: number;
  webhook?: ConfigFileAlarmWebhook;
  email?: ConfigFileAlarmEmail;
}

/** `alarms.webhook`: where alarm events are POSTed. File paths are absolute once loaded. */
export interface ConfigFileAlarmWebhook {
  url: string;
  /** @defaultValue 5000 */
  timeoutMs: number;
  /** @defaultValue 3 */
  attempts: number;
  secretFile?: string;
}

/** `alarms.email`: alarm events by e-mail. File paths are absolute once loaded. */
export interface ConfigFileAlarmEmail {
  smtp: {
    host: string;
    port: number;
    /** @defaultValue false */
    secure: boolean;
    user?: string;
    passwordFile?: string;
    caFile?: string;
    /** @defaultValue 10000 */
    timeoutMs: number;
  };
  from: string;
  to: string[];
}

/** `trust.revocation`: see schemas/config.schema.json and docs/operators.md, "Revocation". */
export interface ConfigFileRevocation {
  mode?: RevocationMode;
  allowSha1Crl?: boolean;
  anchors?: Array<{ caFile: string; mode: RevocationMode; allowSha1Crl?: boolean }>;
  crlFiles?: string[];
  ocsp?: boolean;
  fetchCrls?: boolean;
  timeoutMs?: number;
  maxCrlBytes?: number;
  maxCacheSeconds?: number;
  failureCacheSeconds?: number;
}

/** Routing by competence (docs/operators.md, "Competence tables"): the table, its territories, who may send by role. */
export interface ConfigFileCompetence {
  file: string;
  territories: string[];
  senders: string[];
}

export interface ConfigFile {
  $schema?: string;
  node: ConfigFileNode;
  trust: { caFiles: string[]; revocation?: ConfigFileRevocation };
  parties: ConfigFileParty[];
  peers: ConfigFilePeer[];
  /** SOAP services and (with `api`) REST APIs, in one list as the file has them. */
  services: Array<ConfigFileService | ConfigFileRestService>;
  pdnd?: ConfigFilePdnd;
  log: ConfigFileLog;
  queue: ConfigFileQueue;
  alarms: ConfigFileAlarms;
  competence?: ConfigFileCompetence;
}

/** Deeply read-only view of a plain-data type; class instances (certificates, keys) are left as they are. */
type Frozen<T> = T extends X509Certificate | PartyIdentity | TlsMaterial | PartyPdnd | ((...args: never[]) => unknown)
  ? T
  : T extends ReadonlyArray<infer U>
    ? ReadonlyArray<Frozen<U>>
    : T extends object
      ? { readonly [K in keyof T]: Frozen<T[K]> }
      : T;

/** TLS key material as the node uses it: PEM text read from the files, the leaf certificate parsed. */
export interface TlsMaterial {
  /** Certificate chain, leaf first (PEM). */
  readonly certPem: string;
  readonly keyPem: string;
  /** The leaf certificate (its fingerprint identifies this node to itself). */
  readonly certificate: X509Certificate;
}

/** `dataDir` and listen.tls's files are absolute; `listen.tls.material` is the loaded key and chain, `clientCaPem` the CAs. */
export type NodeSettings = Frozen<
  Omit<ConfigFileNode, 'listen'> & {
    listen: Omit<ConfigFileListen, 'tls'> & { tls?: ConfigFileListenTls & { material: TlsMaterial; clientCaPem: string[] } };
  }
>;

/** `keyFile`, `certFile`, `passphraseFile` and `keystore`'s files are absolute; `identity` is the loaded key and certificate. */
/** `notify.secretFile` is absolute and `notify.secret` holds the webhook secret read from it. */
export type HostedPartyConfig = Frozen<
  Omit<ConfigFileParty, 'notify' | 'pdnd'> & {
    identity: PartyIdentity;
    notify?: { url: string; secretFile: string; secret: string };
    pdnd?: PartyPdnd;
  }
>;

/**
 * `caFile` is absolute when given; `caCertificates` are its certificates, trusted only for this peer's
 * signers (empty without `caFile`).
 */
export type PeerConfig = Frozen<
  Omit<ConfigFilePeer, 'tls'> & {
    caCertificates: X509Certificate[];
    /** Files absolute; `caPem` the pinned CAs, `client` this node's client certificate for the peer (when there is one). */
    tls?: ConfigFilePeerTls & { caPem: string[]; client?: TlsMaterial };
  }
>;

export type ServiceConfig = Frozen<ConfigFileService>;

/** A REST API with its defaults filled: `api.url` set for APIs provided on a peer, `pdnd.audience` and `pdnd.purposes` always. */
export type RestServiceConfig = Frozen<
  Omit<ConfigFileRestService, 'api'> & {
    api: Omit<ConfigFileRestApi, 'pdnd' | 'audit'> & {
      pdnd?: NonNullable<ConfigFileRestApi['pdnd']> & { audience: string; purposes: string[] };
      audit: { claims: string[] };
    };
  }
>;

/** A PDND client's key loaded: the kid and the RSA key (the key file's, or the party's own signer). */
export interface PdndClientKey {
  readonly clientId: string;
  readonly kid: string;
  readonly privateKey: KeyObject | Signer;
}

/** `parties[].pdnd` loaded: keys in hand. */
export interface PartyPdnd {
  readonly tenantId: string;
  readonly client: PdndClientKey;
  readonly api?: PdndClientKey;
}

/** Top-level `pdnd` loaded: `caFile` absolute, `caPem` its certificates. */
export type PdndSettings = Frozen<ConfigFilePdnd & { caPem?: string[] }>;

export interface NodeConfig {
  /** The file it was loaded from; undefined when built from an object by validateConfig. */
  readonly configPath: string | undefined;
  /** Folder against which the file's relative paths were resolved (absolute). */
  readonly baseDir: string;
  readonly node: NodeSettings;
  readonly trust: {
    /** Absolute paths. */
    readonly caFiles: readonly string[];
    /** Every certificate in `caFiles`, bundles split. */
    readonly anchors: readonly X509Certificate[];
    /** Revocation policies with every default filled in, paths absolute; absent when the file has none (not checked). */
    readonly revocation?: RevocationSettings;
  };
  readonly parties: readonly HostedPartyConfig[];
  readonly peers: readonly PeerConfig[];
  /** The SOAP services (envelopes). */
  readonly services: readonly ServiceConfig[];
  /** The REST APIs (`services[]` with an `api` block). */
  readonly restServices: readonly RestServiceConfig[];
  readonly pdnd?: PdndSettings;
  /** sqliteFile made absolute (under dataDir). */
  readonly log: Frozen<ConfigFileLog>;
  readonly queue: Frozen<ConfigFileQueue>;
  readonly alarms: Frozen<ConfigFileAlarms>;
  /** Routing by competence, when configured: the checked table, and the parties that may send by role. */
  readonly competence?: { readonly table: CompetenceTable; readonly senders: readonly string[] };
}
