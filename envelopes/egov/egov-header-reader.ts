import { isEgovCode } from '../../src/core/error-codes.js';
import {
  PROFILO_COLLABORAZIONE,
  TIPI_SERVIZIO_CORRELATO,
  type EgovHeader,
  type Eccezione,
  type Riscontro,
  type TipoServizioCorrelato,
  type Trasmissione,
} from './egov-header.js';
import { type CollaborationProfile, type Inoltro } from '../../src/core/service-profile.js';
import type { MessageIdParts } from '../../src/core/message-id.js';
import { EGOV_ACTOR, NS } from '../xml/namespaces.js';
import type { PartyRef } from '../../src/core/party.js';
import { parseXsdDateTime } from '../../src/core/xsd-datetime.js';
import { childElements } from '../xml/dom-navigation.js';
import { checkHeaderConsistency } from './egov-header-consistency.js';
import { parseXsdBoolean, readIdentificativoParte, readMessageId, readOra, readParty } from './egov-header-fields.js';
import { attribute, fail, one, readList, readSequence, requireEmpty, textOnly, withCode } from './egov-header-structure.js';

const P = 'Intestazione';
const IM = `${P}/IntestazioneMessaggio`;
const M = `${IM}/Messaggio`;

const PROFILE_BY_WIRE = new Map<string, CollaborationProfile>(
  Object.entries(PROFILO_COLLABORAZIONE).map(([k, v]) => [v, k as CollaborationProfile]),
);
const INOLTRI: readonly Inoltro[] = ['EGOV_IT_ALPIUUNAVOLTA', 'EGOV_IT_PIUDIUNAVOLTA'];
const RILEVANZE: readonly Eccezione['rilevanza'][] = ['INFO', 'LIEVE', 'GRAVE'];

/**
 * Reads eGov_IT:Intestazione into a typed EgovHeader, checking every field of busta 1.1 and mapping
 * each malformation to the EGOV_IT code the protocol assigns it, with `posizione`: first the structure
 * (EGOV_IT_002), then each field's value (its own code), then the rules between fields
 * (egov-header-consistency.ts). docs/errors.md lists the rules.
 */
export function readEgovHeader(intestazione: Element): EgovHeader {
  if (intestazione.getAttributeNS(NS.soap11, 'actor') !== EGOV_ACTOR)
    fail('EGOV_IT_002', `${P}/@actor`, `SOAP actor must be ${EGOV_ACTOR}`);
  if (intestazione.getAttributeNS(NS.soap11, 'mustUnderstand') !== '1')
    fail('EGOV_IT_002', `${P}/@mustUnderstand`, 'SOAP mustUnderstand must be 1');
  const top = readSequence(intestazione, P, [
    { name: 'IntestazioneMessaggio', min: 1, max: 1 },
    { name: 'ListaRiscontri', min: 0, max: 1 },
    { name: 'ListaTrasmissioni', min: 0, max: 1 },
    { name: 'ListaEccezioni', min: 0, max: 1 },
  ]);
  const im = readSequence(one(top, 'IntestazioneMessaggio')!, IM, [
    { name: 'Mittente', min: 1, max: 1 },
    { name: 'Destinatario', min: 1, max: 1 },
    { name: 'ProfiloCollaborazione', min: 0, max: 1 },
    { name: 'Collaborazione', min: 0, max: 1 },
    { name: 'Servizio', min: 0, max: 1 },
    { name: 'Azione', min: 0, max: 1 },
    { name: 'Messaggio', min: 1, max: 1 },
    { name: 'ProfiloTrasmissione', min: 0, max: 1 },
    { name: 'Sequenza', min: 0, max: 1 },
  ]);

  const mittente = readMittente(one(im, 'Mittente')!);
  const destinatario = readParty(one(im, 'Destinatario')!, `${IM}/Destinatario`, 'EGOV_IT_102');
  const profiloCollaborazione = optional(one(im, 'ProfiloCollaborazione'), readProfiloCollaborazione);
  const collaborazione = optional(one(im, 'Collaborazione'), (el) => readMessageId(el, `${IM}/Collaborazione`, 'EGOV_IT_104'));
  const servizio = optional(one(im, 'Servizio'), readServizio);
  const azione = optional(one(im, 'Azione'), readAzione);
  const { messaggio, identificatore } = readMessaggio(one(im, 'Messaggio')!);
  const profiloTrasmissione = optional(one(im, 'ProfiloTrasmissione'), readProfiloTrasmissione);
  const sequenza = optional(one(im, 'Sequenza'), readSequenza);
  const riscontri = optional(one(top, 'ListaRiscontri'), readRiscontri) ?? [];
  const trasmissioni = optional(one(top, 'ListaTrasmissioni'), readTrasmissioni) ?? [];
  const eccezioni = optional(one(top, 'ListaEccezioni'), readEccezioni) ?? [];

  const header: EgovHeader = {
    mittente,
    destinatario,
    ...(profiloCollaborazione ? { profiloCollaborazione } : {}),
    ...(collaborazione ? { collaborazione: collaborazione.id } : {}),
    ...(servizio ? { servizio } : {}),
    ...(azione ? { azione } : {}),
    messaggio,
    ...(profiloTrasmissione ? { profiloTrasmissione } : {}),
    ...(sequenza !== undefined ? { sequenza } : {}),
    riscontri,
    trasmissioni,
    eccezioni,
  };
  checkHeaderConsistency(header, { identificatore, ...(collaborazione ? { collaborazione: collaborazione.parts } : {}) });
  return header;
}

const optional = <T>(el: Element | undefined, read: (el: Element) => T): T | undefined => (el ? read(el) : undefined);

/** One sender per busta: Busta.xsd allows a list, SPCoop (and GovWay) take exactly one. */
function readMittente(el: Element): readonly [PartyRef] {
  const path = `${IM}/Mittente`;
  const parti = readSequence(el, path, [{ name: 'IdentificativoParte', min: 1, max: 'n' }]).get('IdentificativoParte')!;
  const first = readIdentificativoParte(parti[0]!, `${path}/IdentificativoParte[1]`, 'EGOV_IT_101');
  if (parti.length > 1) fail('EGOV_IT_101', `${path}/IdentificativoParte[2]`, `a busta has one Mittente, this one names ${parti.length}`);
  return [first];
}

function readProfiloCollaborazione(el: Element): NonNullable<EgovHeader['profiloCollaborazione']> {
  const path = `${IM}/ProfiloCollaborazione`;
  const value = textOnly(el, path);
  const profile = PROFILE_BY_WIRE.get(value);
  if (!profile) fail('EGOV_IT_103', path, `"${value}" is not a collaboration profile`);
  // servizioCorrelato is a free string: empty says no more than absent. tipo is an enumeration.
  const servizioCorrelato = attribute(el, 'servizioCorrelato') || undefined;
  const tipo = attribute(el, 'tipo');
  if (tipo !== undefined && !TIPI_SERVIZIO_CORRELATO.includes(tipo as TipoServizioCorrelato)) {
    fail('EGOV_IT_103', `${path}/@tipo`, `tipo "${tipo}" is not one of ${TIPI_SERVIZIO_CORRELATO.join(', ')}`);
  }
  return { profile, ...(servizioCorrelato ? { servizioCorrelato } : {}), ...(tipo ? { tipo: tipo as TipoServizioCorrelato } : {}) };
}

function readServizio(el: Element): NonNullable<EgovHeader['servizio']> {
  const path = `${IM}/Servizio`;
  const nome = textOnly(el, path);
  if (!nome) fail('EGOV_IT_105', path, 'service name empty');
  const tipo = attribute(el, 'tipo');
  if (tipo === undefined) fail('EGOV_IT_105', `${path}/@tipo`, 'attribute tipo missing');
  if (!tipo.trim()) fail('EGOV_IT_105', `${path}/@tipo`, 'attribute tipo empty');
  return { tipo, nome };
}

function readAzione(el: Element): string {
  const path = `${IM}/Azione`;
  const azione = textOnly(el, path);
  if (!azione) fail('EGOV_IT_106', path, 'action empty');
  return azione;
}

function readMessaggio(el: Element): { messaggio: EgovHeader['messaggio']; identificatore: MessageIdParts } {
  const first = childElements(el)[0];
  if (!first || first.localName !== 'Identificatore' || first.namespaceURI !== NS.egov)
    fail('EGOV_IT_107', `${M}/Identificatore`, 'message identifier missing');
  const msg = readSequence(el, M, [
    { name: 'Identificatore', min: 1, max: 1 },
    { name: 'OraRegistrazione', min: 1, max: 1 },
    { name: 'RiferimentoMessaggio', min: 0, max: 1 },
    { name: 'Scadenza', min: 0, max: 1 },
  ]);
  const id = readMessageId(one(msg, 'Identificatore')!, `${M}/Identificatore`, 'EGOV_IT_110');
  const oraRegistrazione = readOra(one(msg, 'OraRegistrazione')!, `${M}/OraRegistrazione`, 'EGOV_IT_108');
  const rif = optional(one(msg, 'RiferimentoMessaggio'), (r) => readMessageId(r, `${M}/RiferimentoMessaggio`, 'EGOV_IT_111'));
  const scadenza = optional(one(msg, 'Scadenza'), (s) => textOnly(s, `${M}/Scadenza`));
  if (scadenza !== undefined && !parseXsdDateTime(scadenza)) fail('EGOV_IT_112', `${M}/Scadenza`, `"${scadenza}" is not an xsd:dateTime`);
  return {
    messaggio: {
      identificatore: id.id,
      oraRegistrazione,
      ...(rif ? { riferimentoMessaggio: rif.id } : {}),
      ...(scadenza ? { scadenza } : {}),
    },
    identificatore: id.parts,
  };
}

function readProfiloTrasmissione(el: Element): NonNullable<EgovHeader['profiloTrasmissione']> {
  const path = `${IM}/ProfiloTrasmissione`;
  requireEmpty(el, path);
  // Schema defaults when absent; a present attribute must hold a value of its type (an empty one does not).
  const inoltro = attribute(el, 'inoltro') ?? 'EGOV_IT_PIUDIUNAVOLTA';
  if (!INOLTRI.includes(inoltro as Inoltro)) fail('EGOV_IT_113', `${path}/@inoltro`, `"${inoltro}" is not an inoltro value`);
  const crRaw = attribute(el, 'confermaRicezione') ?? 'false';
  const confermaRicezione = parseXsdBoolean(crRaw);
  if (confermaRicezione === undefined) fail('EGOV_IT_113', `${path}/@confermaRicezione`, `"${crRaw}" is not a boolean`);
  return { inoltro: inoltro as Inoltro, confermaRicezione };
}

function readSequenza(el: Element): number {
  const path = `${IM}/Sequenza`;
  requireEmpty(el, path);
  // xsd:positiveInteger with pattern \d{7}: white space collapsed, then seven digits, at least 1.
  const raw = (attribute(el, 'numeroProgressivo') ?? '').trim();
  if (!/^[0-9]{7}$/.test(raw) || Number(raw) < 1)
    fail('EGOV_IT_114', `${path}/@numeroProgressivo`, 'numeroProgressivo must be 7 digits, at least 0000001');
  return Number(raw);
}

function readRiscontri(lr: Element): Riscontro[] {
  const LR = `${P}/ListaRiscontri`;
  return readList(lr, LR, 'Riscontro', 'EGOV_IT_115').map((r, i) =>
    withCode('EGOV_IT_115', () => {
      const rp = `${LR}/Riscontro[${i + 1}]`;
      const seq = readSequence(r, rp, [
        { name: 'Identificatore', min: 1, max: 1 },
        { name: 'OraRegistrazione', min: 1, max: 1 },
      ]);
      return {
        identificatore: readMessageId(one(seq, 'Identificatore')!, `${rp}/Identificatore`, 'EGOV_IT_115').id,
        oraRegistrazione: readOra(one(seq, 'OraRegistrazione')!, `${rp}/OraRegistrazione`, 'EGOV_IT_115'),
      };
    }),
  );
}

function readTrasmissioni(lt: Element): Trasmissione[] {
  const LT = `${P}/ListaTrasmissioni`;
  return readList(lt, LT, 'Trasmissione', 'EGOV_IT_116').map((t, i) =>
    withCode('EGOV_IT_116', () => {
      const tp = `${LT}/Trasmissione[${i + 1}]`;
      const seq = readSequence(t, tp, [
        { name: 'Origine', min: 1, max: 1 },
        { name: 'Destinazione', min: 1, max: 1 },
        { name: 'OraRegistrazione', min: 1, max: 1 },
      ]);
      return {
        origine: readParty(one(seq, 'Origine')!, `${tp}/Origine`, 'EGOV_IT_116'),
        destinazione: readParty(one(seq, 'Destinazione')!, `${tp}/Destinazione`, 'EGOV_IT_116'),
        oraRegistrazione: readOra(one(seq, 'OraRegistrazione')!, `${tp}/OraRegistrazione`, 'EGOV_IT_116'),
      };
    }),
  );
}

function readEccezioni(le: Element): Eccezione[] {
  const LE = `${P}/ListaEccezioni`;
  return readList(le, LE, 'Eccezione', 'EGOV_IT_100').map((e, i) => {
    const ep = `${LE}/Eccezione[${i + 1}]`;
    withCode('EGOV_IT_100', () => requireEmpty(e, ep));
    // Four required attributes; contestoCodifica and posizione are free strings (empty allowed),
    // codiceEccezione and rilevanza are the schema's enumerations.
    const contestoCodifica = attribute(e, 'contestoCodifica');
    const codiceEccezione = attribute(e, 'codiceEccezione') ?? '';
    const rilevanza = attribute(e, 'rilevanza') as Eccezione['rilevanza'];
    const posizione = attribute(e, 'posizione');
    if (contestoCodifica === undefined || !isEgovCode(codiceEccezione) || !RILEVANZE.includes(rilevanza) || posizione === undefined) {
      fail(
        'EGOV_IT_100',
        ep,
        'Eccezione needs contestoCodifica, codiceEccezione (one of codiceEccezioneType), rilevanza (INFO|LIEVE|GRAVE) and posizione',
      );
    }
    return { contestoCodifica, codiceEccezione, rilevanza, posizione };
  });
}
