import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { hashToken } from '../core/token-hash.js';
import { type PkiFileReport, createDevPki, createDevTlsCertificate, devPartyRef, writeNewFile } from '../crypto/dev-pki.js';
import type { ConfigFile, ConfigFileParty, ConfigFileService } from './config-types.js';
import { validateConfig } from './load-config.js';

/**
 * `tramite init`: a ready-to-run development node in one folder — a dev PKI in DIR/pki, one back-office
 * token per party and DIR/tramite.json. Safe to run again: it never overwrites a file, it only adds
 * what is missing (e.g. a party named for the first time).
 *
 * Without named parties it makes the development identity, one that serves from the first run: two
 * parties on this node, a sincrono and a oneway service between them, and the dev-echo back office
 * answering them (so the node's config says it is a development node). Named parties get no services.
 */

export interface InitNodeOptions {
  readonly dir: string;
  /**
   * Party codes `tipo/nome` (a bare `nome` means `SPC/nome`), with no services. Absent: the development
   * identity (DEV_IDENTITY: its two parties, its services, the dev-echo back office).
   */
  readonly parties?: readonly string[];
  readonly port?: number;
  readonly now?: Date;
}

export interface InitPartyReport extends PkiFileReport {
  readonly code: string;
  /** DIR/pki/<nome>.token: the plain token, readable by its owner only. */
  readonly tokenFile: string;
  readonly tokenCreated: boolean;
  /** The plain token, only when created by this run: show it once. */
  readonly token?: string;
  /**
   * Set when tramite.json was kept and does not list this party yet: the entry to add to its
   * "parties" (the node does not edit an existing config).
   */
  readonly configEntry?: ConfigFileParty;
}

export interface InitNodeReport {
  readonly dir: string;
  readonly configFile: string;
  readonly configCreated: boolean;
  readonly ca: PkiFileReport;
  /** DIR/pki/tls.cert.pem: the node's TLS certificate (server, and client towards peers), SAN localhost and 127.0.0.1. */
  readonly tls: PkiFileReport;
  readonly parties: readonly InitPartyReport[];
  /** DIR/pki/auditor.token: the read-only auditor API token. */
  readonly auditorTokenFile: string;
  /** The plain auditor token, only when created by this run. */
  readonly auditorToken?: string;
  /** DIR/pki/operator.token: the token that shows GET /health's details. */
  readonly operatorTokenFile: string;
  /** The plain operator token, only when created by this run. */
  readonly operatorToken?: string;
  /** Set when this run wrote the development identity's config: who calls what, answered by dev-echo. */
  readonly devIdentity?: typeof DEV_IDENTITY;
}

/**
 * The development identity: SPC/ComuneDemo calls SPC/RegioneDemo, both hosted here (delivery to a
 * party of one's own goes through the node's own envelope endpoint, signed and verified like any
 * other), on a sincrono and a oneway service that the dev-echo back office serves for the Regione.
 */
export const DEV_IDENTITY = Object.freeze({
  consumer: 'SPC/ComuneDemo',
  provider: 'SPC/RegioneDemo',
  /** Answered at once by dev-echo with the request wrapped in <tramite-dev:Eco xmlns:tramite-dev="urn:tramite:dev-echo">. */
  sincrono: 'EcoDemo',
  /** With confermaRicezione: DELIVERED once the Regione's node sends its signed riscontro. */
  oneway: 'NotificaDemo',
} as const);

export const DEFAULT_INIT_PARTIES: readonly string[] = [DEV_IDENTITY.consumer, DEV_IDENTITY.provider];
const CONFIG_FILE_NAME = 'tramite.json';
const PKI_DIR_NAME = 'pki';
const TOKEN_BYTES = 32;
const TOKEN_FILE_MODE = 0o600;
const CONFIG_FILE_MODE = 0o644;

export function initNode(opts: InitNodeOptions): InitNodeReport {
  const dir = resolve(opts.dir);
  const port = opts.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_INVALID',
      `port ${port} is not a TCP port — fix: use a whole number from 0 to 65535 (0 = any free port)`,
      { field: 'port' },
    );
  }
  const configFile = join(dir, CONFIG_FILE_NAME);
  const configExists = existsSync(configFile);
  const devIdentity = opts.parties === undefined;
  const listed = configExists ? partiesListedIn(configFile) : new Set<string>();

  const caKeyDir = devCaKeyDir(dir);
  moveCaKeyOutOfNode(join(dir, PKI_DIR_NAME), caKeyDir);
  const pki = createDevPki({
    dir: join(dir, PKI_DIR_NAME),
    caKeyDir,
    parties: opts.parties ?? DEFAULT_INIT_PARTIES,
    ...(opts.now ? { now: opts.now } : {}),
  });

  const tls = createDevTlsCertificate({
    dir: pki.dir,
    caKeyDir,
    commonName: 'tramite-dev',
    hosts: [],
    ...(opts.now ? { now: opts.now } : {}),
  });

  const planned = pki.parties.map((party): { report: InitPartyReport; entry?: ConfigFileParty } => {
    const tokenFile = join(pki.dir, `${devPartyRef(party.code).nome}.token`);
    if (listed.has(party.code)) {
      // Already in the kept config, with whatever tokens it lists: nothing to add.
      return { report: { ...party, tokenFile, tokenCreated: false } };
    }
    // A token file left by an earlier run is reused (its hash goes in the config), never replaced.
    const token = existsSync(tokenFile) ? undefined : randomBytes(TOKEN_BYTES).toString('base64url');
    if (token !== undefined) writeNewFile(tokenFile, `${token}\n`, TOKEN_FILE_MODE);
    const entry = configEntryFor(party, dir, token ?? readFileSync(tokenFile, 'utf8').trim());
    const report: InitPartyReport = {
      ...party,
      tokenFile,
      tokenCreated: token !== undefined,
      ...(token !== undefined ? { token } : {}),
      ...(configExists ? { configEntry: entry } : {}),
    };
    return { report, entry };
  });

  // The auditors' read-only token, made like the parties' ones: shown once, kept in a 0600 file.
  const auditorTokenFile = join(pki.dir, 'auditor.token');
  const auditorToken = existsSync(auditorTokenFile) ? undefined : randomBytes(TOKEN_BYTES).toString('base64url');
  if (auditorToken !== undefined && !configExists) writeNewFile(auditorTokenFile, `${auditorToken}\n`, TOKEN_FILE_MODE);
  const operatorTokenFile = join(pki.dir, 'operator.token');
  const operatorToken = existsSync(operatorTokenFile) ? undefined : randomBytes(TOKEN_BYTES).toString('base64url');
  if (operatorToken !== undefined && !configExists) writeNewFile(operatorTokenFile, `${operatorToken}\n`, TOKEN_FILE_MODE);

  if (!configExists) {
    const config = devConfig(
      port,
      relativePath(dir, pki.ca.certFile),
      { certFile: relativePath(dir, tls.certFile), keyFile: relativePath(dir, tls.keyFile) },
      planned.flatMap((p) => (p.entry ? [p.entry] : [])),
      hashToken(auditorToken ?? readFileSync(auditorTokenFile, 'utf8').trim()),
      hashToken(operatorToken ?? readFileSync(operatorTokenFile, 'utf8').trim()),
    );
    if (devIdentity) serveDevIdentity(config);
    // Refuse to write a config the node would refuse to start with.
    validateConfig(config, dir, configFile);
    writeNewFile(configFile, `${JSON.stringify(config, null, 2)}\n`, CONFIG_FILE_MODE);
  }

  return {
    dir,
    configFile,
    configCreated: !configExists,
    ca: pki.ca,
    tls,
    parties: planned.map((p) => p.report),
    auditorTokenFile,
    ...(auditorToken !== undefined && !configExists ? { auditorToken } : {}),
    operatorTokenFile,
    ...(operatorToken !== undefined && !configExists ? { operatorToken } : {}),
    ...(devIdentity && !configExists ? { devIdentity: DEV_IDENTITY } : {}),
  };
}

/**
 * Gives the development identity its services and the echo back office that answers them, and marks
 * the node a development node: dev-echo fakes answers, and the node runs it only on such a node.
 */
function serveDevIdentity(config: ConfigFile): void {
  const between = { provider: DEV_IDENTITY.provider, tipo: 'SPC', envelope: 'egov', consumers: [DEV_IDENTITY.consumer] } as const;
  const services: ConfigFileService[] = [
    {
      ...between,
      consumers: [...between.consumers],
      name: DEV_IDENTITY.sincrono,
      profile: 'sincrono',
      confermaRicezione: false,
      inoltro: 'EGOV_IT_PIUDIUNAVOLTA',
    },
    {
      ...between,
      consumers: [...between.consumers],
      name: DEV_IDENTITY.oneway,
      profile: 'oneway',
      confermaRicezione: true,
      inoltro: 'EGOV_IT_ALPIUUNAVOLTA',
    },
  ];
  config.services = services;
  const provider = config.parties.find((p) => p.code === DEV_IDENTITY.provider);
  if (provider) provider.adapters = [{ use: 'dev-echo', options: {}, services: services.map((s) => s.name) }];
  config.node.development = true;
}

/**
 * Where `tramite init` keeps the dev CA's private key: a folder beside the node's (DIR-dev-ca), never in
 * it. The running node reads DIR; it never needs the CA key, only `init` does (to issue a certificate to
 * a party added later), so a copy or a backup of the node's folder does not carry the power to issue
 * certificates every node of the dev federation trusts.
 */
export function devCaKeyDir(nodeDir: string): string {
  const dir = resolve(nodeDir);
  return join(dirname(dir), `${basename(dir)}-dev-ca`);
}

/** A CA key left in DIR/pki by an earlier version is moved out, once. */
function moveCaKeyOutOfNode(pkiDir: string, caKeyDir: string): void {
  const old = join(pkiDir, 'ca.key.pem');
  const moved = join(caKeyDir, 'ca.key.pem');
  if (!existsSync(old) || existsSync(moved)) return;
  mkdirSync(caKeyDir, { recursive: true, mode: 0o700 });
  renameSync(old, moved);
}

function configEntryFor(party: PkiFileReport & { code: string }, dir: string, token: string): ConfigFileParty {
  return {
    code: party.code,
    keyFile: relativePath(dir, party.keyFile),
    certFile: relativePath(dir, party.certFile),
    apiTokens: [hashToken(token)],
  };
}

function devConfig(
  port: number,
  caFile: string,
  tls: { certFile: string; keyFile: string },
  parties: ConfigFileParty[],
  auditorToken: string,
  operatorToken: string,
): ConfigFile {
  return {
    node: {
      name: 'tramite-dev',
      soggetto: 'Tramite',
      pdd: 'TramiteSPCoopIT',
      dataDir: 'data',
      // TLS on loopback; peers' client certificates are asked for and must come from the dev CA (add theirs).
      listen: {
        host: '127.0.0.1',
        port,
        tls: { ...tls, clientCaFiles: [caFile], requestCert: true, requireClientCert: false },
        plainHttp: false,
      },
      operatorTokens: [operatorToken],
      // A machine set up by tramite init is a development one: its node may install the redis-server it
      // runs. A production config leaves this out, and the node then says what to install instead.
      installPackages: true,
    } as ConfigFile['node'], // the loader fills in the optional settings' defaults
    trust: { caFiles: [caFile] },
    parties,
    peers: [],
    services: [],
    log: { auditorTokens: [auditorToken] } as unknown as ConfigFile['log'], // defaults filled in by the loader
    queue: {} as ConfigFile['queue'],
    alarms: {} as ConfigFile['alarms'],
  };
}

/** Paths in the config are relative to its folder, written with `/` so the file reads the same everywhere. */
function relativePath(dir: string, file: string): string {
  return relative(dir, file).split(sep).join('/');
}

/** Party codes an existing config lists; a config that cannot be parsed lists none (it is kept as is). */
function partiesListedIn(configFile: string): Set<string> {
  try {
    const raw = JSON.parse(readFileSync(configFile, 'utf8').replace(/^\uFEFF/, '')) as { parties?: Array<{ code?: unknown }> };
    return new Set((raw.parties ?? []).map((p) => p.code).filter((c): c is string => typeof c === 'string'));
  } catch {
    return new Set();
  }
}
