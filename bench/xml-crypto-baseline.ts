/**
 * The baseline the envelope benchmark measures Tramite against: xml-crypto (the library Tramite's own
 * signer and verifier replaced), doing the same WS-Security work on the same envelopes — references by
 * wsu:Id to the Timestamp, the Body and the Intestazione, exclusive C14N, RSA-SHA256, SHA-256 digests,
 * the Signature appended to wsse:Security. Benchmark use only: it checks no trust and no shape.
 */
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { NS, WSS_X509V3 } from '../envelopes/xml/namespaces.js';
import { ALG } from '../envelopes/security/ws-security-algorithms.js';

export interface XmlCryptoBaseline {
  /** Signs `unsigned` (an envelope whose Security header has a Timestamp and a token, no Signature). */
  sign(unsigned: string): string;
  /** Verifies what sign() made: parse, locate the Signature, check digests and SignatureValue. */
  verify(signed: string): boolean;
}

/** The baseline with the signer's RSA key and certificate (PEM). */
export function xmlCryptoBaseline(keyPem: string, certPem: string): XmlCryptoBaseline {
  const references = ['Timestamp', 'Body', 'Intestazione'];
  return {
    sign(unsigned: string): string {
      const sig = new SignedXml({
        privateKey: keyPem,
        canonicalizationAlgorithm: ALG.excC14n,
        signatureAlgorithm: ALG.rsaSha256,
        idMode: 'wssecurity',
        getKeyInfoContent: () =>
          `<wsse:SecurityTokenReference xmlns:wsse="${NS.wsse}"><wsse:Reference URI="#bst" ValueType="${WSS_X509V3}"/></wsse:SecurityTokenReference>`,
      });
      for (const local of references) {
        sig.addReference({ xpath: `//*[local-name()='${local}']`, transforms: [ALG.excC14n], digestAlgorithm: ALG.sha256 });
      }
      sig.computeSignature(unsigned, {
        prefix: 'ds',
        location: { reference: `//*[local-name()='Security' and namespace-uri()='${NS.wsse}']`, action: 'append' },
      });
      return sig.getSignedXml();
    },
    verify(signed: string): boolean {
      const doc = new DOMParser().parseFromString(signed, 'text/xml');
      const signature = doc.getElementsByTagNameNS(NS.ds, 'Signature')[0];
      if (!signature) return false;
      const sig = new SignedXml({ publicCert: certPem, idMode: 'wssecurity' });
      sig.loadSignature(signature as unknown as Node);
      return sig.checkSignature(signed);
    },
  };
}

/** The envelope Tramite sealed, without its ds:Signature: what the baseline is given to sign. */
export function withoutSignature(sealed: string): string {
  const start = sealed.indexOf('<ds:Signature');
  const endTag = '</ds:Signature>';
  const end = sealed.indexOf(endTag, start);
  if (start < 0 || end < 0) throw new TypeError('benchmark setup: the sealed envelope has no ds:Signature');
  return sealed.slice(0, start) + sealed.slice(end + endTag.length);
}
