/** xsd:dateTime, as the busta carries it (OraRegistrazione, Scadenza, wsu:Created). */
const XSD_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Parses an xsd:dateTime into an instant. A value without a zone is read as UTC: the e-Gov samples
 * omit the zone, and reading them as the machine's local time would make a verdict depend on
 * where the node runs.
 */
export function parseXsdDateTime(value: string): Date | undefined {
  const m = XSD_DATETIME.exec(value);
  if (!m) return undefined;
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return undefined;
  if (m[8] && m[8] !== 'Z' && !isXsdZoneOffset(m[8])) return undefined;
  const d = new Date(m[8] ? value : `${value}Z`);
  if (Number.isNaN(d.getTime())) return undefined;
  // Date rolls 30 February over to 2 March; the calendar day written must exist.
  const day0 = new Date(Date.UTC(Number(m[1]), month - 1, day));
  return day0.getUTCMonth() === month - 1 && day0.getUTCDate() === day ? d : undefined;
}

/** xsd:dateTime time zones run from -14:00 to +14:00 (Date would take +23:59 too). */
function isXsdZoneOffset(zone: string): boolean {
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  return minutes <= 59 && (hours < 14 || (hours === 14 && minutes === 0));
}

/** The form the bus writes: UTC, millisecond precision, `Z`. */
export function formatXsdDateTime(at: Date): string {
  return at.toISOString();
}
