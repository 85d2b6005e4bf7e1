/**
 * The codice fiscale of a natural person (16 characters, DM 23/12/1976): validation with decoding of
 * birth date, sex and place, computation from personal data, and omocodic variants. Pure: no I/O,
 * and the only clock it reads is `today` when the caller does not pass one.
 *
 * Layout (0-based): 0–2 surname, 3–5 name, 6–7 year, 8 month letter, 9–10 day (+40 for women),
 * 11–14 place (Belfiore code: a letter and three digits; Z… for foreign countries), 15 check character.
 */
import { TramiteError } from '../../../src/core/errors.js';
import { OMOCODIC_POSITIONS, OMOCODIC_POSITION_CHARS, decodeOmocodia, substituteOmocodic } from './omocodia.js';

export type Sex = 'M' | 'F';

export type CfCheck =
  | {
      valid: true;
      /** The code as checked: trimmed, upper-case, without inner spaces (omocodic letters kept). */
      normalized: string;
      /** YYYY-MM-DD; the century is inferred, see checkCodiceFiscale. */
      birthDate: string;
      sex: Sex;
      /** Belfiore code with omocodic letters decoded, e.g. H501 (Roma) or Z404 (USA). */
      placeCode: string;
      /** Whether any digit was replaced by its omocodic letter. */
      omocodico: boolean;
    }
  | { valid: false; normalized: string; reason: string };

export interface PersonalData {
  surname: string;
  name: string;
  /** YYYY-MM-DD */
  birthDate: string;
  sex: Sex;
  /** Belfiore code of the comune, or Z + three digits for a foreign country. */
  placeCode: string;
}

/** Personal data or a code that cannot be turned into (or derived from) a codice fiscale. */
export class CodiceFiscaleInputError extends TramiteError {
  /** The input that was refused: a PersonalData field, 'code' or 'today'. */
  readonly field: string;
  constructor(field: string, message: string) {
    super('TRAMITE_ERR_BAD_REQUEST', `${field}: ${message}`);
    this.field = field;
  }
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Month letters, January to December. */
const MONTH_LETTERS = 'ABCDEHLMPRST';
const VOWELS = 'AEIOU';
const FEMALE_DAY_OFFSET = 40;

// ---------------------------------------------------------------------------------------------
// Check character

/**
 * Values of A–Z at odd (1st, 3rd, … 15th) positions; a digit 0–9 counts as the letter A–J. At even
 * positions a digit counts as itself and a letter as its index (A=0 … Z=25).
 */
const ODD_POSITION_VALUES = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

/** Index of a digit (0–9) or letter (0–25): both alphabets share the value tables from 0. */
function alphanumericIndex(char: string): number {
  return /^[0-9]$/.test(char) ? Number(char) : LETTERS.indexOf(char);
}

/** The 16th character for the first 15 characters of a code (omocodic letters count as letters). */
export function checkCharacter(first15: string): string {
  if (!/^[0-9A-Z]{15}$/.test(first15)) throw new CodiceFiscaleInputError('code', `"${first15}" is not 15 characters A–Z/0–9`);
  let sum = 0;
  [...first15].forEach((char, i) => {
    const index = alphanumericIndex(char);
    // i is 0-based, so even i is an odd position in the 1-based counting the rule uses.
    sum += i % 2 === 0 ? (ODD_POSITION_VALUES[index] ?? 0) : index;
  });
  return LETTERS[sum % 26] ?? '';
}

// ---------------------------------------------------------------------------------------------
// Validation

interface PositionRule {
  readonly allowed: string;
  readonly expected: string;
}
const LETTER_RULE: PositionRule = { allowed: LETTERS, expected: 'a letter' };
const MONTH_RULE: PositionRule = { allowed: MONTH_LETTERS, expected: `a month letter (${MONTH_LETTERS})` };
const DIGIT_RULE: PositionRule = { allowed: OMOCODIC_POSITION_CHARS, expected: 'a digit or its omocodic letter (LMNPQRSTUV)' };

/** What each of the 16 positions may hold; the digit positions are exactly the omocodic ones. */
const POSITION_RULES: readonly PositionRule[] = Array.from({ length: 16 }, (_, i) =>
  i === 8 ? MONTH_RULE : OMOCODIC_POSITIONS.includes(i) ? DIGIT_RULE : LETTER_RULE,
);

/**
 * Trim, upper-case and drop inner whitespace, as people type and print codes ("RSS MRA 80A01…").
 * Only a–z are upper-cased: String#toUpperCase would also turn "ı" or "ſ" into I and S and let a
 * look-alike through as a valid code.
 */
function normalizeCode(code: string): string {
  return code.replace(/\s+/g, '').replace(/[a-z]/g, (c) => c.toUpperCase());
}

/** Why the code does not have the 16-character shape, or undefined when it does. */
function shapeProblem(code: string): string | undefined {
  const chars = [...code];
  if (chars.length !== 16) return `expected 16 characters, got ${chars.length}`;
  for (const [i, char] of chars.entries()) {
    const rule = POSITION_RULES[i] ?? LETTER_RULE;
    if (!rule.allowed.includes(char)) return `character ${i + 1} is "${char}", expected ${rule.expected}`;
  }
  return undefined;
}

/**
 * Checks a codice fiscale and decodes birth date, sex and place.
 *
 * The code only carries two digits of the year. The century chosen is the most recent one that
 * does not put the birth date after `today` (default: now; compared as UTC calendar dates). So as of
 * 2026-06-15, "26" with 15 June reads as 2026 and "26" with 16 June as 1926: a person aged 100 or
 * more is read as 100 years younger. The code alone cannot tell them apart; the population register
 * can.
 *
 * Omocodic letters are accepted at any digit position in any combination (see decodeOmocodia).
 * Returns a result, never throws on a bad code; throws only for an invalid `today`.
 */
export function checkCodiceFiscale(code: string, opts: { today?: Date } = {}): CfCheck {
  const today = opts.today ?? new Date();
  if (Number.isNaN(today.getTime())) throw new CodiceFiscaleInputError('today', 'is not a valid date');
  const normalized = normalizeCode(code);
  const invalid = (reason: string): CfCheck => ({ valid: false, normalized, reason });

  const problem = shapeProblem(normalized);
  if (problem) return invalid(problem);
  const expected = checkCharacter(normalized.slice(0, 15));
  if (normalized[15] !== expected) return invalid(`check character is "${normalized[15]}", expected "${expected}"`);

  const { decoded, omocodico } = decodeOmocodia(normalized);
  const birth = readBirth(decoded, today);
  if ('reason' in birth) return invalid(birth.reason);
  // The shape check and decoding leave a letter and three digits here: a well-formed Belfiore code.
  // Whether a comune or country with that code exists needs the Belfiore register, which is data.
  const placeCode = decoded.slice(11, 15);
  return { valid: true, normalized, birthDate: birth.birthDate, sex: birth.sex, placeCode, omocodico };
}

/** Birth date and sex from a decoded code (digits at every omocodic position). */
function readBirth(decoded: string, today: Date): { birthDate: string; sex: Sex } | { reason: string } {
  const twoDigitYear = Number(decoded.slice(6, 8));
  const month = MONTH_LETTERS.indexOf(decoded[8] ?? '') + 1;
  const dayField = decoded.slice(9, 11);
  const dayNumber = Number(dayField);
  let sex: Sex;
  let day: number;
  if (dayNumber >= 1 && dayNumber <= 31) [sex, day] = ['M', dayNumber];
  else if (dayNumber >= 1 + FEMALE_DAY_OFFSET && dayNumber <= 31 + FEMALE_DAY_OFFSET) [sex, day] = ['F', dayNumber - FEMALE_DAY_OFFSET];
  else return { reason: `birth day "${dayField}" is neither 01–31 (male) nor 41–71 (female)` };

  const year = resolveCentury(twoDigitYear, month, day, today);
  const birthDate = isoDate(year, month, day);
  if (day > daysInMonth(year, month)) return { reason: `birth date ${birthDate} does not exist` };
  return { birthDate, sex };
}

/** The latest year ending in `twoDigitYear` whose (month, day) is not after today's UTC date. */
function resolveCentury(twoDigitYear: number, month: number, day: number, today: Date): number {
  const todayYear = today.getUTCFullYear();
  const year = todayYear - (todayYear % 100) + twoDigitYear;
  const asNumber = (y: number, m: number, d: number) => y * 10_000 + m * 100 + d;
  const isAfterToday = asNumber(year, month, day) > asNumber(todayYear, today.getUTCMonth() + 1, today.getUTCDate());
  return isAfterToday ? year - 100 : year;
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

function isoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${twoDigits(month)}-${twoDigits(day)}`;
}

function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------------
// Computation

/**
 * The base (non-omocodic) codice fiscale for the given data. Throws CodiceFiscaleInputError when a
 * field cannot be encoded. Surname and name keep only their letters: accents are removed (Ò → O),
 * apostrophes, spaces and hyphens are ignored, and a letter with no Latin base letter (Ø, Ł) is
 * dropped, since the rules only speak of A–Z.
 */
export function computeCodiceFiscale(p: PersonalData): string {
  const { year, month, day } = parseBirthDate(p.birthDate);
  if (p.sex !== 'M' && p.sex !== 'F') throw new CodiceFiscaleInputError('sex', `must be M or F, not "${String(p.sex)}"`);
  const placeCode = p.placeCode.trim().toUpperCase();
  if (!/^[A-Z][0-9]{3}$/.test(placeCode))
    throw new CodiceFiscaleInputError('placeCode', `"${p.placeCode}" is not a Belfiore code (a letter and three digits)`);

  const first15 =
    surnameLetters(lettersOf(p.surname, 'surname')) +
    nameLetters(lettersOf(p.name, 'name')) +
    twoDigits(year % 100) +
    MONTH_LETTERS[month - 1] +
    twoDigits(p.sex === 'F' ? day + FEMALE_DAY_OFFSET : day) +
    placeCode;
  return first15 + checkCharacter(first15);
}

/** A–Z letters of a surname or name, upper-case, diacritics removed, everything else dropped. */
function lettersOf(text: string, field: 'surname' | 'name'): string {
  // NFD splits "È" into "E" + a combining accent; dropping the marks leaves the base letter.
  const letters = text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^A-Z]/g, '');
  if (letters === '') throw new CodiceFiscaleInputError(field, `"${text}" has no letters A–Z`);
  return letters;
}

function consonantsOf(letters: string): string {
  return [...letters].filter((c) => !VOWELS.includes(c)).join('');
}

function vowelsOf(letters: string): string {
  return [...letters].filter((c) => VOWELS.includes(c)).join('');
}

/** Consonants, then vowels, then X padding: the first three. */
function surnameLetters(letters: string): string {
  return `${consonantsOf(letters)}${vowelsOf(letters)}XXX`.slice(0, 3);
}

/** As for the surname, except that a name with four or more consonants gives the 1st, 3rd and 4th. */
function nameLetters(letters: string): string {
  const consonants = consonantsOf(letters);
  if (consonants.length >= 4) return `${consonants[0]}${consonants[2]}${consonants[3]}`;
  return surnameLetters(letters);
}

function parseBirthDate(birthDate: string): { year: number; month: number; day: number } {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate);
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  if (!match || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw new CodiceFiscaleInputError('birthDate', `"${birthDate}" is not an existing date YYYY-MM-DD`);
  }
  return { year, month, day };
}

// ---------------------------------------------------------------------------------------------
// Omocodia

/**
 * The seven omocodic forms of a valid code, in the order the Agenzia assigns them: the rightmost
 * digit replaced, then the two rightmost, … up to all seven, each with its check character
 * recomputed. An omocodic input gives the same list as its base code; the base itself is not in
 * the list. Throws CodiceFiscaleInputError for an invalid code.
 */
export function omocodicVariants(code: string): string[] {
  const check = checkCodiceFiscale(code);
  if (!check.valid) throw new CodiceFiscaleInputError('code', `not a valid codice fiscale (${check.reason})`);
  const base = decodeOmocodia(check.normalized).decoded;
  return OMOCODIC_POSITIONS.map((_, i) => {
    const first15 = substituteOmocodic(base, i + 1);
    return first15 + checkCharacter(first15);
  });
}
