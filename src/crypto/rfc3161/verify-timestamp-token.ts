/**
 * Verifying an RFC 3161 TimeStampToken against trust: an auditor proving a log checkpoint existed at
 * the token's time. The token's structure, its imprint over the data, the CMS signature and the TSA's
 * certificate chain (pkijs over Node's WebCrypto), the certificate's binding and usage.
 */
import { createHash, X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';
import { describeCertificate } from '../../core/certificate-description.js';
import { bytesEqual, toArrayBuffer } from './byte-views.js';
import { cryptoEngine } from './pkijs-engine.js';
import { OID_SHA256 } from './rfc3161-oids.js';
import { parseToken, serialHex, type ParsedToken } from './timestamp-token.js';
import { trustAnchors } from './trust-anchors.js';
import { checkSigningCertificateAttribute, checkTimeStampingUsage, tsaIssuerPath } from './tsa-certificate-checks.js';
import { certificatesFromPem } from '../trust-store.js';
import type { CertificateChainCheck } from '../revocation/certificate-chain-check.js';
import { asTsaError, errorText, tsaError } from './tsa-error.js';

export interface VerifyTimestampOptions {
  /**
   * Trust anchors for the TSA certificate: node X509Certificate objects or PEM texts (each may be a
   * bundle). The token's own certificates are only untrusted helpers for path building.
   */
  readonly trustedCerts: ReadonlyArray<X509Certificate | string>;
  /**
   * The TSA certificate chain is always validated at the token's genTime (as RFC 3161 requires); when
   * `at` is given the chain must also be valid at that instant (e.g. "now", to refuse a TSA whose
   * certificate has since expired).
   */
  readonly at?: Date;
  /**
   * The revocation status of the TSA certificate and its CAs (src/crypto/revocation), judged at the
   * token's genTime: a TSA certificate revoked after it made the token leaves the token good.
   */
  readonly revocation?: CertificateChainCheck;
}

export interface VerifiedTimestamp {
  /** TSTInfo genTime: when the TSA says it saw the data. */
  readonly genTime: Date;
  /** TSTInfo serialNumber, upper-case hexadecimal (even length), as node prints certificate serials. */
  readonly serialNumber: string;
  /** Subject DN of the TSA (signer) certificate, one line, most specific first: `CN=…, O=…, C=IT`. */
  readonly tsa: string;
}

/**
 * Verifies an RFC 3161 TimeStampToken over `data`: the messageImprint is SHA-256(data), the CMS
 * signature is valid, the signer certificate (carried in the token) chains to `trustedCerts` at genTime
 * (and at `at`, when given), is bound to the signature by the ESS signing-certificate attribute, and is
 * a TSA certificate (extendedKeyUsage critical and exactly id-kp-timeStamping), and — with
 * `revocation` — not revoked at genTime (CRL/OCSP, by the anchor's policy).
 */
export async function verifyTimestampToken(token: Uint8Array, data: Uint8Array, opts: VerifyTimestampOptions): Promise<VerifiedTimestamp> {
  return asTsaError(() => verifyUnguarded(token, data, opts), 'time-stamp token verification failed');
}

async function verifyUnguarded(token: Uint8Array, data: Uint8Array, opts: VerifyTimestampOptions): Promise<VerifiedTimestamp> {
  const crypto = cryptoEngine();
  const anchors = trustAnchors(opts.trustedCerts);
  if (opts.at !== undefined && Number.isNaN(opts.at.getTime())) throw tsaError('verification instant "at" is an invalid Date');

  let parsed: ParsedToken;
  try {
    parsed = parseToken(token);
  } catch (cause) {
    throw tsaError(`time-stamp token cannot be parsed: ${errorText(cause)}`, cause);
  }
  const { signedData, tstInfo, rawCertificates } = parsed;

  const imprint = tstInfo.messageImprint;
  if (imprint.hashAlgorithm.algorithmId !== OID_SHA256) {
    throw tsaError(
      `time-stamp token uses messageImprint hash ${imprint.hashAlgorithm.algorithmId}; only SHA-256 (${OID_SHA256}) is accepted`,
    );
  }
  const digest = createHash('sha256').update(data).digest();
  if (!bytesEqual(imprint.hashedMessage.valueBlock.valueHexView, digest)) {
    throw tsaError('time-stamp token messageImprint does not match SHA-256 of the data: the token time-stamps other data');
  }
  if (data.byteLength === 0) {
    // pkijs refuses empty detached data for TSTInfo; the imprint check above has already passed.
    throw tsaError('cannot verify a time-stamp over empty data');
  }
  const genTime = tstInfo.genTime;
  if (!(genTime instanceof Date) || Number.isNaN(genTime.getTime())) throw tsaError('time-stamp token genTime is not a valid time');

  let result: pkijs.SignedDataVerifyResult;
  try {
    result = await signedData.verify(
      { signer: 0, data: toArrayBuffer(data), trustedCerts: anchors, checkChain: true, extendedMode: true },
      crypto,
    );
  } catch (cause) {
    throw tsaError(describeVerifyFailure(cause), cause);
  }
  const signer = result.signerCertificate;
  if (!signer) throw tsaError('time-stamp token signer certificate was not found among the token certificates');
  const signerDer = rawCertificates.find((der) => {
    try {
      return bytesEqual(pkijs.Certificate.fromBER(der).tbsView, signer.tbsView);
    } catch {
      return false;
    }
  });
  if (!signerDer) throw tsaError('time-stamp token signer certificate was not found among the token certificates');
  const signerX509 = new X509Certificate(signerDer);
  const tsa = describeCertificate(signerX509);
  if (result.signatureVerified !== true) {
    throw tsaError(`time-stamp token signature does not verify with the key of "${tsa}": the token was altered or signed by another key`);
  }

  checkSigningCertificateAttribute(signedData.signerInfos[0]!, signerDer, tsa);
  checkTimeStampingUsage(signer, tsa);
  if (opts.revocation) {
    const tokenCerts = rawCertificates.map((der) => new X509Certificate(der));
    const anchorCerts = opts.trustedCerts.flatMap((c) => (typeof c === 'string' ? certificatesFromPem(c, 'TSA trust') : [c]));
    const chain = tsaIssuerPath(signerX509, tokenCerts, anchorCerts);
    if (!chain) throw tsaError(`TSA certificate "${tsa}": no issuer path to a trusted certificate for its revocation check`);
    await opts.revocation.checkChain(chain, { at: genTime, role: 'TSA certificate' });
  }
  // RFC 3161 §2.4.2: the optional TSTInfo tsa name, when a directoryName, must be the signer's subject.
  if (tstInfo.tsa && tstInfo.tsa.type === 4 && tstInfo.tsa.value instanceof pkijs.RelativeDistinguishedNames) {
    if (!tstInfo.tsa.value.isEqual(signer.subject)) {
      throw tsaError(`time-stamp token names its TSA "${rdnText(tstInfo.tsa.value)}" but is signed by "${tsa}"`);
    }
  }

  if (opts.at !== undefined) {
    const chain = new pkijs.CertificateChainValidationEngine({
      trustedCerts: anchors,
      certs: [
        ...(signedData.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate && c !== signer),
        signer,
      ],
      checkDate: opts.at,
    });
    let outcome: { result: boolean; resultMessage: string };
    try {
      outcome = await chain.verify({}, crypto);
    } catch (cause) {
      throw tsaError(`TSA certificate "${tsa}" cannot be validated at ${opts.at.toISOString()}: ${chainErrorText(cause)}`, cause);
    }
    if (!outcome.result) {
      throw tsaError(`TSA certificate "${tsa}" is not valid at ${opts.at.toISOString()}: ${outcome.resultMessage}`);
    }
  }

  return { genTime, serialNumber: serialHex(tstInfo.serialNumber), tsa };
}

function describeVerifyFailure(cause: unknown): string {
  if (cause instanceof pkijs.SignedDataVerifyError) {
    const signer = cause.signerCertificate ? `"${pkijsSubject(cause.signerCertificate)}"` : 'the signer';
    switch (cause.code) {
      case 2:
        return 'time-stamp token carries no certificates: the TSA certificate is needed to verify it (request it with certReq = true)';
      case 3:
        return 'time-stamp token signer certificate was not found among the token certificates';
      case 5:
        return `TSA certificate ${signer} does not chain to a trusted certificate at the token's genTime: ${cause.message.replace(/^Validation of signer's certificate failed( with error)?: /, '')}`;
      case 7:
        return `time-stamp token uses an unsupported digest algorithm: ${cause.message}`;
      case 9:
      case 10:
        return `time-stamp token signed attributes are incomplete: ${cause.message}`;
      default:
        if (/Message digest doesn't match/.test(cause.message)) {
          return 'time-stamp token TSTInfo does not match the digest its signature covers: the token was altered';
        }
        if (/TSTInfo verification is failed/.test(cause.message)) {
          return 'time-stamp token TSTInfo does not match the data';
        }
        return `time-stamp token signature cannot be verified: ${cause.message}`;
    }
  }
  return `time-stamp token signature cannot be verified: ${errorText(cause)}`;
}

function pkijsSubject(cert: pkijs.Certificate): string {
  try {
    return describeCertificate(new X509Certificate(new Uint8Array(cert.toSchema().toBER())));
  } catch {
    return 'unknown subject';
  }
}

const DN_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.97': 'organizationIdentifier',
};

/** A DN from pkijs, one line, most specific first (as describeCertificate prints node's). */
function rdnText(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((tv) => `${DN_NAMES[tv.type] ?? tv.type}=${String((tv.value as { valueBlock?: { value?: unknown } }).valueBlock?.value ?? '?')}`)
    .reverse()
    .join(', ');
}

function chainErrorText(cause: unknown): string {
  if (cause && typeof cause === 'object' && 'resultMessage' in cause) return String((cause as { resultMessage: unknown }).resultMessage);
  return errorText(cause);
}
