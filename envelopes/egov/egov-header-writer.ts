import { PROFILO_COLLABORAZIONE, type EgovHeader, type OraRegistrazione } from './egov-header.js';
import { EGOV_ACTOR, NS } from '../xml/namespaces.js';
import type { PartyRef } from '../../src/core/party.js';
import { escapeAttribute as a, escapeText as x } from '../xml/xml-escape.js';

const ora = (name: string, o: OraRegistrazione): string => `<eGov_IT:${name} tempo="${a(o.tempo)}">${x(o.value)}</eGov_IT:${name}>`;

const party = (p: PartyRef): string =>
  `<eGov_IT:IdentificativoParte tipo="${a(p.tipo)}"${p.indirizzoTelematico ? ` indirizzoTelematico="${a(p.indirizzoTelematico)}"` : ''}>${x(p.nome)}</eGov_IT:IdentificativoParte>`;

/**
 * Writes eGov_IT:Intestazione in schema order. `wsuId` gives the header the wsu:Id the WS-Security
 * signature references; the namespaces are declared on the element itself so it can be moved or
 * canonicalised on its own.
 */
export function writeEgovHeader(h: EgovHeader, wsuId?: string): string {
  const parts: string[] = [];
  parts.push(
    `<eGov_IT:Intestazione xmlns:eGov_IT="${NS.egov}" xmlns:SOAP_ENV="${NS.soap11}"` +
      (wsuId ? ` xmlns:wsu="${NS.wsu}" wsu:Id="${a(wsuId)}"` : '') +
      ` SOAP_ENV:actor="${EGOV_ACTOR}" SOAP_ENV:mustUnderstand="1">`,
  );
  parts.push('<eGov_IT:IntestazioneMessaggio>');
  parts.push(`<eGov_IT:Mittente>${h.mittente.map(party).join('')}</eGov_IT:Mittente>`);
  parts.push(`<eGov_IT:Destinatario>${party(h.destinatario)}</eGov_IT:Destinatario>`);
  if (h.profiloCollaborazione) {
    const pc = h.profiloCollaborazione;
    parts.push(
      `<eGov_IT:ProfiloCollaborazione${pc.servizioCorrelato ? ` servizioCorrelato="${a(pc.servizioCorrelato)}"` : ''}${pc.tipo ? ` tipo="${a(pc.tipo)}"` : ''}>` +
        `${PROFILO_COLLABORAZIONE[pc.profile]}</eGov_IT:ProfiloCollaborazione>`,
    );
  }
  if (h.collaborazione) parts.push(`<eGov_IT:Collaborazione>${x(h.collaborazione)}</eGov_IT:Collaborazione>`);
  if (h.servizio) parts.push(`<eGov_IT:Servizio tipo="${a(h.servizio.tipo)}">${x(h.servizio.nome)}</eGov_IT:Servizio>`);
  if (h.azione) parts.push(`<eGov_IT:Azione>${x(h.azione)}</eGov_IT:Azione>`);
  const m = h.messaggio;
  parts.push(
    '<eGov_IT:Messaggio>' +
      `<eGov_IT:Identificatore>${x(m.identificatore)}</eGov_IT:Identificatore>` +
      ora('OraRegistrazione', m.oraRegistrazione) +
      (m.riferimentoMessaggio ? `<eGov_IT:RiferimentoMessaggio>${x(m.riferimentoMessaggio)}</eGov_IT:RiferimentoMessaggio>` : '') +
      (m.scadenza ? `<eGov_IT:Scadenza>${x(m.scadenza)}</eGov_IT:Scadenza>` : '') +
      '</eGov_IT:Messaggio>',
  );
  if (h.profiloTrasmissione) {
    parts.push(
      `<eGov_IT:ProfiloTrasmissione inoltro="${h.profiloTrasmissione.inoltro}" confermaRicezione="${h.profiloTrasmissione.confermaRicezione}"/>`,
    );
  }
  if (h.sequenza !== undefined) parts.push(`<eGov_IT:Sequenza numeroProgressivo="${String(h.sequenza).padStart(7, '0')}"/>`);
  parts.push('</eGov_IT:IntestazioneMessaggio>');
  if (h.riscontri.length > 0) {
    parts.push(
      '<eGov_IT:ListaRiscontri>' +
        h.riscontri
          .map(
            (r) =>
              `<eGov_IT:Riscontro><eGov_IT:Identificatore>${x(r.identificatore)}</eGov_IT:Identificatore>${ora('OraRegistrazione', r.oraRegistrazione)}</eGov_IT:Riscontro>`,
          )
          .join('') +
        '</eGov_IT:ListaRiscontri>',
    );
  }
  if (h.trasmissioni.length > 0) {
    parts.push(
      '<eGov_IT:ListaTrasmissioni>' +
        h.trasmissioni
          .map(
            (t) =>
              `<eGov_IT:Trasmissione><eGov_IT:Origine>${party(t.origine)}</eGov_IT:Origine><eGov_IT:Destinazione>${party(t.destinazione)}</eGov_IT:Destinazione>${ora('OraRegistrazione', t.oraRegistrazione)}</eGov_IT:Trasmissione>`,
          )
          .join('') +
        '</eGov_IT:ListaTrasmissioni>',
    );
  }
  if (h.eccezioni.length > 0) {
    parts.push(
      '<eGov_IT:ListaEccezioni>' +
        h.eccezioni
          .map(
            (e) =>
              `<eGov_IT:Eccezione contestoCodifica="${a(e.contestoCodifica)}" codiceEccezione="${a(e.codiceEccezione)}" rilevanza="${e.rilevanza}" posizione="${a(e.posizione)}"/>`,
          )
          .join('') +
        '</eGov_IT:ListaEccezioni>',
    );
  }
  parts.push('</eGov_IT:Intestazione>');
  return parts.join('');
}
