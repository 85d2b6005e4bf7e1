import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.js';
import { TramiteError } from '../../core/errors.js';
import { nodeStoreOpener } from '../../node/node-store-opener.js';
import { type TracingDay, TracingLedger } from '../../pdnd/tracing-ledger.js';
import { printJson, reportError } from '../cli-output.js';

const TRACING_HELP = `
The node keeps the ledger at <dataDir>/pdnd-tracing.sqlite, or — with log.store postgres — in the schema
node_pdnd_tracing of the log's database, shared by its processes: --config finds it either way. Each line is a (tenant, day) with PDND
traffic: its requests, the upload state (not uploaded, pending, uploading, uploaded, rejected, failed),
PDND's state of the file sent (PENDING, COMPLETED, ERROR, REPLACED) and its tracingId; a day recorded
after its upload is marked "grown: uploaded again at the next pass". PDND's problems with a rejected
file follow it. Nothing is changed (a ledger of an older version gets the current schema first, as
the node would give it). See docs/rest-apis.md, "Tracing".`;

export function registerPdndCommand(program: Command): void {
  const pdnd = program.command('pdnd').description('PDND Interoperabilità: the node-side state of PDND obligations');
  pdnd
    .command('tracing')
    .description("list each day's PDND tracing upload: requests counted, upload state, PDND's verdict")
    .option('--config <file>', "the node's configuration: its ledger, in the data dir or the log's PostgreSQL")
    .option('--ledger <file>', 'a tracing ledger file (a one-host node keeps it at <dataDir>/pdnd-tracing.sqlite)')
    .option('--date <YYYY-MM-DD>', 'only this day')
    .option('--json', 'print {days: [...]} as one JSON line')
    .addHelpText('after', TRACING_HELP)
    .action(async (opts: { config?: string; ledger?: string; date?: string; json?: boolean }) => {
      let ledger: TracingLedger;
      try {
        if (opts.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(opts.date))
          throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', `--date ${opts.date} is not YYYY-MM-DD`);
        ledger = openLedger(opts);
        await ledger.opened();
      } catch (err) {
        reportError(err, 2);
        return;
      }
      try {
        const days = await ledger.days(opts.date !== undefined ? { date: opts.date } : {});
        if (opts.json) printJson({ days });
        else process.stdout.write(days.length === 0 ? 'no PDND traffic recorded\n' : days.map(describeDay).join(''));
      } catch (err) {
        reportError(err);
      } finally {
        await ledger.close();
      }
    });
}

/** The ledger a --config or --ledger names: exactly one of them. */
function openLedger(opts: { readonly config?: string; readonly ledger?: string }): TracingLedger {
  if ((opts.config === undefined) === (opts.ledger === undefined))
    throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', "name the ledger: --config <the node's tramite.json> or --ledger <file>");
  let file = opts.ledger;
  if (opts.config !== undefined) {
    const config = loadConfig(opts.config);
    // Shared by the node's processes: the same store the node opens.
    if (config.log.store === 'postgres') return new TracingLedger(nodeStoreOpener(config));
    file = join(config.node.dataDir, 'pdnd-tracing.sqlite');
  }
  // Opening a missing path would create an empty ledger: a typo must not look like "no traffic".
  if (!existsSync(file!)) throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', `no tracing ledger at ${file}`);
  return TracingLedger.inFile(file!);
}

function describeDay(d: TracingDay): string {
  const u = d.upload;
  const cells = [
    d.date,
    d.tenant,
    `${d.requests} requests`,
    u ? u.state : 'not uploaded',
    ...(u?.pdndState ? [`PDND ${u.pdndState}`] : []),
    ...(u?.tracingId ? [`tracingId ${u.tracingId}`] : []),
    ...(u && u.attempts > 1 ? [`${u.attempts} attempts`] : []),
    ...(d.grownSinceUpload ? ['grown: uploaded again at the next pass'] : []),
  ];
  const lines = [cells.join('  ')];
  if (u?.lastError && u.state !== 'uploaded') lines.push(`    last error: ${u.lastError}`);
  for (const p of u?.problems ?? []) lines.push(`    problem: ${p}`);
  return lines.join('\n') + '\n';
}
