import { describeCode, type EgovCode } from '../../src/core/error-codes.js';
import { formatXsdDateTime } from '../../src/core/xsd-datetime.js';
import { NS } from '../xml/namespaces.js';
import { escapeAttribute, escapeText } from '../xml/xml-escape.js';
import type { ReportedEccezione } from './eccezione.js';

/**
 * The SOAP Fault for a refused envelope: faultcode Client for busta/security errors, Server for
 * processing errors; faultstring `EGOV_IT_nnn - description`; detail MessaggioDiErroreApplicativo
 * (EccezioneCNIPA.xsd) naming the position and the precise reason. Returned as the Fault element
 * alone, so it can be the Body of a plain envelope or of a signed error busta.
 */
export function faultElement(ecc: ReportedEccezione, opts: { now: Date; porta: string }): string {
  const code = ecc.codiceEccezione as EgovCode;
  const processing = code >= 'EGOV_IT_300';
  const descr = `${describeCode(code)}${ecc.posizione ? ` (${ecc.posizione})` : ''}${ecc.reason ? ` [${ecc.reason}]` : ''}: ${ecc.message}`;
  const detail =
    `<eGov_IT_Ecc:MessaggioDiErroreApplicativo xmlns:eGov_IT_Ecc="${NS.egovException}">` +
    `<eGov_IT_Ecc:OraRegistrazione>${formatXsdDateTime(opts.now)}</eGov_IT_Ecc:OraRegistrazione>` +
    `<eGov_IT_Ecc:IdentificativoPorta>${escapeText(opts.porta)}</eGov_IT_Ecc:IdentificativoPorta>` +
    `<eGov_IT_Ecc:IdentificativoFunzione>${processing ? 'GestioneMessaggi' : 'ValidazioneBusta'}</eGov_IT_Ecc:IdentificativoFunzione>` +
    `<eGov_IT_Ecc:Eccezione><eGov_IT_Ecc:${processing ? 'EccezioneProcessamento' : 'EccezioneBusta'} codiceEccezione="${code}" descrizioneEccezione="${escapeAttribute(descr)}"/></eGov_IT_Ecc:Eccezione>` +
    `</eGov_IT_Ecc:MessaggioDiErroreApplicativo>`;
  return (
    `<SOAP_ENV:Fault xmlns:SOAP_ENV="${NS.soap11}"><faultcode>SOAP_ENV:${processing ? 'Server' : 'Client'}</faultcode>` +
    `<faultstring>${code} - ${escapeText(describeCode(code))}</faultstring><detail>${detail}</detail></SOAP_ENV:Fault>`
  );
}

/** A plain (unsigned) SOAP envelope around a Fault, for refusals before the request could be trusted. */
export function buildFaultEnvelope(fault: string): string {
  return `<SOAP_ENV:Envelope xmlns:SOAP_ENV="${NS.soap11}"><SOAP_ENV:Body>${fault}</SOAP_ENV:Body></SOAP_ENV:Envelope>`;
}
