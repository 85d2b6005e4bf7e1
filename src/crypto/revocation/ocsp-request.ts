import { randomBytes, type X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { cryptoEngine } from '../rfc3161/pkijs-engine.js';

/** id-pkix-ocsp-nonce (RFC 8954). */
export const OID_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';
/** RFC 8954 asks for 1 to 32 octets; 16 is what OpenSSL sends. */
const NONCE_BYTES = 16;

/** An OCSP request for one certificate, what it asked (to match the answer against) and its nonce. */
export interface OcspQuestion {
  readonly der: Uint8Array;
  readonly certId: pkijs.CertID;
  /** The nonce extension's extnValue, as the responder must echo it when it echoes one. */
  readonly nonce: Uint8Array;
}

/**
 * Asks about `cert`, issued by `issuer`, with a fresh nonce. The CertID hashes are SHA-1, which every
 * responder understands (RFC 5019 §2.1.1): they identify the issuer, they are not a signature.
 */
export async function ocspQuestion(cert: X509Certificate, issuer: X509Certificate): Promise<OcspQuestion> {
  const request = new pkijs.OCSPRequest();
  await request.createForCertificate(
    pkijs.Certificate.fromBER(cert.raw),
    { hashAlgorithm: 'SHA-1', issuerCertificate: pkijs.Certificate.fromBER(issuer.raw) },
    cryptoEngine(),
  );
  const nonce = new Uint8Array(new asn1js.OctetString({ valueHex: randomBytes(NONCE_BYTES) }).toBER());
  request.tbsRequest.requestExtensions = [new pkijs.Extension({ extnID: OID_OCSP_NONCE, extnValue: nonce.buffer as ArrayBuffer })];
  const der = new Uint8Array(request.toSchema(true).toBER());
  return { der, certId: request.tbsRequest.requestList[0]!.reqCert, nonce };
}
