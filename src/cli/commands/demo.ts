import type { Command } from 'commander';
import { DEMO_PEC, runDemoOnce, startDemo } from '../../demo/run-demo.js';
import { DEMO_REST } from '../../demo/demo-rest-federation.js';
import { printJson, reportError } from '../cli-output.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'start a local federation (a CST node hosting two Comuni, a Regione node) as child processes on 127.0.0.1 and exchange signed messages between them',
    )
    .option('--once', 'run every scenario once, print a summary and stop; exit 0 only if every scenario ended as expected')
    .option('--json', 'print the summary as JSON')
    .option('--dir <dir>', 'where to write the nodes (keys, configs, logs); default: a new temporary folder')
    .action(async (opts: { once?: boolean; json?: boolean; dir?: string }) => {
      try {
        if (opts.once) {
          const summary = await runDemoOnce(opts.dir);
          if (opts.json) printJson(summary);
          else {
            for (const e of summary.exchanges)
              process.stdout.write(
                `${e.ok ? 'ok  ' : 'FAIL'} ${e.scenario}: ${e.status} (expected ${e.expected})${e.detail ? ` — ${e.detail}` : ''}\n`,
              );
            process.stdout.write(`message logs (check with tramite log verify --db PATH): ${summary.logs.join(', ')}\n`);
          }
          process.exitCode = summary.exchanges.every((e) => e.ok) ? 0 : 1;
          return;
        }
        const demo = await startDemo(opts.dir, undefined, { pec: true, rest: true, competence: true });
        const info = {
          // The Comune's back office calls the Regione's REST API through its node with its own token.
          rest: {
            call: `${demo.nodes.cst.baseUrl}/rest/out/${DEMO_REST.provider.split('/')[1]}/${DEMO_REST.api}/${DEMO_REST.version}/residenti/{codiceFiscale}`,
            as: DEMO_REST.consumer,
            patterns: DEMO_REST.profiles,
            pdnd: demo.rest?.pdnd.url ?? null,
          },
          dir: demo.dir,
          pec: demo.pec.provider
            ? {
                smtp: demo.pec.provider.smtp,
                imap: demo.pec.provider.imap,
                providerCa: demo.pec.provider.caCertFile,
                mailboxes: [DEMO_PEC.comune, DEMO_PEC.cittadino],
              }
            : { unavailable: demo.pec.unavailable },
          nodes: [demo.nodes.cst, demo.nodes.regione].map((n) => ({
            name: n.name,
            url: n.baseUrl,
            api: `${n.baseUrl}/api/v1/messages`,
            console: `${n.baseUrl}/console`,
            config: n.configFile,
            log: n.logFile,
            messageLog: n.messageLog,
            tokens: n.tokens,
            auditorToken: n.auditorToken,
            operatorToken: n.operatorToken,
          })),
        };
        if (opts.json) printJson(info);
        else {
          process.stdout.write(`demo federation running in ${demo.dir} (Ctrl-C to stop)\n`);
          process.stdout.write(
            `  REST: GET ${info.rest.call} as ${info.rest.as} (${info.rest.patterns.join(' + ')}, vouchers from the PDND simulator at ${info.rest.pdnd})\n`,
          );
          for (const n of info.nodes)
            process.stdout.write(
              `  ${n.name}: ${n.url}  (API ${n.api}, log ${n.log})\n    console ${n.console}: operator token ${n.operatorToken}\n${Object.entries(
                n.tokens,
              )
                .map(([p, t]) => `    token ${p}: ${t}\n`)
                .join('')}`,
            );
        }
        const shutdown = () => void demo.stop().then(() => process.exit(0));
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      } catch (err) {
        reportError(err);
      }
    });
}
