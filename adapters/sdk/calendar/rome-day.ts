/**
 * The Italian calendar day, which SIATEL's daily limit counts in (Europe/Rome, with its DST changes):
 * the adapter needs it to estimate the next admission, the simulator to count codes per day. The quota
 * (siatel-quota.ts) has a private version that takes the offset at midnight to be the current one; this
 * one corrects it on DST-change days.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const ROME_PARTS = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Rome',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** The Italian date (YYYY-MM-DD) of the instant `ms`. */
export function romeDay(ms: number): string {
  const p = romeParts(ms);
  return `${p['year']}-${p['month']}-${p['day']}`;
}

/** The instant the Italian day containing `ms` began. */
export function romeMidnight(ms: number): number {
  const guess = ms - sinceLocalMidnight(ms);
  // On a DST-change day the offset at midnight is not the offset now, and the guess is an hour off:
  // it reads 23:00 of the day before (spring) or 01:00 (autumn). One correction by what it reads fixes it.
  const reads = sinceLocalMidnight(guess);
  if (reads === 0) return guess;
  return reads > 12 * HOUR_MS ? guess + (DAY_MS - reads) : guess - reads;
}

/** The instant the next Italian day begins. */
export function nextRomeMidnight(ms: number): number {
  // 25 hours past today's midnight is always inside tomorrow (DST days last 23 or 25 hours).
  return romeMidnight(romeMidnight(ms) + 25 * HOUR_MS);
}

/** Milliseconds since the Italian wall clock last read 00:00:00.000. */
function sinceLocalMidnight(ms: number): number {
  const p = romeParts(ms);
  return (Number(p['hour']) * 3600 + Number(p['minute']) * 60 + Number(p['second'])) * 1000 + (((ms % 1000) + 1000) % 1000);
}

function romeParts(ms: number): Record<string, string> {
  return Object.fromEntries(ROME_PARTS.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
}
