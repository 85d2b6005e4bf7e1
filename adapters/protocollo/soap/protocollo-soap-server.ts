/**
 * The AgID SOAP interfaces of the protocollo informatico interoperabile (Linee guida 2021, Allegato 6),
 * served with the `soap` package on this module's own HTTP server: /protocollo/destinatario and
 * /protocollo/mittente (see protocollo-soap-contract.ts), `?wsdl` and the XSDs it imports on either.
 *
 * Security. Every POST body is buffered (size-limited) and must pass the node's hardened parser
 * (request-gate.ts) before anything else sees it. The `soap` package is bound to a private request
 * router, not to the HTTP server, so no request can reach its own parser (sax) unchecked — not even
 * during start-up. A refused body is answered with a SOAP 1.1 Fault (HTTP 500) naming the reason, and
 * never reaches a handler. Handlers get values read from the DOM that passed that check
 * (operation-requests.ts); responses are written namespace-exact (operation-responses.ts) and handed
 * to soap as `_xml`. soap does the WSDL, the dispatch to the operation, the envelopes and Faults.
 *
 * The Segnatura on the SOAP leg: see standalone-segnatura.ts.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen as soapListen, type IServices } from 'soap';
import { TramiteError } from '../../../src/core/errors.js';
import { DEFAULT_XML_LIMITS, type AdapterLogger, type XmlLimits } from '../../sdk/index.js';
import { OPERATION_RUNNERS } from './operation-runners.js';
import {
  PROTOCOLLO_SOAP,
  PROTOCOLLO_SOAP_OPERATIONS,
  type ProtocolloSoapHandlers,
  type ProtocolloSoapOperation,
  type ProtocolloSoapSide,
} from './protocollo-soap-contract.js';
import { checkEnvelope, readBody, type CheckedRequest } from './request-gate.js';
import { loadServedSchemas, servedWsdl } from './served-wsdl.js';
import { SoapFault, faultEnvelope, faultFor, type FaultCode } from './soap-fault.js';

export interface ProtocolloSoapServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port (see `address`). */
  readonly port?: number;
  /** Limits of the hardened parser for request bodies (documents travel base64 inside: size accordingly). */
  readonly limits?: Partial<XmlLimits>;
  /** The base URL clients use, when it is not this server's own (a reverse proxy): written in the served WSDLs' soap:address. */
  readonly publicUrl?: string;
  readonly log?: AdapterLogger;
}

export class ProtocolloSoapServer {
  private readonly limits: XmlLimits;
  private readonly http: Server;
  /** What soap.listen binds to: soap only ever sees requests the gate passed on. */
  private readonly router = Object.assign(new EventEmitter(), { address: (): null => null });
  private readonly checked = new WeakMap<IncomingMessage, CheckedRequest>();
  /** The imported XSDs, by the end of the path they are served at. */
  private schemas = new Map<string, string>();
  private ready = false;
  private started: Promise<void> | undefined;

  constructor(
    private readonly handlers: ProtocolloSoapHandlers,
    private readonly options: ProtocolloSoapServerOptions = {},
  ) {
    this.limits = { ...DEFAULT_XML_LIMITS, ...options.limits };
    this.http = createServer((req, res) => {
      this.gate(req, res).catch((err: unknown) => {
        options.log?.error({ err }, 'protocollo SOAP request failed');
        if (!res.headersSent) this.sendFault(res, 'Server', 'TRAMITE_ERR_ADAPTER_UNAVAILABLE - internal error');
        else res.destroy();
      });
    });
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`. Only once started. */
  get address(): string {
    const info = this.http.address() as AddressInfo | null;
    if (!info || typeof info === 'string')
      throw new TramiteError('TRAMITE_ERR_ADAPTER_UNAVAILABLE', 'the protocollo SOAP server is not listening');
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
    return `http://${host}:${info.port}`;
  }

  /** The two service URLs (POST SOAP; GET ?wsdl). */
  get endpoints(): Record<ProtocolloSoapSide, string> {
    return { destinatario: this.address + PROTOCOLLO_SOAP.destinatario.path, mittente: this.address + PROTOCOLLO_SOAP.mittente.path };
  }

  /** Listens, then loads both WSDLs into soap; resolves once requests are served. */
  start(): Promise<void> {
    this.started ??= this.startOnce().catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  private async startOnce(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.schemas = await loadServedSchemas();
    // Paths soap does not serve end here (soap hands them to the listeners it found).
    this.router.on('request', (_req: IncomingMessage, res: ServerResponse) => this.sendPlain(res, 404, 'not found'));
    const base = (this.options.publicUrl ?? this.address).replace(/\/+$/, '');
    try {
      for (const side of Object.keys(PROTOCOLLO_SOAP) as ProtocolloSoapSide[]) await this.listenSoap(side, base);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.ready = true;
  }

  async stop(): Promise<void> {
    if (!this.http.listening) return;
    this.ready = false;
    this.started = undefined;
    this.router.removeAllListeners('request');
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  /**
   * soap.listen on the private router, serving the official WSDL with its soap:address set to this
   * server; `uri` is the WSDL's path on disk, against which soap resolves the `../*.xsd` imports.
   */
  private async listenSoap(side: ProtocolloSoapSide, base: string): Promise<void> {
    const { path, service, port } = PROTOCOLLO_SOAP[side];
    const { xml, uri } = await servedWsdl(side, base + path);
    const methods: Record<string, (args: unknown, callback: unknown, headers: unknown, req: IncomingMessage) => Promise<{ _xml: string }>> =
      {};
    for (const operation of Object.keys(PROTOCOLLO_SOAP_OPERATIONS) as ProtocolloSoapOperation[]) {
      if (PROTOCOLLO_SOAP_OPERATIONS[operation].side === side)
        methods[operation] = (_args, _callback, _headers, req) => this.run(operation, req);
    }
    const services: IServices = { [service]: { [port]: methods } };
    await new Promise<void>((resolve, reject) => {
      soapListen(this.router as unknown as Server, {
        path,
        services,
        xml,
        uri,
        callback: (err: unknown) => (err ? reject(err) : resolve()),
      });
    });
  }

  /**
   * Every request comes through here first. POST bodies: buffered within the size limit, parsed by the
   * hardened parser, checked to be a SOAP 1.1 envelope holding one of this path's operations — only then
   * handed to soap, with the body already read (soap then skips reading the stream).
   */
  private async gate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.ready) return this.sendFault(res, 'Server', 'TRAMITE_ERR_ADAPTER_UNAVAILABLE - the protocollo SOAP service is starting');
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET') {
      const schema = [...this.schemas].find(([path]) => url.pathname.endsWith(path))?.[1];
      if (schema !== undefined) return this.sendPlain(res, 200, schema, 'application/xml');
      this.router.emit('request', req, res);
      return;
    }
    if (req.method !== 'POST') return this.sendPlain(res, 405, 'method not allowed');
    const side = (Object.keys(PROTOCOLLO_SOAP) as ProtocolloSoapSide[]).find(
      (s) => url.pathname.replace(/\/+$/, '') === PROTOCOLLO_SOAP[s].path,
    );
    if (!side) return this.sendPlain(res, 404, 'not found');

    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') return this.refuse(res, `Content-Encoding ${encoding} is not accepted`);
    const body = await readBody(req, this.limits.maxBytes);
    if (!body) return this.refuse(res, `the request body exceeds the limit of ${this.limits.maxBytes} bytes`, true);
    let checked: CheckedRequest;
    try {
      checked = checkEnvelope(body, side, this.limits);
    } catch (err) {
      const why = err instanceof Error ? err.message.replace(/^EGOV_IT_\d+ - /, '') : String(err);
      return this.refuse(
        res,
        why,
        false,
        err instanceof SoapFault && err.Fault.faultcode === 'soap:VersionMismatch' ? 'VersionMismatch' : 'Client',
      );
    }
    this.checked.set(req, checked);
    // Every operation declares soapAction="": dispatch goes by the Body element the gate checked, and a
    // SOAPAction naming something else must not send soap looking for a method that is not there.
    delete req.headers.soapaction;
    (req as IncomingMessage & { body?: Buffer }).body = body;
    this.router.emit('request', req, res);
  }

  /** The soap method of every operation: the request the gate checked, read, handled, answered. */
  private async run(operation: ProtocolloSoapOperation, req: IncomingMessage): Promise<{ _xml: string }> {
    const checked = this.checked.get(req);
    if (!checked || checked.operation !== operation) {
      throw new SoapFault(
        'Client',
        `000_Irricevibile - soap dispatched the request to ${operation}, but its Body holds ${checked?.operation ?? 'nothing the gate checked'}`,
      );
    }
    let write: () => string;
    try {
      write = await OPERATION_RUNNERS[operation](checked.element, checked.text, this.handlers, this.limits);
    } catch (err) {
      throw faultFor(err, operation, this.options.log);
    }
    try {
      return { _xml: write() };
    } catch (err) {
      this.options.log?.error({ operation, err }, 'protocollo SOAP response could not be written');
      throw new SoapFault('Server', `TRAMITE_ERR_ADAPTER_UNAVAILABLE - the ${operation} response could not be written`);
    }
  }

  private refuse(res: ServerResponse, why: string, close = false, faultcode: FaultCode = 'Client'): void {
    this.options.log?.warn({ why }, 'protocollo SOAP request refused before processing');
    if (close) res.setHeader('Connection', 'close');
    this.sendFault(res, faultcode, `000_Irricevibile - request refused: ${why}`);
  }

  private sendFault(res: ServerResponse, faultcode: FaultCode, faultstring: string): void {
    this.sendPlain(res, 500, faultEnvelope(faultcode, faultstring), 'text/xml; charset=utf-8');
  }

  private sendPlain(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}
