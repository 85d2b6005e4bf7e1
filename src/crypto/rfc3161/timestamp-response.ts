/**
 * A TSA's TimeStampResp (RFC 3161 §2.4.2) checked against the request it answers: granted, carrying a
 * token over the requested imprint with the nonce sent and the TSA certificate. The token's signature is
 * not checked here: that is verifyTimestampToken's job, with the trust anchors the caller configures.
 */
import type * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { bytesEqual } from './byte-views.js';
import type { EncodedTimestampRequest } from './timestamp-request.js';
import { parseDer, parseToken, type ParsedToken } from './timestamp-token.js';
import { OID_SHA256 } from './rfc3161-oids.js';
import { errorText, tsaError } from './tsa-error.js';

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

/** The token's DER exactly as the TSA encoded it (the TimeStampToken ContentInfo, not the whole TimeStampResp). */
export function tokenFromResponse(url: string, raw: Uint8Array, request: Pick<EncodedTimestampRequest, 'digest' | 'nonce'>): Uint8Array {
  const { digest, nonce } = request;
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
    throw tsaError(
      `TSA at ${url} stamped with hash algorithm ${imprint.hashAlgorithm.algorithmId} instead of the requested SHA-256 (${OID_SHA256})`,
    );
  }
  if (!bytesEqual(imprint.hashedMessage.valueBlock.valueHexView, digest)) {
    throw tsaError(`TSA at ${url} answered with a token whose messageImprint is not the one requested (it time-stamps other data)`);
  }
  if (!tstInfo.nonce) throw tsaError(`TSA at ${url} answered with a token without the nonce that was sent (possible replay)`);
  if (tstInfo.nonce.toBigInt() !== nonce) {
    throw tsaError(
      `TSA at ${url} answered with nonce ${tstInfo.nonce.toBigInt().toString(16)} instead of ${nonce.toString(16)} (not the answer to this request)`,
    );
  }
  if (!signedData.certificates?.some((c) => c instanceof pkijs.Certificate)) {
    throw tsaError(`TSA at ${url} answered with a token carrying no certificate although certReq was true`);
  }
  return tokenDer;
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
