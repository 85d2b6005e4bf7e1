/**
 * The server's response element for each operation, written from what its handler returned. A failure
 * here is the server's own (a Server Fault), not the request's.
 */
import { operationWriter, serializeOperation, writeAnomalia, writeIdentificatoreIn } from './operation-elements.js';
import {
  ANOMALIE_ANNULLAMENTO,
  ANOMALIE_INOLTRO,
  PROTOCOLLO_SOAP_OPERATIONS,
  type AnnullamentoInoltroResponse,
  type ConfermaMessaggioInoltroResponse,
  type MessaggioInoltroResponse,
  type ProtocolloSoapSide,
} from './protocollo-soap-contract.js';

export function writeMessaggioInoltroResponse(res: MessaggioInoltroResponse): string {
  const w = operationWriter('destinatario', PROTOCOLLO_SOAP_OPERATIONS.MessaggioInoltro.response);
  writeIdentificatoreIn(w, 'IdentificatoreMittente', res.identificatoreMittente);
  if (res.anomalia) writeAnomalia(w, res.anomalia, ANOMALIE_INOLTRO);
  return serializeOperation(w);
}

export function writeAnnullamentoResponse(side: ProtocolloSoapSide, name: string, res: AnnullamentoInoltroResponse): string {
  const w = operationWriter(side, name);
  writeIdentificatoreIn(w, 'IdentificatoreMittente', res.identificatoreMittente);
  writeIdentificatoreIn(w, 'IdentificatoreDestinatario', res.identificatoreDestinatario);
  if (res.anomalia) writeAnomalia(w, res.anomalia, ANOMALIE_ANNULLAMENTO);
  return serializeOperation(w);
}

export function writeConfermaResponse(res: ConfermaMessaggioInoltroResponse): string {
  const w = operationWriter('mittente', PROTOCOLLO_SOAP_OPERATIONS.ConfermaMessaggioInoltro.response);
  writeIdentificatoreIn(w, 'IdentificatoreMittente', res.identificatoreMittente);
  return serializeOperation(w);
}
