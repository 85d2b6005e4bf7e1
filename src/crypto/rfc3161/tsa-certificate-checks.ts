/**
 * What binds the signer certificate to a token and makes it a TSA's: the ESS signing-certificate
 * attribute (RFC 3161 §2.4.1, RFC 5816) and the time-stamping key usage (RFC 3161 §2.3).
 */
import { createHash, type X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { bytesEqual } from './byte-views.js';
import {
  HASH_OIDS,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_KP_TIME_STAMPING,
  OID_SHA1,
  OID_SHA256,
  OID_SIGNING_CERTIFICATE,
  OID_SIGNING_CERTIFICATE_V2,
} from './rfc3161-oids.js';
import { errorText, tsaError } from './tsa-error.js';

/**
 * The SignerInfo must carry a SigningCertificate (ESSCertID, SHA-1) or SigningCertificateV2
 * (ESSCertIDv2) attribute whose first entry is the hash of the signer certificate, so a certificate
 * cannot be swapped for another with the same key.
 */
export function checkSigningCertificateAttribute(signerInfo: pkijs.SignerInfo, signerDer: Uint8Array, tsa: string): void {
  const attrs = signerInfo.signedAttrs?.attributes ?? [];
  const v2 = attrs.find((a) => a.type === OID_SIGNING_CERTIFICATE_V2);
  const v1 = attrs.find((a) => a.type === OID_SIGNING_CERTIFICATE);
  const attr = v2 ?? v1;
  if (!attr) {
    throw tsaError(
      'time-stamp token has no ESS signing-certificate attribute (SigningCertificate or SigningCertificateV2), required by RFC 3161',
    );
  }
  let hashOid: string;
  let certHash: Uint8Array;
  try {
    // SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies OPTIONAL }
    const value = attr.values[0] as asn1js.Sequence;
    const certs = value.valueBlock.value[0] as asn1js.Sequence;
    const first = certs.valueBlock.value[0] as asn1js.Sequence;
    const parts = first.valueBlock.value;
    if (attr === v2) {
      // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT sha256, certHash OCTET STRING, issuerSerial OPTIONAL }
      if (parts[0] instanceof asn1js.Sequence) {
        hashOid = new pkijs.AlgorithmIdentifier({ schema: parts[0] }).algorithmId;
        certHash = (parts[1] as asn1js.OctetString).valueBlock.valueHexView;
      } else {
        hashOid = OID_SHA256;
        certHash = (parts[0] as asn1js.OctetString).valueBlock.valueHexView;
      }
    } else {
      // ESSCertID ::= SEQUENCE { certHash OCTET STRING (SHA-1), issuerSerial OPTIONAL }
      hashOid = OID_SHA1;
      certHash = (parts[0] as asn1js.OctetString).valueBlock.valueHexView;
    }
    if (!(certHash instanceof Uint8Array)) throw tsaError('certHash is not an OCTET STRING');
  } catch (cause) {
    throw tsaError(`time-stamp token ESS signing-certificate attribute is malformed: ${errorText(cause)}`, cause);
  }
  const hashName = HASH_OIDS[hashOid];
  if (!hashName) throw tsaError(`time-stamp token ESS signing-certificate attribute uses unsupported hash ${hashOid}`);
  if (!bytesEqual(createHash(hashName).update(signerDer).digest(), certHash)) {
    throw tsaError(`time-stamp token ESS signing-certificate attribute does not name the certificate "${tsa}" that signed it`);
  }
}

/**
 * The TSA certificate has exactly one extendedKeyUsage, critical, with only id-kp-timeStamping; a
 * keyUsage, if present, must allow digitalSignature or nonRepudiation.
 */
export function checkTimeStampingUsage(cert: pkijs.Certificate, tsa: string): void {
  const extensions = cert.extensions ?? [];
  const eku = extensions.filter((e) => e.extnID === OID_EXT_KEY_USAGE);
  if (eku.length === 0) throw tsaError(`TSA certificate "${tsa}" has no extendedKeyUsage; id-kp-timeStamping is required`);
  if (eku.length > 1) throw tsaError(`TSA certificate "${tsa}" has ${eku.length} extendedKeyUsage extensions; exactly one is allowed`);
  const ext = eku[0]!;
  const purposes = ext.parsedValue instanceof pkijs.ExtKeyUsage ? ext.parsedValue.keyPurposes : undefined;
  if (!purposes) throw tsaError(`TSA certificate "${tsa}" has an unreadable extendedKeyUsage extension`);
  if (!purposes.includes(OID_KP_TIME_STAMPING)) {
    throw tsaError(
      `TSA certificate "${tsa}" extendedKeyUsage (${purposes.join(', ')}) does not include id-kp-timeStamping (${OID_KP_TIME_STAMPING})`,
    );
  }
  if (purposes.length !== 1) {
    throw tsaError(`TSA certificate "${tsa}" extendedKeyUsage (${purposes.join(', ')}) must hold id-kp-timeStamping only`);
  }
  if (!ext.critical) throw tsaError(`TSA certificate "${tsa}" extendedKeyUsage is not marked critical, as RFC 3161 requires`);
  const ku = extensions.find((e) => e.extnID === OID_KEY_USAGE);
  if (ku?.parsedValue instanceof asn1js.BitString) {
    const first = new Uint8Array(ku.parsedValue.valueBlock.valueHexView)[0] ?? 0;
    // bit 0 digitalSignature (0x80), bit 1 nonRepudiation (0x40)
    if ((first & 0xc0) === 0) {
      throw tsaError(`TSA certificate "${tsa}" keyUsage allows neither digitalSignature nor nonRepudiation`);
    }
  }
}

/**
 * The TSA certificate's issuer path (TSA first, anchor last), for its revocation check: pkijs validated
 * the chain already; this finds the same path as node certificates. Undefined when none reaches an anchor.
 */
export function tsaIssuerPath(
  signer: X509Certificate,
  tokenCerts: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
): X509Certificate[] | undefined {
  const isAnchor = (c: X509Certificate): boolean => anchors.some((a) => a.fingerprint256 === c.fingerprint256);
  const candidates = [...anchors, ...tokenCerts];
  const path = [signer];
  // Bounded by the number of candidates: each step adds one certificate not yet on the path.
  while (!isAnchor(path[path.length - 1]!)) {
    const last = path[path.length - 1]!;
    const issuer = candidates.find(
      (c) => !path.some((p) => p.fingerprint256 === c.fingerprint256) && last.checkIssued(c) && last.verify(c.publicKey),
    );
    if (!issuer) return undefined;
    path.push(issuer);
  }
  return path;
}
