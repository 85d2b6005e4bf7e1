/**
 * SOAP 1.1 Faults of the protocollo service: the ones soap writes for a failed operation (SoapFault), the
 * ones the gate writes itself for a request refused before soap sees it (faultEnvelope), and which
 * Fault an error out of a handler becomes (faultFor).
 */
import type { ISoapFault11 } from 'soap';
import { ProtocolloError } from '../../../src/core/errors.js';
import { NS } from '../../sdk/index.js';
import { AdapterError, type AdapterLogger } from '../../sdk/index.js';
import { escapeText, replaceForbiddenXmlChars } from '../../sdk/index.js';
import type { ProtocolloSoapOperation } from './protocollo-soap-contract.js';

export type FaultCode = 'Client' | 'Server' | 'VersionMismatch';

/** What soap turns into a Fault: any thrown value with a `Fault` property. */
export class SoapFault extends Error {
  readonly Fault: ISoapFault11 & { statusCode: number };
  constructor(faultcode: FaultCode, faultstring: string) {
    super(faultstring);
    this.Fault = { faultcode: `soap:${faultcode}`, faultstring: faultText(faultstring), statusCode: 500 };
  }
}

/**
 * The Fault for an error out of reading or handling a request. The protocol's convention, as for the
 * bus's own Faults: faultstring `<code> - <message>`; Client when the content is at fault (final for the
 * sender), Server when trying again later may succeed.
 */
export function faultFor(err: unknown, operation: ProtocolloSoapOperation, log: AdapterLogger | undefined): SoapFault {
  if (err instanceof ProtocolloError) return new SoapFault('Client', `${err.code} - ${err.message}`);
  if (err instanceof AdapterError) return new SoapFault(err.retriable ? 'Server' : 'Client', `${err.code} - ${err.message}`);
  log?.error({ operation, err }, 'protocollo SOAP handler failed');
  return new SoapFault('Server', `TRAMITE_ERR_ADAPTER_UNAVAILABLE - ${operation} could not be processed; try again later`);
}

/** faultstring text: no character XML cannot carry, bounded (a refusal may quote what was refused). */
function faultText(text: string): string {
  const clean = replaceForbiddenXmlChars(text);
  return clean.length > 2000 ? `${clean.slice(0, 2000)}…` : clean;
}

export function faultEnvelope(faultcode: FaultCode, faultstring: string): string {
  const text = escapeText(faultText(faultstring));
  return (
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${NS.soap11}"><soap:Body><soap:Fault>` +
    `<faultcode>soap:${faultcode}</faultcode><faultstring>${text}</faultstring></soap:Fault></soap:Body></soap:Envelope>`
  );
}
