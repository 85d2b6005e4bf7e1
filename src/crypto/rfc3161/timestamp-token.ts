/**
 * Reading an RFC 3161 TimeStampToken: ContentInfo → SignedData (one signer, the TSA) → TSTInfo, with
 * the structural checks a token must pass before anything looks at its content. Tokens come from
 * outside (a TSA, a log bundle), so the ASN.1 parser runs with limits and must consume every byte.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID_SIGNED_DATA, OID_TST_INFO } from './rfc3161-oids.js';
import { tsaError } from './tsa-error.js';

/** Parser limits for tokens and responses, which come from outside. */
const BER_LIMITS = { maxDepth: 40, maxNodes: 5000 } as const;

export interface ParsedToken {
  readonly signedData: pkijs.SignedData;
  readonly tstInfo: pkijs.TSTInfo;
  /** DER of each X.509 certificate in SignedData.certificates, exactly as carried. */
  readonly rawCertificates: readonly Uint8Array<ArrayBuffer>[];
}

/** The token's parts; throws TRAMITE_ERR_TSA naming the first structural fault (callers add where it came from). */
export function parseToken(token: Uint8Array): ParsedToken {
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
export function parseDer(bytes: Uint8Array, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(bytes, BER_LIMITS);
  if (parsed.offset === -1) throw tsaError(`${what} is not valid ASN.1: ${parsed.result.error || 'decoding failed'}`);
  if (parsed.offset !== bytes.byteLength) {
    throw tsaError(`${what} is followed by ${bytes.byteLength - parsed.offset} bytes of trailing data`);
  }
  return parsed.result;
}

/** The certificates [0] IMPLICIT field of a SignedData: the original DER of each X.509 certificate. */
function certificateBytes(signedData: asn1js.Sequence): Uint8Array<ArrayBuffer>[] {
  const field = signedData.valueBlock.value.find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 0) as
    asn1js.Constructed | undefined;
  if (!field) return [];
  return field.valueBlock.value
    .filter((v) => v.idBlock.tagClass === 1 && v.idBlock.tagNumber === 16)
    .map((v) => new Uint8Array(v.valueBeforeDecodeView));
}

/** TSTInfo serialNumber, upper-case hexadecimal (even length), as node prints certificate serials. */
export function serialHex(serial: asn1js.Integer): string {
  const value = serial.toBigInt();
  const hex = (value < 0n ? -value : value).toString(16).toUpperCase();
  return (value < 0n ? '-' : '') + (hex.length % 2 ? `0${hex}` : hex);
}
