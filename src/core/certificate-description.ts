import type { X509Certificate } from 'node:crypto';

/** Subject DN on one line, most specific first (RFC 4514 order), e.g. `CN=ComuneA, O=SPC, C=IT`. */
export function describeCertificate(cert: X509Certificate): string {
  return oneLineDn(cert.subject);
}

/** Issuer DN on one line, in the same order as describeCertificate. */
export function describeIssuer(cert: X509Certificate): string {
  return oneLineDn(cert.issuer);
}

/** node prints a DN one RDN per line, in certificate order (C first); users read it reversed, on one line. */
function oneLineDn(multiline: string): string {
  return multiline
    .split('\n')
    .filter((line) => line.length > 0)
    .reverse()
    .join(', ');
}
