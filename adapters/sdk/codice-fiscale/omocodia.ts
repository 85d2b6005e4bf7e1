/**
 * Omocodia: when two people would get the same codice fiscale, the Agenzia delle Entrate tells them
 * apart by replacing digits of the code with letters (0–9 → L M N P Q R S T U V), starting from the
 * rightmost digit, and recomputing the check character. These helpers only move characters between
 * the two alphabets; the check character is the caller's business (see codice-fiscale.ts).
 */

/** Letter that stands for each digit 0–9 at an omocodic position. */
const OMOCODIC_LETTERS = 'LMNPQRSTUV';

/**
 * 0-based positions that hold digits in a base code (year 6–7, day 9–10, place number 12–14), in
 * the order the Agenzia substitutes them: rightmost first.
 */
export const OMOCODIC_POSITIONS: readonly number[] = [14, 13, 12, 10, 9, 7, 6];

/** Characters allowed at an omocodic position: a digit or the letter that replaces it. */
export const OMOCODIC_POSITION_CHARS = `0123456789${OMOCODIC_LETTERS}`;

/** The digit a character at an omocodic position stands for, or undefined if it is neither. */
export function omocodicDigit(char: string): string | undefined {
  if (/^[0-9]$/.test(char)) return char;
  const index = char.length === 1 ? OMOCODIC_LETTERS.indexOf(char) : -1;
  return index >= 0 ? String(index) : undefined;
}

/** The letter that replaces a digit at an omocodic position. */
export function omocodicLetter(digit: string): string {
  const letter = /^[0-9]$/.test(digit) ? OMOCODIC_LETTERS[Number(digit)] : undefined;
  if (letter === undefined) throw new RangeError(`omocodicLetter: "${digit}" is not a digit`);
  return letter;
}

/**
 * The code with every omocodic letter turned back into its digit, and whether there was any.
 * Accepts any mixture of letters and digits, not only the rightmost-first suffix the Agenzia
 * assigns: the check character already rejects typos, and refusing an unusual but well-formed
 * substitution pattern would turn away a code the validator cannot prove was never issued.
 */
export function decodeOmocodia(code: string): { decoded: string; omocodico: boolean } {
  const chars = [...code];
  let omocodico = false;
  for (const position of OMOCODIC_POSITIONS) {
    const char = chars[position];
    if (char === undefined) continue;
    const digit = omocodicDigit(char);
    if (digit !== undefined && digit !== char) {
      chars[position] = digit;
      omocodico = true;
    }
  }
  return { decoded: chars.join(''), omocodico };
}

/**
 * A base code (digits at every omocodic position) with its `count` rightmost-first omocodic digits
 * replaced by letters; characters past the 15th (a stale check character) are dropped.
 */
export function substituteOmocodic(base: string, count: number): string {
  const chars = [...base.slice(0, 15)];
  for (const position of OMOCODIC_POSITIONS.slice(0, count)) {
    chars[position] = omocodicLetter(chars[position] ?? '');
  }
  return chars.join('');
}
