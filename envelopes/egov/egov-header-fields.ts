/**
 * The values of the e-Gov header, one reader per field type: party, id, time, boolean. Each checks
 * what Busta.xsd says the value may be and fails with the code the caller gives for that field.
 */
import type { EgovCode } from '../../src/core/error-codes.js';
import type { OraRegistrazione, Tempo } from './egov-header.js';
import { parseMessageId, type MessageIdParts } from '../../src/core/message-id.js';
import type { PartyRef } from '../../src/core/party.js';
import { parseXsdDateTime } from '../../src/core/xsd-datetime.js';
import { attribute, fail, one, readSequence, textOnly } from './egov-header-structure.js';

/**
 * A party code (IdentificativoParte text, and its tipo): one word, letters of any script, digits and
 * "_". The bus writes parties as `tipo/nome`, so no "/" and no spaces may hide in either.
 */
const PARTY_CODE = /^[\p{L}\p{M}\p{N}_]+$/u;

const TEMPI: readonly Tempo[] = ['EGOV_IT_Locale', 'EGOV_IT_SPC'];

/** Destinatario, Origine, Destinazione: exactly one IdentificativoParte. */
export function readParty(el: Element, path: string, code: EgovCode): PartyRef {
  const seq = readSequence(el, path, [{ name: 'IdentificativoParte', min: 1, max: 1 }]);
  return readIdentificativoParte(one(seq, 'IdentificativoParte')!, `${path}/IdentificativoParte`, code);
}

export function readIdentificativoParte(idp: Element, path: string, code: EgovCode): PartyRef {
  const nome = textOnly(idp, path);
  if (!PARTY_CODE.test(nome)) fail(code, path, `party code "${nome}" is empty or not a word`);
  const tipo = attribute(idp, 'tipo');
  if (tipo === undefined) fail(code, `${path}/@tipo`, 'attribute tipo missing');
  if (!PARTY_CODE.test(tipo)) fail(code, `${path}/@tipo`, `tipo "${tipo}" is empty or not a word`);
  // Optional: an empty value says no more than an absent one.
  const indirizzo = attribute(idp, 'indirizzoTelematico');
  if (indirizzo && !URL.canParse(indirizzo))
    fail(code, `${path}/@indirizzoTelematico`, `indirizzoTelematico "${indirizzo}" is not an absolute URL`);
  return { tipo, nome, ...(indirizzo ? { indirizzoTelematico: indirizzo } : {}) };
}

export function readOra(el: Element, path: string, code: EgovCode): OraRegistrazione {
  const value = textOnly(el, path);
  if (!parseXsdDateTime(value)) fail(code, path, `"${value}" is not an xsd:dateTime`);
  const tempo = attribute(el, 'tempo');
  if (!TEMPI.includes(tempo as Tempo)) fail(code, `${path}/@tempo`, 'tempo must be EGOV_IT_Locale or EGOV_IT_SPC');
  return { value, tempo: tempo as Tempo };
}

export interface ReadMessageId {
  readonly id: string;
  readonly parts: MessageIdParts;
}

/** Identificatore, Collaborazione, RiferimentoMessaggio: Busta.xsd IdentificatoreType, on a real date. */
export function readMessageId(el: Element, path: string, code: EgovCode): ReadMessageId {
  const id = textOnly(el, path);
  const parts = parseMessageId(id);
  if (!parts) fail(code, path, `"${id}" is not a message id of the form Soggetto_PdD_0000001_yyyy-MM-dd_HH:mm`);
  return { id, parts };
}

/** xsd:boolean: true, false, 1 or 0, after collapsing white space. */
export function parseXsdBoolean(raw: string): boolean | undefined {
  const v = raw.trim();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return undefined;
}
