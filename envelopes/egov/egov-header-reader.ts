import { EnvelopeError } from '../../src/core/errors.js';
import type { EgovCode } from '../../src/core/error-codes.js';
import {
  PROFILO_COLLABORAZIONE,
  type CollaborationProfile,
  type EgovHeader,
  type Eccezione,
  type Inoltro,
  type OraRegistrazione,
  type Riscontro,
  type Trasmissione,
} from '../../src/core/egov-header.js';
import { EGOV_ACTOR, NS } from '../../src/core/namespaces.js';
import type { PartyRef } from '../../src/core/party.js';
import { isMessageId } from '../../src/core/message-id.js';
import { parseXsdDateTime } from '../../src/core/xsd-datetime.js';
import { childElements, textOf } from '../../src/crypto/dom-navigation.js';

/** One expected child in a schema sequence: name, and how often it may appear. */
interface Slot {
  readonly name: string;
  readonly min: 0 | 1;
  readonly max: 1 | 'n';
}

/**
 * Reads the children of `parent` against a schema sequence (Busta.xsd order is significant).
 * Anything out of order, unknown, missing or repeated is EGOV_IT_002 at its position.
 */
function readSequence(parent: Element, path: string, slots: readonly Slot[]): Map<string, Element[]> {
  const found = new Map<string, Element[]>();
  const children = childElements(parent);
  let i = 0;
  for (const slot of slots) {
    const got: Element[] = [];
    while (i < children.length) {
      const c = children[i]!;
      if (c.namespaceURI !== NS.egov || c.localName !== slot.name) break;
      got.push(c);
      i += 1;
      if (slot.max === 1) break;
    }
    if (got.length < slot.min) {
      // A stray or misplaced element in front of a required one is the problem to name, not the absence.
      const stray = children[i];
      if (stray && !slots.some((s) => s.name === stray.localName && stray.namespaceURI === NS.egov && s !== slot && slots.indexOf(s) > slots.indexOf(slot))) {
        throw new EnvelopeError('EGOV_IT_002', `${path}/${stray.localName}`, `EGOV_IT_002 - unexpected or out-of-order element ${stray.nodeName} in ${path}`);
      }
      throw new EnvelopeError('EGOV_IT_002', `${path}/${slot.name}`, `EGOV_IT_002 - ${path}/${slot.name} missing`);
    }
    found.set(slot.name, got);
  }
  if (i < children.length) {
    const c = children[i]!;
    throw new EnvelopeError('EGOV_IT_002', `${path}/${c.localName}`, `EGOV_IT_002 - unexpected or out-of-order element ${c.nodeName} in ${path}`);
  }
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if ((n.nodeType === 3 || n.nodeType === 4) && (n.nodeValue ?? '').trim() !== '') {
      throw new EnvelopeError('EGOV_IT_002', path, `EGOV_IT_002 - text not allowed in ${path}`);
    }
  }
  return found;
}

const one = (m: Map<string, Element[]>, name: string): Element | undefined => m.get(name)?.[0];

function fail(code: EgovCode, posizione: string, why: string): never {
  throw new EnvelopeError(code, posizione, `${code} - ${why} (${posizione})`);
}

function readParty(el: Element, path: string, code: EgovCode): PartyRef {
  const seq = readSequence(el, path, [{ name: 'IdentificativoParte', min: 1, max: 1 }]);
  return readIdentificativoParte(one(seq, 'IdentificativoParte')!, `${path}/IdentificativoParte`, code);
}

function readIdentificativoParte(idp: Element, path: string, code: EgovCode): PartyRef {
  if (childElements(idp).length > 0) fail('EGOV_IT_002', path, 'IdentificativoParte must hold text only');
  const nome = textOf(idp);
  const tipo = idp.getAttribute('tipo') ?? '';
  if (!/^\w+$/.test(nome)) fail(code, path, `party code "${nome}" is empty or not a word`);
  if (!/^\w+$/.test(tipo)) fail(code, `${path}/@tipo`, 'attribute tipo missing or empty');
  const indirizzo = idp.getAttribute('indirizzoTelematico');
  return { tipo, nome, ...(indirizzo ? { indirizzoTelematico: indirizzo } : {}) };
}

function readOra(el: Element, path: string, code: EgovCode): OraRegistrazione {
  const value = textOf(el);
  const tempo = el.getAttribute('tempo');
  if (!parseXsdDateTime(value)) fail(code, path, `"${value}" is not an xsd:dateTime`);
  if (tempo !== 'EGOV_IT_Locale' && tempo !== 'EGOV_IT_SPC') fail(code, `${path}/@tempo`, 'tempo must be EGOV_IT_Locale or EGOV_IT_SPC');
  return { value, tempo };
}

function readId(el: Element, path: string, code: EgovCode): string {
  const id = textOf(el);
  if (!isMessageId(id)) fail(code, path, `"${id}" is not a message id of the form Soggetto_PdD_0000001_yyyy-MM-dd_HH:mm`);
  return id;
}

const PROFILE_BY_WIRE = new Map<string, CollaborationProfile>(
  Object.entries(PROFILO_COLLABORAZIONE).map(([k, v]) => [v, k as CollaborationProfile]),
);

/**
 * Reads eGov_IT:Intestazione into a typed EgovHeader, checking every field of busta 1.1 and mapping
 * each malformation to the EGOV_IT code the protocol assigns it, with `posizione`.
 */
export function readEgovHeader(intestazione: Element): EgovHeader {
  const P = 'Intestazione';
  if (intestazione.getAttributeNS(NS.soap11, 'actor') !== EGOV_ACTOR) fail('EGOV_IT_002', `${P}/@actor`, `SOAP actor must be ${EGOV_ACTOR}`);
  if (intestazione.getAttributeNS(NS.soap11, 'mustUnderstand') !== '1') fail('EGOV_IT_002', `${P}/@mustUnderstand`, 'SOAP mustUnderstand must be 1');
  const top = readSequence(intestazione, P, [
    { name: 'IntestazioneMessaggio', min: 1, max: 1 },
    { name: 'ListaRiscontri', min: 0, max: 1 },
    { name: 'ListaTrasmissioni', min: 0, max: 1 },
    { name: 'ListaEccezioni', min: 0, max: 1 },
  ]);
  const IM = `${P}/IntestazioneMessaggio`;
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

  const mittenteEl = one(im, 'Mittente')!;
  const mitt = readSequence(mittenteEl, `${IM}/Mittente`, [{ name: 'IdentificativoParte', min: 1, max: 'n' }]);
  const mittente = mitt.get('IdentificativoParte')!.map((idp, i) =>
    readIdentificativoParte(idp, `${IM}/Mittente/IdentificativoParte[${i + 1}]`, 'EGOV_IT_101'),
  );
  const destinatario = readParty(one(im, 'Destinatario')!, `${IM}/Destinatario`, 'EGOV_IT_102');

  let profiloCollaborazione: EgovHeader['profiloCollaborazione'];
  const pcEl = one(im, 'ProfiloCollaborazione');
  if (pcEl) {
    const profile = PROFILE_BY_WIRE.get(textOf(pcEl));
    if (!profile) fail('EGOV_IT_103', `${IM}/ProfiloCollaborazione`, `"${textOf(pcEl)}" is not a collaboration profile`);
    const servizioCorrelato = pcEl.getAttribute('servizioCorrelato');
    const tipo = pcEl.getAttribute('tipo');
    profiloCollaborazione = { profile, ...(servizioCorrelato ? { servizioCorrelato } : {}), ...(tipo ? { tipo } : {}) };
  }
  const collEl = one(im, 'Collaborazione');
  const collaborazione = collEl ? readId(collEl, `${IM}/Collaborazione`, 'EGOV_IT_104') : undefined;

  let servizio: EgovHeader['servizio'];
  const sEl = one(im, 'Servizio');
  if (sEl) {
    const nome = textOf(sEl);
    const tipo = sEl.getAttribute('tipo') ?? '';
    if (!nome) fail('EGOV_IT_105', `${IM}/Servizio`, 'service name empty');
    if (!tipo) fail('EGOV_IT_105', `${IM}/Servizio/@tipo`, 'attribute tipo missing');
    servizio = { tipo, nome };
  }
  const aEl = one(im, 'Azione');
  const azione = aEl ? textOf(aEl) : undefined;
  if (aEl && !azione) fail('EGOV_IT_106', `${IM}/Azione`, 'action empty');

  const M = `${IM}/Messaggio`;
  const msgEl = one(im, 'Messaggio')!;
  const idEl = childElements(msgEl)[0];
  if (!idEl || idEl.localName !== 'Identificatore' || idEl.namespaceURI !== NS.egov) fail('EGOV_IT_107', `${M}/Identificatore`, 'message identifier missing');
  const msg = readSequence(msgEl, M, [
    { name: 'Identificatore', min: 1, max: 1 },
    { name: 'OraRegistrazione', min: 1, max: 1 },
    { name: 'RiferimentoMessaggio', min: 0, max: 1 },
    { name: 'Scadenza', min: 0, max: 1 },
  ]);
  const identificatore = readId(one(msg, 'Identificatore')!, `${M}/Identificatore`, 'EGOV_IT_110');
  const oraRegistrazione = readOra(one(msg, 'OraRegistrazione')!, `${M}/OraRegistrazione`, 'EGOV_IT_108');
  const rifEl = one(msg, 'RiferimentoMessaggio');
  const riferimentoMessaggio = rifEl ? readId(rifEl, `${M}/RiferimentoMessaggio`, 'EGOV_IT_111') : undefined;
  const scEl = one(msg, 'Scadenza');
  const scadenza = scEl ? textOf(scEl) : undefined;
  if (scadenza !== undefined && !parseXsdDateTime(scadenza)) fail('EGOV_IT_112', `${M}/Scadenza`, `"${scadenza}" is not an xsd:dateTime`);

  let profiloTrasmissione: EgovHeader['profiloTrasmissione'];
  const ptEl = one(im, 'ProfiloTrasmissione');
  if (ptEl) {
    const inoltroRaw = ptEl.getAttribute('inoltro') || 'EGOV_IT_PIUDIUNAVOLTA';
    if (inoltroRaw !== 'EGOV_IT_ALPIUUNAVOLTA' && inoltroRaw !== 'EGOV_IT_PIUDIUNAVOLTA') fail('EGOV_IT_113', `${IM}/ProfiloTrasmissione/@inoltro`, `"${inoltroRaw}" is not an inoltro value`);
    const crRaw = ptEl.getAttribute('confermaRicezione') || 'false';
    if (!['true', 'false', '1', '0'].includes(crRaw)) fail('EGOV_IT_113', `${IM}/ProfiloTrasmissione/@confermaRicezione`, `"${crRaw}" is not a boolean`);
    profiloTrasmissione = { inoltro: inoltroRaw as Inoltro, confermaRicezione: crRaw === 'true' || crRaw === '1' };
  }

  let sequenza: number | undefined;
  const seqEl = one(im, 'Sequenza');
  if (seqEl) {
    const raw = seqEl.getAttribute('numeroProgressivo') ?? '';
    if (!/^\d{7}$/.test(raw) || Number(raw) < 1) fail('EGOV_IT_114', `${IM}/Sequenza/@numeroProgressivo`, 'numeroProgressivo must be 7 digits, at least 0000001');
    // The profile fixes when a sequence is meaningful: oneway, at most once, with riscontro and a conversation.
    if (profiloCollaborazione && profiloCollaborazione.profile !== 'oneway') fail('EGOV_IT_114', `${IM}/Sequenza`, 'Sequenza is allowed with the oneway profile only');
    if (profiloTrasmissione?.inoltro !== 'EGOV_IT_ALPIUUNAVOLTA' || !profiloTrasmissione.confermaRicezione || !collaborazione) {
      fail('EGOV_IT_114', `${IM}/Sequenza`, 'Sequenza needs inoltro EGOV_IT_ALPIUUNAVOLTA, confermaRicezione true and a Collaborazione');
    }
    sequenza = Number(raw);
  }

  const riscontri: Riscontro[] = [];
  const lr = one(top, 'ListaRiscontri');
  if (lr) {
    const LR = `${P}/ListaRiscontri`;
    const items = readListOr(lr, LR, 'Riscontro', 'EGOV_IT_115');
    items.forEach((r, i) => {
      const rp = `${LR}/Riscontro[${i + 1}]`;
      const seq = readSequenceAs(r, rp, [{ name: 'Identificatore', min: 1, max: 1 }, { name: 'OraRegistrazione', min: 1, max: 1 }], 'EGOV_IT_115');
      riscontri.push({
        identificatore: readId(one(seq, 'Identificatore')!, `${rp}/Identificatore`, 'EGOV_IT_115'),
        oraRegistrazione: readOra(one(seq, 'OraRegistrazione')!, `${rp}/OraRegistrazione`, 'EGOV_IT_115'),
      });
    });
  }

  const trasmissioni: Trasmissione[] = [];
  const lt = one(top, 'ListaTrasmissioni');
  if (lt) {
    const LT = `${P}/ListaTrasmissioni`;
    readListOr(lt, LT, 'Trasmissione', 'EGOV_IT_116').forEach((t, i) => {
      const tp = `${LT}/Trasmissione[${i + 1}]`;
      const seq = readSequenceAs(
        t,
        tp,
        [{ name: 'Origine', min: 1, max: 1 }, { name: 'Destinazione', min: 1, max: 1 }, { name: 'OraRegistrazione', min: 1, max: 1 }],
        'EGOV_IT_116',
      );
      trasmissioni.push({
        origine: readPartyAs(one(seq, 'Origine')!, `${tp}/Origine`, 'EGOV_IT_116'),
        destinazione: readPartyAs(one(seq, 'Destinazione')!, `${tp}/Destinazione`, 'EGOV_IT_116'),
        oraRegistrazione: readOra(one(seq, 'OraRegistrazione')!, `${tp}/OraRegistrazione`, 'EGOV_IT_116'),
      });
    });
  }

  const eccezioni: Eccezione[] = [];
  const le = one(top, 'ListaEccezioni');
  if (le) {
    const LE = `${P}/ListaEccezioni`;
    readListOr(le, LE, 'Eccezione', 'EGOV_IT_100').forEach((e, i) => {
      const ep = `${LE}/Eccezione[${i + 1}]`;
      const contestoCodifica = e.getAttribute('contestoCodifica') ?? '';
      const codiceEccezione = e.getAttribute('codiceEccezione') ?? '';
      const rilevanza = e.getAttribute('rilevanza') ?? '';
      const posizione = e.getAttribute('posizione') ?? '';
      if (!contestoCodifica || !/^EGOV_IT_\d{3}$/.test(codiceEccezione) || !['INFO', 'LIEVE', 'GRAVE'].includes(rilevanza) || !e.hasAttribute('posizione')) {
        fail('EGOV_IT_100', ep, 'Eccezione needs contestoCodifica, codiceEccezione (EGOV_IT_nnn), rilevanza (INFO|LIEVE|GRAVE) and posizione');
      }
      eccezioni.push({ contestoCodifica, codiceEccezione, rilevanza: rilevanza as Eccezione['rilevanza'], posizione });
    });
  }

  return {
    mittente,
    destinatario,
    ...(profiloCollaborazione ? { profiloCollaborazione } : {}),
    ...(collaborazione ? { collaborazione } : {}),
    ...(servizio ? { servizio } : {}),
    ...(azione ? { azione } : {}),
    messaggio: {
      identificatore,
      oraRegistrazione,
      ...(riferimentoMessaggio ? { riferimentoMessaggio } : {}),
      ...(scadenza ? { scadenza } : {}),
    },
    ...(profiloTrasmissione ? { profiloTrasmissione } : {}),
    ...(sequenza !== undefined ? { sequenza } : {}),
    riscontri,
    trasmissioni,
    eccezioni,
  };
}

/** A list element's items; a malformed list is the list's own code (115, 116) rather than 002. */
function readListOr(list: Element, path: string, item: string, code: EgovCode): Element[] {
  return readSequenceAs(list, path, [{ name: item, min: 1, max: 'n' }], code).get(item)!;
}

function readSequenceAs(parent: Element, path: string, slots: readonly Slot[], code: EgovCode): Map<string, Element[]> {
  return withCode(code, () => readSequence(parent, path, slots));
}

function readPartyAs(el: Element, path: string, code: EgovCode): PartyRef {
  return withCode(code, () => readParty(el, path, code));
}

/** Inside a list, a structural error (EGOV_IT_002) is reported with the list's own code. */
function withCode<T>(code: EgovCode, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof EnvelopeError && err.code === 'EGOV_IT_002') throw new EnvelopeError(code, err.posizione, err.message.replace('EGOV_IT_002', code), { cause: err });
    throw err;
  }
}
