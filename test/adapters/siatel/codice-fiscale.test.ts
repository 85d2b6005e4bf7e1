import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodiceFiscaleInputError,
  checkCharacter,
  checkCodiceFiscale,
  computeCodiceFiscale,
  omocodicVariants,
  type CfCheck,
  type PersonalData,
} from '../../../adapters/sdk/codice-fiscale/codice-fiscale.js';

// Vectors from the SIATEL reference (typed in: the tests do not read /work/shared). The doc gives only
// codes; the names used with computeCodiceFiscale below are ones whose letters the rules turn into
// the same first six characters (Ricci → RCC, Emanuele → MNL, Conte → CNT, Chiara → CHR).
const RICCI = 'RCCMNL83S18D969H';
const RICCI_ONE_SUBSTITUTION = 'RCCMNL83S18D96VW';
const RICCI_ALL_SUBSTITUTIONS = 'RCCMNLUPSMUDVSVO';
const CONTE = 'CNTCHR83T41D969D';
// The example the Agenzia and most documentation use: Mario Rossi, born in Roma on 1 January 1980.
const ROSSI = 'RSSMRA80A01H501U';

/** Fixed "today" for the examples, so the century inference does not move with the clock. */
const TODAY = new Date('2026-06-15T12:00:00Z');

/** Allowed characters per position, from the reference shape regex (not from the module). */
const LETTER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGIT_OR_OMOCODIC = '0123456789LMNPQRSTUV';
const MONTH = 'ABCDEHLMPRST';
const ALLOWED_AT: readonly string[] = [
  ...Array<string>(6).fill(LETTER),
  DIGIT_OR_OMOCODIC,
  DIGIT_OR_OMOCODIC,
  MONTH,
  DIGIT_OR_OMOCODIC,
  DIGIT_OR_OMOCODIC,
  LETTER,
  DIGIT_OR_OMOCODIC,
  DIGIT_OR_OMOCODIC,
  DIGIT_OR_OMOCODIC,
  LETTER,
];
const OMOCODIC_EQUIVALENT: Record<string, string> = Object.fromEntries(
  [...'0123456789'].flatMap((digit, i) => [
    [digit, 'LMNPQRSTUV'[i]!],
    ['LMNPQRSTUV'[i]!, digit],
  ]),
);

/** A code whose 16th character is right, so that whatever makes it invalid is something else. */
const withCheckCharacter = (first15: string) => first15 + checkCharacter(first15);

function expectValid(check: CfCheck): Extract<CfCheck, { valid: true }> {
  if (!check.valid) throw new Error(`expected a valid code, got: ${check.reason}`);
  return check;
}

function expectInvalid(check: CfCheck, reason: RegExp): void {
  expect(check.valid).toBe(false);
  if (!check.valid) expect(check.reason).toMatch(reason);
}

describe('checkCodiceFiscale: reference vectors', () => {
  it('decodes a man born in Genova (D969) on 18 November 1983', () => {
    expect(checkCodiceFiscale(RICCI, { today: TODAY })).toEqual({
      valid: true,
      normalized: RICCI,
      birthDate: '1983-11-18',
      sex: 'M',
      placeCode: 'D969',
      omocodico: false,
    });
  });

  it('reads a day of 41–71 as a woman born on day − 40', () => {
    expect(checkCodiceFiscale(CONTE, { today: TODAY })).toMatchObject({
      valid: true,
      birthDate: '1983-12-01',
      sex: 'F',
      placeCode: 'D969',
    });
  });

  it('decodes Mario Rossi, Roma (H501), 1 January 1980', () => {
    expect(checkCodiceFiscale(ROSSI, { today: TODAY })).toMatchObject({
      valid: true,
      birthDate: '1980-01-01',
      sex: 'M',
      placeCode: 'H501',
    });
  });

  it.each([RICCI_ONE_SUBSTITUTION, RICCI_ALL_SUBSTITUTIONS])('decodes the omocodic form %s to the same person', (code) => {
    expect(checkCodiceFiscale(code, { today: TODAY })).toEqual({
      valid: true,
      normalized: code,
      birthDate: '1983-11-18',
      sex: 'M',
      placeCode: 'D969',
      omocodico: true,
    });
  });

  it('normalizes case and spaces before checking, and reports the normalized code', () => {
    expect(checkCodiceFiscale('  rcc mnl 83s18 d969h \n', { today: TODAY })).toMatchObject({ valid: true, normalized: RICCI });
  });
});

describe('checkCodiceFiscale: refusals', () => {
  it('refuses a wrong check character and names the expected one', () => {
    expectInvalid(checkCodiceFiscale('RCCMNL83S18D969A', { today: TODAY }), /check character is "A", expected "H"/);
  });

  it.each([
    ['', /expected 16 characters, got 0/],
    ['RCCMNL83S18D969', /expected 16 characters, got 15/],
    ['RCCMNL83S18D969HH', /expected 16 characters, got 17/],
    ['1CCMNL83S18D969H', /character 1 is "1", expected a letter/],
    ['RCCMNL83Z18D969H', /character 9 is "Z", expected a month letter/],
    // K is a letter but not one of the omocodic LMNPQRSTUV.
    ['RCCMNL8KS18D969H', /character 8 is "K", expected a digit or its omocodic letter/],
    ['RCCMNL83S18D9A9H', /character 14 is "A"/],
    ['RCCMNL83S18D969-', /character 16 is "-"/],
    // Dotless ı would upper-case to I with String#toUpperCase; it is not a letter of the code.
    ['RCCMNL83S18D969ı', /character 16 is "ı"/],
  ])('refuses the malformed %j', (code, reason) => {
    expectInvalid(checkCodiceFiscale(code, { today: TODAY }), reason);
  });

  it.each([
    ['RCCMNL83B31D969', /birth date 1983-02-31 does not exist/],
    ['RCCMNL83D31D969', /birth date 1983-04-31 does not exist/],
    ['RCCMNL83B29D969', /birth date 1983-02-29 does not exist/],
    ['RCCMNL83B69D969', /birth date 1983-02-29 does not exist/], // a woman: 69 − 40
    ['RCCMNL83S00D969', /birth day "00"/],
    ['RCCMNL83S32D969', /birth day "32"/],
    ['RCCMNL83S40D969', /birth day "40"/],
    ['RCCMNL83S72D969', /birth day "72"/],
    ['RCCMNL83S9MD969', /birth day "91"/], // the omocodic M (1) is decoded before the day is read
  ])('refuses the impossible birth date in %s (with a correct check character)', (first15, reason) => {
    expectInvalid(checkCodiceFiscale(withCheckCharacter(first15), { today: TODAY }), reason);
  });

  it('accepts 29 February in a leap year, for men and women', () => {
    expect(checkCodiceFiscale(withCheckCharacter('RCCMNL84B29D969'), { today: TODAY })).toMatchObject({
      valid: true,
      birthDate: '1984-02-29',
      sex: 'M',
    });
    expect(checkCodiceFiscale(withCheckCharacter('RCCMNL84B69D969'), { today: TODAY })).toMatchObject({
      valid: true,
      birthDate: '1984-02-29',
      sex: 'F',
    });
  });
});

describe('checkCodiceFiscale: century of the two-digit year', () => {
  it('takes the most recent century that does not put the birth after today', () => {
    const on = (first15: string) => checkCodiceFiscale(withCheckCharacter(first15), { today: TODAY });
    expect(on('RCCMNL26H15D969')).toMatchObject({ birthDate: '2026-06-15' }); // today itself
    expect(on('RCCMNL26H16D969')).toMatchObject({ birthDate: '1926-06-16' }); // tomorrow, a century ago
    expect(on('RCCMNL30A01D969')).toMatchObject({ birthDate: '1930-01-01' });
    expect(on('RCCMNL00A01D969')).toMatchObject({ birthDate: '2000-01-01' });
  });

  it('reads a centenarian as a century younger (documented ambiguity)', () => {
    // Born 1 January 1920: aged 106 on TODAY; the code cannot say so.
    const code = computeCodiceFiscale({ surname: 'Rossi', name: 'Mario', birthDate: '1920-01-01', sex: 'M', placeCode: 'H501' });
    expect(checkCodiceFiscale(code, { today: TODAY })).toMatchObject({ valid: true, birthDate: '2020-01-01' });
  });

  it('judges 29 February 00 in the century it chose: 2000 is a leap year, 1900 is not', () => {
    const code = withCheckCharacter('RCCMNL00B29D969');
    expect(checkCodiceFiscale(code, { today: TODAY })).toMatchObject({ valid: true, birthDate: '2000-02-29' });
    expectInvalid(checkCodiceFiscale(code, { today: new Date('1999-12-31T00:00:00Z') }), /1900-02-29 does not exist/);
  });

  it('compares UTC calendar dates and refuses an invalid today', () => {
    const code = withCheckCharacter('RCCMNL26H15D969');
    expect(checkCodiceFiscale(code, { today: new Date('2026-06-15T00:00:00Z') })).toMatchObject({ birthDate: '2026-06-15' });
    expect(checkCodiceFiscale(code, { today: new Date('2026-06-14T23:59:59Z') })).toMatchObject({ birthDate: '1926-06-15' });
    expect(() => checkCodiceFiscale(code, { today: new Date('nonsense') })).toThrow(CodiceFiscaleInputError);
  });
});

describe('computeCodiceFiscale', () => {
  const person = (over: Partial<PersonalData>): PersonalData => ({
    surname: 'Rossi',
    name: 'Mario',
    birthDate: '1980-01-01',
    sex: 'M',
    placeCode: 'H501',
    ...over,
  });

  it('reproduces the reference codes', () => {
    expect(computeCodiceFiscale(person({}))).toBe(ROSSI);
    expect(computeCodiceFiscale({ surname: 'Ricci', name: 'Emanuele', birthDate: '1983-11-18', sex: 'M', placeCode: 'D969' })).toBe(RICCI);
    expect(computeCodiceFiscale({ surname: 'Conte', name: 'Chiara', birthDate: '1983-12-01', sex: 'F', placeCode: 'D969' })).toBe(CONTE);
  });

  it.each([
    // surname: consonants, then vowels, then X
    [{ surname: 'Fo' }, 'FOX'],
    [{ surname: 'Oe' }, 'OEX'],
    [{ surname: "D'Alò" }, 'DLA'],
    [{ surname: 'De Luca' }, 'DLC'],
    [{ surname: 'Hämäläinen' }, 'HML'],
    [{ surname: 'Çelik-Öztürk' }, 'CLK'],
    [{ surname: 'Strauß' }, 'STR'],
  ])('takes the surname letters from %o', (over, letters) => {
    expect(computeCodiceFiscale(person(over)).slice(0, 3)).toBe(letters);
  });

  it.each([
    // four or more consonants: 1st, 3rd, 4th
    [{ name: 'Gianfranco' }, 'GFR'],
    [{ name: 'Niccolò' }, 'NCL'],
    [{ name: 'Maria Teresa' }, 'MTR'],
    // three or fewer: like a surname
    [{ name: 'Mario' }, 'MRA'],
    [{ name: 'Ugo' }, 'GUO'],
    [{ name: 'Al' }, 'LAX'],
    [{ name: 'Émile' }, 'MLE'],
  ])('takes the name letters from %o', (over, letters) => {
    expect(computeCodiceFiscale(person(over)).slice(3, 6)).toBe(letters);
  });

  it('adds 40 to the day for a woman', () => {
    expect(computeCodiceFiscale(person({ sex: 'F', birthDate: '1990-03-31' })).slice(6, 11)).toBe('90C71');
  });

  it.each([
    [{ surname: "' -" }, 'surname'],
    [{ name: '' }, 'name'],
    [{ birthDate: '1983-02-29' }, 'birthDate'],
    [{ birthDate: '1983-13-01' }, 'birthDate'],
    [{ birthDate: '18/11/1983' }, 'birthDate'],
    [{ placeCode: 'H50' }, 'placeCode'],
    [{ placeCode: '1501' }, 'placeCode'],
    [{ sex: 'X' as 'M' }, 'sex'],
  ])('refuses %o with a CodiceFiscaleInputError naming the field', (over, field) => {
    expect(() => computeCodiceFiscale(person(over))).toThrow(
      expect.objectContaining({ name: 'CodiceFiscaleInputError', field, code: 'TRAMITE_ERR_BAD_REQUEST' }),
    );
  });
});

describe('omocodicVariants', () => {
  it('gives the seven successive substitutions, rightmost digit first', () => {
    const variants = omocodicVariants(RICCI);
    expect(variants).toHaveLength(7);
    expect(variants[0]).toBe(RICCI_ONE_SUBSTITUTION);
    expect(variants[6]).toBe(RICCI_ALL_SUBSTITUTIONS);
    expect(variants.map((v) => v.slice(0, 15))).toEqual([
      'RCCMNL83S18D96V',
      'RCCMNL83S18D9SV',
      'RCCMNL83S18DVSV',
      'RCCMNL83S1UDVSV',
      'RCCMNL83SMUDVSV',
      'RCCMNL8PSMUDVSV',
      'RCCMNLUPSMUDVSV',
    ]);
  });

  it('gives the same list for an omocodic code as for its base', () => {
    expect(omocodicVariants(RICCI_ALL_SUBSTITUTIONS)).toEqual(omocodicVariants(RICCI));
    expect(omocodicVariants(' rccmnl83s18d96vw')).toEqual(omocodicVariants(RICCI));
  });

  it('refuses an invalid code', () => {
    expect(() => omocodicVariants('RCCMNL83S18D969A')).toThrow(CodiceFiscaleInputError);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** Characters that carry a letter of the code: plain, accented, and ß (→ SS). */
const LETTER_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzÀÈÉÌÒÙàèéìòùÇçÑñÄÖÜäöüß';
/** Characters that carry none: punctuation, and letters without a Latin base letter. */
const OTHER_CHARS = "' -Łø";
const nameLike = fc
  .array(fc.constantFrom(...LETTER_CHARS, ...OTHER_CHARS), { minLength: 1, maxLength: 20 })
  .map((chars) => chars.join(''))
  .filter((s) => [...s].some((c) => LETTER_CHARS.includes(c)));

const DAY_MS = 86_400_000;
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * A "today" and a birth date the code can represent unambiguously as of that day: not after today
 * and less than 100 years before it (the century rule's window).
 */
const todayAndBirthDate = fc
  .record({
    today: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }),
    daysBefore: fc.integer({ min: 0, max: 36_600 }),
  })
  .map(({ today, daysBefore }) => ({ today, birthDate: isoDay(new Date(today.getTime() - daysBefore * DAY_MS)) }))
  .filter(({ today, birthDate }) => {
    const todayIso = isoDay(today);
    const hundredYearsBefore = `${String(Number(todayIso.slice(0, 4)) - 100)}${todayIso.slice(4)}`;
    return birthDate > hundredYearsBefore;
  });

const personAndToday = fc.record({
  surname: nameLike,
  name: nameLike,
  sex: fc.constantFrom<'M' | 'F'>('M', 'F'),
  placeCode: fc
    .tuple(fc.constantFrom(...LETTER), fc.integer({ min: 0, max: 999 }))
    .map(([letter, n]) => `${letter}${String(n).padStart(3, '0')}`),
  when: todayAndBirthDate,
});

const RUNS = 300;

describe('properties (fast-check)', () => {
  it('a code computed from valid personal data validates and decodes to the same date, sex and place', () => {
    fc.assert(
      fc.property(personAndToday, ({ when, ...rest }) => {
        const data = { ...rest, birthDate: when.birthDate };
        const code = computeCodiceFiscale(data);
        expect(code).toMatch(/^[A-Z]{6}[0-9]{2}[ABCDEHLMPRST][0-9]{2}[A-Z][0-9]{3}[A-Z]$/);
        expect(checkCodiceFiscale(code, { today: when.today })).toEqual({
          valid: true,
          normalized: code,
          birthDate: data.birthDate,
          sex: data.sex,
          placeCode: data.placeCode,
          omocodico: false,
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('every omocodic variant validates to the same data as its base', () => {
    fc.assert(
      fc.property(personAndToday, ({ when, ...rest }) => {
        const base = computeCodiceFiscale({ ...rest, birthDate: when.birthDate });
        const decodedBase = expectValid(checkCodiceFiscale(base, { today: when.today }));
        const variants = omocodicVariants(base);
        expect(new Set([base, ...variants]).size).toBe(8);
        for (const variant of variants) {
          expect(checkCodiceFiscale(variant, { today: when.today })).toEqual({ ...decodedBase, normalized: variant, omocodico: true });
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('every single-character change of a valid code (any position, any other allowed character) is refused by the check character', () => {
    // The claim under test: the check character catches every substitution, including a digit
    // swapped for its omocodic letter (or back), which leaves the person's data unchanged. It holds
    // because, at each position, the table values of the characters allowed there are all
    // different, so the sum mod 26 always moves. Rather than trust that, every change is tried.
    const validCode = personAndToday.chain(({ when, ...rest }) => {
      const base = computeCodiceFiscale({ ...rest, birthDate: when.birthDate });
      return fc.constantFrom(base, ...omocodicVariants(base)).map((code) => ({ code, today: when.today }));
    });
    fc.assert(
      fc.property(validCode, ({ code, today }) => {
        const { birthDate, sex, placeCode } = expectValid(checkCodiceFiscale(code, { today }));
        let omocodicSwaps = 0;
        for (const [position, original] of [...code].entries()) {
          for (const replacement of ALLOWED_AT[position]!) {
            if (replacement === original) continue;
            const changed = code.slice(0, position) + replacement + code.slice(position + 1);
            const check = checkCodiceFiscale(changed, { today });
            expect(check.valid, `${code} → ${changed}`).toBe(false);
            // Refused for the check character, not by luck of an impossible date ...
            expect(check.valid === false && check.reason, `${code} → ${changed}`).toMatch(/^check character is/);
            // ... and the recomputed check character really differs (position 16 is the check character itself).
            if (position < 15) expect(checkCharacter(changed.slice(0, 15))).not.toBe(code[15]);
            if (OMOCODIC_EQUIVALENT[original] === replacement) {
              omocodicSwaps += 1;
              // Same person after decoding: only the check character can tell.
              expect(checkCodiceFiscale(withCheckCharacter(changed.slice(0, 15)), { today })).toMatchObject({
                valid: true,
                birthDate,
                sex,
                placeCode,
              });
            }
          }
        }
        // Each of the seven digit positions offers exactly one digit ↔ letter swap.
        expect(omocodicSwaps).toBe(7);
      }),
      { numRuns: RUNS },
    );
  });
});
