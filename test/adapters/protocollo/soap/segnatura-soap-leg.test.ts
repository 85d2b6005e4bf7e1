/**
 * What holds for a sealed Segnatura crossing the SOAP leg (RequestMessageInoltro carries it as the
 * element msgprot:Segnatura, while the XAdES seal — enveloped, URI="", exclusive C14N — covers the
 * standalone document's root element, name included):
 *
 * - renaming the root breaks the seal (the naive mapping, shown here so the rest means something);
 * - a Segnatura sealed by the bus (prot:SegnaturaInformatica) arrives at the handler byte for byte,
 *   verifies, and reads;
 * - one sealed over a root named msgprot:Segnatura arrives with that root and verifies, but
 *   readSegnatura does not accept that root;
 * - one altered after sealing arrives in the standard form, reads, and fails verification (001);
 * - a carriage return written as `&#13;` survives, because the Segnatura is copied as text, never
 *   re-serialised from a DOM (xmldom would write it raw, the next parser would read a line feed);
 * - another product's request (namespaces declared on the Envelope, default namespace in the content)
 *   still yields a document that verifies.
 * Real HTTP on 127.0.0.1, a throwaway CA and seal certificate.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { request } from 'undici';
import { ProtocolloSoapClient } from '../../../../adapters/protocollo/soap/protocollo-soap-client.js';
import { PROTOCOLLO_SOAP, type MessaggioInoltroRequest } from '../../../../adapters/protocollo/soap/protocollo-soap-contract.js';
import { ProtocolloSoapServer } from '../../../../adapters/protocollo/soap/protocollo-soap-server.js';
import { readSegnatura } from '../../../../adapters/protocollo/segnatura/segnatura-reader.js';
import { validateSegnaturaSchema } from '../../../../adapters/protocollo/segnatura/segnatura-schema.js';
import { buildSegnaturaXml } from '../../../../adapters/protocollo/segnatura/segnatura-writer.js';
import { signXades, type XadesSigner } from '../../../../adapters/sdk/xades/xades-sign.js';
import { verifyXades } from '../../../../adapters/sdk/xades/xades-verify.js';
import { ProtocolloError } from '../../../../src/core/errors.js';
import { issueCertificate } from '../../../../src/crypto/dev-pki.js';
import { TrustStore } from '../../../../src/crypto/trust-store.js';
import { IDENTIFICATORE_MITTENTE, richSegnatura } from '../../../fixtures/protocollo/sample-segnatura.js';
import { memorySigner } from '../../../../src/crypto/signer/memory-signer.js';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const PROT = 'http://www.agid.gov.it/protocollo/';
const MSGPROT = 'http://www.agid.gov.it/protocollo/messaggi/';
const DAY_MS = 24 * 60 * 60 * 1000;
const FILES = [{ nomeFile: 'richiesta.pdf', mimeType: 'application/pdf', content: Buffer.from('%PDF-1.7 …') }];

let signer: XadesSigner;
let trust: TrustStore;
let server: ProtocolloSoapServer;
const received: MessaggioInoltroRequest[] = [];
const client = new ProtocolloSoapClient();

beforeAll(async () => {
  const now = Date.now();
  const ca = issueCertificate({
    subject: { CN: 'CA SOAP di prova', O: 'Tramite', C: 'IT' },
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 30 * DAY_MS),
    issuer: 'self',
    ca: true,
  });
  const seal = issueCertificate({
    subject: { CN: 'AooValverde', O: 'Comune di Valverde', C: 'IT' },
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 30 * DAY_MS),
    issuer: ca,
  });
  signer = memorySigner({
    privateKey: createPrivateKey(seal.keyPem),
    certificate: new X509Certificate(seal.certPem),
    certPem: seal.certPem,
  });
  trust = TrustStore.fromPem(ca.certPem);
  server = new ProtocolloSoapServer({
    onMessaggioInoltro: async (req) => {
      received.push(req);
      return { identificatoreMittente: IDENTIFICATORE_MITTENTE };
    },
    onAnnullamentoInoltroMittente: () => Promise.reject(new Error('not used')),
    onConfermaMessaggioInoltro: () => Promise.reject(new Error('not used')),
    onAnnullamentoInoltroDestinatario: () => Promise.reject(new Error('not used')),
  });
  await server.start();
});
afterAll(() => server.stop());

/** Sends `segnatura` with the client and returns what the handler was given. */
async function carried(segnatura: string): Promise<Buffer> {
  const before = received.length;
  await client.messaggioInoltro(server.endpoints.destinatario, { segnatura: Buffer.from(segnatura, 'utf8'), files: FILES });
  expect(received).toHaveLength(before + 1);
  return received[before]!.segnatura;
}

/** The same document under the root name msgprot:Segnatura (type SegnaturaInformaticaType, as in the WSDL). */
function renamedToMsgprot(xml: string): string {
  return xml
    .replace('<prot:SegnaturaInformatica ', `<msgprot:Segnatura xmlns:msgprot="${MSGPROT}" `)
    .replace('</prot:SegnaturaInformatica>', '</msgprot:Segnatura>');
}

const rootOf = (bytes: Buffer): Element => readRoot(bytes.toString('utf8'));
function readRoot(xml: string): Element {
  return verifyXades(xml, { trust }).root;
}

describe('a sealed Segnatura on the SOAP leg', () => {
  it('renaming the root element breaks the seal: this is what the SOAP leg must not do', async () => {
    const sealed = await signXades(buildSegnaturaXml(richSegnatura()), signer);
    expect(() => verifyXades(sealed, { trust })).not.toThrow();
    const renamed = renamedToMsgprot(sealed);
    expect(() => verifyXades(renamed, { trust })).toThrow(ProtocolloError);
    expect(() => verifyXades(renamed, { trust })).toThrow(/digest/i);
  });

  it('sealed by the bus (prot:SegnaturaInformatica): arrives byte for byte, verifies, reads, validates', async () => {
    const sealed = await signXades(buildSegnaturaXml(richSegnatura()), signer);
    const got = await carried(sealed);

    expect(got.toString('utf8')).toBe(sealed);
    const verified = verifyXades(got, { trust });
    expect(verified.signer.subject).toContain('CN=AooValverde');
    expect(verified.root.namespaceURI).toBe(PROT);
    expect(verified.root.localName).toBe('SegnaturaInformatica');
    expect(readSegnatura(got).segnatura.identificatore).toEqual(IDENTIFICATORE_MITTENTE);
    expect(await validateSegnaturaSchema(got.toString('utf8'))).toEqual({ valid: true });
  });

  it('sealed over a root named msgprot:Segnatura: arrives with that root and verifies, but readSegnatura refuses the root', async () => {
    const sealed = await signXades(renamedToMsgprot(buildSegnaturaXml(richSegnatura())), signer);
    const got = await carried(sealed);

    expect(got.toString('utf8')).toBe(sealed);
    const root = rootOf(got);
    expect(root.namespaceURI).toBe(MSGPROT);
    expect(root.localName).toBe('Segnatura');
    expect(() => readSegnatura(got)).toThrow(
      /not a Segnatura: its root is \{http:\/\/www\.agid\.gov\.it\/protocollo\/messaggi\/\}Segnatura/,
    );
  });

  it('altered after sealing: arrives in the standard form, reads, and fails verification with 001', async () => {
    const sealed = await signXades(buildSegnaturaXml(richSegnatura()), signer);
    const altered = sealed.replace('<prot:NumeroRegistrazione>0004218<', '<prot:NumeroRegistrazione>0004219<');
    expect(altered).not.toBe(sealed);
    const got = await carried(altered);

    expect(got.toString('utf8')).toBe(altered);
    expect(readSegnatura(got).segnatura.identificatore.numeroRegistrazione).toBe('0004219');
    let err: unknown;
    try {
      verifyXades(got, { trust });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolloError);
    expect((err as ProtocolloError).code).toBe('001_ValidazioneFirma');
    expect((err as ProtocolloError).message).toMatch(/digest/i);
  });

  it('a carriage return written as &#13; survives the leg (a DOM re-serialisation would break the seal)', async () => {
    const unsigned = buildSegnaturaXml(richSegnatura()).replace(/<prot:Oggetto>[^<]*</, '<prot:Oggetto>riga uno&#13;\nriga due<');
    const sealed = await signXades(unsigned, signer);
    expect(sealed).toMatch(/riga uno&#(13|xD);/);
    const reserialised = new XMLSerializer().serializeToString(new DOMParser().parseFromString(sealed, 'text/xml'));
    expect(() => verifyXades(reserialised, { trust })).toThrow(/digest/i);

    const got = await carried(sealed);
    expect(got.toString('utf8')).toBe(sealed);
    expect(() => verifyXades(got, { trust })).not.toThrow();
    expect(readSegnatura(got).segnatura.oggetto).toBe('riga uno\r\nriga due');
  });

  it('from another product: namespaces on the Envelope, default namespace in the content — the handler’s document still verifies', async () => {
    // Sealed with the root unprefixed (default namespace) and the prot prefix for the attributes.
    const unsigned =
      `<?xml version="1.0" encoding="UTF-8"?>\n<SegnaturaInformatica xmlns="${PROT}" xmlns:prot="${PROT}" prot:versione="3.0.0" prot:lang="it">` +
      '<Intestazione><Identificatore><CodiceAmministrazione>c_l999</CodiceAmministrazione><CodiceAOO>AVVPG01</CodiceAOO><CodiceRegistro>PG</CodiceRegistro>' +
      '<NumeroRegistrazione>0004218</NumeroRegistrazione><DataRegistrazione>2024-03-15</DataRegistrazione></Identificatore>' +
      '<Oggetto>Parere &amp; allegati &lt;urgente&gt; — àè</Oggetto></Intestazione></SegnaturaInformatica>';
    const sealed = await signXades(unsigned, signer);
    const match =
      /<SegnaturaInformatica xmlns="[^"]*" xmlns:prot="[^"]*"( prot:versione="3\.0\.0" prot:lang="it")>([\s\S]*)<\/SegnaturaInformatica>/.exec(
        sealed,
      );
    expect(match).not.toBeNull();
    // The other product moved xmlns:prot up to its Envelope and kept only the default namespace on the element.
    const body =
      `<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="${SOAP11}" xmlns:prot="${PROT}" xmlns:m="${MSGPROT}" xmlns:d="${PROTOCOLLO_SOAP.destinatario.ns}">` +
      `<S:Header/><S:Body><d:RequestMessageInoltro><m:Segnatura xmlns="${PROT}"${match![1]}>${match![2]}</m:Segnatura>` +
      '<m:File m:nomeFile="richiesta.pdf" m:mimeType="application/pdf">JVBERi0xLjc=</m:File></d:RequestMessageInoltro></S:Body></S:Envelope>';
    const before = received.length;
    const res = await request(server.endpoints.destinatario, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body,
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();

    const got = received[before]!.segnatura;
    const root = rootOf(got);
    expect(root.localName).toBe('SegnaturaInformatica');
    expect(root.prefix ?? null).toBeNull();
    expect(root.getElementsByTagNameNS(PROT, 'Oggetto').item(0)?.textContent).toBe('Parere & allegati <urgente> — àè');
    expect(received[before]!.files[0]!.content.toString()).toBe('%PDF-1.7');
  });

  it('from a product writing ISO-8859-1: the request is decoded by its declaration, the handler’s document reads right and verifies', async () => {
    const unsigned =
      `<?xml version="1.0" encoding="UTF-8"?>\n<prot:SegnaturaInformatica xmlns:prot="${PROT}" prot:versione="3.0.0" prot:lang="it">` +
      '<prot:Intestazione><prot:Identificatore><prot:CodiceAmministrazione>p_ch</prot:CodiceAmministrazione><prot:CodiceAOO>AOO_PCH</prot:CodiceAOO><prot:CodiceRegistro>PG</prot:CodiceRegistro>' +
      '<prot:NumeroRegistrazione>0018343</prot:NumeroRegistrazione><prot:DataRegistrazione>2026-11-20</prot:DataRegistrazione></prot:Identificatore>' +
      "<prot:Oggetto>Viabilità: l'attività è «urgente»</prot:Oggetto></prot:Intestazione></prot:SegnaturaInformatica>";
    const sealed = await signXades(unsigned, signer);
    const element = sealed
      .replace(/^<\?xml[^>]*\?>\s*/, '')
      .replace('<prot:SegnaturaInformatica ', `<m:Segnatura `)
      .replace('</prot:SegnaturaInformatica>', '</m:Segnatura>');
    const body =
      `<?xml version="1.0" encoding="ISO-8859-1"?><S:Envelope xmlns:S="${SOAP11}" xmlns:m="${MSGPROT}" xmlns:d="${PROTOCOLLO_SOAP.destinatario.ns}">` +
      `<S:Body><d:RequestMessageInoltro>${element}` +
      '<m:File m:nomeFile="richiesta.pdf" m:mimeType="application/pdf">JVBERi0xLjc=</m:File></d:RequestMessageInoltro></S:Body></S:Envelope>';
    const before = received.length;
    const res = await request(server.endpoints.destinatario, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=ISO-8859-1' },
      body: Buffer.from(body, 'latin1'),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();

    const got = received[before]!.segnatura;
    expect(rootOf(got).getElementsByTagNameNS(PROT, 'Oggetto').item(0)?.textContent).toBe("Viabilità: l'attività è «urgente»");
  });
});
