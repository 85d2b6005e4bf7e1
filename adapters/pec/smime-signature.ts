/**
 * Verification of the detached S/MIME signature (smime.p7s, CMS SignedData, RFC 5652/5751) a PEC
 * provider puts on every message, over the exact bytes of the signed body part.
 * pkijs does the CMS work (message-digest attribute, signature over the signed attributes) on Node's
 * WebCrypto; the checks pkijs leaves to the caller are made here, and the signer's certificate is
 * judged by the node's TrustStore, like every other signer the bus accepts.
 */
import { X509Certificate, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { TramiteCode } from '../../src/core/error-codes.js';
import { SecurityError } from '../../src/core/errors.js';
import { type TrustStore, describeCertificate } from '../sdk/index.js';
import { PecError, type PecErrorCode } from './pec-errors.js';

export type SignatureProblemCode = PecErrorCode | TramiteCode;

export type SmimeVerification =
  | {
      readonly status: 'valid';
      readonly signer: X509Certificate;
      /** Signer first, trust anchor last. */
      readonly chain: readonly X509Certificate[];
      /** WebCrypto name of the digest, e.g. `SHA-256`. */
      readonly digestAlgorithm: string;
    }
  | {
      readonly status: 'invalid' | 'untrusted';
      readonly code: SignatureProblemCode;
      readonly reason: string;
      readonly signer?: X509Certificate;
    };

export interface SmimeVerifyOptions {
  /** CAs trusted for provider signatures; without it no signature can be more than `untrusted`. */
  readonly trust?: TrustStore;
  /** The instant the signer certificate must be valid at. */
  readonly at: Date;
  /**
   * Accept SHA-1 digests. Off by default: SHA-1 is no longer collision resistant and AgID's current
   * rules ask providers for SHA-256, but older providers' signatures still use it.
   */
  readonly acceptSha1?: boolean;
}

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_DATA = '1.2.840.113549.1.7.1';
const OID_SHA1 = '1.3.14.3.2.26';

const DIGESTS: Readonly<Record<string, string>> = {
  [OID_SHA1]: 'SHA-1',
  '2.16.840.1.101.3.4.2.1': 'SHA-256',
  '2.16.840.1.101.3.4.2.2': 'SHA-384',
  '2.16.840.1.101.3.4.2.3': 'SHA-512',
};

/**
 * Signature algorithms accepted, with the digest each implies (null: the SignerInfo's digest).
 * RSASSA-PSS is left out on purpose: its default parameters mean SHA-1, and no provider uses it.
 */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.1': null, // rsaEncryption
  '1.2.840.113549.1.1.5': 'SHA-1',
  '1.2.840.113549.1.1.11': 'SHA-256',
  '1.2.840.113549.1.1.12': 'SHA-384',
  '1.2.840.113549.1.1.13': 'SHA-512',
  '1.2.840.10045.4.1': 'SHA-1',
  '1.2.840.10045.4.3.2': 'SHA-256',
  '1.2.840.10045.4.3.3': 'SHA-384',
  '1.2.840.10045.4.3.4': 'SHA-512',
};

/** Bounds for decoding an untrusted smime.p7s. */
const BER_LIMITS = { maxDepth: 40, maxNodes: 5000 } as const;

const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });

/** Verifies `p7s` (DER/BER CMS SignedData, detached) over `signedContent`. Never throws for bad input. */
export async function verifyDetachedSignature(signedContent: Buffer, p7s: Buffer, opts: SmimeVerifyOptions): Promise<SmimeVerification> {
  const invalid = (
    reason: string,
    code: SignatureProblemCode = 'TRAMITE_ERR_PEC_BAD_SIGNATURE',
    signer?: X509Certificate,
  ): SmimeVerification => ({
    status: 'invalid',
    code,
    reason,
    ...(signer ? { signer } : {}),
  });

  let signedData: pkijs.SignedData;
  let certificates: X509Certificate[];
  try {
    ({ signedData, certificates } = parseSignedData(p7s));
  } catch (cause) {
    return invalid(`smime.p7s is not a usable CMS SignedData: ${messageOf(cause)}`);
  }
  const signerInfo = signedData.signerInfos[0];
  if (!signerInfo || signedData.signerInfos.length !== 1)
    return invalid(`smime.p7s has ${signedData.signerInfos.length} signers; a provider signature has exactly one`);
  if (signedData.encapContentInfo.eContentType !== OID_DATA)
    return invalid(`smime.p7s signs content of type ${signedData.encapContentInfo.eContentType}, not data`);
  // pkijs verifies an embedded eContent instead of the detached data it is given: a signature
  // lifted from another, opaque-signed message would then "verify" for this one.
  if (signedData.encapContentInfo.eContent)
    return invalid('smime.p7s embeds its own content: a detached signature over the signed part is expected');

  const digest = acceptedDigest(signerInfo, opts.acceptSha1 ?? false);
  if (typeof digest !== 'string') return invalid(digest.refused, 'TRAMITE_ERR_SIG_ALGORITHM');

  let result: pkijs.SignedDataVerifyResult;
  try {
    result = await signedData.verify({ signer: 0, data: toArrayBuffer(signedContent), extendedMode: true, checkChain: false }, engine);
  } catch (cause) {
    // pkijs reports a digest mismatch (content altered) and a missing signer certificate by throwing.
    const signer = certificateOf((cause as { signerCertificate?: pkijs.Certificate | null }).signerCertificate, certificates);
    const why = messageOf(cause).includes("digest doesn't match")
      ? 'the signed part was altered after signing (message digest mismatch)'
      : messageOf(cause);
    return invalid(`S/MIME signature does not verify: ${why}`, 'TRAMITE_ERR_PEC_BAD_SIGNATURE', signer);
  }
  const signer = certificateOf(result.signerCertificate, certificates);
  if (!signer) return invalid('smime.p7s does not carry the signer certificate');
  if (result.signatureVerified !== true) {
    return invalid(
      `S/MIME signature does not verify with the key of "${describeCertificate(signer)}": the signed part was altered or signed by another key`,
      'TRAMITE_ERR_PEC_BAD_SIGNATURE',
      signer,
    );
  }

  if (!opts.trust) {
    return {
      status: 'untrusted',
      code: 'TRAMITE_ERR_CERT_UNTRUSTED',
      reason: `signature verifies but no trust store was given to judge "${describeCertificate(signer)}"`,
      signer,
    };
  }
  try {
    const intermediates = certificates.filter((c) => c !== signer);
    const chain = opts.trust.validateSigner(signer, opts.at, intermediates);
    return { status: 'valid', signer, chain, digestAlgorithm: digest };
  } catch (cause) {
    const code: SignatureProblemCode = cause instanceof SecurityError ? cause.reason : 'TRAMITE_ERR_CERT_UNTRUSTED';
    return { status: 'untrusted', code, reason: messageOf(cause), signer };
  }
}

/** The digest algorithm name, or why the SignerInfo's algorithms are refused. */
function acceptedDigest(signerInfo: pkijs.SignerInfo, acceptSha1: boolean): string | { refused: string } {
  const digestOid = signerInfo.digestAlgorithm.algorithmId;
  const signatureOid = signerInfo.signatureAlgorithm.algorithmId;
  const digest = DIGESTS[digestOid];
  if (!digest) return { refused: `digest algorithm ${digestOid} is not accepted (SHA-256, SHA-384 or SHA-512)` };
  if (!(signatureOid in SIGNATURE_ALGORITHMS))
    return { refused: `signature algorithm ${signatureOid} is not accepted (RSA PKCS#1 v1.5 or ECDSA)` };
  const implied = SIGNATURE_ALGORITHMS[signatureOid] ?? digest;
  if (!acceptSha1 && (digest === 'SHA-1' || implied === 'SHA-1')) {
    return { refused: 'the provider signed with SHA-1, which is not accepted unless SHA-1 is explicitly allowed' };
  }
  return digest;
}

/** ContentInfo → SignedData, plus the certificates it carries (exactly as encoded). */
function parseSignedData(p7s: Buffer): { signedData: pkijs.SignedData; certificates: X509Certificate[] } {
  const parsed = asn1js.fromBER(p7s, BER_LIMITS);
  if (parsed.offset === -1) throw new PecError('TRAMITE_ERR_PEC_BAD_SIGNATURE', `not ASN.1 (${parsed.result.error || 'decoding failed'})`);
  if (parsed.offset !== p7s.byteLength)
    throw new PecError('TRAMITE_ERR_PEC_BAD_SIGNATURE', `${p7s.byteLength - parsed.offset} bytes of trailing data`);
  const contentInfo = new pkijs.ContentInfo({ schema: parsed.result });
  if (contentInfo.contentType !== OID_SIGNED_DATA)
    throw new PecError('TRAMITE_ERR_PEC_BAD_SIGNATURE', `content type is ${contentInfo.contentType}, not signedData`);
  const signedData = new pkijs.SignedData({ schema: contentInfo.content });
  return { signedData, certificates: rawCertificates(contentInfo.content as asn1js.Sequence).map((der) => new X509Certificate(der)) };
}

/** The DER of each X.509 certificate in SignedData.certificates ([0] IMPLICIT), as carried. */
function rawCertificates(signedData: asn1js.Sequence): Buffer[] {
  const field = signedData.valueBlock.value.find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 0) as
    asn1js.Constructed | undefined;
  if (!field) return [];
  return field.valueBlock.value
    .filter((v) => v.idBlock.tagClass === 1 && v.idBlock.tagNumber === 16)
    .map((v) => Buffer.from(v.valueBeforeDecodeView));
}

/** The carried certificate pkijs picked as signer, matched by its to-be-signed bytes. */
function certificateOf(found: pkijs.Certificate | null | undefined, certificates: readonly X509Certificate[]): X509Certificate | undefined {
  if (!found) return undefined;
  const tbs = Buffer.from(found.tbsView);
  return certificates.find((cert) => {
    const parsed = pkijs.Certificate.fromBER(cert.raw);
    return Buffer.from(parsed.tbsView).equals(tbs);
  });
}

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
