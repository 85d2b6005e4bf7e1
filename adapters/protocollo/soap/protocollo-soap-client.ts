/**
 * Calls another AOO's (or a back-office's) AgID SOAP interfaces with the `soap` package:
 * MessaggioInoltro and AnnullamentoInoltroMittente on a protocollo-destinatario.wsdl endpoint,
 * ConfermaMessaggioInoltro and AnnullamentoInoltroDestinatario on a protocollo-mittente.wsdl endpoint.
 *
 * One soap client per WSDL, created from the WSDL file shipped in the package (soap resolves its
 * `../messaggio_protocollo.xsd` and `../segnatura_protocollo.xsd` imports from disk, relative to the
 * file) and cached; the endpoint is given per call. soap builds the envelope (SOAPAction "", text/xml),
 * does the HTTP exchange and tells a Fault apart. The operation element itself is written here and handed
 * to soap as `_xml`, and responses are read here from the raw text with the hardened parser: soap 1.13
 * writes attributes unqualified where messaggio_protocollo.xsd qualifies them, and reads xs:date into a
 * JavaScript Date (see operation-elements.ts).
 *
 * Failures are AdapterErrors, so an adapter's egress can pass them on as they are:
 * - not reached, timed out, aborted, HTTP 5xx/408/429 without a Fault, or a Server Fault → retriable
 *   (`AdapterError.unavailable`);
 * - a Fault whose faultstring starts with an anomaly code (`000_…` to `007_…`, as the bus writes them) →
 *   final, with that code (`AdapterError.refused(code)`); any other Client Fault, another HTTP status, or
 *   a response that cannot be read → final, TRAMITE_ERR_ADAPTER_REFUSED.
 */
import { createClientAsync, type Client } from 'soap';
import { ProtocolloError, TramiteError } from '../../../src/core/errors.js';
import {
  NS,
  AdapterError,
  DEFAULT_XML_LIMITS,
  childElements,
  childrenNamed,
  isElement,
  parseUntrustedXml,
  textOf,
  type XmlLimits,
} from '../../sdk/index.js';
import { anomaliaOf } from '../segnatura/protocollo-messages.js';
import { ElementReader, PROTOCOLLO_NS } from '../segnatura/segnatura-reader.js';
import type { XmlNamespace } from '../segnatura/segnatura-writer.js';
import { namespaceDeclarationsOn } from './namespace-scope.js';
import {
  operationSyntax,
  operationWriter,
  readAnomalia,
  readIdentificatoreIn,
  serializeOperation,
  writeAnomalia,
  writeIdentificatoreIn,
} from './operation-elements.js';
import {
  ANOMALIE_ANNULLAMENTO,
  ANOMALIE_CONFERMA,
  ANOMALIE_INOLTRO,
  PROTOCOLLO_SOAP,
  PROTOCOLLO_SOAP_OPERATIONS,
  protocolloWsdlPath,
  type AnnullamentoInoltroDestinatarioRequest,
  type AnnullamentoInoltroMittenteRequest,
  type AnnullamentoInoltroResponse,
  type ConfermaMessaggioInoltroRequest,
  type ConfermaMessaggioInoltroResponse,
  type MessaggioInoltroRequest,
  type MessaggioInoltroResponse,
  type ProtocolloSoapOperation,
  type ProtocolloSoapSide,
} from './protocollo-soap-contract.js';
import { rawElementAt } from './raw-element.js';

export interface ProtocolloSoapClientOptions {
  /** Per call, connection to last byte (default 30 s). */
  readonly timeoutMs?: number;
  /** Limits of the hardened parser, for the Segnatura sent and for responses. */
  readonly limits?: Partial<XmlLimits>;
}

export interface ProtocolloSoapCallOptions {
  /** Aborts the call (an aborted call is retriable). */
  readonly signal?: AbortSignal;
}

/** A soap client method `<Operation>Async`: resolves [result, raw response text, header, raw request]. */
type SoapAsyncCall = (args: { _xml: string }, options: Record<string, unknown>) => Promise<[unknown, unknown, ...unknown[]]>;

export class ProtocolloSoapClient {
  private readonly limits: XmlLimits;
  private readonly timeoutMs: number;
  private readonly clients = new Map<ProtocolloSoapSide, Promise<Client>>();

  constructor(options: ProtocolloSoapClientOptions = {}) {
    this.limits = { ...DEFAULT_XML_LIMITS, ...options.limits };
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Sends a registered document: the Segnatura (a standalone document, sealed) and its files. */
  messaggioInoltro(endpoint: string, req: MessaggioInoltroRequest, opts?: ProtocolloSoapCallOptions): Promise<MessaggioInoltroResponse> {
    return this.call(
      'MessaggioInoltro',
      endpoint,
      () => writeMessaggioInoltro(req, this.limits),
      opts,
      (r) => {
        const anomalia = r.optional('Anomalia');
        const identificatoreMittente = readIdentificatoreIn(r, 'IdentificatoreMittente');
        return anomalia ? { identificatoreMittente, anomalia: readAnomalia(anomalia, ANOMALIE_INOLTRO) } : { identificatoreMittente };
      },
    );
  }

  /** Tells the receiving AOO that the sender cancelled its registration. */
  annullamentoInoltroMittente(
    endpoint: string,
    req: AnnullamentoInoltroMittenteRequest,
    opts?: ProtocolloSoapCallOptions,
  ): Promise<AnnullamentoInoltroResponse> {
    return this.call(
      'AnnullamentoInoltroMittente',
      endpoint,
      () => writeAnnullamento('AnnullamentoInoltroMittente', req),
      opts,
      readAnnullamentoResponse,
    );
  }

  /** Tells the sending AOO the receiver's registration, or the anomaly that kept it from registering. */
  confermaMessaggioInoltro(
    endpoint: string,
    req: ConfermaMessaggioInoltroRequest,
    opts?: ProtocolloSoapCallOptions,
  ): Promise<ConfermaMessaggioInoltroResponse> {
    return this.call(
      'ConfermaMessaggioInoltro',
      endpoint,
      () => writeConferma(req),
      opts,
      (r) => ({ identificatoreMittente: readIdentificatoreIn(r, 'IdentificatoreMittente') }),
    );
  }

  /** Tells the sending AOO that the receiver cancelled its registration. */
  annullamentoInoltroDestinatario(
    endpoint: string,
    req: AnnullamentoInoltroDestinatarioRequest,
    opts?: ProtocolloSoapCallOptions,
  ): Promise<AnnullamentoInoltroResponse> {
    return this.call(
      'AnnullamentoInoltroDestinatario',
      endpoint,
      () => writeAnnullamento('AnnullamentoInoltroDestinatario', req),
      opts,
      readAnnullamentoResponse,
    );
  }

  private async call<T>(
    operation: ProtocolloSoapOperation,
    endpoint: string,
    write: () => string,
    opts: ProtocolloSoapCallOptions | undefined,
    read: (response: ElementReader) => T,
  ): Promise<T> {
    let body: string;
    try {
      body = write();
    } catch (err) {
      if (err instanceof AdapterError) throw err;
      const code = err instanceof ProtocolloError ? err.code : 'TRAMITE_ERR_ADAPTER_REFUSED';
      throw AdapterError.refused(code, `${operation} cannot be written: ${(err as Error).message}`, err);
    }
    const client = await this.clientFor(PROTOCOLLO_SOAP_OPERATIONS[operation].side);
    let raw: unknown;
    try {
      // The client is shared by every call on this WSDL. setEndpoint and the call run in one synchronous
      // stretch, and soap binds the endpoint into the outgoing request within it, so concurrent calls
      // to other endpoints cannot interleave between the two.
      client.setEndpoint(endpoint);
      const invoke = client[`${operation}Async`] as SoapAsyncCall;
      [, raw] = await invoke(
        { _xml: body },
        { timeout: this.timeoutMs, maxRedirects: 0, maxContentLength: this.limits.maxBytes, signal: opts?.signal },
      );
    } catch (err) {
      throw this.failure(operation, endpoint, err);
    }
    return this.readResponse(operation, endpoint, typeof raw === 'string' ? raw : '', read);
  }

  /** One soap client per WSDL, loaded once; a failed load is tried again by the next call. */
  private clientFor(side: ProtocolloSoapSide): Promise<Client> {
    let client = this.clients.get(side);
    if (!client) {
      client = createClientAsync(protocolloWsdlPath(side)).catch((cause: unknown) => {
        this.clients.delete(side);
        throw new AdapterError(
          'TRAMITE_ERR_ADAPTER_INVALID',
          `the ${PROTOCOLLO_SOAP[side].wsdlFile} WSDL cannot be loaded: ${(cause as Error).message}`,
          { retriable: false, cause },
        );
      });
      this.clients.set(side, client);
    }
    return client;
  }

  private readResponse<T>(operation: ProtocolloSoapOperation, endpoint: string, text: string, read: (response: ElementReader) => T): T {
    const { side, response } = PROTOCOLLO_SOAP_OPERATIONS[operation];
    try {
      const element = bodyElement(text, this.limits);
      if (!isElement(element, PROTOCOLLO_SOAP[side].ns, response)) {
        throw AdapterError.refused(
          'TRAMITE_ERR_ADAPTER_REFUSED',
          `soap:Body holds ${element ? `{${element.namespaceURI ?? ''}}${element.localName}` : 'nothing'}, not {${PROTOCOLLO_SOAP[side].ns}}${response}`,
        );
      }
      return read(new ElementReader(element, response, operationSyntax(side)));
    } catch (err) {
      const why = (err as Error).message.replace(/^EGOV_IT_\d+ - /, '');
      throw AdapterError.refused(
        'TRAMITE_ERR_ADAPTER_REFUSED',
        `${endpoint} answered ${operation} with a response that cannot be read: ${why}`,
        err,
      );
    }
  }

  /** What a failed soap call means for the caller: see the module comment. */
  private failure(operation: ProtocolloSoapOperation, endpoint: string, err: unknown): Error {
    const e = err as {
      response?: { status?: number; data?: unknown };
      body?: unknown;
      message?: string;
      code?: unknown;
      isAxiosError?: boolean;
    };
    if (e?.response) {
      const text = typeof e.body === 'string' ? e.body : typeof e.response.data === 'string' ? e.response.data : '';
      const fault = readFault(text, this.limits);
      if (fault) return faultError(fault, `${endpoint} answered ${operation} with SOAP Fault ${fault.faultcode}: ${fault.faultstring}`);
      const status = e.response.status ?? 0;
      const what = `${endpoint} answered ${operation} with HTTP ${status}${status < 300 ? ' and a body soap could not read' : ''}`;
      return status >= 500 || status === 408 || status === 429
        ? AdapterError.unavailable(what, err)
        : AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', what, err);
    }
    if (e?.isAxiosError || typeof e?.code === 'string')
      return AdapterError.unavailable(`${operation}: ${endpoint} could not be reached: ${e.message ?? String(err)}`, err);
    return err instanceof Error ? err : AdapterError.unavailable(`${operation}: ${endpoint} failed: ${String(err)}`, err);
  }
}

// ---------------------------------------------------------------------------------------------------
// Requests

/** Where the Segnatura goes in the written request; a comment cannot come out of escaped content. */
const SEGNATURA_PLACEHOLDER = 'tramite-segnatura';

/**
 * RequestMessageInoltro. The Segnatura is copied as written (see standalone-segnatura.ts): a SegnaturaInformatica root's attributes and content go under
 * `msgprot:Segnatura`, declared on the request element so that the copied start tag stays as it was;
 * a root already named Segnatura in the messaggi namespace goes whole, under its own name.
 */
function writeMessaggioInoltro(req: MessaggioInoltroRequest, limits: XmlLimits): string {
  if (req.files.length === 0)
    throw AdapterError.refused('000_Irricevibile', 'MessaggioInoltro carries at least one File (the documento primario)');
  const segnatura = embeddedSegnatura(req.segnatura, limits);
  const msgprot: XmlNamespace = { prefix: segnatura.prefix, uri: PROTOCOLLO_NS.messaggi };
  const w = operationWriter('destinatario', PROTOCOLLO_SOAP_OPERATIONS.MessaggioInoltro.request, [msgprot]);
  w.root.appendChild(w.doc.createComment(SEGNATURA_PLACEHOLDER));
  for (const file of req.files) {
    const el = w.addIn(msgprot, w.root, 'File', file.content.toString('base64'));
    w.attributeIn(msgprot, el, 'nomeFile', file.nomeFile);
    w.attributeIn(msgprot, el, 'mimeType', file.mimeType);
  }
  return serializeOperation(w).replace(`<!--${SEGNATURA_PLACEHOLDER}-->`, () => segnatura.xml);
}

/** The msgprot:Segnatura element for a standalone Segnatura document, and the prefix it is written with. */
function embeddedSegnatura(bytes: Buffer, limits: XmlLimits): { xml: string; prefix: string } {
  let parsed: { doc: Document; text: string };
  try {
    parsed = parseUntrustedXml(bytes, limits);
  } catch (cause) {
    throw AdapterError.refused(
      '000_Irricevibile',
      `the Segnatura cannot be sent: ${(cause as Error).message.replace(/^EGOV_IT_\d+ - /, '')}`,
      cause,
    );
  }
  const root = parsed.doc.documentElement!;
  const raw = rawElementAt(parsed.text, [{ ns: root.namespaceURI ?? null, local: root.localName ?? root.nodeName }]);
  if (!raw) throw new TramiteError('TRAMITE_ERR_ADAPTER_REFUSED', 'internal: the root element was not found in the Segnatura text');
  if (isElement(root, PROTOCOLLO_NS.messaggi, 'Segnatura')) {
    return { xml: `<${raw.qname}${raw.attributes}>${raw.content}</${raw.qname}>`, prefix: 'msgprot' };
  }
  if (!isElement(root, PROTOCOLLO_NS.segnatura, 'SegnaturaInformatica') && !isElement(root, PROTOCOLLO_NS.pec, 'SegnaturaInformatica')) {
    throw AdapterError.refused(
      '000_Irricevibile',
      `the Segnatura to send is {${root.namespaceURI ?? ''}}${root.localName}, not a 2021 SegnaturaInformatica`,
    );
  }
  // A prefix the copied start tag does not declare itself, or its declaration would rename the element.
  const declared = namespaceDeclarationsOn(root);
  let prefix = 'msgprot';
  for (let i = 1; declared.has(prefix); i++) prefix = `msgprot${i}`;
  return { xml: `<${prefix}:Segnatura${raw.attributes}>${raw.content}</${prefix}:Segnatura>`, prefix };
}

function writeAnnullamento(
  operation: 'AnnullamentoInoltroMittente' | 'AnnullamentoInoltroDestinatario',
  req: AnnullamentoInoltroMittenteRequest | AnnullamentoInoltroDestinatarioRequest,
): string {
  const { side, request } = PROTOCOLLO_SOAP_OPERATIONS[operation];
  const w = operationWriter(side, request);
  writeIdentificatoreIn(w, 'IdentificatoreMittente', req.identificatoreMittente);
  writeIdentificatoreIn(w, 'IdentificatoreDestinatario', req.identificatoreDestinatario);
  w.add(w.root, 'RiferimentoProvvedimento', req.riferimentoProvvedimento);
  w.addOptional(w.root, 'Note', req.note);
  return serializeOperation(w);
}

function writeConferma(req: ConfermaMessaggioInoltroRequest): string {
  const w = operationWriter('mittente', PROTOCOLLO_SOAP_OPERATIONS.ConfermaMessaggioInoltro.request);
  writeIdentificatoreIn(w, 'IdentificatoreMittente', req.identificatoreMittente);
  if (req.anomalia && req.identificatoreDestinatario)
    throw new TramiteError(
      'TRAMITE_ERR_ADAPTER_REFUSED',
      'ConfermaMessaggioInoltro carries IdentificatoreDestinatario or Anomalia, not both',
    );
  if (req.anomalia) writeAnomalia(w, req.anomalia, ANOMALIE_CONFERMA);
  else if (req.identificatoreDestinatario) writeIdentificatoreIn(w, 'IdentificatoreDestinatario', req.identificatoreDestinatario);
  else throw new TramiteError('TRAMITE_ERR_ADAPTER_REFUSED', 'ConfermaMessaggioInoltro needs IdentificatoreDestinatario or Anomalia');
  return serializeOperation(w);
}

// ---------------------------------------------------------------------------------------------------
// Responses

function readAnnullamentoResponse(r: ElementReader): AnnullamentoInoltroResponse {
  const anomalia = r.optional('Anomalia');
  const ids = {
    identificatoreMittente: readIdentificatoreIn(r, 'IdentificatoreMittente'),
    identificatoreDestinatario: readIdentificatoreIn(r, 'IdentificatoreDestinatario'),
  };
  return anomalia ? { ...ids, anomalia: readAnomalia(anomalia, ANOMALIE_ANNULLAMENTO) } : ids;
}

/** The first element of the soap:Body of a SOAP 1.1 envelope, read with the hardened parser. */
function bodyElement(text: string, limits: XmlLimits): Element | undefined {
  const envelope = parseUntrustedXml(text, limits).doc.documentElement!;
  if (!isElement(envelope, NS.soap11, 'Envelope'))
    throw AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', `the response is <${envelope.nodeName}>, not a SOAP 1.1 Envelope`);
  const bodies = childrenNamed(envelope, NS.soap11, 'Body');
  if (bodies.length !== 1)
    throw AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', `the response holds ${bodies.length} soap:Body elements`);
  return childElements(bodies[0]!)[0];
}

interface SoapFaultText {
  readonly faultcode: string;
  readonly faultstring: string;
}

/** The Fault a response body carries (SOAP 1.1: faultcode and faultstring are unqualified), if any. */
function readFault(text: string, limits: XmlLimits): SoapFaultText | undefined {
  let element: Element | undefined;
  try {
    element = bodyElement(text, limits);
  } catch {
    return undefined;
  }
  if (!isElement(element, NS.soap11, 'Fault')) return undefined;
  const child = (name: string): string => {
    const el = childElements(element).find((c) => c.localName === name);
    return el ? textOf(el) : '';
  };
  return { faultcode: child('faultcode'), faultstring: child('faultstring') };
}

/**
 * An anomaly code at the start of the faultstring is the server's verdict on the content: final, with
 * that code. Otherwise SOAP 1.1 says it: a Server fault may succeed later, a Client fault will not.
 */
function faultError(fault: SoapFaultText, what: string): AdapterError {
  const anomalia = anomaliaOf(fault.faultstring);
  if (anomalia) return AdapterError.refused(anomalia, what);
  const local = fault.faultcode.slice(fault.faultcode.indexOf(':') + 1);
  if (/^(Server|Receiver)(\.|$)/.test(local)) return AdapterError.unavailable(what);
  return AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', what);
}
