/**
 * RFC 3161 time-stamping for log checkpoints: ask a TSA for a token over some data, and verify such a
 * token later (an auditor proving the chain head existed at the token's time).
 *
 * ASN.1 and CMS are handled by pkijs/asn1js with Node's WebCrypto as the engine; HTTP by undici.
 * Every failure, whatever its origin, is a TramiteError with code TRAMITE_ERR_TSA and a message that
 * says what was wrong.
 */
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { request } from 'undici';
import { discardBoundedBody, readBoundedBody, ResponseTooLargeError } from '../core/bounded-body.js';
import { TramiteError } from '../core/errors.js';
import { describeCertificate } from '../crypto/trust-store.js';

export type TsaHashAlgorithm = 'SHA-256';

export interface RequestTimestampOptions {
  /** Whole exchange (connect, send, answer), in milliseconds. Default 10 000. */
  readonly timeoutMs?: number;
  /** Digest of the data sent as messageImprint; only SHA-256 is supported. */
  readonly hashAlgorithm?: TsaHashAlgorithm;
}

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
}

export interface VerifiedTimestamp {
  /** TSTInfo genTime: when the TSA says it saw the data. */
  readonly genTime: Date;
  /** TSTInfo serialNumber, upper-case hexadecimal (even length), as node prints certificate serials. */
  readonly serialNumber: string;
  /** Subject DN of the TSA (signer) certificate, one line, most specific first: `CN=…, O=…, C=IT`. */
  readonly tsa: string;
}

const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_SHA1 = '1.3.14.3.2.26';
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
const OID_SIGNING_CERTIFICATE = '1.2.840.113549.1.9.16.2.12';
const OID_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_KEY_USAGE = '2.5.29.15';
const OID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

const HASH_OIDS: Readonly<Record<string, string>> = {
  [OID_SHA1]: 'sha1',
  [OID_SHA256]: 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

const DEFAULT_TIMEOUT_MS = 10_000;
/** Largest TimeStampResp read from a TSA; real ones are a few kilobytes (token plus certificates). */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Parser limits for tokens and responses, which come from outside. */
const BER_LIMITS = { maxDepth: 40, maxNodes: 5000 } as const;

const FAIL_INFO_NAMES: Readonly<Record<number, string>> = {
  0: 'badAlg',
  2: 'badRequest',
  5: 'badDataFormat',
  14: 'timeNotAvailable',
  15: 'unacceptedPolicy',
  16: 'unacceptedExtension',
  17: 'addInfoNotAvailable',
  25: 'systemFailure',
};

const STATUS_NAMES: Readonly<Record<number, string>> = {
  0: 'granted',
  1: 'grantedWithMods',
  2: 'rejection',
  3: 'waiting',
  4: 'revocationWarning',
  5: 'revocationNotification',
};

function tsaError(message: string, cause?: unknown): TramiteError {
  return new TramiteError('TRAMITE_ERR_TSA', message, cause === undefined ? undefined : { cause });
}

/** Runs `fn`; anything it throws that is not already a TramiteError becomes TRAMITE_ERR_TSA. */
async function asTsaError<T>(fn: () => Promise<T>, context: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TramiteError && err.code === 'TRAMITE_ERR_TSA') throw err;
    throw tsaError(`${context}: ${errorText(err)}`, err);
  }
}

let engine: pkijs.ICryptoEngine | undefined;

/**
 * The pkijs crypto engine over Node's WebCrypto, made once. It is passed explicitly to every pkijs call
 * that takes one, and also installed as pkijs's global engine if none is set yet, for the few internal
 * paths that read the global.
 */
function cryptoEngine(): pkijs.ICryptoEngine {
  if (!engine) {
    engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });
    let current: pkijs.ICryptoEngine | null;
    try {
      current = pkijs.getCrypto();
    } catch {
      current = null;
    }
    if (!current) pkijs.setEngine('node', engine);
  }
  return engine;
}

// ---------------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------------

/**
 * Obtains an RFC 3161 time-stamp token over `data` from the TSA at `url` and returns the token's DER
 * (the TimeStampToken ContentInfo, not the whole TimeStampResp). The answer is checked against the
 * request (status, messageImprint, nonce, certificates present); its signature is not: that is
 * `verifyTimestampToken`'s job, with the trust anchors the caller configures.
 */
export async function requestTimestamp(url: string, data: Uint8Array, opts: RequestTimestampOptions = {}): Promise<Uint8Array> {
  return asTsaError(() => requestTimestampUnguarded(url, data, opts), `time-stamp request to ${url} failed`);
}

async function requestTimestampUnguarded(url: string, data: Uint8Array, opts: RequestTimestampOptions): Promise<Uint8Array> {
  const hashAlgorithm = opts.hashAlgorithm ?? 'SHA-256';
  if (hashAlgorithm !== 'SHA-256') throw tsaError(`unsupported TSA hash algorithm "${String(hashAlgorithm)}": only SHA-256 is supported`);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw tsaError(`TSA timeout must be a positive number of milliseconds, got ${timeoutMs}`);
  let target: URL;
  try {
    target = new URL(url);
  } catch (cause) {
    throw tsaError(`TSA URL "${url}" is not a valid URL`, cause);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw tsaError(`TSA URL "${url}" must be http: or https:, not ${target.protocol}`);
  }

  cryptoEngine();
  const digest = createHash('sha256').update(data).digest();
  const nonce = randomNonce();
  const query = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: toArrayBuffer(digest) }),
    }),
    nonce,
    certReq: true,
  });
  const body = new Uint8Array(query.toSchema().toBER());

  const raw = await post(url, body, timeoutMs);
  return checkResponse(url, raw, digest, nonce.toBigInt());
}

/** POSTs the query and returns the body of an HTTP 200 application/timestamp-reply answer. */
async function post(url: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(timeoutMs);
  let res;
  try {
    res = await request(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal,
    });
  } catch (cause) {
    throw tsaError(`TSA at ${url} could not be reached: ${describeNetworkError(cause, timeoutMs)}`, cause);
  }
  const drain = (): Promise<void> => discardBoundedBody(res.body, { maxBytes: MAX_RESPONSE_BYTES, source: `TSA at ${url}` }).catch(() => undefined);
  if (res.statusCode !== 200) {
    await drain();
    throw tsaError(`TSA at ${url} answered HTTP ${res.statusCode} instead of 200`);
  }
  const type = headerValue(res.headers['content-type']);
  const mediaType = type.split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/timestamp-reply') {
    await drain();
    throw tsaError(`TSA at ${url} answered with content-type "${type || '(none)'}" instead of application/timestamp-reply`);
  }
  try {
    return new Uint8Array(await readBoundedBody(res.body, { maxBytes: MAX_RESPONSE_BYTES, source: `TSA at ${url}`, declaredLength: res.headers['content-length'] }));
  } catch (cause) {
    if (cause instanceof ResponseTooLargeError) throw tsaError(`TSA at ${url} sent more than ${MAX_RESPONSE_BYTES} bytes; a TimeStampResp is a few kilobytes`, cause);
    throw tsaError(`reading the answer of the TSA at ${url} failed: ${describeNetworkError(cause, timeoutMs)}`, cause);
  }
}

function checkResponse(url: string, raw: Uint8Array, digest: Uint8Array, nonce: bigint): Uint8Array {
  let resp: pkijs.TimeStampResp;
  let asn: asn1js.AsnType;
  try {
    asn = parseDer(raw, 'TimeStampResp');
    resp = new pkijs.TimeStampResp({ schema: asn });
  } catch (cause) {
    throw tsaError(`TSA at ${url} answered with something that is not a DER TimeStampResp: ${errorText(cause)}`, cause);
  }
  const status = resp.status.status as number;
  if (status !== 0 && status !== 1) {
    throw tsaError(`TSA at ${url} refused the request: ${describeStatus(resp.status)}`);
  }
  if (!resp.timeStampToken) {
    throw tsaError(`TSA at ${url} answered status ${STATUS_NAMES[status]} but with no timeStampToken`);
  }
  // The token is returned exactly as the TSA encoded it (TimeStampResp ::= SEQUENCE { status, timeStampToken }).
  const tokenNode = (asn as asn1js.Sequence).valueBlock.value[1];
  if (!tokenNode || tokenNode.valueBeforeDecodeView.byteLength === 0) {
    throw tsaError(`TSA at ${url} answered status ${STATUS_NAMES[status]} but its timeStampToken cannot be located`);
  }
  const tokenDer = new Uint8Array(tokenNode.valueBeforeDecodeView);
  let parsed: ParsedToken;
  try {
    parsed = parseToken(tokenDer);
  } catch (cause) {
    throw tsaError(`TSA at ${url} answered with an unusable timeStampToken: ${errorText(cause)}`, cause);
  }
  const { tstInfo, signedData } = parsed;
  const imprint = tstInfo.messageImprint;
  if (imprint.hashAlgorithm.algorithmId !== OID_SHA256) {
    throw tsaError(`TSA at ${url} stamped with hash algorithm ${imprint.hashAlgorithm.algorithmId} instead of the requested SHA-256 (${OID_SHA256})`);
  }
  if (!bytesEqual(imprint.hashedMessage.valueBlock.valueHexView, digest)) {
    throw tsaError(`TSA at ${url} answered with a token whose messageImprint is not the one requested (it time-stamps other data)`);
  }
  if (!tstInfo.nonce) throw tsaError(`TSA at ${url} answered with a token without the nonce that was sent (possible replay)`);
  if (tstInfo.nonce.toBigInt() !== nonce) {
    throw tsaError(`TSA at ${url} answered with nonce ${tstInfo.nonce.toBigInt().toString(16)} instead of ${nonce.toString(16)} (not the answer to this request)`);
  }
  if (!signedData.certificates?.some((c) => c instanceof pkijs.Certificate)) {
    throw tsaError(`TSA at ${url} answered with a token carrying no certificate although certReq was true`);
  }
  return tokenDer;
}

/** A positive random 64-bit INTEGER, DER-minimal (asn1js handles the sign byte). */
function randomNonce(): asn1js.Integer {
  const bytes = webcrypto.getRandomValues(new Uint8Array(8));
  const value = Buffer.from(bytes).readBigUInt64BE(0);
  return asn1js.Integer.fromBigInt(value);
}

// ---------------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------------

/**
 * Verifies an RFC 3161 TimeStampToken over `data`: the messageImprint is SHA-256(data), the CMS
 * signature is valid, the signer certificate (carried in the token) chains to `trustedCerts` at genTime
 * (and at `at`, when given), is bound to the signature by the ESS signing-certificate attribute, and is
 * a TSA certificate (extendedKeyUsage critical and exactly id-kp-timeStamping). Revocation (CRL/OCSP)
 * is not checked.
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
    throw tsaError(`time-stamp token uses messageImprint hash ${imprint.hashAlgorithm.algorithmId}; only SHA-256 (${OID_SHA256}) is accepted`);
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
  // RFC 3161 §2.4.2: the optional TSTInfo tsa name, when a directoryName, must be the signer's subject.
  if (tstInfo.tsa && tstInfo.tsa.type === 4 && tstInfo.tsa.value instanceof pkijs.RelativeDistinguishedNames) {
    if (!tstInfo.tsa.value.isEqual(signer.subject)) {
      throw tsaError(`time-stamp token names its TSA "${rdnText(tstInfo.tsa.value)}" but is signed by "${tsa}"`);
    }
  }

  if (opts.at !== undefined) {
    const chain = new pkijs.CertificateChainValidationEngine({
      trustedCerts: anchors,
      certs: [...(signedData.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate && c !== signer), signer],
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

interface ParsedToken {
  readonly signedData: pkijs.SignedData;
  readonly tstInfo: pkijs.TSTInfo;
  /** DER of each X.509 certificate in SignedData.certificates, exactly as carried. */
  readonly rawCertificates: readonly Uint8Array<ArrayBuffer>[];
}

/** ContentInfo → SignedData (one signer) → TSTInfo, with structural checks; throws plain errors. */
function parseToken(token: Uint8Array): ParsedToken {
  const contentInfo = new pkijs.ContentInfo({ schema: parseDer(token, 'TimeStampToken') });
  if (contentInfo.contentType !== OID_SIGNED_DATA) {
    throw tsaError(`ContentInfo contentType is ${contentInfo.contentType}, not signedData (${OID_SIGNED_DATA})`);
  }
  const signedData = new pkijs.SignedData({ schema: contentInfo.content });
  if (signedData.encapContentInfo.eContentType !== OID_TST_INFO) {
    throw tsaError(`SignedData eContentType is ${signedData.encapContentInfo.eContentType}, not id-ct-TSTInfo (${OID_TST_INFO})`);
  }
  if (signedData.signerInfos.length !== 1) {
    throw tsaError(`SignedData has ${signedData.signerInfos.length} signers; a time-stamp token has exactly one (the TSA)`);
  }
  const eContent = signedData.encapContentInfo.eContent;
  if (!eContent) throw tsaError('SignedData carries no TSTInfo (eContent is absent)');
  const tstInfo = new pkijs.TSTInfo({ schema: parseDer(new Uint8Array(eContent.getValue()), 'TSTInfo') });
  if (tstInfo.version !== 1) throw tsaError(`TSTInfo version is ${tstInfo.version}, not 1`);
  return { signedData, tstInfo, rawCertificates: certificateBytes(contentInfo.content as asn1js.Sequence) };
}

/** Strict DER-ish parse: the whole buffer must be exactly one ASN.1 value. */
function parseDer(bytes: Uint8Array, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(bytes, BER_LIMITS);
  if (parsed.offset === -1) throw tsaError(`${what} is not valid ASN.1: ${parsed.result.error || 'decoding failed'}`);
  if (parsed.offset !== bytes.byteLength) {
    throw tsaError(`${what} is followed by ${bytes.byteLength - parsed.offset} bytes of trailing data`);
  }
  return parsed.result;
}

/** The certificates [0] IMPLICIT field of a SignedData: the original DER of each X.509 certificate. */
function certificateBytes(signedData: asn1js.Sequence): Uint8Array<ArrayBuffer>[] {
  const field = signedData.valueBlock.value.find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 0) as asn1js.Constructed | undefined;
  if (!field) return [];
  return field.valueBlock.value
    .filter((v) => v.idBlock.tagClass === 1 && v.idBlock.tagNumber === 16)
    .map((v) => new Uint8Array(v.valueBeforeDecodeView));
}

/**
 * RFC 3161 §2.4.1 / RFC 5816: the SignerInfo must carry a SigningCertificate (ESSCertID, SHA-1) or
 * SigningCertificateV2 (ESSCertIDv2) attribute whose first entry is the hash of the signer certificate,
 * so a certificate cannot be swapped for another with the same key.
 */
function checkSigningCertificateAttribute(signerInfo: pkijs.SignerInfo, signerDer: Uint8Array, tsa: string): void {
  const attrs = signerInfo.signedAttrs?.attributes ?? [];
  const v2 = attrs.find((a) => a.type === OID_SIGNING_CERTIFICATE_V2);
  const v1 = attrs.find((a) => a.type === OID_SIGNING_CERTIFICATE);
  const attr = v2 ?? v1;
  if (!attr) {
    throw tsaError('time-stamp token has no ESS signing-certificate attribute (SigningCertificate or SigningCertificateV2), required by RFC 3161');
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
 * RFC 3161 §2.3: the TSA certificate has exactly one extendedKeyUsage, critical, with only
 * id-kp-timeStamping; a keyUsage, if present, must allow digitalSignature or nonRepudiation.
 */
function checkTimeStampingUsage(cert: pkijs.Certificate, tsa: string): void {
  const extensions = cert.extensions ?? [];
  const eku = extensions.filter((e) => e.extnID === OID_EXT_KEY_USAGE);
  if (eku.length === 0) throw tsaError(`TSA certificate "${tsa}" has no extendedKeyUsage; id-kp-timeStamping is required`);
  if (eku.length > 1) throw tsaError(`TSA certificate "${tsa}" has ${eku.length} extendedKeyUsage extensions; exactly one is allowed`);
  const ext = eku[0]!;
  const purposes = ext.parsedValue instanceof pkijs.ExtKeyUsage ? ext.parsedValue.keyPurposes : undefined;
  if (!purposes) throw tsaError(`TSA certificate "${tsa}" has an unreadable extendedKeyUsage extension`);
  if (!purposes.includes(OID_KP_TIME_STAMPING)) {
    throw tsaError(`TSA certificate "${tsa}" extendedKeyUsage (${purposes.join(', ')}) does not include id-kp-timeStamping (${OID_KP_TIME_STAMPING})`);
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

/** X509Certificate objects and PEM texts (single certificates or bundles) → pkijs certificates. */
function trustAnchors(trusted: ReadonlyArray<X509Certificate | string>): pkijs.Certificate[] {
  if (!Array.isArray(trusted) || trusted.length === 0) {
    throw tsaError('no trusted certificates were given to verify the time-stamp token against');
  }
  const out: pkijs.Certificate[] = [];
  trusted.forEach((item, i) => {
    if (item instanceof X509Certificate) {
      out.push(pkijs.Certificate.fromBER(new Uint8Array(item.raw)));
      return;
    }
    if (typeof item !== 'string') throw tsaError(`trusted certificate #${i + 1} is neither an X509Certificate nor a PEM string`);
    const blocks = item.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw tsaError(`trusted certificate #${i + 1} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    for (const block of blocks) {
      try {
        out.push(pkijs.Certificate.fromBER(new Uint8Array(new X509Certificate(block).raw)));
      } catch (cause) {
        throw tsaError(`trusted certificate #${i + 1} cannot be parsed: ${errorText(cause)}`, cause);
      }
    }
  });
  return out;
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
  '2.5.4.3': 'CN', '2.5.4.5': 'serialNumber', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST',
  '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.97': 'organizationIdentifier',
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

function describeStatus(info: pkijs.PKIStatusInfo): string {
  const status = info.status as number;
  const parts = [`status ${STATUS_NAMES[status] ?? 'unknown'} (${status})`];
  const texts = (info.statusStrings ?? []).map((s) => s.valueBlock.value).filter((s) => s.length > 0);
  if (texts.length > 0) parts.push(`"${texts.join('; ')}"`);
  if (info.failInfo) {
    const bits = new Uint8Array(info.failInfo.valueBlock.valueHexView);
    const names: string[] = [];
    bits.forEach((byte, i) => {
      for (let b = 0; b < 8; b++) if (byte & (0x80 >> b)) names.push(FAIL_INFO_NAMES[i * 8 + b] ?? `bit ${i * 8 + b}`);
    });
    if (names.length > 0) parts.push(`failInfo ${names.join(', ')}`);
  }
  return parts.join(', ');
}

function describeNetworkError(cause: unknown, timeoutMs: number): string {
  const err = cause as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.code === 'UND_ERR_HEADERS_TIMEOUT' || err?.code === 'UND_ERR_BODY_TIMEOUT') {
    return `no answer within ${timeoutMs} ms`;
  }
  const code = err?.code ?? err?.cause?.code;
  const message = err?.message ?? String(cause);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function serialHex(serial: asn1js.Integer): string {
  const value = serial.toBigInt();
  const hex = (value < 0n ? -value : value).toString(16).toUpperCase();
  return (value < 0n ? '-' : '') + (hex.length % 2 ? `0${hex}` : hex);
}

function bytesEqual(a: ArrayBuffer | Uint8Array, b: ArrayBuffer | Uint8Array): boolean {
  const x = a instanceof Uint8Array ? a : new Uint8Array(a);
  const y = b instanceof Uint8Array ? b : new Uint8Array(b);
  return x.byteLength === y.byteLength && Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
