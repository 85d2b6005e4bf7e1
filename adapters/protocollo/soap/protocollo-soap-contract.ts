/**
 * The contract of the AgID SOAP interfaces of the protocollo informatico interoperabile (Linee guida
 * 2021, Allegato 6) that server and client share: the two WSDLs and their operations, the typed
 * messages, the Anomalia enumerations as the WSDLs spell them, the handlers a server calls, and where
 * the official WSDL files are shipped.
 *   /protocollo/destinatario  protocollo-destinatario.wsdl  MessaggioInoltro, AnnullamentoInoltroMittente
 *                             (implemented by the RECEIVING AOO)
 *   /protocollo/mittente      protocollo-mittente.wsdl      ConfermaMessaggioInoltro, AnnullamentoInoltroDestinatario
 *                             (implemented by the SENDING AOO)
 */
import { join } from 'node:path';
import { shippedSchemaPath } from '../../sdk/shipped-files.js';
import type { Identificatore } from '../segnatura/segnatura-model.js';

/** The two WSDLs: where each is served, its target namespace, the service/port soap dispatches to. */
export const PROTOCOLLO_SOAP = {
  destinatario: {
    wsdlFile: 'protocollo-destinatario.wsdl',
    path: '/protocollo/destinatario',
    ns: 'http://ws.protocollo.comunicazione.aoo.destinatario/',
    service: 'ProtocolloDestinatarioService',
    port: 'ProtocolloDestinatarioService',
  },
  mittente: {
    wsdlFile: 'protocollo-mittente.wsdl',
    path: '/protocollo/mittente',
    ns: 'http://ws.protocollo.comunicazione.aoo.mittente/',
    service: 'ProtocolloMittenteService',
    port: 'ProtocolloMittenteService',
  },
} as const;

export type ProtocolloSoapSide = keyof typeof PROTOCOLLO_SOAP;

/** The four operations, the WSDL each belongs to, and their Body elements (names as the WSDLs spell them). */
export const PROTOCOLLO_SOAP_OPERATIONS = {
  MessaggioInoltro: { side: 'destinatario', request: 'RequestMessageInoltro', response: 'ResponseMessageInoltro' },
  AnnullamentoInoltroMittente: {
    side: 'destinatario',
    request: 'RequestAnnullamentoInoltroMittente',
    response: 'ResponseAnnullamentoInoltroMittente',
  },
  ConfermaMessaggioInoltro: { side: 'mittente', request: 'RequestConfermaMessaggioInoltro', response: 'ResponseConfermaMessaggioInoltro' },
  AnnullamentoInoltroDestinatario: {
    side: 'mittente',
    request: 'RequestAnnullamentoInoltroDestinatario',
    response: 'ResponseAnnullamentoInoltroDestinatario',
  },
} as const;

export type ProtocolloSoapOperation = keyof typeof PROTOCOLLO_SOAP_OPERATIONS;

/**
 * The Anomalia enumerations of the WSDLs, spelled exactly as on the wire. They differ from the bus's
 * registry (PROTOCOLLO_CODES) in places — `002_AnomaliaImpronte`, `000_Irricevibilita`,
 * `004_…ErroreValidazioneFirma`, `005_…ErroreVaidazione…` — so mapping to a registry code goes by the
 * number (anomaliaOf in protocollo-messages.ts).
 */
export const ANOMALIE_INOLTRO = ['001_ValidazioneFirma', '002_AnomaliaImpronte'] as const;
export const ANOMALIE_ANNULLAMENTO = ['000_Irricevibilita', '007_ErroreIdentificatoreNonTrovato'] as const;
export const ANOMALIE_CONFERMA = [
  '000_Irricevibile',
  '003_DocumentoAllegatiNonLeggibili',
  '004_DocumentoAllegatiErroreValidazioneFirma',
  '005_DocumentoAllegatiErroreVaidazioneMarcaTemporale',
  '006_DocumentoAllegatiErroreValidazioneSigillo',
] as const;

export type AnomaliaInoltro = (typeof ANOMALIE_INOLTRO)[number];
export type AnomaliaAnnullamento = (typeof ANOMALIE_ANNULLAMENTO)[number];
export type AnomaliaConferma = (typeof ANOMALIE_CONFERMA)[number];

/** An Anomalia element: the code (element text) and its optional `info` attribute (unqualified). */
export interface Anomalia<Code extends string> {
  readonly code: Code;
  readonly info?: string;
}

/** A msgprot:File: base64 content with msgprot:nomeFile and msgprot:mimeType. */
export interface ProtocolloSoapFile {
  readonly nomeFile: string;
  readonly mimeType: string;
  readonly content: Buffer;
}

/** RequestMessageInoltro (MessaggioProtocolloType): the Segnatura and at least one file. */
export interface MessaggioInoltroRequest {
  /**
   * The Segnatura as a standalone XML document (UTF-8). Untrusted on the receiving side: the handler
   * verifies its seal (verifyXades) and reads it from the verified DOM. See standalone-segnatura.ts for
   * which root element it has.
   */
  readonly segnatura: Buffer;
  readonly files: readonly ProtocolloSoapFile[];
}

/** ResponseMessageInoltro: the sender's identifier, and the anomaly found (seal or digests), if any. */
export interface MessaggioInoltroResponse {
  readonly identificatoreMittente: Identificatore;
  readonly anomalia?: Anomalia<AnomaliaInoltro>;
}

/** RequestAnnullamentoInoltroMittente: the sender cancelled its registration. */
export interface AnnullamentoInoltroMittenteRequest {
  readonly identificatoreMittente: Identificatore;
  readonly identificatoreDestinatario: Identificatore;
  readonly riferimentoProvvedimento: string;
  readonly note?: string;
}

/** RequestAnnullamentoInoltroDestinatario: the receiver cancelled its registration (Note is required here). */
export interface AnnullamentoInoltroDestinatarioRequest {
  readonly identificatoreMittente: Identificatore;
  readonly identificatoreDestinatario: Identificatore;
  readonly riferimentoProvvedimento: string;
  readonly note: string;
}

/** Both ResponseAnnullamentoInoltro… elements have this content. */
export interface AnnullamentoInoltroResponse {
  readonly identificatoreMittente: Identificatore;
  readonly identificatoreDestinatario: Identificatore;
  readonly anomalia?: Anomalia<AnomaliaAnnullamento>;
}

/** RequestConfermaMessaggioInoltro: the receiver's registration, or (xs:choice) the anomaly it found. */
export type ConfermaMessaggioInoltroRequest =
  | { readonly identificatoreMittente: Identificatore; readonly identificatoreDestinatario: Identificatore; readonly anomalia?: undefined }
  | {
      readonly identificatoreMittente: Identificatore;
      readonly anomalia: Anomalia<AnomaliaConferma>;
      readonly identificatoreDestinatario?: undefined;
    };

export interface ConfermaMessaggioInoltroResponse {
  readonly identificatoreMittente: Identificatore;
}

/**
 * What the server calls. The anomalies a WSDL lists in a response (e.g. 001/002 for MessaggioInoltro)
 * are answers: return them. Anything else is thrown: a ProtocolloError (or a final AdapterError) becomes
 * a Client Fault `<code> - <message>`, which the sending side takes as final; a retriable AdapterError
 * becomes a Server Fault (`TRAMITE_ERR_ADAPTER_UNAVAILABLE - …`), which it retries; any other error a
 * Server Fault without its details (they go to the log).
 */
export interface ProtocolloSoapHandlers {
  onMessaggioInoltro(req: MessaggioInoltroRequest): Promise<MessaggioInoltroResponse>;
  onAnnullamentoInoltroMittente(req: AnnullamentoInoltroMittenteRequest): Promise<AnnullamentoInoltroResponse>;
  onConfermaMessaggioInoltro(req: ConfermaMessaggioInoltroRequest): Promise<ConfermaMessaggioInoltroResponse>;
  onAnnullamentoInoltroDestinatario(req: AnnullamentoInoltroDestinatarioRequest): Promise<AnnullamentoInoltroResponse>;
}

/** schemas/protocollo/interfaces_SOAP/<wsdl> in the package: soap resolves its `../*.xsd` imports from there. */
export function protocolloWsdlPath(side: ProtocolloSoapSide): string {
  return join(protocolloSchemasDir(), 'interfaces_SOAP', PROTOCOLLO_SOAP[side].wsdlFile);
}

/** schemas/protocollo in the package: the WSDLs under interfaces_SOAP/, the XSDs they import above them. */
export function protocolloSchemasDir(): string {
  return shippedSchemaPath('protocollo');
}
