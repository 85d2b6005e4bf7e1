import { createHash, verify as verifySignature, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { TramiteError } from '../../core/errors.js';
import { bytesEqual, toArrayBuffer } from '../rfc3161/byte-views.js';
import { certificateLabel, invalidStatus, noStatus, reasonName, type CertificateStatus } from './certificate-status.js';
import { OID_OCSP_NONCE, type OcspQuestion } from './ocsp-request.js';
import { signatureAlgorithm } from './signature-algorithms.js';

const OID_BASIC_RESPONSE = '1.3.6.1.5.5.7.48.1.1';
const OID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
const CLOCK_SKEW_MS = 5 * 60_000;

const RESPONSE_STATUS = ['successful', 'malformedRequest', 'internalError', 'tryLater', '(4)', 'sigRequired', 'unauthorized'];

/** What judging an OCSP answer needs besides the answer itself. */
export interface OcspContext {
  readonly cert: X509Certificate;
  readonly issuer: X509Certificate;
  readonly question: OcspQuestion;
  /** The responder's URL, for messages. */
  readonly url: string;
  /** The node's clock: freshness and the delegated responder's validity are judged at it. */
  readonly now: Date;
  /** How long an answer without nextUpdate may be believed ("newer information is always available"). */
  readonly withoutNextUpdateMs: number;
}

/**
 * Judges an OCSP response (RFC 6960): successful and basic; signed by the issuer itself or by a
 * responder the issuer delegated (a certificate it issued with id-kp-OCSPSigning, valid now); about
 * exactly the certificate asked; the nonce echoed when one is echoed; thisUpdate not in the future and
 * nextUpdate not past. Returns the status, or throws TRAMITE_ERR_REVOCATION_INVALID (the answer cannot
 * be believed) or TRAMITE_ERR_CERT_STATUS_UNKNOWN (the responder had no usable answer).
 */
export function judgeOcspResponse(bytes: Uint8Array, ctx: OcspContext): CertificateStatus {
  const source = `the OCSP responder ${ctx.url}`;
  const about = `${source} for ${certificateLabel(ctx.cert)}`;
  let basic: pkijs.BasicOCSPResponse;
  try {
    const response = pkijs.OCSPResponse.fromBER(toArrayBuffer(bytes));
    const status = response.responseStatus.valueBlock.valueDec;
    if (status !== 0) throw noStatus(`${about} answered ${RESPONSE_STATUS[status] ?? status}`);
    if (!response.responseBytes || response.responseBytes.responseType !== OID_BASIC_RESPONSE) {
      throw invalidStatus(`${about} answered with a response type other than id-pkix-ocsp-basic`);
    }
    basic = pkijs.BasicOCSPResponse.fromBER(toArrayBuffer(response.responseBytes.response.valueBlock.valueHexView));
  } catch (cause) {
    if (cause instanceof TramiteError) throw cause;
    throw invalidStatus(`${about} answered with something that is not an OCSP response (${(cause as Error).message})`, cause);
  }
  const responder = authorisedResponder(basic, ctx, about);
  const algorithm = signatureAlgorithm(basic.signatureAlgorithm.algorithmId);
  if (!algorithm || algorithm.hash === 'sha1') {
    throw invalidStatus(
      `${about}: the response is signed with ${algorithm?.name ?? basic.signatureAlgorithm.algorithmId}, which is not accepted`,
    );
  }
  const data = basic.tbsResponseData;
  if (!verifySignature(algorithm.hash, data.tbsView, responder.publicKey, basic.signature.valueBlock.valueHexView)) {
    throw invalidStatus(`${about}: the response signature does not verify with the key of ${certificateLabel(responder)}`);
  }
  const echoed = data.responseExtensions?.find((e) => e.extnID === OID_OCSP_NONCE);
  if (echoed && !bytesEqual(echoed.extnValue.valueBlock.valueHexView, ctx.question.nonce)) {
    throw invalidStatus(`${about}: the response echoes another nonce than the request's (a replayed answer?)`);
  }
  const single = data.responses.find((r) => r.certID.isEqual(ctx.question.certId));
  if (!single) throw invalidStatus(`${about}: the response is about another certificate (no CertID matches the one asked)`);
  if (single.thisUpdate.getTime() - CLOCK_SKEW_MS > ctx.now.getTime()) {
    throw invalidStatus(`${about}: the response's thisUpdate ${single.thisUpdate.toISOString()} is in the future`);
  }
  const freshUntil = single.nextUpdate ?? new Date(Math.max(single.thisUpdate.getTime(), ctx.now.getTime()) + ctx.withoutNextUpdateMs);
  if (single.nextUpdate && single.nextUpdate <= ctx.now) {
    throw noStatus(`${about}: the response is stale (nextUpdate ${single.nextUpdate.toISOString()}, now ${ctx.now.toISOString()})`);
  }
  const status = single.certStatus as asn1js.BaseBlock;
  switch (status.idBlock.tagNumber) {
    case 0:
      return { status: 'good', source, freshUntil };
    case 1: {
      const { revokedAt, reason } = revokedInfo(status, about);
      return { status: 'revoked', source, freshUntil, revokedAt, ...(reason !== undefined ? { reason } : {}) };
    }
    default:
      throw noStatus(`${about}: the responder does not know the certificate (status unknown)`);
  }
}

/** The certificate that signed the response, if the issuer authorised it; otherwise REVOCATION_INVALID. */
function authorisedResponder(basic: pkijs.BasicOCSPResponse, ctx: OcspContext, about: string): X509Certificate {
  const responderId: unknown = basic.tbsResponseData.responderID;
  const candidates = [ctx.issuer, ...(basic.certs ?? []).map((c) => new X509Certificate(Buffer.from(c.toSchema().toBER())))];
  const signer = candidates.find((cert) => namesResponder(cert, responderId));
  if (!signer) throw invalidStatus(`${about}: the response is signed by a responder that is neither the CA nor a certificate it carries`);
  if (signer.fingerprint256 === ctx.issuer.fingerprint256) return signer;
  if (!signer.checkIssued(ctx.issuer) || !signer.verify(ctx.issuer.publicKey)) {
    throw invalidStatus(`${about}: the responder ${certificateLabel(signer)} is not issued by the CA ${certificateLabel(ctx.issuer)}`);
  }
  if (!(signer.keyUsage ?? []).includes(OID_KP_OCSP_SIGNING)) {
    throw invalidStatus(`${about}: the responder ${certificateLabel(signer)} is not authorised by its CA (no id-kp-OCSPSigning)`);
  }
  if (ctx.now < new Date(signer.validFrom) || ctx.now > new Date(signer.validTo)) {
    throw invalidStatus(`${about}: the responder certificate ${certificateLabel(signer)} is outside its validity dates`);
  }
  return signer;
}

/** ResponderID: byName (the subject) or byKey (SHA-1 of the public key's BIT STRING contents). */
function namesResponder(cert: X509Certificate, responderId: unknown): boolean {
  const parsed = pkijs.Certificate.fromBER(cert.raw);
  if (responderId instanceof pkijs.RelativeDistinguishedNames) return parsed.subject.isEqual(responderId);
  if (responderId instanceof asn1js.OctetString) {
    const keyHash = createHash('sha1').update(parsed.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest();
    return bytesEqual(keyHash, responderId.valueBlock.valueHexView);
  }
  return false;
}

/** RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL } */
function revokedInfo(status: asn1js.BaseBlock, about: string): { revokedAt: Date; reason?: string } {
  const parts = (status as asn1js.Constructed).valueBlock?.value ?? [];
  const time = parts[0];
  if (!(time instanceof asn1js.GeneralizedTime)) throw invalidStatus(`${about}: the revoked status has no revocationTime`);
  const reasonBlock = (parts[1] as asn1js.Constructed | undefined)?.valueBlock?.value?.[0];
  const reason = reasonBlock instanceof asn1js.Enumerated ? reasonName(reasonBlock.valueBlock.valueDec) : undefined;
  return { revokedAt: time.toDate(), ...(reason !== undefined ? { reason } : {}) };
}
