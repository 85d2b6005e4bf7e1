import { randomUUID } from 'node:crypto';
import type { EgovHeader, Eccezione } from '../core/egov-header.js';
import type { ModiSoapPattern } from '../core/modi-header.js';
import { describeCode, type EgovCode } from '../core/error-codes.js';
import { EnvelopeError, SecurityError, TramiteError } from '../core/errors.js';
import { NS } from '../core/namespaces.js';
import { parsePartyCode, partyCode, type PartyRef } from '../core/party.js';
import { formatXsdDateTime } from '../core/xsd-datetime.js';
import type { SigningIdentity } from '../crypto/ws-security-sign.js';
import { buildEgovEnvelope, buildModiEnvelope, sealEnvelope, type ReadEnvelope } from '../../envelopes/envelope.js';
import { formatModiAction } from '../../envelopes/modi/modi-action.js';
import { escapeAttribute, escapeText } from '../../envelopes/xml/xml-escape.js';
import type { ServiceDef } from './registry.js';

/** Lifetime of the WS-Security Timestamp the node writes. */
const TIMESTAMP_TTL_SECONDS = 300;

export interface OutboundRequest {
  readonly id: string;
  /** OraRegistrazione: when the message was registered (stays the same on every retry). */
  readonly now: Date;
  /** When this copy is signed (wsu:Timestamp); defaults to `now`. A retry signs again, later. */
  readonly sealedAt?: Date;
  readonly from: string;
  readonly to: string;
  readonly service: ServiceDef;
  readonly action?: string;
  readonly payload: string;
  readonly refId?: string;
  readonly conversationId?: string;
  readonly expiresAt?: Date;
}

function party(code: string): PartyRef {
  const p = parsePartyCode(code);
  if (!p) throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', `"${code}" is not a party code (tipo/nome)`);
  return p;
}

/** Builds and signs the envelope of an outbound request, in the service's envelope profile. */
export function sealRequest(req: OutboundRequest, signer: SigningIdentity): string {
  const s = req.service;
  let xml: string;
  if (s.envelope === 'modi') {
    xml = buildModiEnvelope(
      {
        to: req.to,
        from: req.from,
        action: formatModiAction(s.tipo, s.name, req.action),
        messageId: req.id,
        ...(req.refId ? { relatesTo: req.refId } : {}),
      },
      req.payload,
    );
  } else {
    const header: EgovHeader = {
      mittente: [party(req.from)],
      destinatario: party(req.to),
      profiloCollaborazione: { profile: s.profile, ...(s.correlatedService !== undefined ? { servizioCorrelato: s.correlatedService } : {}) },
      ...(req.conversationId ? { collaborazione: req.conversationId } : {}),
      servizio: { tipo: s.tipo, nome: s.name },
      ...(req.action ? { azione: req.action } : {}),
      messaggio: {
        identificatore: req.id,
        oraRegistrazione: { value: formatXsdDateTime(req.now), tempo: 'EGOV_IT_SPC' },
        ...(req.refId ? { riferimentoMessaggio: req.refId } : {}),
        ...(req.expiresAt ? { scadenza: formatXsdDateTime(req.expiresAt) } : {}),
      },
      profiloTrasmissione: { inoltro: s.inoltro, confermaRicezione: s.confermaRicezione },
      riscontri: [],
      trasmissioni: [],
      eccezioni: [],
    };
    xml = buildEgovEnvelope(header, req.payload);
  }
  return sealEnvelope(xml, s.envelope, signer, { now: req.sealedAt ?? req.now, ttlSeconds: TIMESTAMP_TTL_SECONDS, ...(s.modiPatterns ? { modiPatterns: s.modiPatterns } : {}) });
}

export interface ReplyParts {
  /** Id of the reply itself (an e-Gov id of the replying party, or a UUID for modi). */
  readonly id: string;
  readonly now: Date;
  /** Body content: the sincrono answer, or empty for a riscontro / ricevuta. */
  readonly payload?: string;
  readonly riscontro?: boolean;
  readonly eccezioni?: readonly Eccezione[];
  /**
   * modi: the patterns of the request's service, which its replies follow too (a service without
   * INTEGRITY_SOAP_01 gets riscontri and answers with the Body unsigned). Default: the Body is signed.
   */
  readonly modiPatterns?: readonly ModiSoapPattern[];
}

/**
 * The signed answer to a verified request, from the party it was addressed to: Mittente and
 * Destinatario swapped, RiferimentoMessaggio = request id (egov), or wsa:RelatesTo (modi).
 */
export function sealReply(request: ReadEnvelope, parts: ReplyParts, signer: SigningIdentity, bodyOverride?: string): string {
  const body = bodyOverride ?? parts.payload ?? '';
  if (request.profile === 'modi') {
    const a = request.addressing!;
    return sealEnvelope(
      buildModiEnvelope(
        { ...(a.from ? { to: a.from } : {}), ...(a.to ? { from: a.to } : {}), ...(a.action ? { action: a.action } : {}), messageId: parts.id, ...(a.messageId ? { relatesTo: a.messageId } : {}) },
        body,
      ),
      'modi',
      signer,
      { now: parts.now, ttlSeconds: TIMESTAMP_TTL_SECONDS, ...(parts.modiPatterns ? { modiPatterns: parts.modiPatterns } : {}) },
    );
  }
  const h = request.egov!;
  const reply: EgovHeader = {
    mittente: [h.destinatario],
    destinatario: h.mittente[0]!,
    ...(h.profiloCollaborazione ? { profiloCollaborazione: { profile: h.profiloCollaborazione.profile } } : {}),
    ...(h.collaborazione ? { collaborazione: h.collaborazione } : {}),
    ...(h.servizio ? { servizio: h.servizio } : {}),
    ...(h.azione ? { azione: h.azione } : {}),
    messaggio: {
      identificatore: parts.id,
      oraRegistrazione: { value: formatXsdDateTime(parts.now), tempo: 'EGOV_IT_SPC' },
      riferimentoMessaggio: h.messaggio.identificatore,
    },
    riscontri: parts.riscontro ? [{ identificatore: h.messaggio.identificatore, oraRegistrazione: h.messaggio.oraRegistrazione }] : [],
    trasmissioni: [],
    eccezioni: parts.eccezioni ?? [],
  };
  return sealEnvelope(buildEgovEnvelope(reply, body), 'egov', signer, { now: parts.now, ttlSeconds: TIMESTAMP_TTL_SECONDS });
}

/** The protocol's view of any failure: an EGOV_IT code, a position, and a message for humans. */
export function toEccezione(err: unknown): Eccezione & { message: string; reason?: string } {
  if (err instanceof EnvelopeError) {
    return { contestoCodifica: err.contestoCodifica, codiceEccezione: err.code, rilevanza: err.rilevanza, posizione: err.posizione, message: err.message };
  }
  if (err instanceof SecurityError) {
    return { contestoCodifica: 'ErroreIntestazioneMessaggioSPCoop', codiceEccezione: err.code, rilevanza: 'GRAVE', posizione: err.posizione, message: err.message, reason: err.reason };
  }
  return { contestoCodifica: 'ErroreProcessamentoMessaggioSPCoop', codiceEccezione: 'EGOV_IT_300', rilevanza: 'GRAVE', posizione: 'Processamento', message: describeCode('EGOV_IT_300') };
}

/**
 * The SOAP Fault for a refused envelope: faultcode Client for busta/security errors, Server for
 * processing errors; faultstring `EGOV_IT_nnn - description`; detail MessaggioDiErroreApplicativo
 * (EccezioneCNIPA.xsd) naming the position and the precise reason. Returned as the Fault element
 * alone, so it can be the Body of a plain envelope or of a signed error busta.
 */
export function faultElement(ecc: ReturnType<typeof toEccezione>, opts: { now: Date; porta: string }): string {
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

/** A new ModI message id. */
export function newModiMessageId(): string {
  return randomUUID();
}

export { partyCode };
