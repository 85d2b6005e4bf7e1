import { verify as verifySignature, type X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { toArrayBuffer } from '../rfc3161/byte-views.js';
import { readKeyUsage } from '../trust-store.js';
import { TramiteError } from '../../core/errors.js';
import { certificateLabel, invalidStatus, noStatus, reasonName, serialText, type CertificateStatus } from './certificate-status.js';
import type { RevocationPolicy } from './revocation-policy.js';
import { signatureAlgorithm } from './signature-algorithms.js';

const OID_CRL_NUMBER = '2.5.29.20';
const OID_DELTA_CRL_INDICATOR = '2.5.29.27';
const OID_ISSUING_DISTRIBUTION_POINT = '2.5.29.28';
const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
const OID_REASON_CODE = '2.5.29.21';
const OID_CERTIFICATE_ISSUER = '2.5.29.29';
/** CRL extensions this reader understands; a CRL with another critical one is refused (RFC 5280 §5.2). */
const KNOWN_CRL_EXTENSIONS = new Set([OID_CRL_NUMBER, OID_ISSUING_DISTRIBUTION_POINT, OID_AUTHORITY_KEY_IDENTIFIER]);
/** How far in the future a CRL's thisUpdate may be (the CA's clock against ours). */
const CLOCK_SKEW_MS = 5 * 60_000;

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/;

/** A CRL read and its signature checked against its issuer: who issued it, when, and which serials it revokes. */
export interface VerifiedCrl {
  /** The file or URL it came from, for messages. */
  readonly source: string;
  readonly issuerFingerprint: string;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly revoked: ReadonlyMap<string, { readonly at: Date; readonly reason?: string }>;
  /** issuingDistributionPoint scope: only end-entity or only CA certificates. */
  readonly scope: 'all' | 'users' | 'cas';
}

/** A CRL (PEM or DER) as pkijs reads it; TRAMITE_ERR_REVOCATION_INVALID when it is not one. */
export function parseCrl(bytes: Uint8Array, source: string): pkijs.CertificateRevocationList {
  let der: Uint8Array = bytes;
  const text = Buffer.from(bytes.subarray(0, Math.min(bytes.length, 64))).toString('latin1');
  if (text.includes('-----BEGIN')) {
    const match = PEM_CRL.exec(Buffer.from(bytes).toString('latin1'));
    if (!match) throw invalidStatus(`the CRL from ${source} is PEM text without an X509 CRL block`);
    der = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
  }
  try {
    // asn1js stops at 10 000 nodes by default; a CA's CRL has several per revoked certificate, and
    // real ones list tens of thousands. Every node takes at least two bytes, so this bound still
    // limits the work by the size, which fetching already caps (maxCrlBytes).
    const asn1 = asn1js.fromBER(toArrayBuffer(der), { maxNodes: Math.ceil(der.byteLength / 2) + 16 });
    if (asn1.offset === -1) throw invalidStatus(`the CRL from ${source} is not DER (${asn1.result.error})`);
    return new pkijs.CertificateRevocationList({ schema: asn1.result });
  } catch (cause) {
    if (cause instanceof TramiteError) throw cause;
    throw invalidStatus(`the CRL from ${source} cannot be read (${(cause as Error).message})`, cause);
  }
}

/**
 * Checks that `crl` was issued by `issuer` (name, cRLSign, signature; SHA-1 only when the policy allows
 * it) and is a complete CRL this reader can interpret. Dates are judged apart, by crlIsFresh.
 */
export function verifyCrl(
  crl: pkijs.CertificateRevocationList,
  issuer: X509Certificate,
  policy: RevocationPolicy,
  source: string,
): VerifiedCrl {
  const issuerPkijs = pkijs.Certificate.fromBER(issuer.raw);
  const about = `the CRL from ${source}`;
  if (!crl.issuer.isEqual(issuerPkijs.subject)) throw invalidStatus(`${about} is not issued by ${certificateLabel(issuer)}`);
  const usage = readKeyUsage(issuer);
  if (usage && !usage.names.includes('cRLSign'))
    throw invalidStatus(`${about}: its issuer ${certificateLabel(issuer)} may not sign CRLs (no cRLSign)`);
  const algorithm = signatureAlgorithm(crl.signatureAlgorithm.algorithmId);
  if (!algorithm || crl.signature.algorithmId !== crl.signatureAlgorithm.algorithmId) {
    throw invalidStatus(`${about} is signed with algorithm ${crl.signatureAlgorithm.algorithmId}, which is not accepted`);
  }
  if (algorithm.hash === 'sha1' && !policy.allowSha1Crl) {
    throw invalidStatus(
      `${about} is signed with ${algorithm.name} (SHA-1): allow it with "allowSha1Crl" in the anchor's revocation policy`,
    );
  }
  const signed = verifySignature(algorithm.hash, crl.tbsView, issuer.publicKey, crl.signatureValue.valueBlock.valueHexView);
  if (!signed) throw invalidStatus(`${about} does not verify with the key of ${certificateLabel(issuer)}`);
  let scope: VerifiedCrl['scope'] = 'all';
  for (const ext of crl.crlExtensions?.extensions ?? []) {
    if (ext.extnID === OID_DELTA_CRL_INDICATOR) throw invalidStatus(`${about} is a delta CRL, which is not supported: give the full CRL`);
    if (ext.extnID === OID_ISSUING_DISTRIBUTION_POINT && ext.parsedValue instanceof pkijs.IssuingDistributionPoint) {
      const idp = ext.parsedValue;
      if (idp.indirectCRL || idp.onlySomeReasons !== undefined || idp.onlyContainsAttributeCerts) {
        throw invalidStatus(`${about} is an indirect or partial-reason CRL, which is not supported`);
      }
      scope = idp.onlyContainsUserCerts ? 'users' : idp.onlyContainsCACerts ? 'cas' : 'all';
    } else if (ext.critical && !KNOWN_CRL_EXTENSIONS.has(ext.extnID)) {
      throw invalidStatus(`${about} has a critical extension ${ext.extnID} that is not understood`);
    }
  }
  if (!crl.nextUpdate) throw invalidStatus(`${about} has no nextUpdate (RFC 5280 requires it): its freshness cannot be judged`);
  const revoked = new Map<string, { at: Date; reason?: string }>();
  for (const entry of crl.revokedCertificates ?? []) {
    let reason: string | undefined;
    for (const ext of entry.crlEntryExtensions?.extensions ?? []) {
      if (ext.extnID === OID_CERTIFICATE_ISSUER)
        throw invalidStatus(`${about} names other issuers' certificates (indirect CRL), which is not supported`);
      if (ext.extnID === OID_REASON_CODE) reason = reasonName(reasonCode(ext));
      else if (ext.critical) throw invalidStatus(`${about} has an entry with a critical extension ${ext.extnID} that is not understood`);
    }
    const serial = serialText(Buffer.from(entry.userCertificate.valueBlock.valueHexView).toString('hex'));
    revoked.set(serial, { at: entry.revocationDate.value, ...(reason !== undefined ? { reason } : {}) });
  }
  return {
    source,
    issuerFingerprint: issuer.fingerprint256,
    thisUpdate: crl.thisUpdate.value,
    nextUpdate: crl.nextUpdate.value,
    revoked,
    scope,
  };
}

/** A CRL is fresh from its thisUpdate (with a little clock skew) until its nextUpdate. */
export function crlIsFresh(crl: VerifiedCrl, now: Date): boolean {
  return crl.thisUpdate.getTime() - CLOCK_SKEW_MS <= now.getTime() && now < crl.nextUpdate;
}

/** Whether this CRL speaks for `cert` (its issuer, and within its issuingDistributionPoint scope). */
export function crlCovers(crl: VerifiedCrl, cert: X509Certificate, issuer: X509Certificate): boolean {
  if (crl.issuerFingerprint !== issuer.fingerprint256) return false;
  return crl.scope === 'all' || (crl.scope === 'cas') === cert.ca;
}

/** What a fresh CRL says of `cert`: revoked (with when) or good. Stale → TRAMITE_ERR_CERT_STATUS_UNKNOWN. */
export function statusFromCrl(crl: VerifiedCrl, cert: X509Certificate, now: Date): CertificateStatus {
  if (!crlIsFresh(crl, now)) {
    throw noStatus(
      `the CRL from ${crl.source} for ${certificateLabel(cert)} is not fresh at ${now.toISOString()} (thisUpdate ${crl.thisUpdate.toISOString()}, nextUpdate ${crl.nextUpdate.toISOString()})`,
    );
  }
  const entry = crl.revoked.get(serialText(cert.serialNumber));
  if (entry) {
    return {
      status: 'revoked',
      source: `the CRL from ${crl.source}`,
      freshUntil: crl.nextUpdate,
      revokedAt: entry.at,
      ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
    };
  }
  return { status: 'good', source: `the CRL from ${crl.source}`, freshUntil: crl.nextUpdate };
}

function reasonCode(ext: pkijs.Extension): number | undefined {
  const value = ext.parsedValue ?? asn1js.fromBER(ext.extnValue.valueBlock.valueHexView).result;
  return value instanceof asn1js.Enumerated ? value.valueBlock.valueDec : undefined;
}
