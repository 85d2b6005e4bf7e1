/**
 * The order of verification (issue 12, item 1), shown by envelopes with two faults: the earlier check
 * must be the one that refuses. Structure → Ids → References → signer certificate → trust store →
 * bindSigner → Timestamp → SignatureValue → digests: nothing is canonicalised or digested for a
 * signer that is not trusted and bound. Then the key and certificate rules of item 4: the key must fit
 * the SignatureMethod, ECDSA P-256 signs and verifies, and a signer must be allowed to sign.
 */
import { createSign, sign as signData, type X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { openEnvelope, sealEnvelope, buildEgovEnvelope } from '../../../envelopes/envelope.js';
import { EnvelopeError, SecurityError, ConfigError } from '../../../src/core/errors.js';
import type { TramiteCode } from '../../../src/core/error-codes.js';
import { NS } from '../../../envelopes/xml/namespaces.js';
import { exclusiveC14n } from '../../../envelopes/security/exc-c14n.js';
import { ALG } from '../../../envelopes/security/ws-security-algorithms.js';
import {
  SAMPLE_BODY,
  getTestPki,
  livePolicy,
  sampleEgovHeader,
  signedEgovEnvelope,
  signedModiEnvelope,
  type TestPki,
  type TestSigner,
} from '../../fixtures/test-pki.js';
import { SIGNER_EXTENSIONS, issueWithOpenssl } from '../../fixtures/openssl-certs.js';

let pki: TestPki;
let ecSigner: TestSigner;
let p384Signer: TestSigner;
beforeAll(() => {
  pki = getTestPki();
  ecSigner = issueWithOpenssl({ issuer: pki.ca, subject: '/C=IT/O=SPC/CN=ComuneA', key: 'ec-p256', extensions: SIGNER_EXTENSIONS });
  p384Signer = issueWithOpenssl({ issuer: pki.ca, subject: '/C=IT/O=SPC/CN=ComuneA', key: 'ec-p384', extensions: SIGNER_EXTENSIONS });
});

const parse = (xml: string): Document => new DOMParser().parseFromString(xml, 'text/xml');
const serialize = (doc: Document): string => new XMLSerializer().serializeToString(doc);
const first = (doc: Document, ns: string, local: string): Element => doc.getElementsByTagNameNS(ns, local)[0]!;

function refusal(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal, but the envelope was accepted');
}

function expectReason(fn: () => unknown, reason: TramiteCode): SecurityError {
  const err = refusal(fn);
  expect(err, String(err)).toBeInstanceOf(SecurityError);
  expect((err as SecurityError).reason, (err as Error).message).toBe(reason);
  return err as SecurityError;
}

/** A Body whose signed digest no longer matches: one character changed after signing. */
const withBrokenDigest = (xml: string): string => {
  const out = xml.replace('Mario Rossi', 'Mario Rosso');
  expect(out).not.toBe(xml);
  return out;
};

/** Changes SignedInfo (through `edit`) and signs it again with `signer`'s key, `encoding` as given. */
function resignSignedInfo(
  xml: string,
  signer: TestSigner,
  edit: (doc: Document) => void,
  encoding: 'der' | 'ieee-p1363',
  hash = 'sha256',
): string {
  const doc = parse(xml);
  edit(doc);
  const canonical = exclusiveC14n(first(doc, NS.ds, 'SignedInfo'));
  const value = signData(hash, Buffer.from(canonical, 'utf8'), { key: signer.privateKey, dsaEncoding: encoding });
  first(doc, NS.ds, 'SignatureValue').textContent = value.toString('base64');
  return serialize(doc);
}

const pemBody = (pem: string): string => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

describe('verification order: the earlier fault is the one reported', () => {
  it('an untrusted signer with a broken digest → CERT_UNTRUSTED, not a digest error', async () => {
    const signed1 = await signedEgovEnvelope({ signer: pki.rogue });
    expectReason(() => openEnvelope(withBrokenDigest(signed1.xml), livePolicy()), 'TRAMITE_ERR_CERT_UNTRUSTED');
  });

  it('an expired signer with a broken SignatureValue → CERT_EXPIRED, not a signature error', async () => {
    const xml = (await signedEgovEnvelope({ signer: pki.expired })).xml.replace(
      /<ds:SignatureValue>[A-Za-z0-9+/]{8}/,
      '<ds:SignatureValue>AAAAAAAA',
    );
    expectReason(() => openEnvelope(xml, livePolicy()), 'TRAMITE_ERR_CERT_EXPIRED');
  });

  it('a stale Timestamp with a broken digest → TIMESTAMP, not a digest error', async () => {
    const xml = withBrokenDigest((await signedEgovEnvelope({ at: new Date(Date.now() - 400_000), ttlSeconds: 3600 })).xml);
    expectReason(() => openEnvelope(xml, livePolicy()), 'TRAMITE_ERR_TIMESTAMP');
  });

  it('a stale Timestamp with a broken SignatureValue → TIMESTAMP, not a signature error', async () => {
    const xml = (await signedModiEnvelope({ at: new Date(Date.now() - 400_000), ttlSeconds: 3600 })).xml.replace(
      /<ds:SignatureValue>[A-Za-z0-9+/]{8}/,
      '<ds:SignatureValue>AAAAAAAA',
    );
    expectReason(() => openEnvelope(xml, livePolicy()), 'TRAMITE_ERR_TIMESTAMP');
  });

  it('a broken SignatureValue with a broken digest → SIG_VALUE: the key speaks before the unkeyed digests', async () => {
    const xml = withBrokenDigest((await signedEgovEnvelope()).xml).replace(
      /<ds:SignatureValue>[A-Za-z0-9+/]{8}/,
      '<ds:SignatureValue>AAAAAAAA',
    );
    expectReason(() => openEnvelope(xml, livePolicy()), 'TRAMITE_ERR_SIG_VALUE');
  });

  it('a signer bound to another party with a broken digest → the binding refusal (EGOV_IT_201), not a digest error', async () => {
    const xml = withBrokenDigest((await signedEgovEnvelope({ signer: pki.regione })).xml);
    const bindSigner = (signer: X509Certificate): void => {
      if (!signer.subject.includes('CN=ComuneA'))
        throw new EnvelopeError('EGOV_IT_201', 'Header/Security/BinarySecurityToken', 'EGOV_IT_201 - not ComuneA');
    };
    const err = refusal(() => openEnvelope(xml, livePolicy({ bindSigner })));
    expect(err, String(err)).toBeInstanceOf(EnvelopeError);
    expect((err as EnvelopeError).code).toBe('EGOV_IT_201');
  });

  it('bindSigner gets the trusted signer certificate, once, and a valid envelope still opens', async () => {
    const seen: string[] = [];
    const opened = openEnvelope((await signedModiEnvelope()).xml, livePolicy({ bindSigner: (signer) => seen.push(signer.subject) }));
    expect(seen).toEqual([opened.signature.signer.subject]);
    expect(seen[0]).toContain('CN=ComuneA');
  });

  it('bindSigner is never asked about an untrusted signer', async () => {
    const seen: string[] = [];
    const signed2 = await signedEgovEnvelope({ signer: pki.rogue });
    expectReason(() => openEnvelope(signed2.xml, livePolicy({ bindSigner: (s) => seen.push(s.subject) })), 'TRAMITE_ERR_CERT_UNTRUSTED');
    expect(seen).toEqual([]);
  });
});

describe('the key must fit the SignatureMethod', () => {
  it('an EC key under rsa-sha256 (an ECDSA value labelled RSA) → SIG_ALGORITHM', async () => {
    const sealed = await sealEnvelope(buildEgovEnvelope(sampleEgovHeader(new Date()), SAMPLE_BODY), 'egov', ecSigner, {
      now: new Date(),
      ttlSeconds: 300,
    });
    const xml = resignSignedInfo(
      sealed,
      ecSigner,
      (doc) => first(doc, NS.ds, 'SignatureMethod').setAttribute('Algorithm', ALG.rsaSha256),
      'der',
    );
    expect(xml).toContain(`Algorithm="${ALG.rsaSha256}"`);
    expectReason(() => openEnvelope(xml, livePolicy()), 'TRAMITE_ERR_SIG_ALGORITHM');
  });

  it('an RSA key under ecdsa-sha256 → SIG_ALGORITHM', async () => {
    const xml = resignSignedInfo(
      (await signedEgovEnvelope()).xml,
      pki.comuneA,
      (doc) => first(doc, NS.ds, 'SignatureMethod').setAttribute('Algorithm', ALG.ecdsaSha256),
      'der',
    );
    expectReason(() => openEnvelope(xml, livePolicy()), 'TRAMITE_ERR_SIG_ALGORITHM');
  });

  it('a P-384 key under ecdsa-sha256 (only P-256 is accepted) → SIG_ALGORITHM', async () => {
    const sealed = (await signedModiEnvelope({ signer: ecSigner })).xml;
    const xml = resignSignedInfo(
      sealed,
      p384Signer,
      (doc) => {
        first(doc, NS.wsse, 'BinarySecurityToken').textContent = pemBody(p384Signer.certPem);
      },
      'ieee-p1363',
    );
    expectReason(() => openEnvelope(xml, livePolicy()), 'TRAMITE_ERR_SIG_ALGORITHM');
  });

  it('the node refuses to sign with a P-384 key rather than write a method it would refuse', async () => {
    const err = await signedEgovEnvelope({ signer: p384Signer }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('TRAMITE_ERR_KEY_INVALID');
  });
});

describe('ECDSA P-256 (ecdsa-sha256)', () => {
  it.each(['egov', 'modi'] as const)(
    'a party with an EC P-256 key seals %s envelopes with ecdsa-sha256, and they open',
    async (profile) => {
      const xml =
        profile === 'egov' ? (await signedEgovEnvelope({ signer: ecSigner })).xml : (await signedModiEnvelope({ signer: ecSigner })).xml;
      expect(xml).toContain(`<ds:SignatureMethod Algorithm="${ALG.ecdsaSha256}"/>`);
      const value = Buffer.from(/<ds:SignatureValue>([^<]+)</.exec(xml)![1]!, 'base64');
      expect(value).toHaveLength(64); // raw r||s, not DER
      const opened = openEnvelope(xml, livePolicy());
      expect(opened.signature.signer.publicKey.asymmetricKeyType).toBe('ec');
    },
  );

  it('an ECDSA value in DER (not the raw r||s XML-DSig wants) → SIG_VALUE', async () => {
    const xml = resignSignedInfo((await signedEgovEnvelope({ signer: ecSigner })).xml, ecSigner, () => undefined, 'der');
    expectReason(() => openEnvelope(xml, livePolicy()), 'TRAMITE_ERR_SIG_VALUE');
  });

  it('a body altered after an ECDSA signature → SIG_DIGEST at Body', async () => {
    const signed3 = await signedEgovEnvelope({ signer: ecSigner });
    const e = expectReason(() => openEnvelope(withBrokenDigest(signed3.xml), livePolicy()), 'TRAMITE_ERR_SIG_DIGEST');
    expect(e.posizione).toBe('Body');
  });
});

describe('who may sign (trust store, signer certificate rules)', () => {
  const signerWith = (extensions: string[]): TestSigner =>
    issueWithOpenssl({ issuer: pki.ca, subject: '/C=IT/O=SPC/CN=ComuneA', key: 'ec-p256', extensions });

  it('a leaf with basicConstraints cA=TRUE (digitalSignature too) → CERT_USAGE', async () => {
    const caLeaf = signerWith(['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, digitalSignature, keyCertSign']);
    const signed4 = await signedEgovEnvelope({ signer: caLeaf });
    const e = expectReason(() => openEnvelope(signed4.xml, livePolicy()), 'TRAMITE_ERR_CERT_USAGE');
    expect(e.message).toMatch(/CA certificate/);
  });

  it.each([
    ['timeStamping', 'timeStamping'],
    ['codeSigning', 'codeSigning'],
    ['OCSPSigning', 'OCSPSigning'],
  ])('extendedKeyUsage %s only → CERT_USAGE', async (eku, named) => {
    const signer = signerWith([...SIGNER_EXTENSIONS, `extendedKeyUsage = ${eku}`]);
    const awaited8 = await signedEgovEnvelope({ signer });
    const e = expectReason(() => openEnvelope(awaited8.xml, livePolicy()), 'TRAMITE_ERR_CERT_USAGE');
    expect(e.message).toContain(named);
  });

  it.each([
    ['clientAuth', 'clientAuth'],
    ['serverAuth', 'serverAuth'],
    ['emailProtection', 'emailProtection'],
    ['documentSigning (1.3.6.1.5.5.7.3.36)', '1.3.6.1.5.5.7.3.36'],
    ['anyExtendedKeyUsage', 'anyExtendedKeyUsage'],
    ['timeStamping together with clientAuth', 'timeStamping, clientAuth'],
  ])('extendedKeyUsage %s → accepted', async (_label, eku) => {
    const signer = signerWith([...SIGNER_EXTENSIONS, `extendedKeyUsage = ${eku}`]);
    const awaited6 = await signedModiEnvelope({ signer });
    expect(() => openEnvelope(awaited6.xml, livePolicy())).not.toThrow();
  });

  it('no extendedKeyUsage extension at all → accepted (no restriction of purpose)', async () => {
    const awaited3 = await signedModiEnvelope({ signer: signerWith([...SIGNER_EXTENSIONS]) });
    expect(() => openEnvelope(awaited3.xml, livePolicy())).not.toThrow();
  });
});

// The RSA-PKCS#1 helper of this file must agree with node's createSign: a sanity check of the fixture.
it('fixture: resignSignedInfo with DER RSA equals createSign over the canonical SignedInfo', async () => {
  const xml = resignSignedInfo((await signedEgovEnvelope()).xml, pki.comuneA, () => undefined, 'der');
  const doc = parse(xml);
  const expected = createSign('sha256')
    .update(exclusiveC14n(first(doc, NS.ds, 'SignedInfo')))
    .sign(pki.comuneA.privateKey, 'base64');
  expect(first(doc, NS.ds, 'SignatureValue').textContent).toBe(expected);
  expect(() => openEnvelope(xml, livePolicy())).not.toThrow();
});

describe('shapes the verifier refuses before any key or digest work', () => {
  const EXC = `<ds:Transform Algorithm="${ALG.excC14n}"/>`;
  /** The Body's Reference (the node writes Timestamp, Body, header), its Transforms changed by `edit`. */
  async function withBodyTransforms(edit: (transforms: Element, doc: Document) => void): Promise<string> {
    const doc = parse((await signedEgovEnvelope()).xml);
    const ref = doc.getElementsByTagNameNS(NS.ds, 'Reference')[1]!;
    edit(ref.getElementsByTagNameNS(NS.ds, 'Transforms')[0]!, doc);
    return serialize(doc);
  }
  const transform = (doc: Document, alg: string): Element => {
    const t = doc.createElementNS(NS.ds, 'ds:Transform');
    t.setAttribute('Algorithm', alg);
    return t;
  };

  it('two canonicalisations in one transform chain → SIG_ALGORITHM at Body', async () => {
    const xml = await withBodyTransforms((ts, doc) => ts.appendChild(transform(doc, ALG.excC14n)));
    expect(xml.split(EXC).length).toBeGreaterThan(4);
    const e = expectReason(() => openEnvelope(xml, livePolicy()), 'TRAMITE_ERR_SIG_ALGORITHM');
    expect(e.posizione).toBe('Body');
  });

  it('enveloped-signature after the canonicalisation → SIG_ALGORITHM', async () => {
    const xml = await withBodyTransforms((ts, doc) => ts.appendChild(transform(doc, ALG.enveloped)));
    expectReason(() => openEnvelope(xml, livePolicy()), 'TRAMITE_ERR_SIG_ALGORITHM');
  });

  it('a foreign element inside an exc-c14n Transform (not ec:InclusiveNamespaces) → SIG_STRUCTURE', async () => {
    const xml = await withBodyTransforms((ts, doc) =>
      ts.getElementsByTagNameNS(NS.ds, 'Transform')[0]!.appendChild(doc.createElementNS('urn:evil', 'x:Extra')),
    );
    expectReason(() => openEnvelope(xml, livePolicy()), 'TRAMITE_ERR_SIG_STRUCTURE');
  });

  it('a second element in ds:KeyInfo (a KeyName beside the token reference) → SIG_STRUCTURE', async () => {
    const doc = parse((await signedEgovEnvelope()).xml);
    const name = doc.createElementNS(NS.ds, 'ds:KeyName');
    name.textContent = 'ComuneA';
    first(doc, NS.ds, 'KeyInfo').appendChild(name);
    expectReason(() => openEnvelope(serialize(doc), livePolicy()), 'TRAMITE_ERR_SIG_STRUCTURE');
  });

  it('an HMACOutputLength inside ds:SignatureMethod → SIG_STRUCTURE', async () => {
    const doc = parse((await signedEgovEnvelope()).xml);
    const len = doc.createElementNS(NS.ds, 'ds:HMACOutputLength');
    len.textContent = '8';
    first(doc, NS.ds, 'SignatureMethod').appendChild(len);
    expectReason(() => openEnvelope(serialize(doc), livePolicy()), 'TRAMITE_ERR_SIG_STRUCTURE');
  });
});
