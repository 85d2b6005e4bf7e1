/**
 * Italian providers write daticert times in Italian local time with its UTC offset (`+0100` in
 * winter, `+0200` in summer), so the simulator does too: the offset comes from the Europe/Rome
 * rules at that instant, not from the machine's time zone.
 */
const ROME_OFFSET = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Rome', timeZoneName: 'longOffset' });

/** The Europe/Rome UTC offset at `at`, as daticert writes it: `+0100` or `+0200`. */
export function italianZona(at: Date): string {
  const name = ROME_OFFSET.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? '';
  // `GMT+01:00`; a bare `GMT` would mean +00:00 (never the case for Rome, but the format allows it).
  const match = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  return match ? `${match[1]}${match[2]}${match[3]}` : '+0000';
}
