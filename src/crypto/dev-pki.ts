import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { type X509Certificate, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { ConfigError } from '../core/errors.js';
import { type PartyRef, parsePartyCode, partyCode } from '../core/party.js';
import { type CertifiedKey, loadCertifiedKey } from './party-identity.js';

/**
 * A development PKI: one CA and one signing certificate per party, as PEM files in one folder.
 * It never overwrites a file: an existing CA is reused to sign new parties, an existing party is kept.
 */

export interface DistinguishedName {
  readonly CN: string;
  readonly O?: string;
  readonly C?: string;
}

export interface DevPkiOptions {
  readonly dir: string;
  /** Party codes `tipo/nome`; a bare `nome` means `SPC/nome`. */
  readonly parties: readonly string[];
  readonly now?: Date;
  readonly validityDays?: number;
  readonly caSubject?: DistinguishedName;
  /**
   * Folder for the CA's private key, when it must not sit beside the certificates (`tramite init` keeps
   * it out of the node's folder: a running node never needs it). Default: `dir`.
   */
  readonly caKeyDir?: string;
}

export interface PkiFileReport {
  readonly certFile: string;
  readonly keyFile: string;
  readonly created: boolean;
}

export interface DevPkiReport {
  readonly dir: string;
  readonly ca: PkiFileReport;
  readonly parties: ReadonlyArray<PkiFileReport & { readonly code: string }>;
}

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * `sign`: digitalSignature + nonRepudiation (a party signer); `ca`: keyCertSign + cRLSign;
 * `certSignOnly`: keyCertSign alone; `none`: no keyUsage extension at all; `tls`: digitalSignature +
 * keyEncipherment with extendedKeyUsage serverAuth and clientAuth (a node's TLS server and client certificate).
 */
export type KeyUsageProfile = 'sign' | 'ca' | 'certSignOnly' | 'none' | 'tls';

export interface IssueCertificateOptions {
  readonly subject: DistinguishedName;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Who signs: another certificate with its key, or the new certificate's own key. */
  readonly issuer: PemPair | 'self';
  /** basicConstraints cA (default false). */
  readonly ca?: boolean;
  /** Default: `ca` when `ca` is true, else `sign`. */
  readonly keyUsage?: KeyUsageProfile;
  /** Certify this existing RSA key instead of generating one (e.g. to renew a certificate). */
  readonly keyPem?: string;
  /** subjectAltName: DNS names and IP addresses (a TLS server certificate's hosts). */
  readonly altNames?: readonly string[];
}

export const DEV_CA_SUBJECT: DistinguishedName = { CN: 'Tramite Dev CA', O: 'Tramite', C: 'IT' };
const DEFAULT_VALIDITY_DAYS = 825;
/** Certificates start an hour early so a peer whose clock is a little behind still accepts them. */
const BACKDATE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const KEY_FILE_MODE = 0o600;
const CERT_FILE_MODE = 0o644;

/** `SPC/ComuneA` stays as is; a bare `ComuneA` means `SPC/ComuneA`. */
export function devPartyRef(code: string): PartyRef {
  const ref = parsePartyCode(code.includes('/') ? code : `SPC/${code}`);
  if (!ref) {
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_INVALID',
      `party "${code}" is not a party code — fix: write it as tipo/nome with letters, digits and '_', e.g. SPC/ComuneA (or just ComuneA)`,
      { field: 'parties' },
    );
  }
  return ref;
}

/** Where the dev PKI keeps a party's files: named after the nome only, e.g. `ComuneA.cert.pem`. */
export function devPartyFiles(dir: string, ref: Pick<PartyRef, 'nome'>): { certFile: string; keyFile: string } {
  return { certFile: join(resolve(dir), `${ref.nome}.cert.pem`), keyFile: join(resolve(dir), `${ref.nome}.key.pem`) };
}

export function devCaFiles(dir: string, keyDir: string = dir): { certFile: string; keyFile: string } {
  return { certFile: join(resolve(dir), 'ca.cert.pem'), keyFile: join(resolve(keyDir), 'ca.key.pem') };
}

export function createDevPki(opts: DevPkiOptions): DevPkiReport {
  const dir = resolve(opts.dir);
  const now = opts.now ?? new Date();
  const validityDays = opts.validityDays ?? DEFAULT_VALIDITY_DAYS;
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = new Date(now.getTime() + validityDays * DAY_MS);
  const parties = uniqueParties(opts.parties);

  // Inspect everything before writing anything, so a refusal leaves the folder as it was.
  const caFiles = devCaFiles(dir, opts.caKeyDir);
  const caExists = existingPair(caFiles);
  const partyPlans = parties.map((ref) => {
    const files = devPartyFiles(dir, ref);
    return { ref, files, exists: existingPair(files) };
  });

  let ca: CertifiedKey | undefined;
  if (caExists) {
    ca = loadCertifiedKey(caFiles.keyFile, caFiles.certFile, 'dev CA');
    if (!ca.certificate.ca) {
      throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${caFiles.certFile} is not a CA certificate (basicConstraints cA is not true)`);
    }
  }
  for (const plan of partyPlans) {
    if (!plan.exists) continue;
    if (!ca) {
      throw new ConfigError(
        'TRAMITE_ERR_PKI_EXISTS',
        `${plan.files.certFile} exists but ${caFiles.certFile} does not, so a new CA could not vouch for it — fix: restore ca.cert.pem and ca.key.pem, or move the files of ${partyCode(plan.ref)} away`,
        { field: plan.files.certFile },
      );
    }
    const party = loadCertifiedKey(plan.files.keyFile, plan.files.certFile, `party ${partyCode(plan.ref)}`);
    if (!isIssuedBy(party.certificate, ca.certificate)) {
      throw new ConfigError(
        'TRAMITE_ERR_PKI_EXISTS',
        `${plan.files.certFile} was not issued by ${caFiles.certFile} — fix: move the files of ${partyCode(plan.ref)} away to have them issued again`,
        { field: plan.files.certFile },
      );
    }
  }

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (opts.caKeyDir !== undefined) mkdirSync(opts.caKeyDir, { recursive: true, mode: 0o700 });
  let caPair: PemPair;
  if (ca) {
    caPair = { certPem: ca.certPem, keyPem: ca.keyPem };
  } else {
    caPair = issueCertificate({ subject: opts.caSubject ?? DEV_CA_SUBJECT, notBefore, notAfter, issuer: 'self', ca: true });
    writePair(caFiles, caPair);
  }

  const partyReports = partyPlans.map(({ ref, files, exists }) => {
    if (!exists) {
      const pair = issueCertificate({ subject: { CN: ref.nome, O: ref.tipo, C: 'IT' }, notBefore, notAfter, issuer: caPair });
      writePair(files, pair);
    }
    return { code: partyCode(ref), ...files, created: !exists };
  });

  return { dir, ca: { ...caFiles, created: !ca }, parties: partyReports };
}

/** Where the dev PKI keeps a node's TLS certificate (server, and client towards peers) and its key. */
export function devTlsFiles(dir: string): { certFile: string; keyFile: string } {
  return { certFile: join(resolve(dir), 'tls.cert.pem'), keyFile: join(resolve(dir), 'tls.key.pem') };
}

/**
 * The node's TLS certificate, issued by the dev CA of `dir` (made by createDevPki first): one key and
 * certificate for serverAuth and clientAuth, with the hosts as subjectAltName (`localhost`, `127.0.0.1`
 * and the listen host). Kept when it exists, like the rest of the dev PKI.
 */
export function createDevTlsCertificate(opts: {
  readonly dir: string;
  readonly caKeyDir?: string;
  readonly commonName: string;
  readonly hosts: readonly string[];
  readonly now?: Date;
  readonly validityDays?: number;
}): PkiFileReport {
  const files = devTlsFiles(opts.dir);
  if (existingPair(files)) return { ...files, created: false };
  const caFiles = devCaFiles(opts.dir, opts.caKeyDir);
  const ca = loadCertifiedKey(caFiles.keyFile, caFiles.certFile, 'dev CA');
  const now = opts.now ?? new Date();
  const pair = issueCertificate({
    subject: { CN: opts.commonName, O: 'Tramite', C: 'IT' },
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + (opts.validityDays ?? DEFAULT_VALIDITY_DAYS) * DAY_MS),
    issuer: { certPem: ca.certPem, keyPem: ca.keyPem },
    keyUsage: 'tls',
    altNames: [...new Set(['localhost', '127.0.0.1', ...opts.hosts])],
  });
  writePair(files, pair);
  return { ...files, created: true };
}

/** An X.509 v3 certificate (sha256WithRSA, RSA 2048 key) with the given dates, usage and issuer. */
export function issueCertificate(opts: IssueCertificateOptions): PemPair {
  const keyPem = opts.keyPem ?? generateRsaKeyPem();
  const subjectKey = forgeRsaKey(keyPem, 'subject key');
  const isCa = opts.ca ?? false;

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(subjectKey.n, subjectKey.e);
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = opts.notBefore;
  cert.validity.notAfter = opts.notAfter;
  cert.setSubject(dnAttributes(opts.subject));

  let signingKey: forge.pki.rsa.PrivateKey;
  let authorityKeyId: string | true;
  if (opts.issuer === 'self') {
    cert.setIssuer(dnAttributes(opts.subject));
    signingKey = subjectKey;
    authorityKeyId = true; // forge then uses the certificate's own key identifier
  } else {
    const issuerCert = forge.pki.certificateFromPem(opts.issuer.certPem);
    cert.setIssuer(issuerCert.subject.attributes);
    signingKey = forgeRsaKey(opts.issuer.keyPem, 'issuer key');
    authorityKeyId = subjectKeyIdBytes(issuerCert);
  }

  const extensions: object[] = [
    { name: 'basicConstraints', cA: isCa, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId },
  ];
  const usage = opts.keyUsage ?? (isCa ? 'ca' : 'sign');
  if (usage === 'sign') {
    extensions.push({ name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true });
    extensions.push({ name: 'extKeyUsage', clientAuth: true, serverAuth: true });
  } else if (usage === 'ca') {
    extensions.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true });
  } else if (usage === 'tls') {
    extensions.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true });
    extensions.push({ name: 'extKeyUsage', serverAuth: true, clientAuth: true });
  } else if (usage === 'certSignOnly') {
    extensions.push({ name: 'keyUsage', keyCertSign: true, critical: true });
  }
  if (opts.altNames && opts.altNames.length > 0)
    extensions.push({ name: 'subjectAltName', altNames: opts.altNames.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) });
  cert.setExtensions(extensions);
  cert.sign(signingKey, forge.md.sha256.create());

  // forge writes CRLF line ends; keep the files in the platform-neutral LF form openssl writes.
  return { certPem: forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n'), keyPem };
}

function generateRsaKeyPem(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function forgeRsaKey(keyPem: string, what: string): forge.pki.rsa.PrivateKey {
  try {
    return forge.pki.privateKeyFromPem(keyPem);
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${what}: the dev PKI signs with unencrypted RSA keys only`, { cause });
  }
}

/** 16 random bytes, high bit clear (a positive INTEGER) and first byte non-zero (minimal DER). */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}

/** The issuer's own subjectKeyIdentifier, so authorityKeyIdentifier matches it byte for byte. */
function subjectKeyIdBytes(issuer: forge.pki.Certificate): string {
  const ext = issuer.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  return ext?.subjectKeyIdentifier ? forge.util.hexToBytes(ext.subjectKeyIdentifier) : issuer.generateSubjectKeyIdentifier().getBytes();
}

/** Attributes in certificate order C, O, CN — read back most specific first: `CN=…, O=…, C=…`. */
function dnAttributes(dn: DistinguishedName): forge.pki.CertificateField[] {
  const attrs: forge.pki.CertificateField[] = [];
  if (dn.C) attrs.push({ shortName: 'C', value: dn.C });
  if (dn.O) attrs.push({ shortName: 'O', value: dn.O });
  attrs.push({ shortName: 'CN', value: dn.CN });
  return attrs;
}

function uniqueParties(codes: readonly string[]): PartyRef[] {
  const byNome = new Map<string, PartyRef>();
  for (const code of codes) {
    const ref = devPartyRef(code);
    const seen = byNome.get(ref.nome);
    if (seen && seen.tipo !== ref.tipo) {
      throw new ConfigError(
        'TRAMITE_ERR_CONFIG_INVALID',
        `parties ${partyCode(seen)} and ${partyCode(ref)} would share the files ${ref.nome}.*.pem — fix: give them different names`,
        { field: 'parties' },
      );
    }
    byNome.set(ref.nome, ref);
  }
  return [...byNome.values()];
}

/** True when both files exist, false when neither does; one without the other is refused. */
function existingPair(files: { certFile: string; keyFile: string }): boolean {
  const cert = existsSync(files.certFile);
  const key = existsSync(files.keyFile);
  if (cert !== key) {
    const [present, missing] = cert ? [files.certFile, files.keyFile] : [files.keyFile, files.certFile];
    throw new ConfigError(
      'TRAMITE_ERR_PKI_EXISTS',
      `${present} exists but ${missing} does not; it will not be overwritten — fix: restore ${missing}, or move ${present} away to have both created`,
      { field: present },
    );
  }
  return cert;
}

function isIssuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function writePair(files: { certFile: string; keyFile: string }, pair: PemPair): void {
  writeNewFile(files.keyFile, pair.keyPem, KEY_FILE_MODE);
  writeNewFile(files.certFile, pair.certPem, CERT_FILE_MODE);
}

/** Exclusive create (`wx`): even a file that appeared since the inspection is never overwritten. */
export function writeNewFile(file: string, content: string, mode: number): void {
  try {
    writeFileSync(file, content, { flag: 'wx', mode });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigError('TRAMITE_ERR_PKI_EXISTS', `${file} already exists; it will not be overwritten`, { cause, field: file });
    }
    throw new ConfigError('TRAMITE_ERR_CONFIG_UNREADABLE', `cannot write ${file} (${(cause as NodeJS.ErrnoException).code ?? cause})`, {
      cause,
    });
  }
}
