/**
 * What a POST body must pass before soap sees it: read within the size limit, parsed by the hardened
 * parser (parseUntrustedXml: no DOCTYPE, no PI, size/depth/element limits), and found to be a SOAP 1.1
 * envelope holding one operation of the path it was posted to.
 */
import type { IncomingMessage } from 'node:http';
import { ProtocolloError, TramiteError } from '../../../src/core/errors.js';
import { NS } from '../../sdk/index.js';
import { childElements, childrenNamed, isElement, parseUntrustedXml, type XmlLimits } from '../../sdk/index.js';
import {
  PROTOCOLLO_SOAP,
  PROTOCOLLO_SOAP_OPERATIONS,
  type ProtocolloSoapOperation,
  type ProtocolloSoapSide,
} from './protocollo-soap-contract.js';
import { SoapFault } from './soap-fault.js';

/** A request body that passed the hardened parser, kept for the operation soap dispatches it to. */
export interface CheckedRequest {
  readonly text: string;
  readonly operation: ProtocolloSoapOperation;
  readonly element: Element;
}

/**
 * The body, or undefined once it exceeds `maxBytes` (the rest is drained, not kept, so the Fault can
 * still be read by the client).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(size > maxBytes ? undefined : Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new TramiteError('TRAMITE_ERR_BAD_REQUEST', 'the client closed the connection before the end of the body'));
    });
  });
}

/** The hardened parse, then: a SOAP 1.1 Envelope, one Body, whose first element is an operation of `side`. */
export function checkEnvelope(body: Buffer, side: ProtocolloSoapSide, limits: XmlLimits): CheckedRequest {
  const { doc, text } = parseUntrustedXml(body, limits);
  const envelope = doc.documentElement!;
  if (envelope.localName !== 'Envelope')
    throw new ProtocolloError('000_Irricevibile', `the body is <${envelope.nodeName}>, not a SOAP Envelope`);
  if (envelope.namespaceURI !== NS.soap11)
    throw new SoapFault(
      'VersionMismatch',
      `the Envelope is in ${envelope.namespaceURI ?? 'no namespace'}; this service speaks SOAP 1.1 (${NS.soap11})`,
    );
  const bodies = childrenNamed(envelope, NS.soap11, 'Body');
  if (bodies.length !== 1)
    throw new ProtocolloError('000_Irricevibile', `the Envelope holds ${bodies.length} soap:Body elements; exactly one is required`);
  const element = childElements(bodies[0]!)[0];
  const operation = (Object.keys(PROTOCOLLO_SOAP_OPERATIONS) as ProtocolloSoapOperation[]).find(
    (op) =>
      PROTOCOLLO_SOAP_OPERATIONS[op].side === side && isElement(element, PROTOCOLLO_SOAP[side].ns, PROTOCOLLO_SOAP_OPERATIONS[op].request),
  );
  if (!element || !operation) {
    const found = element ? `{${element.namespaceURI ?? ''}}${element.localName}` : 'nothing';
    throw new ProtocolloError(
      '000_Irricevibile',
      `soap:Body holds ${found}; ${PROTOCOLLO_SOAP[side].path} accepts ${Object.values(PROTOCOLLO_SOAP_OPERATIONS)
        .filter((o) => o.side === side)
        .map((o) => `{${PROTOCOLLO_SOAP[side].ns}}${o.request}`)
        .join(', ')}`,
    );
  }
  return { text, operation, element };
}
