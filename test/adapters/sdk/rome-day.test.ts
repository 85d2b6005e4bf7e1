import { describe, expect, it } from 'vitest';
import { nextRomeMidnight, romeDateTime, romeDay, romeMidnight, romeOffset } from '../../../adapters/sdk/index.js';

const at = (iso: string) => Date.parse(iso);

describe('Italian calendar days (Europe/Rome)', () => {
  it('last Sunday of March 2027: clocks go forward at 02:00, the day lasts 23 hours', () => {
    // 2027-03-28 is the last Sunday of March: 01:59:59 +01:00 is followed by 03:00:00 +02:00.
    expect(romeMidnight(at('2027-03-28T10:00:00Z'))).toBe(at('2027-03-27T23:00:00Z'));
    expect(nextRomeMidnight(at('2027-03-28T10:00:00Z'))).toBe(at('2027-03-28T22:00:00Z'));
    expect(nextRomeMidnight(at('2027-03-28T10:00:00Z')) - romeMidnight(at('2027-03-28T10:00:00Z'))).toBe(23 * 3_600_000);
    expect(romeDateTime(at('2027-03-28T00:59:59Z'))).toEqual({ data: '2027-03-28', ora: '01:59:59', anno: 2027 });
    expect(romeDateTime(at('2027-03-28T01:00:00Z'))).toEqual({ data: '2027-03-28', ora: '03:00:00', anno: 2027 });
    expect(romeOffset(at('2027-03-28T00:59:59Z'))).toBe('+0100');
    expect(romeOffset(at('2027-03-28T01:00:00Z'))).toBe('+0200');
  });

  it('last Sunday of October 2027: clocks go back at 03:00, the day lasts 25 hours', () => {
    // 2027-10-31 is the last Sunday of October: 02:59:59 +02:00 is followed by 02:00:00 +01:00.
    expect(romeMidnight(at('2027-10-31T12:00:00Z'))).toBe(at('2027-10-30T22:00:00Z'));
    expect(nextRomeMidnight(at('2027-10-31T12:00:00Z'))).toBe(at('2027-10-31T23:00:00Z'));
    expect(nextRomeMidnight(at('2027-10-31T12:00:00Z')) - romeMidnight(at('2027-10-31T12:00:00Z'))).toBe(25 * 3_600_000);
    // The hour from 02:00 to 03:00 happens twice: once in summer time, once in winter time.
    expect(romeDateTime(at('2027-10-31T00:30:00Z')).ora).toBe('02:30:00');
    expect(romeDateTime(at('2027-10-31T01:30:00Z')).ora).toBe('02:30:00');
    expect(romeOffset(at('2027-10-31T00:30:00Z'))).toBe('+0200');
    expect(romeOffset(at('2027-10-31T01:30:00Z'))).toBe('+0100');
  });

  it('names the Italian date and year, not the UTC one, around midnight and New Year', () => {
    expect(romeDay(at('2026-12-31T23:30:00Z'))).toBe('2027-01-01');
    expect(romeDateTime(new Date('2026-12-31T23:30:00Z'))).toEqual({ data: '2027-01-01', ora: '00:30:00', anno: 2027 });
    expect(romeDay(at('2027-07-14T21:59:59Z'))).toBe('2027-07-14');
    expect(romeDay(at('2027-07-14T22:00:00Z'))).toBe('2027-07-15');
  });
});
