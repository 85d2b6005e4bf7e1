import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { DEV_IDENTITY, type InitNodeReport, initNode } from '../../config/init-node.js';
import { printJson, reportError } from '../cli-output.js';
import { describeDevIdentity } from '../dev-identity-summary.js';
import { wholeNumberOption } from '../whole-number-option.js';

const DEFAULT_DIR = '.tramite';

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(
      'create a development node: a dev CA and one signing certificate per party (DIR/pki; the CA key in DIR-dev-ca, outside the node), a back-office token per party ' +
        '(shown once, kept in DIR/pki/<nome>.token) and DIR/tramite.json. Without --parties, the development identity: ' +
        `${DEV_IDENTITY.consumer} calls ${DEV_IDENTITY.provider} on ${DEV_IDENTITY.sincrono} (sincrono) and ${DEV_IDENTITY.oneway} (oneway), ` +
        'answered by the dev-echo back office on a development node. Never overwrites a file: run it again with more ' +
        '--parties to add parties signed by the same CA.',
    )
    .option('--dir <DIR>', 'folder for the node files', DEFAULT_DIR)
    .option(
      '--parties <codes>',
      'comma-separated party codes tipo/nome (a bare nome means SPC/nome), with no services (default: the development identity)',
    )
    .option('--port <N>', 'TCP port the node will listen on, 127.0.0.1 only (0 = any free port)', '8080')
    .option('--json', 'print the report as JSON (tokens included only when created now)')
    .addHelpText(
      'after',
      '\nExample:\n  tramite init --dir .tramite --parties SPC/ComuneA,SPC/Regione --port 8080\n  tramite start --config .tramite/tramite.json\n',
    )
    .action((opts: { dir: string; parties?: string; port: string; json?: boolean }) => {
      try {
        const report = initNode({
          dir: opts.dir,
          port: parsePort(opts.port),
          ...(opts.parties !== undefined ? { parties: splitList(opts.parties) } : {}),
        });
        const nextStep = `tramite start --config ${join(opts.dir, 'tramite.json')}`;
        if (opts.json) printJson({ ...report, nextStep });
        else process.stdout.write(describeReport(report, nextStep));
      } catch (err) {
        reportError(err);
      }
    });
}

function splitList(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) {
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', '--parties lists no party — fix: name at least one, e.g. --parties SPC/ComuneA', {
      field: 'parties',
    });
  }
  return items;
}

function parsePort(value: string): number {
  return wholeNumberOption(value, '--port', { min: 0, max: 65535, what: 'a TCP port', example: 8080 });
}

/** Human report: what was created, what was kept, the tokens (once) and what to run next. */
function describeReport(report: InitNodeReport, nextStep: string): string {
  const show = (file: string): string => relative(process.cwd(), file) || file;
  const row = (created: boolean, what: string, file: string): string =>
    `  ${(created ? 'created' : 'kept').padEnd(7)} ${what.padEnd(20)} ${show(file)}`;
  const lines = [`tramite init in ${show(report.dir)}`];
  lines.push(row(report.ca.created, 'dev CA', report.ca.certFile));
  lines.push(row(report.ca.created, 'dev CA key (not for the node)', report.ca.keyFile));
  for (const p of report.parties) lines.push(row(p.created, p.code, p.certFile));
  lines.push(row(report.configCreated, 'config', report.configFile));

  const tokens = report.parties.filter((p) => p.token !== undefined);
  if (tokens.length > 0) {
    lines.push('', 'Back-office tokens (shown only now; each is also in its .token file, readable by you only):');
    for (const p of tokens) lines.push(`  ${p.code}: ${p.token}   (${show(p.tokenFile)})`);
  }

  if (report.operatorToken !== undefined) {
    lines.push(
      '',
      `Operator token, for GET /health's details and the console at /console (shown only now; also in ${show(report.operatorTokenFile)}):`,
      `  ${report.operatorToken}`,
    );
  }

  if (report.devIdentity !== undefined) lines.push('', ...describeDevIdentity(report.devIdentity));

  const missing = report.parties.filter((p) => p.configEntry !== undefined);
  if (missing.length > 0) {
    lines.push('', `${show(report.configFile)} was kept and does not list ${missing.map((p) => p.code).join(', ')}; add to its "parties":`);
    for (const p of missing) lines.push(`  ${JSON.stringify(p.configEntry)}`);
  }

  lines.push('', `Next: ${nextStep}`, '');
  return lines.join('\n');
}
