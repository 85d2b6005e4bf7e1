/**
 * The simulated provider's certificates, kept in one folder so that a restarted simulator signs with
 * the same CA its readers already trust: the provider CA (dev PKI's ca.cert.pem), the signing
 * certificate it issues (provider.cert.pem) and the self-signed STARTTLS certificate
 * (smtp-tls.cert.pem). Missing files are created; existing ones are never overwritten.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SmimeSigner } from '../../adapters/pec/smime-sign.js';
import { ConfigError } from '../core/errors.js';
import { type PemPair, createDevPki, devCaFiles, issueCertificate, writeNewFile } from '../crypto/dev-pki.js';
import { selfSignedSmtpCertificate } from './smtp-tls-certificate.js';

export interface ProviderPki {
  /** What PEC readers configure as trusted for provider signatures. */
  readonly caCertFile: string;
  readonly signer: SmimeSigner;
  readonly signerCertFile: string;
  /** STARTTLS certificate; SMTP clients trust `tlsCertFile`. */
  readonly tls: PemPair;
  readonly tlsCertFile: string;
  /** Files written by this call (empty when everything was already there). */
  readonly created: readonly string[];
}

const CA_SUBJECT = { CN: 'Tramite PEC provider simulator CA', O: 'Tramite', C: 'IT' };
const SIGNER_SUBJECT = { CN: 'Tramite PEC provider simulator - firma ricevute', O: 'Tramite', C: 'IT' };
const VALIDITY_DAYS = 825;
const HOUR_MS = 60 * 60 * 1000;
const KEY_MODE = 0o600;
const CERT_MODE = 0o644;

export function ensureProviderPki(dirOption: string, now: Date = new Date()): ProviderPki {
  const dir = resolve(dirOption);
  const created: string[] = [];
  const ca = createDevPki({ dir, parties: [], caSubject: CA_SUBJECT, now });
  if (ca.ca.created) created.push(ca.ca.certFile);
  const caPair = readPair(devCaFiles(dir));

  const signerFiles = { certFile: join(dir, 'provider.cert.pem'), keyFile: join(dir, 'provider.key.pem') };
  let signer = readPairIfPresent(signerFiles);
  if (signer) {
    const cert = new X509Certificate(signer.certPem);
    const caCert = new X509Certificate(caPair.certPem);
    if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) {
      throw new ConfigError(
        'TRAMITE_ERR_PKI_EXISTS',
        `${signerFiles.certFile} was not issued by ${ca.ca.certFile} — fix: move provider.cert.pem and provider.key.pem away to have them issued again`,
        {
          field: signerFiles.certFile,
        },
      );
    }
  } else {
    signer = issueCertificate({
      subject: SIGNER_SUBJECT,
      notBefore: new Date(now.getTime() - HOUR_MS),
      notAfter: new Date(now.getTime() + VALIDITY_DAYS * 24 * HOUR_MS),
      issuer: caPair,
    });
    writePair(signerFiles, signer);
    created.push(signerFiles.certFile);
  }

  const tlsFiles = { certFile: join(dir, 'smtp-tls.cert.pem'), keyFile: join(dir, 'smtp-tls.key.pem') };
  let tls = readPairIfPresent(tlsFiles);
  if (!tls) {
    tls = selfSignedSmtpCertificate(now);
    writePair(tlsFiles, tls);
    created.push(tlsFiles.certFile);
  }

  return { caCertFile: ca.ca.certFile, signer, signerCertFile: signerFiles.certFile, tls, tlsCertFile: tlsFiles.certFile, created };
}

function readPair(files: { certFile: string; keyFile: string }): PemPair {
  return { certPem: readFileSync(files.certFile, 'utf8'), keyPem: readFileSync(files.keyFile, 'utf8') };
}

/** Both files, or neither: one without the other is refused rather than overwritten. */
function readPairIfPresent(files: { certFile: string; keyFile: string }): PemPair | undefined {
  const cert = existsSync(files.certFile);
  const key = existsSync(files.keyFile);
  if (cert && key) return readPair(files);
  if (cert || key) {
    const [present, missing] = cert ? [files.certFile, files.keyFile] : [files.keyFile, files.certFile];
    throw new ConfigError(
      'TRAMITE_ERR_PKI_EXISTS',
      `${present} exists but ${missing} does not; it will not be overwritten — fix: restore ${missing}, or move ${present} away`,
      { field: present },
    );
  }
  return undefined;
}

function writePair(files: { certFile: string; keyFile: string }, pair: PemPair): void {
  writeNewFile(files.keyFile, pair.keyPem, KEY_MODE);
  writeNewFile(files.certFile, pair.certPem, CERT_MODE);
}
