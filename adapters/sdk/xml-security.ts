/**
 * The security primitives the node itself uses, offered to adapters so that no adapter parses XML or
 * checks a certificate its own way: hardened parsing (no DOCTYPE unless one naming a known legacy DTD is
 * opted into, no PIs, size and depth limits, bytes decoded by their declared encoding),
 * DOM navigation by namespace, exclusive C14N, and the trust store with chain and validity checks.
 * Adapters import these from the SDK, never from src/crypto.
 */
export {
  parseUntrustedXml,
  isDoctypeRefusal,
  decodeXmlBytes,
  withUtf8Declaration,
  DEFAULT_XML_LIMITS,
  type XmlLimits,
  type UntrustedXmlOptions,
  type KnownExternalDtd,
  type DecodedXml,
  type XmlEncoding,
} from '../../envelopes/xml/hardened-xml.js';
export { childElements, childrenNamed, isElement, textOf, walkElements } from '../../envelopes/xml/dom-navigation.js';
export { exclusiveC14n, type CanonicalizationOptions } from '../../envelopes/security/exc-c14n.js';
export { NS } from '../../envelopes/xml/namespaces.js';
export { TrustStore, certificatesFromPem } from '../../src/crypto/trust-store.js';
export { describeCertificate } from '../../src/core/certificate-description.js';
export type { CertificateChainCheck, ChainCheck } from '../../src/crypto/revocation/certificate-chain-check.js';
export { loadCertifiedKey, keyMatchesCertificate, type CertifiedKey } from '../../src/crypto/party-identity.js';
/** What signs for the party (an in-memory key or a PKCS#11 token): XAdES seals and anything else an adapter signs. */
export type { Signer, SignatureAlgorithm, EcdsaEncoding } from '../../src/core/signer.js';
export { memorySigner, type MemorySignerSource } from '../../src/crypto/signer/memory-signer.js';
