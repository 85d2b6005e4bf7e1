import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { Problem } from './schema-problems.js';
import type {
  ConfigFile,
  ConfigFilePdndKey,
  ConfigFileParty,
  ConfigFileRestService,
  ConfigFileService,
  PartyPdnd,
  PdndClientKey,
  PdndSettings,
  RestServiceConfig,
} from './config-types.js';
import type { PartyIdentity } from '../crypto/party-identity.js';
import { readKeyFile } from '../crypto/keystore/key-file.js';
import type { PassphraseSource } from '../crypto/keystore/passphrase.js';
import { ConfigError } from '../core/errors.js';

/*
 * The REST half of the config: `services[]` entries with an `api` block, `parties[].pdnd` and the
 * top-level `pdnd`. Kept apart from load-config.ts so the SOAP services and their checks stay as they were.
 */

export function isRestService(s: ConfigFileService | ConfigFileRestService): s is ConfigFileRestService {
  return 'api' in s && s.api !== undefined;
}

/** Checks across fields the schema cannot express, for REST APIs and PDND. `hosted`: the parties hosted here. */
export function restProblems(config: ConfigFile, hosted: ReadonlySet<string>): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  config.services.forEach((s, i) => {
    if (!isRestService(s)) return;
    const path = `services[${i}]`;
    const key = `${s.provider} ${s.name} ${s.api.version}`;
    const first = seen.get(key);
    if (first !== undefined)
      problems.push({
        path,
        what: `API ${s.name} ${s.api.version} of ${s.provider} is already defined by services[${first}]`,
        fix: 'merge the two entries, or give one another version',
      });
    else seen.set(key, i);
    const profiles = s.api.profiles;
    const idAuth = profiles.filter((p) => p.startsWith('ID_AUTH_'));
    const integrity = profiles.filter((p) => p.startsWith('INTEGRITY_'));
    const audit = profiles.filter((p) => p.startsWith('AUDIT_'));
    if (idAuth.length !== 1)
      problems.push({
        path: `${path}.api.profiles`,
        what: `${idAuth.length} ID_AUTH patterns`,
        fix: 'name exactly one: ID_AUTH_REST_01 or ID_AUTH_REST_02',
      });
    if (integrity.length > 1 || audit.length > 1)
      problems.push({ path: `${path}.api.profiles`, what: 'more than one INTEGRITY or AUDIT pattern', fix: 'name at most one of each' });
    const pdnd = s.api.pdnd !== undefined;
    const needsPdnd = profiles.filter((p) => p === 'INTEGRITY_REST_02' || p === 'AUDIT_REST_02');
    if (!pdnd && needsPdnd.length > 0)
      problems.push({
        path: `${path}.api`,
        what: `${needsPdnd.join(' and ')} work only with PDND vouchers`,
        fix: 'add a pdnd block with the purposeId, or use INTEGRITY_REST_01 / AUDIT_REST_01',
      });
    if (pdnd && idAuth[0] === 'ID_AUTH_REST_02' && integrity.length === 0)
      problems.push({
        path: `${path}.api.profiles`,
        what: 'with PDND, Authorization carries the voucher, so ID_AUTH_REST_02 needs an INTEGRITY pattern whose token is single-use',
        fix: 'add INTEGRITY_REST_01 (or INTEGRITY_REST_02), or use ID_AUTH_REST_01',
      });
    if (pdnd && config.pdnd === undefined)
      problems.push({
        path: `${path}.api.pdnd`,
        what: 'no PDND is configured',
        fix: 'add the top-level pdnd block (token endpoint, JWKS, issuer)',
      });
    if (hosted.has(s.provider)) {
      if (s.api.upstream === undefined)
        problems.push({
          path: `${path}.api`,
          what: `the provider ${s.provider} is hosted here, so requests need a back office to go to`,
          fix: 'add api.upstream.url',
        });
      const party = config.parties.find((p) => p.code === s.provider);
      if (pdnd && needsPdnd.length > 0 && config.pdnd?.apiUrl === undefined)
        problems.push({
          path: 'pdnd.apiUrl',
          what: `${s.name} verifies PDND-keyed tokens (${needsPdnd.join(', ')}), which are looked up on PDND's API`,
          fix: 'set pdnd.apiUrl',
        });
      if (pdnd && needsPdnd.length > 0 && party?.pdnd?.api === undefined)
        problems.push({
          path: `parties[${config.parties.indexOf(party!)}].pdnd.api`,
          what: `${s.provider} looks up PDND keys for ${s.name} with its API-interoperabilità client`,
          fix: 'add pdnd.api (clientId, kid) to the party',
        });
    } else if (pdnd) {
      if (integrity[0] === 'INTEGRITY_REST_02') {
        if (s.api.pdnd!.providerClientId === undefined)
          problems.push({
            path: `${path}.api.pdnd.providerClientId`,
            what: `${s.name}'s responses are signed with the provider's PDND key, and nothing says whose key that must be`,
            fix: "set the provider's PDND client id (from the e-service's documentation)",
          });
        if (config.pdnd?.apiUrl === undefined)
          problems.push({
            path: 'pdnd.apiUrl',
            what: `${s.name}'s responses are signed with PDND keys, looked up on PDND's API`,
            fix: 'set pdnd.apiUrl',
          });
      }
      for (const consumer of s.consumers ?? config.parties.map((p) => p.code)) {
        const at = config.parties.findIndex((p) => p.code === consumer);
        if (at >= 0 && config.parties[at]!.pdnd === undefined && s.consumers !== undefined)
          problems.push({
            path: `parties[${at}].pdnd`,
            what: `${consumer} calls ${s.name}, which needs a PDND voucher`,
            fix: "add the party's pdnd block (tenantId, clientId, kid)",
          });
      }
    }
  });
  config.parties.forEach((party, i) => {
    if (party.pdnd && config.pdnd === undefined)
      problems.push({ path: `parties[${i}].pdnd`, what: 'no PDND is configured', fix: 'add the top-level pdnd block, or remove this one' });
    for (const [where, key] of [
      [`parties[${i}].pdnd`, party.pdnd],
      [`parties[${i}].pdnd.api`, party.pdnd?.api],
    ] as const)
      if (key && key.passphraseFile !== undefined && key.passphraseEnv !== undefined)
        problems.push({ path: `${where}.passphraseFile`, what: 'both passphraseFile and passphraseEnv are given', fix: 'keep one' });
  });
  return problems;
}

/** The files REST/PDND settings name, for the missing-file check. */
export function restFiles(config: ConfigFile): Array<{ path: string; file: string }> {
  const files: Array<{ path: string; file: string }> = [];
  if (config.pdnd?.caFile !== undefined) files.push({ path: 'pdnd.caFile', file: config.pdnd.caFile });
  config.parties.forEach((p, i) => {
    for (const [where, key] of [
      [`parties[${i}].pdnd`, p.pdnd],
      [`parties[${i}].pdnd.api`, p.pdnd?.api],
    ] as const) {
      if (key?.keyFile !== undefined) files.push({ path: `${where}.keyFile`, file: key.keyFile });
      if (key?.passphraseFile !== undefined) files.push({ path: `${where}.passphraseFile`, file: key.passphraseFile });
    }
  });
  return files;
}

/** A REST API with its defaults: the provider's URL for one provided on a peer, PDND's audience and purposes. */
export function loadRestService(s: ConfigFileRestService, config: ConfigFile, hosted: ReadonlySet<string>): RestServiceConfig {
  const { pdnd, audit, url, ...api } = s.api;
  const peer = hosted.has(s.provider) ? undefined : config.peers.find((p) => p.parties.includes(s.provider));
  const defaultUrl = peer
    ? `${new URL(peer.url).origin}/rest/in/${encodeURIComponent(s.name)}/${encodeURIComponent(s.api.version)}`
    : undefined;
  const providerUrl = url ?? defaultUrl;
  return {
    ...s,
    api: {
      ...api,
      ...(providerUrl !== undefined ? { url: providerUrl.replace(/\/+$/, '') } : {}),
      ...(api.upstream ? { upstream: { ...api.upstream, url: api.upstream.url.replace(/\/+$/, '') } } : {}),
      audit: { claims: audit?.claims ?? ['userID', 'userLocation', 'LoA'] },
      ...(pdnd ? { pdnd: { ...pdnd, audience: pdnd.audience ?? s.api.audience, purposes: pdnd.purposes ?? [pdnd.purposeId] } } : {}),
    },
  };
}

/** Top-level pdnd with its CA read. */
export function loadPdndSettings(pdnd: NonNullable<ConfigFile['pdnd']>, abs: (f: string) => string): PdndSettings {
  if (pdnd.caFile === undefined) return pdnd;
  const caFile = abs(pdnd.caFile);
  const text = readFileSync(caFile, 'utf8');
  const caPem = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (caPem.length === 0)
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_INVALID',
      `config pdnd.caFile: ${caFile} holds no PEM certificate — fix: name the CA file PDND's certificates chain to`,
      {
        field: 'pdnd.caFile',
      },
    );
  for (const pem of caPem) new X509Certificate(pem);
  return { ...pdnd, caFile, caPem };
}

/** The party's PDND clients with their keys: each key file's, or the party's own signing key. */
export function loadPartyPdnd(
  party: ConfigFileParty,
  identity: PartyIdentity,
  abs: (f: string) => string,
  path: string,
): PartyPdnd | undefined {
  const p = party.pdnd;
  if (!p) return undefined;
  const key = (k: ConfigFilePdndKey, clientId: string, where: string): PdndClientKey => {
    if (k.keyFile === undefined) {
      if (identity.certificate.publicKey.asymmetricKeyType !== 'rsa')
        throw new ConfigError(
          'TRAMITE_ERR_CONFIG_INVALID',
          `config ${where}: PDND signs only with RSA keys (RS256), and ${party.code}'s own key is not one — fix: give ${where}.keyFile, an RSA key`,
          {
            field: `${where}.keyFile`,
          },
        );
      return { clientId, kid: k.kid, privateKey: identity };
    }
    const passphrase: PassphraseSource | undefined =
      k.passphraseFile !== undefined
        ? { file: abs(k.passphraseFile) }
        : k.passphraseEnv !== undefined
          ? { env: k.passphraseEnv }
          : undefined;
    const contents = readKeyFile(abs(k.keyFile), { passphrase });
    if (!contents.privateKey || contents.privateKey.asymmetricKeyType !== 'rsa')
      throw new ConfigError(
        'TRAMITE_ERR_CONFIG_INVALID',
        `config ${where}.keyFile: ${abs(k.keyFile)} holds no RSA private key — fix: name the RSA key whose public half is uploaded to the PDND client`,
        {
          field: `${where}.keyFile`,
        },
      );
    return { clientId, kid: k.kid, privateKey: contents.privateKey };
  };
  return {
    tenantId: p.tenantId,
    client: key(p, p.clientId, path),
    ...(p.api ? { api: key(p.api, p.api.clientId, `${path}.api`) } : {}),
  };
}
