/**
 * Italy's calendar (Europe/Rome, with its DST changes), which the registers, quotas and receipts count
 * in: a document registered at 00:30 on 1 January in Rome belongs to the new year, SIATEL's daily limit
 * resets at Italian midnight, daticert writes Italian local time with its offset. The zone rules come
 * from luxon (over the runtime's IANA data), not from arithmetic of our own.
 */
import { DateTime, IANAZone } from 'luxon';

const ROME = IANAZone.create('Europe/Rome');

function inRome(at: number | Date): DateTime {
  return DateTime.fromMillis(typeof at === 'number' ? at : at.getTime(), { zone: ROME });
}

interface RomeDayBounds {
  readonly day: string;
  readonly start: number;
  readonly end: number;
}

// Converting a local midnight back to an instant is luxon's slow path; callers ask about the same day
// over and over (a quota on every request, today and its neighbours), so the last few days are remembered.
const recentDays: RomeDayBounds[] = [];
const RECENT_DAYS = 4;

function boundsOf(at: number | Date): RomeDayBounds {
  const ms = typeof at === 'number' ? at : at.getTime();
  const known = recentDays.find((d) => ms >= d.start && ms < d.end);
  if (known) return known;
  const start = inRome(ms).startOf('day');
  const bounds = { day: start.toISODate()!, start: start.toMillis(), end: start.plus({ days: 1 }).toMillis() };
  recentDays.unshift(bounds);
  recentDays.length = Math.min(recentDays.length, RECENT_DAYS);
  return bounds;
}

/** The Italian date (YYYY-MM-DD) of the instant `at`. */
export function romeDay(at: number | Date): string {
  return boundsOf(at).day;
}

/** The instant (ms) the Italian day containing `at` began. */
export function romeMidnight(at: number | Date): number {
  return boundsOf(at).start;
}

/** The instant (ms) the next Italian day begins (23 or 25 hours after the last on DST-change days). */
export function nextRomeMidnight(at: number | Date): number {
  return boundsOf(at).end;
}

/** The Italian date, wall-clock time (HH:mm:ss) and year of `at`. */
export function romeDateTime(at: number | Date): { readonly data: string; readonly ora: string; readonly anno: number } {
  const t = inRome(at);
  return { data: t.toFormat('yyyy-MM-dd'), ora: t.toFormat('HH:mm:ss'), anno: t.year };
}

/** The Europe/Rome UTC offset at `at` as daticert writes it: `+0100` in winter, `+0200` in summer. */
export function romeOffset(at: number | Date): string {
  return inRome(at).toFormat('ZZZ');
}
