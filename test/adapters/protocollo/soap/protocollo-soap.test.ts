/**
 * The AgID SOAP interfaces over real HTTP on 127.0.0.1: ProtocolloSoapClient against
 * ProtocolloSoapServer for the four operations (typed values round-trip), the served WSDLs (and a soap
 * client built from them over HTTP), the hardened gate in front of soap (a DOCTYPE never reaches a
 * handler), and how failures reach the caller: anomaly Faults final with their code, Server Faults and
 * an unreachable server retriable.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClientAsync } from 'soap';
import { request } from 'undici';
import { ProtocolloSoapClient } from '../../../../adapters/protocollo/soap/protocollo-soap-client.js';
import {
  PROTOCOLLO_SOAP,
  type AnnullamentoInoltroDestinatarioRequest,
  type AnnullamentoInoltroMittenteRequest,
  type ConfermaMessaggioInoltroRequest,
  type MessaggioInoltroRequest,
  type ProtocolloSoapHandlers,
} from '../../../../adapters/protocollo/soap/protocollo-soap-contract.js';
import { ProtocolloSoapServer } from '../../../../adapters/protocollo/soap/protocollo-soap-server.js';
import type { Identificatore } from '../../../../adapters/protocollo/segnatura/segnatura-model.js';
import { buildSegnaturaXml } from '../../../../adapters/protocollo/segnatura/segnatura-writer.js';
import { AdapterError } from '../../../../adapters/sdk/index.js';
import { ProtocolloError } from '../../../../src/core/errors.js';
import { IDENTIFICATORE_DESTINATARIO, IDENTIFICATORE_MITTENTE, richSegnatura } from '../../../fixtures/protocollo/sample-segnatura.js';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const PROT = 'http://www.agid.gov.it/protocollo/';

/** Handlers whose behaviour each test sets; the spies record what reached them. */
const handlers = {
  onMessaggioInoltro: vi.fn<ProtocolloSoapHandlers['onMessaggioInoltro']>(),
  onAnnullamentoInoltroMittente: vi.fn<ProtocolloSoapHandlers['onAnnullamentoInoltroMittente']>(),
  onConfermaMessaggioInoltro: vi.fn<ProtocolloSoapHandlers['onConfermaMessaggioInoltro']>(),
  onAnnullamentoInoltroDestinatario: vi.fn<ProtocolloSoapHandlers['onAnnullamentoInoltroDestinatario']>(),
} satisfies ProtocolloSoapHandlers;

const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
let server: ProtocolloSoapServer;
const client = new ProtocolloSoapClient({ timeoutMs: 10_000 });

beforeAll(async () => {
  server = new ProtocolloSoapServer(handlers, { log });
  await server.start();
});
afterAll(() => server.stop());
beforeEach(() => {
  for (const h of Object.values(handlers)) h.mockReset();
  log.error.mockReset();
});

const annullamento: AnnullamentoInoltroMittenteRequest = {
  identificatoreMittente: IDENTIFICATORE_MITTENTE,
  identificatoreDestinatario: IDENTIFICATORE_DESTINATARIO,
  riferimentoProvvedimento: 'Determina n. 12/2024 — "annullamento" <d\'ufficio> & rettifica',
  note: 'Registrazione duplicata',
};

/** A request as another product would write it: prefixes of its own, namespaces on the Envelope. */
function rawAnnullamentoMittente(id: Identificatore = IDENTIFICATORE_MITTENTE): string {
  const identificatore = (name: string, i: Identificatore): string =>
    `<d:${name}><p:CodiceAmministrazione>${i.codiceAmministrazione}</p:CodiceAmministrazione><p:CodiceAOO>${i.codiceAOO}</p:CodiceAOO>` +
    `<p:CodiceRegistro>${i.codiceRegistro}</p:CodiceRegistro><p:NumeroRegistrazione>${i.numeroRegistrazione}</p:NumeroRegistrazione>` +
    `<p:DataRegistrazione>${i.dataRegistrazione}</p:DataRegistrazione></d:${name}>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="${SOAP11}" xmlns:d="${PROTOCOLLO_SOAP.destinatario.ns}" xmlns:p="${PROT}"><S:Body>` +
    `<d:RequestAnnullamentoInoltroMittente>${identificatore('IdentificatoreMittente', id)}${identificatore('IdentificatoreDestinatario', IDENTIFICATORE_DESTINATARIO)}` +
    '<d:RiferimentoProvvedimento>Det. 1</d:RiferimentoProvvedimento></d:RequestAnnullamentoInoltroMittente></S:Body></S:Envelope>'
  );
}

async function post(url: string, body: string): Promise<{ status: number; contentType: string; text: string }> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, body });
  return { status: res.statusCode, contentType: String(res.headers['content-type']), text: await res.body.text() };
}

async function rejection(promise: Promise<unknown>): Promise<AdapterError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AdapterError);
  return err as AdapterError;
}

describe('the four operations, client ↔ server', () => {
  it('MessaggioInoltro: the Segnatura and binary files arrive exactly, the Anomalia comes back typed', async () => {
    const segnatura = Buffer.from(buildSegnaturaXml(richSegnatura()), 'utf8');
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const files = [
      { nomeFile: 'richiesta parere.pdf', mimeType: 'application/pdf', content: randomBytes(64 * 1024) },
      { nomeFile: 'Allegato "A" & <B> – è.bin', mimeType: 'application/octet-stream', content: allBytes },
      { nomeFile: 'vuoto.txt', mimeType: 'text/plain', content: Buffer.alloc(0) },
    ];
    handlers.onMessaggioInoltro.mockResolvedValue({
      identificatoreMittente: IDENTIFICATORE_MITTENTE,
      anomalia: { code: '002_AnomaliaImpronte', info: 'Allegato "A": <SHA-256> & differs\n\tline two' },
    });

    const res = await client.messaggioInoltro(server.endpoints.destinatario, { segnatura, files });

    expect(res).toEqual({
      identificatoreMittente: IDENTIFICATORE_MITTENTE,
      anomalia: { code: '002_AnomaliaImpronte', info: 'Allegato "A": <SHA-256> & differs\n\tline two' },
    });
    expect(handlers.onMessaggioInoltro).toHaveBeenCalledTimes(1);
    const received: MessaggioInoltroRequest = handlers.onMessaggioInoltro.mock.calls[0]![0];
    expect(received.segnatura.equals(segnatura)).toBe(true); // unsigned here: copied as written all the same
    expect(received.files.map((f) => f.nomeFile)).toEqual(files.map((f) => f.nomeFile));
    expect(received.files.map((f) => f.mimeType)).toEqual(files.map((f) => f.mimeType));
    received.files.forEach((f, i) => expect(f.content.equals(files[i]!.content)).toBe(true));
  });

  it('MessaggioInoltro without an Anomalia', async () => {
    handlers.onMessaggioInoltro.mockResolvedValue({ identificatoreMittente: IDENTIFICATORE_DESTINATARIO });
    const res = await client.messaggioInoltro(server.endpoints.destinatario, {
      segnatura: Buffer.from(buildSegnaturaXml(richSegnatura())),
      files: [{ nomeFile: 'a.pdf', mimeType: 'application/pdf', content: Buffer.from('%PDF-1.7') }],
    });
    expect(res).toEqual({ identificatoreMittente: IDENTIFICATORE_DESTINATARIO }); // no OraRegistrazione: none invented
    expect('anomalia' in res).toBe(false);
  });

  it('AnnullamentoInoltroMittente: Identificatore fields, text needing escapes, optional Note both ways', async () => {
    handlers.onAnnullamentoInoltroMittente.mockImplementation(async (req) => ({
      identificatoreMittente: req.identificatoreMittente,
      identificatoreDestinatario: req.identificatoreDestinatario,
      anomalia: {
        code: '007_ErroreIdentificatoreNonTrovato',
        info: `nessuna registrazione ${req.identificatoreDestinatario.numeroRegistrazione}`,
      },
    }));
    const res = await client.annullamentoInoltroMittente(server.endpoints.destinatario, annullamento);
    expect(handlers.onAnnullamentoInoltroMittente.mock.calls[0]![0]).toEqual(annullamento);
    expect(res).toEqual({
      identificatoreMittente: IDENTIFICATORE_MITTENTE,
      identificatoreDestinatario: IDENTIFICATORE_DESTINATARIO,
      anomalia: { code: '007_ErroreIdentificatoreNonTrovato', info: 'nessuna registrazione 0123456' },
    });

    const { note: _note, ...withoutNote } = annullamento;
    await client.annullamentoInoltroMittente(server.endpoints.destinatario, withoutNote);
    expect(handlers.onAnnullamentoInoltroMittente.mock.calls[1]![0]).toEqual(withoutNote);
    expect(handlers.onAnnullamentoInoltroMittente.mock.calls[1]![0].note).toBeUndefined();
  });

  it('ConfermaMessaggioInoltro: the receiver’s Identificatore, or (the xs:choice) an Anomalia', async () => {
    handlers.onConfermaMessaggioInoltro.mockImplementation(async (req) => ({ identificatoreMittente: req.identificatoreMittente }));
    const confermata: ConfermaMessaggioInoltroRequest = {
      identificatoreMittente: IDENTIFICATORE_MITTENTE,
      identificatoreDestinatario: IDENTIFICATORE_DESTINATARIO,
    };
    expect(await client.confermaMessaggioInoltro(server.endpoints.mittente, confermata)).toEqual({
      identificatoreMittente: IDENTIFICATORE_MITTENTE,
    });
    expect(handlers.onConfermaMessaggioInoltro.mock.calls[0]![0]).toEqual(confermata);

    const anomala: ConfermaMessaggioInoltroRequest = {
      identificatoreMittente: IDENTIFICATORE_MITTENTE,
      anomalia: { code: '005_DocumentoAllegatiErroreVaidazioneMarcaTemporale', info: 'marca scaduta' },
    };
    await client.confermaMessaggioInoltro(server.endpoints.mittente, anomala);
    expect(handlers.onConfermaMessaggioInoltro.mock.calls[1]![0]).toEqual(anomala);
  });

  it('AnnullamentoInoltroDestinatario', async () => {
    const req: AnnullamentoInoltroDestinatarioRequest = { ...annullamento, note: 'Annullata dal destinatario' };
    handlers.onAnnullamentoInoltroDestinatario.mockResolvedValue({
      identificatoreMittente: IDENTIFICATORE_MITTENTE,
      identificatoreDestinatario: IDENTIFICATORE_DESTINATARIO,
    });
    expect(await client.annullamentoInoltroDestinatario(server.endpoints.mittente, req)).toEqual({
      identificatoreMittente: IDENTIFICATORE_MITTENTE,
      identificatoreDestinatario: IDENTIFICATORE_DESTINATARIO,
    });
    expect(handlers.onAnnullamentoInoltroDestinatario.mock.calls[0]![0]).toEqual(req);
  });

  it('responses are namespace-exact: the Identificatore children are in the prot namespace', async () => {
    handlers.onAnnullamentoInoltroMittente.mockResolvedValue({
      identificatoreMittente: IDENTIFICATORE_MITTENTE,
      identificatoreDestinatario: IDENTIFICATORE_DESTINATARIO,
    });
    const res = await post(server.endpoints.destinatario, rawAnnullamentoMittente());
    expect(res.status).toBe(200);
    expect(res.text).toContain(
      `<tns:ResponseAnnullamentoInoltroMittente xmlns:tns="${PROTOCOLLO_SOAP.destinatario.ns}" xmlns:prot="${PROT}">`,
    );
    expect(res.text).toContain('<tns:IdentificatoreMittente><prot:CodiceAmministrazione>c_l999</prot:CodiceAmministrazione>');
  });
});

describe('the WSDLs', () => {
  it('?wsdl serves the official WSDL, its soap:address pointing at this server, and the XSDs it imports', async () => {
    for (const side of ['destinatario', 'mittente'] as const) {
      const res = await request(`${server.endpoints[side]}?wsdl`);
      const wsdl = await res.body.text();
      expect(res.statusCode).toBe(200);
      expect(wsdl).toContain(`targetNamespace="${PROTOCOLLO_SOAP[side].ns}"`);
      expect(wsdl).toContain(`<soap:address location="${server.endpoints[side]}"/>`);
      expect(wsdl).toContain('schemaLocation="../messaggio_protocollo.xsd"');
    }
    const xsd = await request(`${server.address}/messaggio_protocollo.xsd`);
    expect(xsd.statusCode).toBe(200);
    expect(await xsd.body.text()).toContain('name="MessaggioProtocolloType"');
  });

  it('a soap client built from ?wsdl over HTTP calls the server with soap’s own serialisation', async () => {
    const remote = await createClientAsync(`${server.endpoints.mittente}?wsdl`);
    handlers.onConfermaMessaggioInoltro.mockImplementation(async (req) => ({ identificatoreMittente: req.identificatoreMittente }));
    const soapId = (i: Identificatore) => ({
      CodiceAmministrazione: i.codiceAmministrazione,
      CodiceAOO: i.codiceAOO,
      CodiceRegistro: i.codiceRegistro,
      NumeroRegistrazione: i.numeroRegistrazione,
      DataRegistrazione: i.dataRegistrazione,
      ...(i.oraRegistrazione ? { OraRegistrazione: i.oraRegistrazione } : {}),
    });
    const [, raw] = (await remote.ConfermaMessaggioInoltroAsync({
      IdentificatoreMittente: soapId(IDENTIFICATORE_MITTENTE),
      IdentificatoreDestinatario: soapId(IDENTIFICATORE_DESTINATARIO),
    })) as [unknown, string];
    expect(handlers.onConfermaMessaggioInoltro.mock.calls[0]![0]).toEqual({
      identificatoreMittente: IDENTIFICATORE_MITTENTE,
      identificatoreDestinatario: IDENTIFICATORE_DESTINATARIO,
    });
    expect(raw).toContain('<prot:DataRegistrazione>2024-03-15</prot:DataRegistrazione>');
  });
});

describe('the hardened gate in front of soap', () => {
  it('a DOCTYPE with entities is answered with a Fault naming it, and no handler runs', async () => {
    const body = rawAnnullamentoMittente()
      .replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE S:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
      )
      .replace('Det. 1', '&xxe;&b;');
    const res = await post(server.endpoints.destinatario, body);
    expect(res.status).toBe(500);
    expect(res.contentType).toContain('text/xml');
    expect(res.text).toContain('<faultcode>soap:Client</faultcode>');
    expect(res.text).toMatch(
      /<faultstring>000_Irricevibile - request refused: a DOCTYPE is not accepted \(line 1, column \d+\)<\/faultstring>/,
    );
    expect(res.text).not.toContain('root:');
    expect(handlers.onAnnullamentoInoltroMittente).not.toHaveBeenCalled();
  });

  it('a processing instruction, a non-SOAP body and an operation of the other WSDL are refused the same way', async () => {
    const pi = await post(server.endpoints.destinatario, rawAnnullamentoMittente().replace('<S:Body>', '<S:Body><?exec rm -rf?>'));
    expect(pi.status).toBe(500);
    expect(pi.text).toContain('processing instruction &lt;?exec?&gt; is not accepted');

    const notSoap = await post(server.endpoints.destinatario, '<RequestAnnullamentoInoltroMittente/>');
    expect(notSoap.text).toContain('not a SOAP Envelope');

    const elsewhere = await post(server.endpoints.mittente, rawAnnullamentoMittente());
    expect(elsewhere.status).toBe(500);
    expect(elsewhere.text).toContain(`/protocollo/mittente accepts {${PROTOCOLLO_SOAP.mittente.ns}}RequestConfermaMessaggioInoltro`);
    expect(handlers.onAnnullamentoInoltroMittente).not.toHaveBeenCalled();
  });

  it('a body over the size limit is refused before it is parsed', async () => {
    const small = new ProtocolloSoapServer(handlers, { limits: { maxBytes: 2048 } });
    await small.start();
    try {
      const res = await post(small.endpoints.destinatario, rawAnnullamentoMittente().replace('Det. 1', 'x'.repeat(4096)));
      expect(res.status).toBe(500);
      expect(res.text).toContain('000_Irricevibile - request refused: the request body exceeds the limit of 2048 bytes');
      expect(handlers.onAnnullamentoInoltroMittente).not.toHaveBeenCalled();
    } finally {
      await small.stop();
    }
  });

  it('a request without an element the schema requires is a Client Fault naming it', async () => {
    const res = await post(server.endpoints.destinatario, rawAnnullamentoMittente().replace(/<p:CodiceAOO>[^<]*<\/p:CodiceAOO>/, ''));
    expect(res.status).toBe(500);
    expect(res.text).toContain(
      '000_Irricevibile - required element RequestAnnullamentoInoltroMittente/IdentificatoreMittente/CodiceAOO is missing',
    );
    expect(handlers.onAnnullamentoInoltroMittente).not.toHaveBeenCalled();
  });
});

describe('failures as the caller sees them', () => {
  it('a handler’s ProtocolloError is a Client Fault with its code; the client makes it a final AdapterError', async () => {
    handlers.onAnnullamentoInoltroMittente.mockRejectedValue(
      new ProtocolloError('007_ErroreIdentificatoreNonTrovato', 'no registration 0004218 of 2024'),
    );
    const raw = await post(server.endpoints.destinatario, rawAnnullamentoMittente());
    expect(raw.status).toBe(500);
    expect(raw.text).toContain(
      '<faultcode>soap:Client</faultcode><faultstring>007_ErroreIdentificatoreNonTrovato - no registration 0004218 of 2024</faultstring>',
    );

    const err = await rejection(client.annullamentoInoltroMittente(server.endpoints.destinatario, annullamento));
    expect(err.code).toBe('007_ErroreIdentificatoreNonTrovato');
    expect(err.retriable).toBe(false);
    expect(err.message).toContain('no registration 0004218 of 2024');
  });

  it('a handler’s retriable AdapterError is a Server Fault, and retriable for the client', async () => {
    handlers.onConfermaMessaggioInoltro.mockRejectedValue(AdapterError.unavailable('back office down'));
    const err = await rejection(
      client.confermaMessaggioInoltro(server.endpoints.mittente, {
        identificatoreMittente: IDENTIFICATORE_MITTENTE,
        identificatoreDestinatario: IDENTIFICATORE_DESTINATARIO,
      }),
    );
    expect(err.code).toBe('TRAMITE_ERR_ADAPTER_UNAVAILABLE');
    expect(err.retriable).toBe(true);
    expect(err.message).toContain('soap:Server');
  });

  it('any other handler error is a Server Fault that does not show its details (they go to the log)', async () => {
    handlers.onAnnullamentoInoltroDestinatario.mockRejectedValue(new Error('password=hunter2 rejected by db'));
    const req = { ...annullamento, note: 'n' };
    const err = await rejection(client.annullamentoInoltroDestinatario(server.endpoints.mittente, req));
    expect(err.retriable).toBe(true);
    expect(err.message).not.toContain('hunter2');
    expect(log.error).toHaveBeenCalledWith(expect.objectContaining({ operation: 'AnnullamentoInoltroDestinatario' }), expect.any(String));
  });

  it('a server that is down is a retriable AdapterError', async () => {
    const gone = new ProtocolloSoapServer(handlers);
    await gone.start();
    const endpoint = gone.endpoints.destinatario;
    await gone.stop();
    const err = await rejection(client.annullamentoInoltroMittente(endpoint, annullamento));
    expect(err.code).toBe('TRAMITE_ERR_ADAPTER_UNAVAILABLE');
    expect(err.retriable).toBe(true);
    expect(err.message).toContain('could not be reached');
  });

  it('a Segnatura that is no Segnatura is refused before anything is sent', async () => {
    const err = await rejection(
      client.messaggioInoltro(server.endpoints.destinatario, {
        segnatura: Buffer.from('<Documento/>'),
        files: [{ nomeFile: 'a', mimeType: 'text/plain', content: Buffer.from('a') }],
      }),
    );
    expect(err.code).toBe('000_Irricevibile');
    expect(handlers.onMessaggioInoltro).not.toHaveBeenCalled();
  });
});
