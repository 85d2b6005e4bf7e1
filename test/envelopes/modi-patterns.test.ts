/**
 * ModI SOAP security patterns: which one an envelope satisfies (ID_AUTH_SOAP_01, ID_AUTH_SOAP_02,
 * INTEGRITY_SOAP_01), how verifyEnvelope holds it to the patterns a caller requires, and what the
 * sealer signs for each declaration. Envelopes are signed both by the node's sealer and, for the
 * shapes the node never writes (no wsa:MessageID, the token signed, no token), by xml-crypto over
 * exactly the chosen references — an independent signer, so detection does not just mirror sealing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { buildModiEnvelope, openEnvelope, readEnvelope, sealEnvelope, verifyEnvelope } from '../../envelopes/envelope.js';
import { strongestPatterns } from '../../envelopes/modi/modi-patterns.js';
import { SecurityError } from '../../src/core/errors.js';
import { WEAKEST_MODI_PATTERNS, type ModiSoapPattern } from '../../src/core/service-profile.js';
import { NS, WSS_X509V3 } from '../../envelopes/xml/namespaces.js';
import { ALG } from '../../envelopes/security/ws-security-algorithms.js';
import { SAMPLE_BODY, getTestPki, livePolicy, sampleAddressing, type TestPki } from '../fixtures/test-pki.js';

let pki: TestPki;
beforeAll(() => {
  pki = getTestPki();
});

const parse = (xml: string): Document => new DOMParser().parseFromString(xml, 'text/xml');
const serialize = (node: Node): string => new XMLSerializer().serializeToString(node);
const first = (doc: Document, ns: string, local: string): Element => doc.getElementsByTagNameNS(ns, local)[0]!;
const pemBody = (pem: string): string => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

/** A ModI envelope sealed by the node, declaring `modiPatterns` (undefined: the default). */
async function sealed(modiPatterns?: readonly ModiSoapPattern[]): Promise<string> {
  const addressing = sampleAddressing();
  return await sealEnvelope(buildModiEnvelope(addressing, SAMPLE_BODY), 'modi', pki.comuneA, {
    now: new Date(),
    ttlSeconds: 300,
    addressing,
    ...(modiPatterns ? { modiPatterns } : {}),
  });
}

type Target = 'Timestamp' | 'Body' | 'token' | 'To' | 'From' | 'Action' | 'MessageID' | 'RelatesTo' | 'ReplyTo';

interface ResignOptions {
  /** What the new signature references. */
  readonly sign: readonly Target[];
  /** wsa blocks taken out of the envelope before signing. */
  readonly drop?: readonly string[];
  /** The signer named by a wsse:SecurityTokenReference to the token (default) or inline in ds:X509Data. */
  readonly keyInfo?: 'token' | 'x509data';
}

/** Takes a node-sealed envelope, removes its ds:Signature and signs again with xml-crypto over `sign`. */
async function resigned(opts: ResignOptions): Promise<string> {
  const doc = parse(await sealed());
  const security = first(doc, NS.wsse, 'Security');
  security.removeChild(first(doc, NS.ds, 'Signature'));
  const header = first(doc, NS.soap11, 'Header');
  for (const name of opts.drop ?? []) header.removeChild(first(doc, NS.wsa, name));
  const token = first(doc, NS.wsse, 'BinarySecurityToken');
  const targetOf = (t: Target): Element =>
    t === 'Timestamp'
      ? first(doc, NS.wsu, 'Timestamp')
      : t === 'Body'
        ? first(doc, NS.soap11, 'Body')
        : t === 'token'
          ? token
          : first(doc, NS.wsa, t);
  const ids = opts.sign.map((t, i) => {
    const el = targetOf(t);
    const existing = el.getAttributeNS(NS.wsu, 'Id');
    if (existing) return existing;
    el.setAttributeNS(NS.xmlns, 'xmlns:wsu', NS.wsu);
    el.setAttributeNS(NS.wsu, 'wsu:Id', `re-${i}`);
    return `re-${i}`;
  });
  const sig = new SignedXml({
    privateKey: pki.comuneA.keyPem,
    canonicalizationAlgorithm: ALG.excC14n,
    signatureAlgorithm: ALG.rsaSha256,
    idMode: 'wssecurity',
    getKeyInfoContent: () =>
      opts.keyInfo === 'x509data'
        ? `<ds:X509Data><ds:X509Certificate>${pemBody(pki.comuneA.certPem)}</ds:X509Certificate></ds:X509Data>`
        : `<wsse:SecurityTokenReference xmlns:wsse="${NS.wsse}"><wsse:Reference URI="#${token.getAttributeNS(NS.wsu, 'Id')}" ValueType="${WSS_X509V3}"/></wsse:SecurityTokenReference>`,
  });
  for (const id of ids)
    sig.addReference({ xpath: `//*[@*[local-name()='Id' and .='${id}']]`, transforms: [ALG.excC14n], digestAlgorithm: ALG.sha256 });
  sig.computeSignature(serialize(doc), {
    prefix: 'ds',
    location: { reference: `//*[local-name()='Security' and namespace-uri()='${NS.wsse}']`, action: 'append' },
  });
  return sig.getSignedXml();
}

const EVERY_WSA: Target[] = ['To', 'From', 'Action', 'MessageID', 'ReplyTo'];
const WSA_BUT_MESSAGE_ID: Target[] = ['To', 'From', 'Action', 'ReplyTo'];

/** The patterns found when nothing in particular is required (what `tramite envelope verify` reports). */
const found = (xml: string): ModiSoapPattern[] =>
  strongestPatterns(openEnvelope(xml, livePolicy(), undefined, WEAKEST_MODI_PATTERNS).modi!.satisfied);

function refusal(fn: () => unknown): SecurityError {
  try {
    fn();
  } catch (err) {
    expect(err, String(err)).toBeInstanceOf(SecurityError);
    return err as SecurityError;
  }
  throw new Error('expected a refusal, but the envelope was accepted');
}

describe('ModI pattern an envelope satisfies', () => {
  it('Timestamp + every wsa header + Body, token not signed (as GovWay and the node sign) → ID_AUTH_SOAP_02 + INTEGRITY_SOAP_01', async () => {
    expect(found(await resigned({ sign: ['Timestamp', ...EVERY_WSA, 'Body'] }))).toEqual(['ID_AUTH_SOAP_02', 'INTEGRITY_SOAP_01']);
  });

  it('Timestamp + every wsa header, Body not signed → ID_AUTH_SOAP_02 alone', async () => {
    const xml = await resigned({ sign: ['Timestamp', ...EVERY_WSA] });
    const opened = openEnvelope(xml, livePolicy(), undefined, WEAKEST_MODI_PATTERNS);
    expect(opened.signature.signed).not.toContain('Body');
    expect(strongestPatterns(opened.modi!.satisfied)).toEqual(['ID_AUTH_SOAP_02']);
  });

  it('no wsa:MessageID, Timestamp + the other wsa headers signed → ID_AUTH_SOAP_01', async () => {
    expect(found(await resigned({ sign: ['Timestamp', ...WSA_BUT_MESSAGE_ID], drop: ['MessageID'] }))).toEqual(['ID_AUTH_SOAP_01']);
  });

  it('no wsa:MessageID, Body signed too → ID_AUTH_SOAP_01 + INTEGRITY_SOAP_01', async () => {
    expect(found(await resigned({ sign: ['Timestamp', ...WSA_BUT_MESSAGE_ID, 'Body'], drop: ['MessageID'] }))).toEqual([
      'ID_AUTH_SOAP_01',
      'INTEGRITY_SOAP_01',
    ]);
  });

  it('the token signed as well changes nothing', async () => {
    expect(found(await resigned({ sign: ['Timestamp', 'token', ...EVERY_WSA] }))).toEqual(['ID_AUTH_SOAP_02']);
  });

  it('no token (the signer inline in ds:X509Data) → no pattern: EGOV_IT_200 MODI_PATTERN at Security/BinarySecurityToken', async () => {
    const xml = await resigned({ sign: ['Timestamp', ...EVERY_WSA, 'Body'], keyInfo: 'x509data' });
    const err = refusal(() => openEnvelope(xml, livePolicy(), undefined, WEAKEST_MODI_PATTERNS));
    expect(err).toMatchObject({ code: 'EGOV_IT_200', reason: 'TRAMITE_ERR_MODI_PATTERN', posizione: 'Security/BinarySecurityToken' });
    expect(err.message).toContain('no ModI pattern');
  });

  it('a wsa header reference missing (wsa:Action unsigned) → no pattern: SIG_COVERAGE at Header/Action', async () => {
    const xml = await resigned({ sign: ['Timestamp', 'To', 'From', 'MessageID', 'ReplyTo', 'Body'] });
    expect(refusal(() => openEnvelope(xml, livePolicy(), undefined, WEAKEST_MODI_PATTERNS))).toMatchObject({
      code: 'EGOV_IT_202',
      reason: 'TRAMITE_ERR_SIG_COVERAGE',
      posizione: 'Header/Action',
    });
  });

  it('no wsa:To (no audience) → no pattern: MODI_PATTERN at Header/To', async () => {
    const xml = await resigned({ sign: ['Timestamp', 'From', 'Action', 'MessageID', 'ReplyTo', 'Body'], drop: ['To'] });
    expect(refusal(() => openEnvelope(xml, livePolicy(), undefined, WEAKEST_MODI_PATTERNS))).toMatchObject({
      code: 'EGOV_IT_200',
      reason: 'TRAMITE_ERR_MODI_PATTERN',
      posizione: 'Header/To',
    });
  });
});

describe('verifyEnvelope holds a ModI envelope to the patterns required', () => {
  it('by default (ID_AUTH_SOAP_02 + INTEGRITY_SOAP_01) a Body-unsigned envelope → EGOV_IT_200 MODI_PATTERN at Body', async () => {
    const awaited2 = await resigned({ sign: ['Timestamp', ...EVERY_WSA] });
    const err = refusal(() => openEnvelope(awaited2, livePolicy()));
    expect(err).toMatchObject({ code: 'EGOV_IT_200', reason: 'TRAMITE_ERR_MODI_PATTERN', posizione: 'Body' });
    expect(err.message).toContain('INTEGRITY_SOAP_01');
    expect(err.signer).toContain('CN=ComuneA');
  });

  it('ID_AUTH_SOAP_02 required, no wsa:MessageID → MODI_PATTERN at Header/MessageID', async () => {
    const xml = await resigned({ sign: ['Timestamp', ...WSA_BUT_MESSAGE_ID, 'Body'], drop: ['MessageID'] });
    expect(refusal(() => openEnvelope(xml, livePolicy(), undefined, ['ID_AUTH_SOAP_02']))).toMatchObject({
      reason: 'TRAMITE_ERR_MODI_PATTERN',
      posizione: 'Header/MessageID',
    });
  });

  it('a stronger envelope than required is accepted (ID_AUTH_SOAP_01 + INTEGRITY_SOAP_01 required, ID_AUTH_SOAP_02 + INTEGRITY_SOAP_01 given)', async () => {
    const opened = openEnvelope(await sealed(), livePolicy(), undefined, ['ID_AUTH_SOAP_01', 'INTEGRITY_SOAP_01']);
    expect(opened.modi!.satisfied).toEqual(['ID_AUTH_SOAP_01', 'ID_AUTH_SOAP_02', 'INTEGRITY_SOAP_01']);
  });

  it('ID_AUTH_SOAP_01 required: the Body-unsigned envelope is accepted', async () => {
    const opened = openEnvelope(await resigned({ sign: ['Timestamp', ...EVERY_WSA] }), livePolicy(), undefined, ['ID_AUTH_SOAP_01']);
    expect(opened.modi!.gaps.get('INTEGRITY_SOAP_01')).toEqual({ posizione: 'Body', why: 'soap:Body is not signed' });
  });
});

describe('the sealer signs what the declared patterns say', () => {
  const signedBy = (xml: string): readonly string[] =>
    verifyEnvelope(readEnvelope(xml), livePolicy(), WEAKEST_MODI_PATTERNS).signature.signed;

  it('default: Body, Timestamp and every wsa header', async () => {
    expect([...signedBy(await sealed())].sort()).toEqual([
      'Body',
      'Header/Action',
      'Header/From',
      'Header/MessageID',
      'Header/ReplyTo',
      'Header/To',
      'Security/Timestamp',
    ]);
  });

  it.each([[['ID_AUTH_SOAP_01']], [['ID_AUTH_SOAP_02']]] as ModiSoapPattern[][][])(
    '%j without INTEGRITY_SOAP_01: the Body is not signed, MessageID is',
    async (patterns) => {
      const signed = signedBy(await sealed(patterns));
      expect(signed).not.toContain('Body');
      expect(signed).toEqual(expect.arrayContaining(['Security/Timestamp', 'Header/To', 'Header/MessageID']));
      expect(found(await sealed(patterns))).toEqual(['ID_AUTH_SOAP_02']);
    },
  );

  it('ID_AUTH_SOAP_01 + INTEGRITY_SOAP_01: the Body is signed', async () => {
    expect(signedBy(await sealed(['ID_AUTH_SOAP_01', 'INTEGRITY_SOAP_01']))).toContain('Body');
  });
});
