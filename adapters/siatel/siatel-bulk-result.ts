/**
 * The result file of a bulk job: CSV (RFC 4180, for a
 * spreadsheet or a back office import) or JSON lines (one object a line, for programs), one record per
 * submitted line, in the order submitted.
 */
import type { BulkItem, BulkItemResult, BulkJob } from './siatel-bulk-store.js';

export type ResultFormat = 'csv' | 'jsonl';

/** Lines a job never reached (it was interrupted) show this outcome. */
const NOT_PROCESSED = 'NON_ELABORATO';

export function resultFile(job: BulkJob, items: readonly BulkItem[], format: ResultFormat): string {
  return format === 'csv' ? csv(job, items) : jsonLines(items);
}

export function contentTypeOf(format: ResultFormat): string {
  return format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8';
}

function jsonLines(items: readonly BulkItem[]): string {
  return items
    .map((item) => {
      const r = item.risultato;
      const record = r
        ? { riga: item.riga, inserito: item.inserito, ...withoutKind(r) }
        : { riga: item.riga, inserito: item.inserito, codiceFiscale: item.codice, esito: NOT_PROCESSED };
      return `${JSON.stringify(record)}\n`;
    })
    .join('');
}

function withoutKind(r: BulkItemResult): Omit<BulkItemResult, 'interrogazione'> {
  const { interrogazione: _kind, ...rest } = r;
  return rest;
}

/** Columns by kind of query: the person's data for DatiAnagrafici, the Comune for VerificaResidenza. */
const PERSON_COLUMNS = ['cognome', 'nome', 'sesso', 'data_nascita', 'luogo_nascita', 'comune_residenza'] as const;

function csv(job: BulkJob, items: readonly BulkItem[]): string {
  const extra =
    job.interrogazione === 'datiAnagrafici' ? PERSON_COLUMNS : job.interrogazione === 'verificaResidenza' ? (['comune'] as const) : [];
  const header = ['riga', 'inserito', 'codice_fiscale', 'esito', 'fonte', 'motivo', ...extra, 'id_messaggio'];
  const rows = items.map((item) => {
    const r = item.risultato;
    if (!r) return [String(item.riga), item.inserito, item.codice, NOT_PROCESSED, '', '', ...extra.map(() => ''), ''];
    const persona = 'persona' in r ? r.persona : undefined;
    const byColumn: Record<string, string | undefined> = {
      cognome: persona?.cognome,
      nome: persona?.nome,
      sesso: persona?.sesso,
      data_nascita: persona?.dataNascita,
      luogo_nascita: persona?.luogoNascita,
      comune_residenza: persona?.comuneResidenza,
      comune: 'comune' in r ? r.comune : job.comune,
    };
    return [
      String(item.riga),
      item.inserito,
      r.codiceFiscale,
      r.esito,
      r.fonte,
      r.motivo ?? '',
      ...extra.map((c) => byColumn[c] ?? ''),
      'messageId' in r ? (r.messageId ?? '') : '',
    ];
  });
  return [header, ...rows].map((cells) => `${cells.map(csvCell).join(',')}\r\n`).join('');
}

function csvCell(value: string): string {
  // A cell starting with = + - @ is a formula to a spreadsheet: the submitted lines are echoed back, so
  // a line like "=HYPERLINK(…)" is shown as text (OWASP's advice), not run.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
