/** The TimeStampReq (RFC 3161 §2.4.1) sent to a TSA: SHA-256 messageImprint, a fresh nonce, certReq. */
import { createHash, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { toArrayBuffer } from './byte-views.js';
import { cryptoEngine } from './pkijs-engine.js';
import { OID_SHA256 } from './rfc3161-oids.js';

export interface EncodedTimestampRequest {
  /** The DER to POST as application/timestamp-query. */
  readonly der: Uint8Array;
  /** SHA-256 of the data: the messageImprint the answer must carry. */
  readonly digest: Uint8Array;
  /** The nonce the answer must carry. */
  readonly nonce: bigint;
}

export function encodeTimestampRequest(data: Uint8Array): EncodedTimestampRequest {
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
  return { der: new Uint8Array(query.toSchema().toBER()), digest, nonce: nonce.toBigInt() };
}

/** A positive random 64-bit INTEGER, DER-minimal (asn1js handles the sign byte). */
function randomNonce(): asn1js.Integer {
  const bytes = webcrypto.getRandomValues(new Uint8Array(8));
  const value = Buffer.from(bytes).readBigUInt64BE(0);
  return asn1js.Integer.fromBigInt(value);
}
