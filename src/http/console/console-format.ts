import type { Dictionary } from './i18n/dictionary.js';

/** A duration for people: ms under a second, then s, min, h. */
export function formatSeconds(s: number | undefined, t: Dictionary): string {
  if (s === undefined || !Number.isFinite(s)) return s === Infinity ? '∞' : t.none;
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** An ISO instant as the console shows it: UTC, to the second, the zone said. */
export function formatTime(iso: string): string {
  return `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}
