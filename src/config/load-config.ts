import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { Ajv2020, type AnySchemaObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { closest, invalidConfig, schemaProblem, type Problem } from './schema-problems.js';
import addFormats from 'ajv-formats';
import { ConfigError, TramiteError } from '../core/errors.js';
import type { TramiteCode } from '../core/error-codes.js';
import { loadKeystoreIdentity, loadPartyIdentity, partyIdentity } from '../crypto/party-identity.js';
import { openPkcs11Signer } from '../crypto/signer/pkcs11-signer.js';
import type { PassphraseSource } from '../crypto/keystore/passphrase.js';
import { DEFAULT_MODI_PATTERNS } from '../core/service-profile.js';
import { certificatesFromPem } from '../crypto/trust-store.js';
import { parseDistinguishedName } from '../crypto/certificate-names.js';
import type {
  ConfigFile,
  ConfigFileAlarms,
  ConfigFileParty,
  ConfigFileRevocation,
  ConfigFileSigner,
  HostedPartyConfig,
  NodeConfig,
} from './config-types.js';
import type { RevocationSettings } from '../crypto/revocation/revocation-settings.js';
import { parseCrl } from '../crypto/revocation/crl.js';
import { REVOCATION_DEFAULTS } from '../crypto/revocation/revocation-checker.js';
import { readPackageJson } from './package-root.js';
import { loadListenTls, loadPeerTls, tlsFiles, tlsProblems } from './tls-config.js';
import { isRestService, loadPartyPdnd, loadPdndSettings, loadRestService, restFiles, restProblems } from './rest-config.js';
import { competenceFiles, competenceSenderProblems, loadCompetenceTable } from './competence-table.js';

/**
 * Reads, validates and loads the node's configuration file. Every refusal names the field, what is
 * wrong with it and how to fix it, and lists all problems at once, so one edit can fix them all.
 */

export function loadConfig(path: string): NodeConfig {
  const configPath = resolve(path);
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${code ?? String(cause)})`;
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_UNREADABLE',
      `config file ${configPath} ${why} — fix: pass the path of an existing tramite.json with --config, or create one with tramite init`,
      { cause },
    );
  }
  return validateConfig(parseJson(text.replace(/^\uFEFF/, ''), configPath), dirname(configPath), configPath);
}

/**
 * Validates `raw` (the parsed JSON; it is not modified) and loads what it names. Relative paths are
 * resolved against `baseDir`. Throws ConfigError: TRAMITE_ERR_CONFIG_INVALID for problems in the content,
 * TRAMITE_ERR_CONFIG_UNREADABLE / TRAMITE_ERR_KEY_INVALID for files that cannot be read or parsed.
 */
export function validateConfig(raw: unknown, baseDir: string, configPath?: string): NodeConfig {
  const base = resolve(baseDir);
  const data: unknown = structuredClone(raw); // ajv's useDefaults writes into the object it checks
  const validate = configValidator();
  if (!validate(data)) {
    throw invalidConfig(
      configPath,
      // An "if" error only repeats that its then/else branch failed, which the branch's own errors say precisely.
      (validate.errors ?? []).filter((e) => e.keyword !== 'if').map((e) => schemaProblem(e)),
    );
  }
  const problems = [...semanticProblems(data), ...missingFileProblems(data, base)];
  if (problems.length > 0) throw invalidConfig(configPath, problems);
  return deepFreeze(loadMaterial(data, base, configPath));
}

// ---------------------------------------------------------------------------------------------------
// Reading

function parseJson(text: string, configPath: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const message = (cause as Error).message;
    const offset = jsonErrorOffset(text, message);
    const { line, column } = lineAndColumn(text, offset);
    // V8 appends a copy of the input to some messages; the position says more.
    const what = message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '').replace(/ (?:in JSON )?at position \d+.*$/s, '');
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_UNREADABLE',
      `config file ${configPath} is not valid JSON at line ${line}, column ${column}: ${what} — fix: correct the JSON there (comments, single quotes and trailing commas are not allowed)`,
      { cause },
    );
  }
}

/**
 * Offset of a JSON syntax error. V8 states it in most messages; when it does not, the shortest prefix
 * that JSON.parse refuses for a reason other than "input ended too soon" ends at the bad character.
 */
function jsonErrorOffset(text: string, message: string): number {
  const stated = /at position (\d+)/.exec(message);
  if (stated) return Number(stated[1]);
  const failsBeforeEnd = (length: number): boolean => {
    try {
      JSON.parse(text.slice(0, length));
      return false;
    } catch (err) {
      const m = (err as Error).message;
      if (/end of JSON input|Unterminated/.test(m)) return false;
      const at = /at position (\d+)/.exec(m);
      return !at || Number(at[1]) < length;
    }
  };
  let lo = 1;
  let hi = text.length;
  if (!failsBeforeEnd(hi)) return text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsBeforeEnd(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

// ---------------------------------------------------------------------------------------------------
// Schema validation

let compiled: ValidateFunction<ConfigFile> | undefined;

/** Compiled once per process: compiling costs far more than validating. */
function configValidator(): ValidateFunction<ConfigFile> {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, verbose: true, strict: true });
    addFormats.default(ajv, ['uri']);
    // Read from the package's schemas/ folder, the same file users and editors see.
    compiled = ajv.compile<ConfigFile>(readPackageJson<AnySchemaObject>('schemas', 'config.schema.json'));
  }
  return compiled;
}

// ---------------------------------------------------------------------------------------------------
// Checks across fields, which a schema cannot express

function semanticProblems(config: ConfigFile): Problem[] {
  const problems: Problem[] = [];

  const hostedAt = new Map<string, number>();
  config.parties.forEach((party, i) => {
    const first = hostedAt.get(party.code);
    if (first === undefined) hostedAt.set(party.code, i);
    else
      problems.push({
        path: `parties[${i}].code`,
        what: `"${party.code}" is already hosted by parties[${first}]`,
        fix: 'give each hosted party its own code, or merge the two entries',
      });
  });

  const peerAt = new Map<string, number>();
  const peerOfParty = new Map<string, string>();
  config.peers.forEach((peer, i) => {
    const first = peerAt.get(peer.name);
    if (first === undefined) peerAt.set(peer.name, i);
    else
      problems.push({
        path: `peers[${i}].name`,
        what: `"${peer.name}" is already the name of peers[${first}]`,
        fix: 'give each peer its own name',
      });
    peer.parties.forEach((code, j) => {
      const path = `peers[${i}].parties[${j}]`;
      const hosted = hostedAt.get(code);
      if (hosted !== undefined) {
        problems.push({
          path,
          what: `"${code}" is hosted by this node (parties[${hosted}])`,
          fix: `remove it from peer "${peer.name}", or stop hosting it here`,
        });
        return;
      }
      const other = peerOfParty.get(code);
      if (other !== undefined) {
        problems.push({
          path,
          what: `"${code}" is also listed by peer "${other}", so its envelopes could go to either`,
          fix: 'list each party under one peer only',
        });
        return;
      }
      peerOfParty.set(code, peer.name);
    });
  });

  const known = [...hostedAt.keys(), ...peerOfParty.keys()];
  const unknownParty = (path: string, code: string, role: string): void => {
    if (hostedAt.has(code) || peerOfParty.has(code)) return;
    const guess = closest(code, known);
    problems.push({
      path,
      what: `${role} "${code}" is neither hosted here nor listed by any peer`,
      fix: `${guess ? `did you mean "${guess}"? ` : ''}add it to "parties" (hosted here) or to the "parties" of the peer that hosts it`,
    });
  };
  const serviceAt = new Map<string, number>();
  config.services.forEach((service, i) => {
    unknownParty(`services[${i}].provider`, service.provider, 'provider');
    service.consumers?.forEach((code, j) => unknownParty(`services[${i}].consumers[${j}]`, code, 'consumer'));
    if (isRestService(service)) return; // REST APIs are keyed by name and version: rest-config.ts
    const key = `${service.provider} ${service.tipo}/${service.name}`;
    const first = serviceAt.get(key);
    if (first === undefined) serviceAt.set(key, i);
    else
      problems.push({
        path: `services[${i}]`,
        what: `service ${service.tipo}/${service.name} of ${service.provider} is already defined by services[${first}]`,
        fix: 'merge the two entries',
      });
  });

  problems.push(...correlationProblems(config.services));
  problems.push(...modiPatternProblems(config.services));
  problems.push(...adapterServiceProblems(config));
  problems.push(...signerProblems(config));
  problems.push(...tlsProblems(config));
  problems.push(...restProblems(config, new Set(hostedAt.keys())));
  problems.push(...competenceSenderProblems(config, new Set(hostedAt.keys())));
  config.parties.forEach((party, i) => problems.push(...partyKeyProblems(party, `parties[${i}]`)));

  const http = config.node.http;
  if (http.headersTimeoutMs > http.requestTimeoutMs) {
    problems.push({
      path: 'node.http.headersTimeoutMs',
      what: `${http.headersTimeoutMs} ms is longer than requestTimeoutMs (${http.requestTimeoutMs} ms), which bounds headers and body together`,
      fix: `make it at most ${http.requestTimeoutMs}, or raise requestTimeoutMs`,
    });
  }
  if (http.maxBodyBytesInFlight < config.node.limits.maxEnvelopeBytes) {
    problems.push({
      path: 'node.http.maxBodyBytesInFlight',
      what: `${http.maxBodyBytesInFlight} bytes cannot hold even one envelope of maxEnvelopeBytes (${config.node.limits.maxEnvelopeBytes})`,
      fix: `make it at least ${config.node.limits.maxEnvelopeBytes}`,
    });
  }

  if (config.log.signer !== undefined && !hostedAt.has(config.log.signer)) {
    problems.push({
      path: 'log.signer',
      what: `"${config.log.signer}" is not a hosted party`,
      fix: `name one of: ${[...hostedAt.keys()].join(', ')}`,
    });
  }
  if (config.log.store === 'postgres' && config.log.postgresUrl === undefined && !process.env['TRAMITE_LOG_POSTGRES_URL']) {
    problems.push({
      path: 'log.postgresUrl',
      what: 'store "postgres" needs a database',
      fix: 'set log.postgresUrl, or the environment variable TRAMITE_LOG_POSTGRES_URL',
    });
  }

  return problems;
}

/**
 * Asincrono simmetrico needs two services: the request service names, in correlatedService, the
 * service each consumer offers for the answer. Every simmetrico service is one of the two.
 */
function correlationProblems(services: readonly ConfigFile['services'][number][]): Problem[] {
  const problems: Problem[] = [];
  const answerServices = new Set<string>();
  services.forEach((s, i) => {
    if (isRestService(s) || s.correlatedService === undefined) return;
    if (s.profile !== 'asincronoSimmetrico') {
      problems.push({
        path: `services[${i}].correlatedService`,
        what: `a ${s.profile} service has no correlated answer`,
        fix: 'remove correlatedService, or set profile to asincronoSimmetrico',
      });
      return;
    }
    answerServices.add(s.correlatedService);
    for (const consumer of s.consumers ?? []) {
      const answer = services.find((a) => !isRestService(a) && a.provider === consumer && a.name === s.correlatedService);
      if (!answer || isRestService(answer) || answer.profile !== 'asincronoSimmetrico') {
        problems.push({
          path: `services[${i}].correlatedService`,
          what: `consumer ${consumer} offers no asincronoSimmetrico service "${s.correlatedService}" to receive the answer`,
          fix: `add a service { "provider": "${consumer}", "name": "${s.correlatedService}", "profile": "asincronoSimmetrico" }`,
        });
      }
    }
  });
  services.forEach((s, i) => {
    if (!isRestService(s) && s.profile === 'asincronoSimmetrico' && s.correlatedService === undefined && !answerServices.has(s.name)) {
      problems.push({
        path: `services[${i}]`,
        what: `asincronoSimmetrico service ${s.name} neither names its correlatedService nor is named as one`,
        fix: 'set correlatedService to the service the consumers offer for the answer',
      });
    }
  });
  return problems;
}

/** ModI patterns belong to ModI services, and name exactly one ID_AUTH pattern. */
function modiPatternProblems(services: readonly ConfigFile['services'][number][]): Problem[] {
  const problems: Problem[] = [];
  services.forEach((s, i) => {
    if (isRestService(s) || s.modiPatterns === undefined) return;
    const path = `services[${i}].modiPatterns`;
    if (s.envelope !== 'modi') {
      problems.push({ path, what: `an ${s.envelope} service has no ModI patterns`, fix: 'remove modiPatterns, or set envelope to modi' });
      return;
    }
    const idAuth = s.modiPatterns.filter((p) => p !== 'INTEGRITY_SOAP_01');
    if (idAuth.length !== 1) {
      problems.push({
        path,
        what: idAuth.length === 0 ? 'names no ID_AUTH pattern' : `names ${idAuth.join(' and ')}; a service has one ID_AUTH pattern`,
        fix: 'list exactly one of "ID_AUTH_SOAP_01", "ID_AUTH_SOAP_02", with or without "INTEGRITY_SOAP_01"',
      });
    }
  });
  return problems;
}

/** An adapter may serve only services its party provides, and each service has one adapter. */
function adapterServiceProblems(config: ConfigFile): Problem[] {
  const problems: Problem[] = [];
  config.parties.forEach((party, i) => {
    const servedBy = new Map<string, number>();
    const offered = config.services.filter((s) => !isRestService(s) && s.provider === party.code).map((s) => s.name);
    (party.adapters ?? []).forEach((adapter, j) => {
      (adapter.services ?? []).forEach((name, k) => {
        const path = `parties[${i}].adapters[${j}].services[${k}]`;
        if (!offered.includes(name)) {
          const guess = closest(name, offered);
          problems.push({
            path,
            what: `${party.code} provides no service "${name}"`,
            fix: `${guess ? `did you mean "${guess}"? ` : ''}add it to "services" with provider ${party.code}, or name one of: ${offered.join(', ') || '(none yet)'}`,
          });
        }
        const other = servedBy.get(name);
        if (other !== undefined)
          problems.push({
            path,
            what: `service "${name}" is already served by adapters[${other}]`,
            fix: 'let one adapter serve each service',
          });
        else servedBy.set(name, j);
      });
    });
  });
  return problems;
}

/** Signer bindings name the peer's own parties, and their subject and issuer are names a certificate can have. */
function signerProblems(config: ConfigFile): Problem[] {
  const problems: Problem[] = [];
  const checkNames = (signer: ConfigFileSigner, path: string): void => {
    if (!('subject' in signer)) return;
    for (const field of ['subject', 'issuer'] as const) {
      const parsed = parseDistinguishedName(signer[field]);
      if ('problem' in parsed)
        problems.push({
          path: `${path}.${field}`,
          what: `"${signer[field]}" is not a distinguished name: ${parsed.problem}`,
          fix: 'write it as RFC 4514 text, most specific first, e.g. "CN=RegioneAbruzzo, O=Regione Abruzzo, C=IT"',
        });
    }
  };
  config.parties.forEach((party, i) => party.signers?.forEach((signer, j) => checkNames(signer, `parties[${i}].signers[${j}]`)));
  config.peers.forEach((peer, i) =>
    peer.signers?.forEach((signer, j) => {
      const path = `peers[${i}].signers[${j}]`;
      if (!peer.parties.includes(signer.party))
        problems.push({
          path: `${path}.party`,
          what: `"${signer.party}" is not one of peer "${peer.name}"'s parties`,
          fix: `name one of: ${peer.parties.join(', ')}`,
        });
      checkNames(signer, path);
    }),
  );
  return problems;
}

/**
 * A party's key comes from one place: keyFile + certFile, or a keystore; a passphrase from one place:
 * a file or an environment variable (a keystore always has one).
 */
function partyKeyProblems(party: ConfigFileParty, path: string): Problem[] {
  const problems: Problem[] = [];
  const onePassphrase = (where: { passphraseFile?: string; passphraseEnv?: string }, at: string): void => {
    if (where.passphraseFile !== undefined && where.passphraseEnv !== undefined)
      problems.push({
        path: `${at}.passphraseEnv`,
        what: 'is given together with passphraseFile',
        fix: 'keep one of the two: the passphrase is read from one place',
      });
  };
  if (party.pkcs11 !== undefined) {
    const p = party.pkcs11;
    for (const field of ['keyFile', 'certFile', 'passphraseFile', 'passphraseEnv', 'keystore'] as const) {
      if (party[field] !== undefined)
        problems.push({
          path: `${path}.${field}`,
          what: 'is given together with pkcs11',
          fix: 'remove it: the key is on the token (or remove pkcs11)',
        });
    }
    const exactlyOne = (a: keyof typeof p, b: keyof typeof p, what: string): void => {
      if ((p[a] === undefined) === (p[b] === undefined))
        problems.push({ path: `${path}.pkcs11`, what: `needs exactly one of ${a} and ${b}`, fix: `name ${what} with one of them` });
    };
    exactlyOne('tokenLabel', 'slot', 'the token');
    exactlyOne('pinFile', 'pinEnv', "where the token's PIN is");
    exactlyOne('keyLabel', 'keyId', 'the private key');
    return problems;
  }
  if (party.keystore !== undefined) {
    for (const field of ['keyFile', 'certFile', 'passphraseFile', 'passphraseEnv'] as const) {
      if (party[field] !== undefined)
        problems.push({
          path: `${path}.${field}`,
          what: 'is given together with keystore',
          fix: `remove it: the key, its certificate${field.startsWith('passphrase') ? ' and its passphrase' : ''} come from the keystore (or remove keystore)`,
        });
    }
    onePassphrase(party.keystore, `${path}.keystore`);
    if (party.keystore.passphraseFile === undefined && party.keystore.passphraseEnv === undefined)
      problems.push({
        path: `${path}.keystore`,
        what: 'names no passphrase',
        fix: 'add "passphraseFile" (a file only the node can read) or "passphraseEnv" (an environment variable), holding the keystore\'s passphrase',
      });
    return problems;
  }
  for (const field of ['keyFile', 'certFile'] as const) {
    if (party[field] === undefined)
      problems.push({
        path: `${path}.${field}`,
        what: 'is missing',
        fix: `add "${field}" (${field === 'keyFile' ? "the party's private key, PEM" : "the party's certificate, PEM"}), or give the key and certificate as a PKCS#12 "keystore" instead`,
      });
  }
  onePassphrase(party, path);
  return problems;
}

/** Every file the config names, with the field that names it. */
function namedFiles(config: ConfigFile): Array<{ path: string; file: string }> {
  return [
    ...config.trust.caFiles.map((file, i) => ({ path: `trust.caFiles[${i}]`, file })),
    ...(config.trust.revocation?.anchors ?? []).map((a, i) => ({ path: `trust.revocation.anchors[${i}].caFile`, file: a.caFile })),
    ...(config.trust.revocation?.crlFiles ?? []).map((file, i) => ({ path: `trust.revocation.crlFiles[${i}]`, file })),
    ...config.parties.flatMap((p, i) =>
      (
        [
          [`parties[${i}].keyFile`, p.keyFile],
          [`parties[${i}].certFile`, p.certFile],
          [`parties[${i}].passphraseFile`, p.passphraseFile],
          [`parties[${i}].keystore.file`, p.keystore?.file],
          [`parties[${i}].keystore.passphraseFile`, p.keystore?.passphraseFile],
          [`parties[${i}].pkcs11.pinFile`, p.pkcs11?.pinFile],
          [`parties[${i}].pkcs11.certificateFile`, p.pkcs11?.certificateFile],
        ] as const
      ).flatMap(([path, file]) => (file === undefined ? [] : [{ path, file }])),
    ),
    ...config.peers.flatMap((p, i) => (p.caFile === undefined ? [] : [{ path: `peers[${i}].caFile`, file: p.caFile }])),
    ...(config.log.tsa?.caFile === undefined ? [] : [{ path: 'log.tsa.caFile', file: config.log.tsa.caFile }]),
    ...config.parties.flatMap((p, i) => (p.notify ? [{ path: `parties[${i}].notify.secretFile`, file: p.notify.secretFile }] : [])),
    ...tlsFiles(config),
    ...restFiles(config),
    ...competenceFiles(config),
  ];
}

function missingFileProblems(config: ConfigFile, baseDir: string): Problem[] {
  const problems: Problem[] = [];
  for (const { path, file } of namedFiles(config)) {
    const absolute = resolve(baseDir, file);
    const relativeHint = isAbsolute(file) ? '' : ` (relative paths start from ${baseDir})`;
    let isFile: boolean;
    try {
      isFile = statSync(absolute).isFile();
    } catch {
      problems.push({
        path,
        what: `file ${absolute} does not exist`,
        fix: `correct the path${relativeHint}, or create the file (tramite init makes a development PKI)`,
      });
      continue;
    }
    if (!isFile) problems.push({ path, what: `${absolute} is not a file`, fix: `name a PEM file${relativeHint}` });
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Loading

function loadMaterial(config: ConfigFile, baseDir: string, configPath: string | undefined): NodeConfig {
  const abs = (file: string): string => resolve(baseDir, file);
  const caFiles = config.trust.caFiles.map(abs);
  const { tls: listenTlsFile, ...listen } = config.node.listen;
  const listenTls = listenTlsFile && loadListenTls(listenTlsFile, abs);
  const hosted = new Set(config.parties.map((p) => p.code));
  return {
    configPath,
    baseDir,
    node: { ...config.node, dataDir: abs(config.node.dataDir), listen: { ...listen, ...(listenTls ? { tls: listenTls } : {}) } },
    trust: {
      caFiles,
      anchors: caFiles.flatMap((file, i) => withField(`trust.caFiles[${i}]`, () => readCertificates(file))),
      ...(config.trust.revocation ? { revocation: loadRevocation(config.trust.revocation, abs) } : {}),
    },
    parties: config.parties.map((party, i) => {
      const { notify: notifyFile, pdnd: _pdnd, ...rest } = party;
      const notify = notifyFile ? loadNotify(notifyFile, abs, i) : undefined;
      const key = loadPartyKey(party, abs, `parties[${i}]`);
      const pdnd = loadPartyPdnd(party, key.identity, abs, `parties[${i}].pdnd`);
      return { ...rest, ...key, ...(notify ? { notify } : {}), ...(pdnd ? { pdnd } : {}) };
    }),
    peers: config.peers.map((peer, i) => {
      const caFile = peer.caFile === undefined ? undefined : abs(peer.caFile);
      const caCertificates = caFile === undefined ? [] : withField(`peers[${i}].caFile`, () => readCertificates(caFile));
      const { tls, ...rest } = peer;
      const loadedTls = tls && loadPeerTls(tls, abs, `peers[${i}].tls`, listenTls);
      return { ...rest, ...(caFile === undefined ? {} : { caFile }), caCertificates, ...(loadedTls ? { tls: loadedTls } : {}) };
    }),
    // A ModI service that declares no patterns keeps the node's historical ones.
    services: config.services.flatMap((s) =>
      isRestService(s)
        ? []
        : [s.envelope === 'modi' && s.modiPatterns === undefined ? { ...s, modiPatterns: [...DEFAULT_MODI_PATTERNS] } : s],
    ),
    restServices: config.services.flatMap((s) => (isRestService(s) ? [loadRestService(s, config, hosted)] : [])),
    ...(config.pdnd ? { pdnd: withField('pdnd', () => loadPdndSettings(config.pdnd!, abs)) } : {}),
    // Built here, with the registry's parties, so that whatever rebuilds the registry from a config rebuilds the table too.
    ...(config.competence
      ? {
          competence: {
            table: loadCompetenceTable(config.competence, abs, [...hosted, ...config.peers.flatMap((p) => p.parties)], configPath),
            senders: [...config.competence.senders],
          },
        }
      : {}),
    queue: config.queue,
    alarms: alarmsWithAbsolutePaths(config.alarms, abs),
    log: {
      ...config.log,
      sqliteFile: resolve(abs(config.node.dataDir), config.log.sqliteFile),
      ...(config.log.tsa ? { tsa: { ...config.log.tsa, ...(config.log.tsa.caFile ? { caFile: abs(config.log.tsa.caFile) } : {}) } } : {}),
    },
  };
}

/** `alarms` with the files it names (webhook secret, SMTP password and CA) made absolute; they are read when the node starts. */
function alarmsWithAbsolutePaths(a: ConfigFileAlarms, abs: (f: string) => string): ConfigFileAlarms {
  const { webhook, email } = a;
  return {
    ...a,
    ...(webhook ? { webhook: { ...webhook, ...(webhook.secretFile ? { secretFile: abs(webhook.secretFile) } : {}) } } : {}),
    ...(email
      ? {
          email: {
            ...email,
            smtp: {
              ...email.smtp,
              ...(email.smtp.passwordFile ? { passwordFile: abs(email.smtp.passwordFile) } : {}),
              ...(email.smtp.caFile ? { caFile: abs(email.smtp.caFile) } : {}),
            },
          },
        }
      : {}),
  };
}

/** `trust.revocation` with its defaults (docs/operators.md, "Revocation"): an absent mode is off, so an old file checks nothing new. */
function loadRevocation(r: ConfigFileRevocation, abs: (f: string) => string): RevocationSettings {
  return {
    mode: r.mode ?? 'off',
    allowSha1Crl: r.allowSha1Crl ?? false,
    anchors: (r.anchors ?? []).map((a, i) => {
      const caFile = abs(a.caFile);
      return {
        caFile,
        certificates: withField(`trust.revocation.anchors[${i}].caFile`, () => readCertificates(caFile)),
        mode: a.mode,
        allowSha1Crl: a.allowSha1Crl ?? false,
      };
    }),
    // Read once here so a file that is no CRL is refused at start, with its field; the checker reads them again as they change.
    crlFiles: (r.crlFiles ?? []).map((file, i) => {
      const path = abs(file);
      withField(`trust.revocation.crlFiles[${i}]`, () => parseCrl(readFileSync(path), path));
      return path;
    }),
    ocsp: r.ocsp ?? REVOCATION_DEFAULTS.ocsp,
    fetchCrls: r.fetchCrls ?? REVOCATION_DEFAULTS.fetchCrls,
    timeoutMs: r.timeoutMs ?? REVOCATION_DEFAULTS.timeoutMs,
    maxCrlBytes: r.maxCrlBytes ?? REVOCATION_DEFAULTS.maxCrlBytes,
    maxCacheSeconds: r.maxCacheSeconds ?? REVOCATION_DEFAULTS.maxCacheSeconds,
    failureCacheSeconds: r.failureCacheSeconds ?? REVOCATION_DEFAULTS.failureCacheSeconds,
  };
}

/**
 * The party's key, certificate and chain, from its PEM files or its keystore, with the config's paths
 * made absolute. The passphrase is read, used and dropped: the loaded config keeps where it is, never it.
 */
function loadPartyKey(
  party: ConfigFileParty,
  abs: (f: string) => string,
  path: string,
): Pick<HostedPartyConfig, 'identity' | 'keyFile' | 'certFile' | 'passphraseFile' | 'keystore' | 'pkcs11'> {
  const passphrase = (where: { passphraseFile?: string; passphraseEnv?: string }): PassphraseSource | undefined =>
    where.passphraseFile !== undefined
      ? { file: abs(where.passphraseFile) }
      : where.passphraseEnv !== undefined
        ? { env: where.passphraseEnv }
        : undefined;
  if (party.pkcs11) {
    const p = party.pkcs11;
    // partyKeyProblems made sure exactly one of each pair is given.
    const source = {
      module: p.module,
      tokenLabel: p.tokenLabel,
      slot: p.slot,
      pin: p.pinFile !== undefined ? { file: abs(p.pinFile) } : { env: p.pinEnv! },
      keyLabel: p.keyLabel,
      keyId: p.keyId,
      certificateFile: p.certificateFile !== undefined ? abs(p.certificateFile) : undefined,
    };
    return {
      pkcs11: {
        ...p,
        ...(p.pinFile !== undefined ? { pinFile: abs(p.pinFile) } : {}),
        ...(p.certificateFile !== undefined ? { certificateFile: abs(p.certificateFile) } : {}),
      },
      identity: withField(`${path}.pkcs11`, () => partyIdentity(party.code, openPkcs11Signer(source, `party ${party.code}`))),
    };
  }
  if (party.keystore) {
    const keystore = {
      ...party.keystore,
      file: abs(party.keystore.file),
      ...(party.keystore.passphraseFile !== undefined ? { passphraseFile: abs(party.keystore.passphraseFile) } : {}),
    };
    // partyKeyProblems made sure the keystore names its passphrase.
    const source = { file: keystore.file, passphrase: passphrase(keystore)!, alias: keystore.alias };
    return { keystore, identity: withField(`${path}.keystore`, () => loadKeystoreIdentity(party.code, source)) };
  }
  const keyFile = abs(party.keyFile!);
  const certFile = abs(party.certFile!);
  const identity = withField(path, () => loadPartyIdentity(party.code, keyFile, certFile, passphrase(party)));
  return { keyFile, certFile, ...(party.passphraseFile !== undefined ? { passphraseFile: abs(party.passphraseFile) } : {}), identity };
}

/** Reads a webhook secret from its file: the secret lives there, never in the config or the logs. */
function loadNotify(
  n: { url: string; secretFile: string },
  abs: (f: string) => string,
  i: number,
): { url: string; secretFile: string; secret: string } {
  const secretFile = abs(n.secretFile);
  let secret: string;
  try {
    secret = readFileSync(secretFile, 'utf8').trim();
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_CONFIG_UNREADABLE', `config parties[${i}].notify.secretFile: cannot read ${secretFile}`, {
      cause,
      field: `parties[${i}].notify.secretFile`,
    });
  }
  if (secret.length < 16) {
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_INVALID',
      `config parties[${i}].notify.secretFile: the secret is shorter than 16 characters — fix: put a long random secret there (e.g. openssl rand -hex 32)`,
      { field: `parties[${i}].notify.secretFile` },
    );
  }
  return { url: n.url, secretFile, secret };
}

function readCertificates(file: string): X509Certificate[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_UNREADABLE',
      `cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`,
      { cause },
    );
  }
  return certificatesFromPem(text, file);
}

const FILE_CODES: ReadonlySet<TramiteCode> = new Set<TramiteCode>([
  'TRAMITE_ERR_CONFIG_UNREADABLE',
  'TRAMITE_ERR_KEY_INVALID',
  'TRAMITE_ERR_KEY_PASSPHRASE',
  'TRAMITE_ERR_REVOCATION_INVALID',
  'TRAMITE_ERR_KEYSTORE_ALIAS',
]);

/** Re-throws a loading error with the config field in front, keeping its code. */
function withField<T>(field: string, load: () => T): T {
  try {
    return load();
  } catch (cause) {
    const code = cause instanceof TramiteError ? (cause.code as TramiteCode) : undefined;
    if (code !== undefined && FILE_CODES.has(code)) {
      throw new ConfigError(code, `config ${field}: ${(cause as Error).message}`, { cause, field });
    }
    throw cause;
  }
}

/** Freezes plain objects and arrays all the way down; certificates and keys are immutable already. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (Array.isArray(value) || proto === Object.prototype || proto === null) {
      Object.freeze(value);
      for (const child of Object.values(value as object)) deepFreeze(child);
    }
  }
  return value;
}
