/**
 * One runner per operation: read the request, call the handler, hand back the response writer. The
 * runner reads (refusals are Client Faults) and awaits the handler; the writer it returns is called
 * apart, as its failures are the server's own (Server Faults).
 */
import { ProtocolloError } from '../../../src/core/errors.js';
import type { XmlLimits } from '../../sdk/index.js';
import { readAnnullamento, readConferma, readMessaggioInoltro } from './operation-requests.js';
import { writeAnnullamentoResponse, writeConfermaResponse, writeMessaggioInoltroResponse } from './operation-responses.js';
import { PROTOCOLLO_SOAP_OPERATIONS, type ProtocolloSoapHandlers, type ProtocolloSoapOperation } from './protocollo-soap-contract.js';

/** Reads the request, calls the handler, returns the writer of the response element. */
export type OperationRunner = (op: Element, text: string, handlers: ProtocolloSoapHandlers, limits: XmlLimits) => Promise<() => string>;

export const OPERATION_RUNNERS: Record<ProtocolloSoapOperation, OperationRunner> = {
  async MessaggioInoltro(op, text, handlers, limits) {
    const res = await handlers.onMessaggioInoltro(readMessaggioInoltro(op, text, limits));
    return () => writeMessaggioInoltroResponse(res);
  },
  async AnnullamentoInoltroMittente(op, _text, handlers) {
    const { note, ...req } = readAnnullamento(op, 'destinatario', PROTOCOLLO_SOAP_OPERATIONS.AnnullamentoInoltroMittente.request);
    const res = await handlers.onAnnullamentoInoltroMittente(note === undefined ? req : { ...req, note });
    return () => writeAnnullamentoResponse('destinatario', PROTOCOLLO_SOAP_OPERATIONS.AnnullamentoInoltroMittente.response, res);
  },
  async ConfermaMessaggioInoltro(op, _text, handlers) {
    const res = await handlers.onConfermaMessaggioInoltro(readConferma(op));
    return () => writeConfermaResponse(res);
  },
  async AnnullamentoInoltroDestinatario(op, _text, handlers) {
    const name = PROTOCOLLO_SOAP_OPERATIONS.AnnullamentoInoltroDestinatario.request;
    const { note, ...req } = readAnnullamento(op, 'mittente', name);
    if (note === undefined)
      throw new ProtocolloError('000_Irricevibile', `required element ${name}/Note is missing`, { where: `${name}/Note` });
    const res = await handlers.onAnnullamentoInoltroDestinatario({ ...req, note });
    return () => writeAnnullamentoResponse('mittente', PROTOCOLLO_SOAP_OPERATIONS.AnnullamentoInoltroDestinatario.response, res);
  },
};
