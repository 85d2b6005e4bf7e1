import { createHash, randomUUID, type KeyObject, type X509Certificate } from 'node:crypto';
import { ExclusiveCanonicalization, SignedXml, type HashAlgorithm } from 'xml-crypto';
import { ConfigError, TramiteError } from '../../../src/core/errors.js';
import { NS, certificatesFromPem, isElement, keyMatchesCertificate, parseUntrustedXml, walkElements } from '../xml-security.js';
import { escapeAttribute } from '../../../envelopes/xml/xml-escape.js';
import { DIGEST_URI, MAX_KEYINFO_CERTIFICATES, SIGNED_PROPERTIES_TYPE, XADES_ALG, XADES_NS, type XadesDigest } from './xades-algorithms.js';

/** The AOO's electronic seal: its RSA private key and the certificate (plus, optionally, the chain up to the CA). */
export interface XadesSigner {
  readonly privateKey: KeyObject;
  readonly certificate: X509Certificate;
  /** PEM of `certificate`, possibly followed by its CA chain; every certificate in it travels in KeyInfo. */
  readonly certPem: string;
}

export interface XadesSignOptions {
  /** Written in xades:SigningTime (default: now). */
  readonly signingTime?: Date;
  /** Digest of both References (default sha256). The certificate digest is always SHA-256. */
  readonly digest?: XadesDigest;
}

/**
 * Seals an XML document (the Segnatura) with an enveloped XAdES baseline B signature appended as the
 * last child of the root element:
 *
 *   ds:Signature[@Id]
 *     SignedInfo (exc-c14n, RSA-SHA256)
 *       Reference URI=""  [enveloped-signature, exc-c14n]   — the whole document
 *       Reference URI="#<SignedProperties Id>" Type=…#SignedProperties [exc-c14n]
 *     SignatureValue
 *     KeyInfo/X509Data/X509Certificate+  — the seal certificate first
 *     Object/xades:QualifyingProperties[@Target='#<Signature Id>']/xades:SignedProperties
 *       SignedSignatureProperties: SigningTime, SigningCertificateV2 (SHA-256 of the certificate DER)
 *       SignedDataObjectProperties: DataObjectFormat (text/xml) for the document Reference
 *
 * xml-crypto does the canonicalisation, digests and RSA signing: it resolves a Reference whose target
 * is not yet in the document inside the Signature it is building, which is how SignedProperties (in
 * ds:Object) gets signed. A document that already carries a ds:Signature is refused: a second seal
 * would make the first one's enveloped transform cover a different document.
 */
export function signXades(xml: string, signer: XadesSigner, opts: XadesSignOptions = {}): string {
  const { doc, text } = parseUntrustedXml(xml);
  const root = doc.documentElement!;
  if ([...walkElements(root)].some((el) => isElement(el, NS.ds, 'Signature'))) {
    throw new TramiteError('TRAMITE_ERR_SIG_STRUCTURE', `cannot seal: <${root.nodeName}> already carries a ds:Signature`);
  }
  const chain = publishedCertificates(signer);
  const digestUri = DIGEST_URI[opts.digest ?? 'sha256'];

  const signatureId = `xades-${randomUUID()}`;
  const ids = { signature: signatureId, signedProperties: `${signatureId}-signedprops`, documentReference: `${signatureId}-ref-doc` };
  const sig = restrictedSigner(signer.privateKey, chain, qualifyingProperties(ids, signer.certificate, opts.signingTime ?? new Date()));
  // `/*` selects the root; isEmptyUri writes URI="" (the whole document) instead of giving the root an Id.
  sig.addReference({
    xpath: '/*',
    isEmptyUri: true,
    id: ids.documentReference,
    transforms: [XADES_ALG.enveloped, XADES_ALG.excC14n],
    digestAlgorithm: digestUri,
  });
  // Matches nothing in the document: xml-crypto then looks inside the Signature (ds:Object) it builds.
  sig.addReference({
    xpath: `//*[local-name()='SignedProperties' and namespace-uri()='${XADES_NS}' and @Id='${ids.signedProperties}']`,
    type: SIGNED_PROPERTIES_TYPE,
    transforms: [XADES_ALG.excC14n],
    digestAlgorithm: digestUri,
  });
  sig.computeSignature(text, { prefix: 'ds', attrs: { Id: ids.signature }, location: { reference: '/*', action: 'append' } });
  return sig.getSignedXml();
}

/** The seal certificate first, then any CA certificates that came with it in `certPem`. */
function publishedCertificates(signer: XadesSigner): X509Certificate[] {
  if (signer.privateKey.asymmetricKeyType !== 'rsa') {
    throw new ConfigError(
      'TRAMITE_ERR_KEY_INVALID',
      `the Segnatura seal is RSA only; the key is ${signer.privateKey.asymmetricKeyType ?? 'not asymmetric'}`,
    );
  }
  if (!keyMatchesCertificate(signer.privateKey, signer.certificate)) {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', 'the seal private key does not belong to the seal certificate');
  }
  const others = certificatesFromPem(signer.certPem, 'seal certificate PEM').filter(
    (c) => c.fingerprint256 !== signer.certificate.fingerprint256,
  );
  if (others.length + 1 > MAX_KEYINFO_CERTIFICATES) {
    throw new ConfigError(
      'TRAMITE_ERR_KEY_INVALID',
      `the seal PEM carries ${others.length + 1} certificates; peers accept at most ${MAX_KEYINFO_CERTIFICATES} in KeyInfo`,
    );
  }
  return [signer.certificate, ...others];
}

/**
 * xml-crypto with its algorithm tables cut down to what this signer writes. SHA-384 is not in
 * xml-crypto's own table, so the digests are node:crypto hashes registered under their URIs.
 */
function restrictedSigner(privateKey: KeyObject, chain: readonly X509Certificate[], qualifyingPropertiesXml: string): SignedXml {
  const sig = new SignedXml({
    privateKey,
    canonicalizationAlgorithm: XADES_ALG.excC14n,
    signatureAlgorithm: XADES_ALG.rsaSha256,
    getKeyInfoContent: ({ prefix } = {}) => {
      const p = prefix ? `${prefix}:` : '';
      const certs = chain.map((c) => `<${p}X509Certificate>${c.raw.toString('base64')}</${p}X509Certificate>`).join('');
      return `<${p}X509Data>${certs}</${p}X509Data>`;
    },
    objects: [{ content: qualifyingPropertiesXml }],
  });
  sig.SignatureAlgorithms = { [XADES_ALG.rsaSha256]: sig.SignatureAlgorithms[XADES_ALG.rsaSha256]! };
  sig.HashAlgorithms = Object.fromEntries(Object.entries(DIGEST_URI).map(([name, uri]) => [uri, nodeDigest(uri, name)]));
  sig.CanonicalizationAlgorithms = {
    [XADES_ALG.excC14n]: ExclusiveCanonicalization,
    [XADES_ALG.enveloped]: sig.CanonicalizationAlgorithms[XADES_ALG.enveloped]!,
  };
  return sig;
}

function nodeDigest(uri: string, name: string): new () => HashAlgorithm {
  return class implements HashAlgorithm {
    getAlgorithmName(): string {
      return uri;
    }
    getHash(xml: string): string {
      return createHash(name).update(xml, 'utf8').digest('base64');
    }
  };
}

/**
 * The ds:Object content. Every value written is generated here (ids, base64, a UTC instant), yet it is
 * escaped anyway so the string can never change the markup around it.
 */
function qualifyingProperties(
  ids: { signature: string; signedProperties: string; documentReference: string },
  certificate: X509Certificate,
  signingTime: Date,
): string {
  const certDigest = createHash('sha256').update(certificate.raw).digest('base64');
  return (
    `<xades:QualifyingProperties xmlns:xades="${XADES_NS}" Target="#${escapeAttribute(ids.signature)}">` +
    `<xades:SignedProperties Id="${escapeAttribute(ids.signedProperties)}">` +
    '<xades:SignedSignatureProperties>' +
    `<xades:SigningTime>${xsdDateTimeSeconds(signingTime)}</xades:SigningTime>` +
    '<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>' +
    `<ds:DigestMethod Algorithm="${XADES_ALG.sha256}"/><ds:DigestValue>${certDigest}</ds:DigestValue>` +
    '</xades:CertDigest></xades:Cert></xades:SigningCertificateV2>' +
    '</xades:SignedSignatureProperties>' +
    '<xades:SignedDataObjectProperties>' +
    `<xades:DataObjectFormat ObjectReference="#${escapeAttribute(ids.documentReference)}"><xades:MimeType>text/xml</xades:MimeType></xades:DataObjectFormat>` +
    '</xades:SignedDataObjectProperties>' +
    '</xades:SignedProperties>' +
    '</xades:QualifyingProperties>'
  );
}

/** UTC to the second, `Z`: the form XAdES signers and validators (DSS) write and expect. */
function xsdDateTimeSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
