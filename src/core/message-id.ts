/**
 * e-Gov message identifiers: `<CodiceSoggetto>_<CodicePdD>_<7-digit serial>_<yyyy-MM-dd>_<HH:mm>`
 * (Busta.xsd IdentificatoreType). Pure formatting and parsing; allocation of serials lives in node/.
 *
 * The schema's `[\w]+` is XML Schema's \w: every character except punctuation, separators and
 * "other" (\p{P}, \p{Z}, \p{C}). So a part may hold letters outside ASCII, but never "_" (connector
 * punctuation): that is what makes the split into Soggetto and PdD unambiguous.
 */
export const MESSAGE_ID_PATTERN =
  /^([^\p{P}\p{Z}\p{C}]+)_([^\p{P}\p{Z}\p{C}]+)_([0-9]{7})_([0-9]{4}-[0-9]{2}-[0-9]{2})_([0-9]{2}:[0-9]{2})$/u;

export interface MessageIdParts {
  readonly soggetto: string;
  readonly pdd: string;
  readonly serial: number;
  /** The minute the id belongs to, UTC. */
  readonly minute: Date;
}

export function formatMessageId(soggetto: string, pdd: string, serial: number, at: Date): string {
  if (!Number.isInteger(serial) || serial < 0 || serial > 9_999_999) throw new RangeError(`serial ${serial} outside 0..9999999`);
  const iso = at.toISOString();
  return `${soggetto}_${pdd}_${String(serial).padStart(7, '0')}_${iso.slice(0, 10)}_${iso.slice(11, 16)}`;
}

export function parseMessageId(id: string): MessageIdParts | undefined {
  const m = MESSAGE_ID_PATTERN.exec(id);
  if (!m) return undefined;
  const minute = new Date(`${m[4]}T${m[5]}:00Z`);
  // The written date and time must exist (no 30 February, no 24:00): compare after the round trip.
  if (Number.isNaN(minute.getTime()) || minute.toISOString().slice(0, 16) !== `${m[4]}T${m[5]}`) return undefined;
  return { soggetto: m[1]!, pdd: m[2]!, serial: Number(m[3]), minute };
}

export function isMessageId(id: string): boolean {
  return parseMessageId(id) !== undefined;
}
