/**
 * ModI security patterns between two real nodes on 127.0.0.1 (the CST and the Regione of the demo
 * federation): each ModI service declares its patterns, the sending node signs what they say (the
 * Body only with INTEGRITY_SOAP_01, replies included), and the receiving node refuses an envelope
 * that satisfies less than its own declaration (EGOV_IT_200 at the element missing).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { request } from 'undici';
import { SignedXml } from 'xml-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnvelope, verifyEnvelope } from '../../envelopes/envelope.js';
import { strongestPatterns } from '../../envelopes/modi/modi-patterns.js';
import { WEAKEST_MODI_PATTERNS, type ModiSoapPattern } from '../../src/core/service-profile.js';
import { NS, WSS_X509V3 } from '../../envelopes/xml/namespaces.js';
import { outboundKey } from '../../src/core/message-record.js';
import { loadConfig } from '../../src/config/load-config.js';
import { ALG } from '../../envelopes/security/ws-security-algorithms.js';
import { walkElements } from '../../envelopes/xml/dom-navigation.js';
import type { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import type { DemoNode } from '../../src/demo/demo-federation.js';
import type { RunningNode } from '../../src/http/serve-node.js';
import { sealRequest } from '../../envelopes/busta/request.js';
import { callApi, patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';
const QUERY = '<a:Richiesta xmlns:a="urn:t"><a:codiceFiscale>RSSMRA85T10A562S</a:codiceFiscale></a:Richiesta>';

/** A ModI service of the Regione as each node declares it (the same, unless a test wants them to disagree). */
function modiService(name: string, profile: 'sincrono' | 'oneway', patterns: { cst?: ModiSoapPattern[]; regione?: ModiSoapPattern[] }) {
  return (side: 'cst' | 'regione') => ({
    provider: REGIONE,
    name,
    profile,
    envelope: 'modi',
    ...(profile === 'oneway' ? { confermaRicezione: true } : {}),
    consumers: [ORTONA],
    ...(patterns[side] ? { modiPatterns: patterns[side] } : {}),
  });
}

const SERVICES = [
  // Both sides: ID_AUTH_SOAP_01 alone — the Body travels unsigned, both ways.
  modiService('ConsultaTributi', 'sincrono', { cst: ['ID_AUTH_SOAP_01'], regione: ['ID_AUTH_SOAP_01'] }),
  modiService('AvvisoTributi', 'oneway', { cst: ['ID_AUTH_SOAP_02'], regione: ['ID_AUTH_SOAP_02'] }),
  // The CST signs ID_AUTH_SOAP_01 only; the Regione requires INTEGRITY_SOAP_01 (its default).
  modiService('ConsultaCatasto', 'sincrono', { cst: ['ID_AUTH_SOAP_01'] }),
  // The CST requires INTEGRITY_SOAP_01 (default) of the reply too; the Regione answers as ID_AUTH_SOAP_01.
  modiService('ConsultaTasse', 'sincrono', { regione: ['ID_AUTH_SOAP_01'] }),
];

let federation: InProcessFederation;
let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let cst: RunningNode;

beforeAll(async () => {
  federation = await startFederation('modi-patterns', (n) => {
    patchConfig(n.cst, (raw) => raw.services.push(...SERVICES.map((s) => s('cst'))));
    patchConfig(n.regione, (raw) => raw.services.push(...SERVICES.map((s) => s('regione'))));
  });
  ({ backOffice, nodes, cst } = federation);
});

afterAll(() => federation?.close());

const send = (service: string) =>
  callApi(nodes.cst, ORTONA, 'POST', '/api/v1/messages?wait=20', { from: ORTONA, to: REGIONE, service, payload: QUERY });

/** What an envelope's signature covers and the patterns it satisfies, whatever was required. */
function signatureOf(xml: string): { signed: readonly string[]; patterns: ModiSoapPattern[] } {
  const opened = verifyEnvelope(
    readEnvelope(xml),
    { trust: federation.cst.node.registry.auditTrust(), at: new Date(), skewSeconds: 5 },
    WEAKEST_MODI_PATTERNS,
  );
  return { signed: opened.signature.signed, patterns: strongestPatterns(opened.modi!.satisfied) };
}

/** The code and the position a refusal reply carries in its Fault detail. */
function faultOf(xml: string): { code: string | null; descrizione: string } {
  const fault = readEnvelope(xml).fault!;
  const ecc = [...walkElements(fault.detail!)].find((e) => e.localName === 'EccezioneBusta' || e.localName === 'EccezioneProcessamento')!;
  return { code: ecc.getAttribute('codiceEccezione'), descrizione: ecc.getAttribute('descrizioneEccezione') ?? '' };
}

/** Ortona's envelope for a Regione service, as the CST would seal it with `patterns` declared. */
async function ortonaEnvelope(service: string, patterns: ModiSoapPattern[]): Promise<string> {
  const config = loadConfig(nodes.cst.configFile);
  const def = config.services.find((s) => s.name === service && s.provider === REGIONE)!;
  const party = config.parties.find((p) => p.code === ORTONA)!;
  return await sealRequest(
    { id: randomUUID(), now: new Date(), from: ORTONA, to: REGIONE, service: { ...def, modiPatterns: patterns }, payload: QUERY },
    party.identity,
  );
}

async function postToRegione(xml: string): Promise<{ status: number; text: string }> {
  const res = await request(`${federation.regione.baseUrl}/tramite/envelope`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    body: xml,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('a service declared ID_AUTH_SOAP_01 / ID_AUTH_SOAP_02 without INTEGRITY_SOAP_01', () => {
  it('exchanges a sincrono request and its answer with the Body unsigned both ways', async () => {
    const sent = await send('ConsultaTributi');
    expect(sent.json).toMatchObject({ status: 'DELIVERED', envelope: 'modi' });
    expect(sent.json.reply).toContain('RSSMRA85T10A562S');
    const id: string = sent.json.id;

    const requestSig = signatureOf((await cst.node.store.envelopeOf(outboundKey(id)))!);
    expect(requestSig.signed).not.toContain('Body');
    expect(requestSig.signed).toEqual(
      expect.arrayContaining(['Security/Timestamp', 'Header/To', 'Header/From', 'Header/Action', 'Header/MessageID']),
    );
    expect(requestSig.patterns).toEqual(['ID_AUTH_SOAP_02']); // the node always signs a MessageID: it identifies the message
    const answerSig = signatureOf((await cst.node.store.replyEnvelopeOf(outboundKey(id)))!);
    expect(answerSig.signed).not.toContain('Body');
    expect(backOffice.receivedBy(REGIONE, id)).toBe(true);
  });

  it('delivers a oneway message and takes its riscontro, Body unsigned', async () => {
    const sent = await send('AvvisoTributi');
    expect(sent.json.status).toBe('DELIVERED');
    expect(sent.json.receipt?.signer).toContain('RegioneAbruzzo');
    expect(signatureOf((await cst.node.store.envelopeOf(outboundKey(sent.json.id)))!).signed).not.toContain('Body');
    expect(signatureOf((await cst.node.store.replyEnvelopeOf(outboundKey(sent.json.id)))!).signed).not.toContain('Body');
  });
});

describe('a service declared INTEGRITY_SOAP_01', () => {
  it('refuses a Body-unsigned envelope with EGOV_IT_200 at Body, in a reply signed by the recipient, and delivers nothing', async () => {
    const xml = await ortonaEnvelope('ConsultaAnagrafe', ['ID_AUTH_SOAP_02']);
    const id = readEnvelope(xml).addressing!.messageId!;
    const res = await postToRegione(xml);
    expect(res.status).toBe(500);
    const { code, descrizione } = faultOf(res.text);
    expect(code).toBe('EGOV_IT_200');
    expect(descrizione).toContain('(Body) [TRAMITE_ERR_MODI_PATTERN]');
    expect(descrizione).toContain('INTEGRITY_SOAP_01');
    expect(signatureOf(res.text).signed).toContain('Body'); // a refusal signs its Fault
    expect(backOffice.receivedBy(REGIONE, id)).toBe(false);
  });

  it('accepts the same service signed with the Body (control)', async () => {
    const res = await postToRegione(await ortonaEnvelope('ConsultaAnagrafe', ['ID_AUTH_SOAP_02', 'INTEGRITY_SOAP_01']));
    expect(res.status).toBe(200);
    expect(signatureOf(res.text).patterns).toEqual(['ID_AUTH_SOAP_02', 'INTEGRITY_SOAP_01']);
  });

  it('a sender that declares less than the receiver: the message FAILS with EGOV_IT_200 at Body', async () => {
    const sent = await send('ConsultaCatasto');
    expect(sent.json).toMatchObject({ status: 'FAILED', error: { code: 'EGOV_IT_200' } });
    expect(sent.json.error.message).toContain('(Body) [TRAMITE_ERR_MODI_PATTERN]');
    expect(backOffice.receivedBy(REGIONE, sent.json.id)).toBe(false);
  });

  it('a reply weaker than the consumer declares is not taken as delivered (TRAMITE_ERR_RECEIPT_INVALID)', async () => {
    const sent = await send('ConsultaTasse');
    expect(sent.json).toMatchObject({ status: 'FAILED', error: { code: 'TRAMITE_ERR_RECEIPT_INVALID' } });
    expect(sent.json.error.message).toContain('INTEGRITY_SOAP_01');
  });
});

describe('the message logs', () => {
  it("the auditors' verification finds every logged envelope's signature valid, Body-unsigned ones included", async () => {
    expect((await send('ConsultaTributi')).json.status).toBe('DELIVERED');
    for (const running of [federation.cst, federation.regione]) {
      const report = await running.node.auditor().verify();
      expect(report.signaturesChecked).toBe(true);
      expect(report.issues).toEqual([]);
    }
  });
});

describe('wsa:MessageID', () => {
  it('an ID_AUTH_SOAP_01 envelope without wsa:MessageID is refused by the node with EGOV_IT_107 (it identifies every message by it)', async () => {
    const res = await postToRegione(withoutMessageId(await ortonaEnvelope('ConsultaTributi', ['ID_AUTH_SOAP_01'])));
    expect(res.status).toBe(500);
    expect(faultOf(res.text).code).toBe('EGOV_IT_107');
    expect(faultOf(res.text).descrizione).toContain('(Header/MessageID)');
  });
});

/** The envelope without its wsa:MessageID, signed again by Ortona (xml-crypto) over the Timestamp and the other wsa headers. */
function withoutMessageId(xml: string): string {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const one = (ns: string, local: string) => doc.getElementsByTagNameNS(ns, local)[0]!;
  one(NS.wsse, 'Security').removeChild(one(NS.ds, 'Signature'));
  one(NS.soap11, 'Header').removeChild(one(NS.wsa, 'MessageID'));
  const party = loadConfig(nodes.cst.configFile).parties.find((p) => p.code === ORTONA)!;
  const token = one(NS.wsse, 'BinarySecurityToken');
  const sig = new SignedXml({
    privateKey: readFileSync(party.keyFile!, 'utf8'),
    canonicalizationAlgorithm: ALG.excC14n,
    signatureAlgorithm: ALG.rsaSha256,
    idMode: 'wssecurity',
    getKeyInfoContent: () =>
      `<wsse:SecurityTokenReference xmlns:wsse="${NS.wsse}"><wsse:Reference URI="#${token.getAttributeNS(NS.wsu, 'Id')}" ValueType="${WSS_X509V3}"/></wsse:SecurityTokenReference>`,
  });
  const signed = [one(NS.wsu, 'Timestamp'), ...['To', 'From', 'Action', 'ReplyTo'].map((n) => one(NS.wsa, n))];
  for (const el of signed)
    sig.addReference({
      xpath: `//*[@*[local-name()='Id' and .='${el.getAttributeNS(NS.wsu, 'Id')}']]`,
      transforms: [ALG.excC14n],
      digestAlgorithm: ALG.sha256,
    });
  sig.computeSignature(new XMLSerializer().serializeToString(doc), {
    prefix: 'ds',
    location: { reference: `//*[local-name()='Security' and namespace-uri()='${NS.wsse}']`, action: 'append' },
  });
  return sig.getSignedXml();
}
