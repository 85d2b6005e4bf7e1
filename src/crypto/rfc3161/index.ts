/**
 * RFC 3161 time-stamping: ask a TSA for a token over some data (the node stamps log checkpoints with
 * it), and verify such a token later against trust (an auditor proving the chain head existed at the
 * token's time). ASN.1 and CMS by pkijs/asn1js over Node's WebCrypto, HTTP by undici; every failure is
 * a TramiteError TRAMITE_ERR_TSA whose message says what was wrong.
 */
export { requestTimestamp, type RequestTimestampOptions, type TsaHashAlgorithm } from './request-timestamp.js';
export { verifyTimestampToken, type VerifiedTimestamp, type VerifyTimestampOptions } from './verify-timestamp-token.js';
