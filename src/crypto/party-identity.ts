import { readNamedFile } from './read-named-file.js';
import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import { ConfigError } from '../core/errors.js';
import { type PassphraseSource, describePassphraseSource, readPassphrase } from './keystore/passphrase.js';
import { openPkcs12, pickKeystoreEntry } from './keystore/pkcs12-keystore.js';
import { issuerChain } from './keystore/issuer-chain.js';
import { certificatesFromPem } from './trust-store.js';
import { keyMatchesCertificate } from './key-matches-certificate.js';
import { memorySigner } from './signer/memory-signer.js';
import type { Signer } from '../core/signer.js';

export { keyMatchesCertificate };

/**
 * A hosted party's Signer: the certificate peers will verify against, its chain, and the key's sign
 * operation. An in-memory key is held only as a KeyObject (a passphrase-protected key is never kept
 * decrypted as text); a PKCS#11 key stays on its token. certPem is, for PEM files, certFile as it is
 * (which may go on with CA certificates); for a keystore or a token, the party's certificate alone.
 */
export interface PartyIdentity extends Signer {
  readonly code: string;
}

/** A private key and the certificate of its public key, read from two PEM files and checked to match. */
export interface CertifiedKey {
  readonly privateKey: KeyObject;
  readonly certificate: X509Certificate;
  readonly certPem: string;
  readonly keyPem: string;
}

/** A PKCS#12 keystore as the configuration names it: the file, the passphrase's place, the key's alias. */
export interface KeystoreSource {
  readonly file: string;
  readonly passphrase: PassphraseSource;
  readonly alias?: string | undefined;
}

/** From PEM files: `keyFile` unencrypted, or encrypted (PKCS#8, or OpenSSL's traditional form) with `passphrase`. */
export function loadPartyIdentity(code: string, keyFile: string, certFile: string, passphrase?: PassphraseSource): PartyIdentity {
  return partyIdentity(code, loadPemSigningKey(keyFile, certFile, `party ${code}`, passphrase));
}

/** From a PKCS#12 keystore: the key named by `alias`, or its only key, with its certificate and their CAs. */
export function loadKeystoreIdentity(code: string, keystore: KeystoreSource): PartyIdentity {
  return partyIdentity(code, loadKeystoreSigningKey(keystore, `party ${code}`));
}

/** `signer` as party `code`'s identity (the signer may be a class instance: its methods are bound, not spread). */
export function partyIdentity(code: string, signer: Signer): PartyIdentity {
  return {
    code,
    algorithm: signer.algorithm,
    certificate: signer.certificate,
    certPem: signer.certPem,
    chain: signer.chain,
    keyDescription: signer.keyDescription,
    sign: (data, opts) => signer.sign(data, opts),
  };
}

/** loadPartyIdentity for any signer (`owner` names it in refusals, e.g. a command's options). */
export function loadPemSigningKey(keyFile: string, certFile: string, owner: string, passphrase?: PassphraseSource): Signer {
  const certPem = readPem(certFile, `${owner} certificate`);
  const certificate = parseCertificate(certPem, certFile, owner);
  const privateKey = parsePrivateKey(readPem(keyFile, `${owner} private key`), keyFile, owner, passphrase);
  checkMatch(privateKey, certificate, owner, keyFile, certFile);
  const others = certPem.match(/-----BEGIN CERTIFICATE-----/g)!.length > 1 ? certificatesFromPem(certPem, certFile).slice(1) : [];
  return memorySigner({ privateKey, certificate, certPem, chain: issuerChain(certificate, others), keyDescription: `key file ${keyFile}` });
}

/** loadKeystoreIdentity for any signer (`owner` names it in refusals). */
export function loadKeystoreSigningKey(keystore: KeystoreSource, owner: string): Signer {
  const passphrase = readPassphrase(keystore.passphrase, owner);
  const entry = pickKeystoreEntry(openPkcs12(keystore.file, passphrase, owner), keystore.file, keystore.alias, owner);
  return memorySigner({
    privateKey: entry.privateKey,
    certificate: entry.certificate,
    chain: entry.chain,
    keyDescription: `keystore ${keystore.file}${entry.alias !== undefined ? ` (alias ${entry.alias})` : ''}`,
  });
}

/** Reads and parses `keyFile` (unencrypted PEM) and `certFile`; refuses a key that is not the certificate's key. */
export function loadCertifiedKey(keyFile: string, certFile: string, owner = 'key pair'): CertifiedKey {
  const keyPem = readPem(keyFile, `${owner} private key`);
  const certPem = readPem(certFile, `${owner} certificate`);
  const privateKey = parsePrivateKey(keyPem, keyFile, owner, undefined);
  const certificate = parseCertificate(certPem, certFile, owner);
  checkMatch(privateKey, certificate, owner, keyFile, certFile);
  return { privateKey, certificate, certPem, keyPem };
}

/** PKCS#8 `ENCRYPTED PRIVATE KEY`, or a traditional OpenSSL key with `Proc-Type: 4,ENCRYPTED`. */
export function isEncryptedPem(pem: string): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(pem);
}

function parsePrivateKey(keyPem: string, keyFile: string, owner: string, passphrase: PassphraseSource | undefined): KeyObject {
  const encrypted = isEncryptedPem(keyPem);
  if (encrypted && !passphrase) {
    throw new ConfigError(
      'TRAMITE_ERR_KEY_PASSPHRASE',
      `${owner}: ${keyFile} is an encrypted private key and no passphrase is configured — fix: name the file holding it with passphraseFile, or the environment variable with passphraseEnv`,
    );
  }
  if (!encrypted && passphrase) {
    // A passphrase for a key that has none means the operator believes the key protected when it is not.
    throw new ConfigError(
      'TRAMITE_ERR_KEY_PASSPHRASE',
      `${owner}: ${keyFile} is not encrypted, yet a passphrase is configured (${describePassphraseSource(passphrase)}) — fix: encrypt the key (openssl pkcs8 -topk8 -v2 aes-256-cbc) or remove the passphrase setting`,
    );
  }
  try {
    return encrypted ? createPrivateKey({ key: keyPem, passphrase: readPassphrase(passphrase!, owner) }) : createPrivateKey(keyPem);
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    // The parser's message never includes key material or the passphrase, and ours names neither.
    if (encrypted) {
      throw new ConfigError(
        'TRAMITE_ERR_KEY_PASSPHRASE',
        `${owner}: the ${describePassphraseSource(passphrase!)} does not decrypt the private key in ${keyFile} (or the file is damaged) — fix: give the passphrase the key was encrypted with`,
        { cause },
      );
    }
    throw new ConfigError(
      'TRAMITE_ERR_KEY_INVALID',
      `${owner}: ${keyFile} is not an unencrypted PEM private key, nor an encrypted one (for which a passphrase must be configured)`,
      { cause },
    );
  }
}

function parseCertificate(certPem: string, certFile: string, owner: string): X509Certificate {
  try {
    return new X509Certificate(certPem);
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${owner}: ${certFile} is not a PEM X.509 certificate`, { cause });
  }
}

function checkMatch(privateKey: KeyObject, certificate: X509Certificate, owner: string, keyFile: string, certFile: string): void {
  if (!keyMatchesCertificate(privateKey, certificate)) {
    throw new ConfigError(
      'TRAMITE_ERR_KEY_INVALID',
      `${owner}: the private key in ${keyFile} does not belong to the certificate in ${certFile} — use the key the certificate was issued for`,
    );
  }
}

function readPem(file: string, what: string): string {
  return readNamedFile(file, what).toString('utf8');
}
