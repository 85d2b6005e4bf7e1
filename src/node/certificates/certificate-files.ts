import { X509Certificate } from 'node:crypto';
import { ConfigError } from '../../core/errors.js';
import { readNamedFile } from '../../crypto/read-named-file.js';
import { certificatesFromPem } from '../../crypto/trust-store.js';
import type { CertificateSource } from './certificate-inventory.js';

/**
 * The certificates of a PEM file (a bundle too) or of a DER certificate, as a source of the inventory.
 * `field` names the setting in refusals (`trust.caFiles[0]`, `parties[1].adapters[0]: PEC provider CA`).
 */
export function certificatesOfFile(role: string, file: string, field: string): CertificateSource {
  const bytes = readNamedFile(file, field, { kind: 'the certificate file', field });
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN '))
    return { origin: { role, source: file }, certificates: certificatesFromPem(text, `${field} (${file})`) };
  try {
    return { origin: { role, source: file }, certificates: [new X509Certificate(bytes)] };
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${field}: ${file} is neither a PEM nor a DER certificate`, { cause, field });
  }
}

/**
 * A file holding one certificate and its CA certificates after it (a TLS server's chain, as servers
 * are given it): the first in `role`, the others in `<role> chain`.
 */
export function certificateChainOfFile(role: string, file: string, field: string): CertificateSource[] {
  const { origin, certificates } = certificatesOfFile(role, file, field);
  const [first, ...rest] = certificates;
  return [
    { origin, certificates: first ? [first] : [] },
    { origin: { role: `${role} chain`, source: file }, certificates: rest },
  ];
}
