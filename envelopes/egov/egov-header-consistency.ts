/**
 * Rules between the fields of one e-Gov header, checked once every field has been read on its own:
 * who issued the ids, what a profile requires or excludes, and how the hops of ListaTrasmissioni
 * follow one another. Each rule fails with the code and posizione of the field it is about.
 */
import type { EgovHeader, OraRegistrazione } from './egov-header.js';
import type { MessageIdParts } from '../../src/core/message-id.js';
import { partyCode, type PartyRef } from '../../src/core/party.js';
import { parseXsdDateTime } from '../../src/core/xsd-datetime.js';
import { fail } from './egov-header-structure.js';

const P = 'Intestazione';
const IM = `${P}/IntestazioneMessaggio`;
const MSG = `${IM}/Messaggio`;
const LT = `${P}/ListaTrasmissioni`;

/** The parsed ids of the header, as read (each already in IdentificatoreType form). */
export interface HeaderIds {
  readonly identificatore: MessageIdParts;
  readonly collaborazione?: MessageIdParts;
}

export function checkHeaderConsistency(h: EgovHeader, ids: HeaderIds): void {
  checkProfiloCollaborazione(h);
  checkCollaborazioneIssuer(h, ids);
  checkServizioForProfile(h);
  checkIdentificatoreIssuer(h, ids);
  checkRiferimentoMessaggio(h);
  checkSequenza(h);
  checkTrasmissioni(h);
}

const isAsincrono = (h: EgovHeader): boolean =>
  h.profiloCollaborazione?.profile === 'asincronoSimmetrico' || h.profiloCollaborazione?.profile === 'asincronoAsimmetrico';

/** servizioCorrelato and its tipo name the service an asynchronous exchange continues on: asincrono profiles only. */
function checkProfiloCollaborazione(h: EgovHeader): void {
  const pc = h.profiloCollaborazione;
  if (!pc || isAsincrono(h)) return;
  if (pc.servizioCorrelato !== undefined)
    fail('EGOV_IT_103', `${IM}/ProfiloCollaborazione/@servizioCorrelato`, `servizioCorrelato is for asincrono profiles, not ${pc.profile}`);
  if (pc.tipo !== undefined)
    fail(
      'EGOV_IT_103',
      `${IM}/ProfiloCollaborazione/@tipo`,
      `tipo (of the correlated service) is for asincrono profiles, not ${pc.profile}`,
    );
}

/** A conversation is started by one of the two parties of the busta: its id is issued under one of their codes. */
function checkCollaborazioneIssuer(h: EgovHeader, ids: HeaderIds): void {
  const c = ids.collaborazione;
  if (!c || c.soggetto === h.mittente[0].nome || c.soggetto === h.destinatario.nome) return;
  fail(
    'EGOV_IT_104',
    `${IM}/Collaborazione`,
    `Collaborazione ${h.collaborazione} was issued by ${c.soggetto}, neither the Mittente ${h.mittente[0].nome} nor the Destinatario ${h.destinatario.nome}`,
  );
}

/** Sincrono and asincrono exchanges are calls of a service; only a oneway busta (e.g. a riscontro) may be a busta di servizio. */
function checkServizioForProfile(h: EgovHeader): void {
  const profile = h.profiloCollaborazione?.profile;
  if (h.servizio || profile === undefined || profile === 'oneway') return;
  fail('EGOV_IT_105', `${IM}/Servizio`, `a ${profile} busta must name its Servizio`);
}

/**
 * The Mittente issues the ids of its messages: an Identificatore under another party's code would let
 * one party speak with another's ids (and collide with, or replace, that party's messages).
 */
function checkIdentificatoreIssuer(h: EgovHeader, ids: HeaderIds): void {
  const issuer = ids.identificatore.soggetto;
  if (issuer === h.mittente[0].nome) return;
  fail(
    'EGOV_IT_110',
    `${MSG}/Identificatore`,
    `Identificatore ${h.messaggio.identificatore} is issued under ${issuer}, not under the Mittente ${h.mittente[0].nome}`,
  );
}

function checkRiferimentoMessaggio(h: EgovHeader): void {
  if (h.messaggio.riferimentoMessaggio !== h.messaggio.identificatore) return;
  fail('EGOV_IT_111', `${MSG}/RiferimentoMessaggio`, 'RiferimentoMessaggio names the message itself');
}

/** In-order delivery: oneway only, at most once, with riscontro, inside a conversation. */
function checkSequenza(h: EgovHeader): void {
  if (h.sequenza === undefined) return;
  if (h.profiloCollaborazione && h.profiloCollaborazione.profile !== 'oneway')
    fail('EGOV_IT_114', `${IM}/Sequenza`, 'Sequenza is allowed with the oneway profile only');
  if (h.profiloTrasmissione?.inoltro !== 'EGOV_IT_ALPIUUNAVOLTA' || !h.profiloTrasmissione.confermaRicezione || !h.collaborazione) {
    fail('EGOV_IT_114', `${IM}/Sequenza`, 'Sequenza needs inoltro EGOV_IT_ALPIUUNAVOLTA, confermaRicezione true and a Collaborazione');
  }
}

const sameParty = (a: PartyRef, b: PartyRef): boolean => a.tipo === b.tipo && a.nome === b.nome;

/** Whole seconds of an SPC-time registration; local times of different nodes are not comparable. */
function spcSeconds(o: OraRegistrazione): number | undefined {
  return o.tempo === 'EGOV_IT_SPC' ? Math.floor(parseXsdDateTime(o.value)!.getTime() / 1000) : undefined;
}

/**
 * ListaTrasmissioni records the hops of the message, in order: the first leaves from the Mittente,
 * each next one from where the previous arrived, and (on the shared SPC clock) none is registered
 * before the previous one. Seconds only: writers that truncate to seconds are not out of order.
 */
function checkTrasmissioni(h: EgovHeader): void {
  h.trasmissioni.forEach((t, i) => {
    const at = `${LT}/Trasmissione[${i + 1}]`;
    const previous = h.trasmissioni[i - 1];
    const from = previous ? previous.destinazione : h.mittente[0];
    if (!sameParty(t.origine, from)) {
      fail(
        'EGOV_IT_116',
        `${at}/Origine`,
        `hop ${i + 1} leaves from ${partyCode(t.origine)}, not from ${partyCode(from)} (${previous ? 'where the previous hop arrived' : 'the Mittente'})`,
      );
    }
    if (!previous) return;
    const before = spcSeconds(previous.oraRegistrazione);
    const now = spcSeconds(t.oraRegistrazione);
    if (before !== undefined && now !== undefined && now < before) {
      fail(
        'EGOV_IT_116',
        `${at}/OraRegistrazione`,
        `hop ${i + 1} is registered at ${t.oraRegistrazione.value}, before hop ${i} (${previous.oraRegistrazione.value})`,
      );
    }
  });
}
