import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { TramiteError } from '../../core/errors.js';
import { loadConfig } from '../../config/load-config.js';
import type { NodeConfig } from '../../config/config-types.js';
import { TrustStore } from '../../crypto/trust-store.js';
import { openLogStore } from '../../log/open-log-store.js';
import { writeBundleDir } from '../../log/log-bundle.js';
import type { LogStore } from '../../log/log-store.js';
import { LogAuditor, verifyBundle, type AuditReport } from '../../node/audit/log-auditor.js';
import { reportVerification } from '../../node/alarms/verification-alarm.js';
import pino from 'pino';
import { printJson, reportError } from '../cli-output.js';
import { wholeNumberOption } from '../whole-number-option.js';
import { DEFAULT_HOME } from './start.js';
import { collectRepeated } from '../repeatable-option.js';

interface SourceOptions {
  config?: string;
  db?: string;
  trust: string[];
  tsaTrust?: string[];
}

/** --config (or .tramite/tramite.json when present) for the store and trust; --db and --trust override. */
async function openAuditor(opts: SourceOptions, readonly = true): Promise<{ auditor: LogAuditor; store: LogStore; config?: NodeConfig }> {
  const configPath =
    opts.config ?? (existsSync(resolve(DEFAULT_HOME, 'tramite.json')) && !opts.db ? resolve(DEFAULT_HOME, 'tramite.json') : undefined);
  const config = configPath ? loadConfig(configPath) : undefined;
  let store: LogStore;
  if (opts.db) {
    if (/^postgres(ql)?:\/\//.test(opts.db)) store = await openLogStore({ store: 'postgres', sqliteFile: '', postgresUrl: opts.db });
    else {
      if (!existsSync(opts.db)) throw new TramiteError('TRAMITE_ERR_LOG_UNAVAILABLE', `no message log at ${opts.db}`);
      const { SqliteLogStore } = await import('../../log/sqlite-log-store.js');
      store = new SqliteLogStore(resolve(opts.db), { readonly });
    }
  } else if (config) {
    store = await openLogStore(config.log);
  } else {
    throw new TramiteError(
      'TRAMITE_ERR_CONFIG_INVALID',
      'name the log: --db PATH (SQLite file or postgres:// URL) or --config tramite.json',
    );
  }
  const pems = opts.trust.map((f) => readFileSync(f, 'utf8'));
  const anchors = [...(config?.trust.anchors ?? []), ...(config?.peers.flatMap((p) => p.caCertificates) ?? [])];
  const trust = pems.length || anchors.length ? TrustStore.fromPem(pems).withExtra(anchors) : undefined;
  const tsaTrust = [...(opts.tsaTrust ?? []), ...(config?.log.tsa?.caFile ? [config.log.tsa.caFile] : [])].map((f) =>
    readFileSync(f, 'utf8'),
  );
  return { auditor: new LogAuditor(store, config?.node.pdd ?? 'unknown', trust, tsaTrust), store, ...(config ? { config } : {}) };
}

/** log-verification-failed raised (issues) or cleared (intact) on the node's board; a failure to do so is said, not fatal. */
async function toAlarmBoard(config: NodeConfig, store: LogStore, report: AuditReport): Promise<void> {
  const log = pino({ level: 'warn' }, pino.destination(2));
  await reportVerification(
    config,
    store,
    {
      ok: report.ok,
      issues: report.issues.length,
      ...(report.firstBad ? { firstBadSeq: report.firstBad.seq, firstReason: report.firstBad.reason } : {}),
      by: 'tramite log verify',
    },
    log,
  ).catch((err: unknown) => process.stderr.write(`the outcome could not reach the node's alarm board: ${(err as Error).message}\n`));
}

function sourceOptions(cmd: Command): Command {
  return cmd
    .option(
      '--config <tramite.json>',
      `the node configuration: where its log is, and its trust anchors (default ${DEFAULT_HOME}/tramite.json when present)`,
    )
    .option('--db <path|url>', 'the message log itself: a SQLite file, or a postgres:// URL')
    .option('--trust <ca.pem>', 'a trusted CA for envelope and checkpoint signers (repeatable)', collectRepeated, [])
    .option(
      '--tsa-trust <ca.pem>',
      "the TSA's CA, to verify checkpoint time-stamps (repeatable; log.tsa.caFile of the config counts too)",
      collectRepeated,
      [],
    );
}

export function registerLogCommand(program: Command): void {
  const log = program.command('log').description("auditors' tools for the tamper-evident message log: search, show, verify, export");

  sourceOptions(log.command('search'))
    .description('list log records (one per envelope, receipt or change of state), oldest first')
    .option('--from <date-time>', 'records at or after this instant (ISO 8601)')
    .option('--to <date-time>', 'records at or before this instant')
    .option('--party <code>', 'sender or recipient (tipo/nome)')
    .option('--service <name>', 'service')
    .option('--state <state>', 'state recorded (ACCEPTED, DELIVERED, FAILED, RECEIVED, …)')
    .option('--id <id>', 'message id, reference id or conversation id')
    .option('--limit <n>', 'at most this many records', '1000')
    .option('--json', 'print JSON')
    .action(
      async (
        opts: SourceOptions & {
          from?: string;
          to?: string;
          party?: string;
          service?: string;
          state?: string;
          id?: string;
          limit: string;
          json?: boolean;
        },
      ) => {
        await withAuditor(opts, async ({ auditor }) => {
          const rows = await auditor.search({
            ...(opts.from ? { fromTime: isoDate(opts.from, '--from') } : {}),
            ...(opts.to ? { toTime: isoDate(opts.to, '--to') } : {}),
            ...(opts.party ? { party: opts.party } : {}),
            ...(opts.service ? { service: opts.service } : {}),
            ...(opts.state ? { state: opts.state } : {}),
            ...(opts.id ? { messageId: opts.id } : {}),
            limit: wholeNumberOption(opts.limit, '--limit', { min: 1, max: 1_000_000, what: 'a whole number of records', example: 1000 }),
          });
          if (opts.json) printJson(rows);
          else
            for (const r of rows)
              process.stdout.write(
                `${r.seq}\t${r.time}\t${r.kind}\t${r.state}\t${r.direction}\t${r.from} → ${r.to}\t${r.service}${r.action ? `/${r.action}` : ''}\t${r.messageId}\n`,
              );
        });
      },
    );

  sourceOptions(log.command('show'))
    .description("a message's history, receipts, envelopes and the status of each envelope's signature")
    .argument('<id>', 'message id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: SourceOptions & { json?: boolean }) => {
      await withAuditor(opts, async ({ auditor }) => {
        const shown = await auditor.show(id);
        if (!shown) throw new TramiteError('TRAMITE_ERR_NOT_FOUND', `the log holds no record of message ${id}`);
        if (opts.json) {
          printJson(shown);
          return;
        }
        for (const m of shown.messages)
          process.stdout.write(`${m.direction === 'out' ? 'sent' : 'received'}: ${m.state} (updated ${m.updatedAt})\n`);
        process.stdout.write('history:\n');
        for (const r of shown.history)
          process.stdout.write(
            `  ${r.seq}\t${r.time}\t${r.kind}\t${r.state}${r.detail?.['error'] ? `\t${JSON.stringify(r.detail['error'])}` : ''}\n`,
          );
        for (const e of shown.envelopes) {
          if (e.tokens) {
            // A REST request or response: its ModI tokens, of which some (vouchers, kid-signed) cannot be re-verified.
            const counted = `${e.tokens.verified} verified, ${e.tokens.skipped} skipped${e.note ? ` (${e.note})` : ''}`;
            process.stdout.write(
              `HTTP message of record ${e.seq} (${e.kind}): ModI tokens ${e.valid ? `valid, ${counted}${e.signer ? `, signed by ${e.signer}` : ''}` : `NOT valid: ${e.reason}`}\n`,
            );
          } else
            process.stdout.write(
              `envelope of record ${e.seq} (${e.kind}): signature ${e.valid ? `valid, signed by ${e.signer}` : `NOT valid: ${e.reason}`}\n`,
            );
          if (e.xml) process.stdout.write(`${e.xml}\n`);
        }
      });
    });

  sourceOptions(log.command('verify'))
    .description(
      'verify the hash chain, the signed checkpoints and every kept envelope signature; exit 0 only when intact, else name the first bad record and why',
    )
    .option('--bundle <path>', 'verify an export bundle (folder or JSON) instead, offline, with no database')
    .option('--no-signatures', 'skip re-verifying envelope signatures (chain and checkpoints only)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: SourceOptions & { bundle?: string; signatures: boolean; json?: boolean }) => {
      try {
        let report: AuditReport;
        if (opts.bundle) {
          const bar = progressBar(opts.json);
          const extra = opts.trust.map((f) => readFileSync(f, 'utf8'));
          const extraTsa = (opts.tsaTrust ?? []).map((f) => readFileSync(f, 'utf8'));
          report = await verifyBundle(opts.bundle, {
            signatures: opts.signatures,
            extraTrustPem: extra,
            extraTsaTrustPem: extraTsa,
            ...(bar ? { onRecord: bar.tick } : {}),
          });
          bar?.stop();
        } else {
          const { auditor, store, config } = await openAuditor(opts);
          try {
            const total = await auditor.headSeq();
            const bar = progressBar(opts.json, total);
            report = await auditor.verify({ signatures: opts.signatures, ...(bar ? { onRecord: bar.tick } : {}) });
            bar?.stop();
            // The node's own log (named by its config, not --db): the outcome reaches its alarm board.
            if (config && !opts.db) await toAlarmBoard(config, store, report);
          } finally {
            await store.close();
          }
        }
        printReport(report, opts.json);
        process.exitCode = report.ok ? 0 : 1;
      } catch (err) {
        reportError(err, 2);
      }
    });

  sourceOptions(log.command('export'))
    .description(
      'write a self-contained bundle (records, envelopes, checkpoints, certificates, manifest) of the records logged between two instants',
    )
    .requiredOption('--from <date-time>', 'first instant (ISO 8601)')
    .requiredOption('--to <date-time>', 'last instant (ISO 8601)')
    .argument('<out>', 'a new folder for the bundle')
    .option('--json', 'print the manifest as JSON')
    .action(async (out: string, opts: SourceOptions & { from: string; to: string; json?: boolean }) => {
      await withAuditor(opts, async ({ auditor }) => {
        const bundle = await auditor.exportBundle(isoDate(opts.from, '--from'), isoDate(opts.to, '--to'), new Date());
        const manifest = writeBundleDir(resolve(out), bundle);
        if (opts.json) printJson(manifest);
        else
          process.stdout.write(
            `exported records ${manifest.firstSeq}–${manifest.lastSeq} (${manifest.recordCount}) and ${manifest.checkpointCount} checkpoints to ${resolve(out)}\nverify it with: tramite log verify --bundle ${resolve(out)}\n`,
          );
      });
    });
}

async function withAuditor(opts: SourceOptions, work: (a: Awaited<ReturnType<typeof openAuditor>>) => Promise<void>): Promise<void> {
  let opened: Awaited<ReturnType<typeof openAuditor>> | undefined;
  try {
    opened = await openAuditor(opts);
    await work(opened);
  } catch (err) {
    reportError(err);
  } finally {
    await opened?.store.close();
  }
}

function isoDate(value: string, option: string): string {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new TramiteError('TRAMITE_ERR_CONFIG_INVALID', `${option} "${value}" is not an ISO 8601 date-time`);
  return d.toISOString();
}

/** A progress bar on stderr for long runs on a terminal (and never in --json mode). */
function progressBar(json: boolean | undefined, total?: number): { tick: (seq: number) => void; stop: () => void } | undefined {
  if (json || !process.stderr.isTTY || (total !== undefined && total < 5000)) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'verifying {bar} {value}/{total} records' },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total ?? 0, 0);
  let n = 0;
  return {
    tick: () => {
      n += 1;
      if (n % 500 === 0) bar.update(n);
    },
    stop: () => {
      bar.update(n);
      bar.stop();
    },
  };
}

function printReport(r: AuditReport, json: boolean | undefined): void {
  if (json) {
    printJson(r);
    return;
  }
  const out = process.stdout;
  if (r.ok) {
    out.write(
      `intact: ${r.records} records (${r.firstSeq ?? '-'}–${r.lastSeq ?? '-'}), ${r.checkpoints} checkpoints, ${r.signaturesChecked ? `${r.envelopesChecked} envelope signatures re-verified` : 'envelope signatures not checked'}${r.restTokens ? `, ${r.restTokens.verified} ModI REST tokens re-verified (${r.restTokens.skipped} skipped: vouchers, kid-signed, failed exchanges)` : ''}${r.envelopesPurged ? `, ${r.envelopesPurged} envelopes purged by retention (digests kept)` : ''}${r.timestampsVerified ? `, ${r.timestampsVerified} checkpoint time-stamps verified` : ''}\n`,
    );
    if (r.uncheckpointed) out.write(`note: the last ${r.uncheckpointed} records are not yet covered by a checkpoint\n`);
    return;
  }
  out.write(`NOT intact: first bad record ${r.firstBad?.seq}: ${r.firstBad?.reason}\n`);
  for (const i of r.issues.slice(1)) out.write(`  also record ${i.seq}: ${i.reason}\n`);
  for (const p of r.fileProblems ?? []) out.write(`  bundle: ${p}\n`);
}
