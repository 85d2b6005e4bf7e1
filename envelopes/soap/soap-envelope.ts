import { EnvelopeError } from '../../src/core/errors.js';
import { NS } from '../xml/namespaces.js';
import { childElements, isElement } from '../xml/dom-navigation.js';

/** The parts of a SOAP 1.1 envelope, located once; everything downstream reads from these nodes. */
export interface SoapParts {
  readonly envelope: Element;
  readonly header: Element | undefined;
  readonly body: Element;
  /** Direct children of soap:Header, in document order. */
  readonly headerBlocks: readonly Element[];
}

/**
 * Locates Envelope, Header and Body and refuses any shape a signature-wrapping attack would need:
 * a root other than soap:Envelope, a second Header or Body, Header after Body, or any other element
 * beside them. Errors are EGOV_IT_001 (busta format) with the position.
 */
export function locateSoapParts(doc: Document): SoapParts {
  const envelope = doc.documentElement;
  if (!isElement(envelope, NS.soap11, 'Envelope')) {
    const got = envelope ? `{${envelope.namespaceURI ?? ''}}${envelope.localName}` : 'nothing';
    throw new EnvelopeError('EGOV_IT_001', 'Envelope', `EGOV_IT_001 - root element must be SOAP 1.1 Envelope, found ${got}`);
  }
  let header: Element | undefined;
  let body: Element | undefined;
  for (const child of childElements(envelope)) {
    if (isElement(child, NS.soap11, 'Header')) {
      if (header) throw new EnvelopeError('EGOV_IT_001', 'Envelope/Header', 'EGOV_IT_001 - more than one soap:Header');
      if (body) throw new EnvelopeError('EGOV_IT_001', 'Envelope/Header', 'EGOV_IT_001 - soap:Header after soap:Body');
      header = child;
    } else if (isElement(child, NS.soap11, 'Body')) {
      if (body) throw new EnvelopeError('EGOV_IT_001', 'Envelope/Body', 'EGOV_IT_001 - more than one soap:Body');
      body = child;
    } else {
      throw new EnvelopeError(
        'EGOV_IT_001',
        `Envelope/${child.nodeName}`,
        `EGOV_IT_001 - unexpected element ${child.nodeName} in soap:Envelope`,
      );
    }
  }
  if (!body) throw new EnvelopeError('EGOV_IT_001', 'Envelope/Body', 'EGOV_IT_001 - soap:Body missing');
  return { envelope, header, body, headerBlocks: header ? childElements(header) : [] };
}

export interface SoapFault {
  readonly code: string;
  readonly string: string;
  readonly detail?: Element;
}

/** Reads a Fault out of a Body, if the Body is one. */
export function readSoapFault(body: Element): SoapFault | undefined {
  const [first] = childElements(body);
  if (!isElement(first, NS.soap11, 'Fault')) return undefined;
  let code = '';
  let str = '';
  let detail: Element | undefined;
  for (const c of childElements(first)) {
    if (c.localName === 'faultcode') code = (c.textContent ?? '').trim();
    else if (c.localName === 'faultstring') str = (c.textContent ?? '').trim();
    else if (c.localName === 'detail') detail = c;
  }
  return { code, string: str, ...(detail ? { detail } : {}) };
}
