import { readFileSync } from 'node:fs';
import { type KeyObject, X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { ConfigError } from '../core/errors.js';

/** A hosted party's signing material: the private key and the certificate peers will verify against. */
export interface PartyIdentity {
  readonly code: string;
  readonly privateKey: KeyObject;
  readonly certificate: X509Certificate;
  readonly certPem: string;
  readonly keyPem: string;
}

/** A private key and the certificate of its public key, read from two PEM files and checked to match. */
export interface CertifiedKey {
  readonly privateKey: KeyObject;
  readonly certificate: X509Certificate;
  readonly certPem: string;
  readonly keyPem: string;
}

export function loadPartyIdentity(code: string, keyFile: string, certFile: string): PartyIdentity {
  return { code, ...loadCertifiedKey(keyFile, certFile, `party ${code}`) };
}

/** Reads and parses `keyFile` and `certFile`; refuses a key that is not the certificate's key. */
export function loadCertifiedKey(keyFile: string, certFile: string, owner = 'key pair'): CertifiedKey {
  const keyPem = readPem(keyFile, `${owner} private key`);
  const certPem = readPem(certFile, `${owner} certificate`);

  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (cause) {
    // The parser's message never includes key material, but keep it out of ours anyway.
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${owner}: ${keyFile} is not an unencrypted PEM private key`, { cause });
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${owner}: ${certFile} is not a PEM X.509 certificate`, { cause });
  }

  if (!keyMatchesCertificate(privateKey, certificate)) {
    throw new ConfigError(
      'TRAMITE_ERR_KEY_INVALID',
      `${owner}: the private key in ${keyFile} does not belong to the certificate in ${certFile} — use the key the certificate was issued for`,
    );
  }
  return { privateKey, certificate, certPem, keyPem };
}

/** Compares the SubjectPublicKeyInfo DER of the key's public half with the certificate's. */
export function keyMatchesCertificate(privateKey: KeyObject, certificate: X509Certificate): boolean {
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const fromCert = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert);
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_CONFIG_UNREADABLE', `${what}: cannot read ${file} (${errnoOf(cause)})`, { cause });
  }
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? String(err);
}
