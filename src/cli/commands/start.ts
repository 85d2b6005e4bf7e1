import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.js';
import type { NodeConfig } from '../../config/config-types.js';
import { initNode } from '../../config/init-node.js';
import { describeDevIdentity } from '../dev-identity-summary.js';
import { serveNode } from '../../http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../../adapters/builtin.js';
import { reportError } from '../cli-output.js';
import { Deadline } from '../../core/deadline.js';
import { wholeNumberOption } from '../whole-number-option.js';
import { forgetPassphraseVariables } from '../forget-passphrase-variables.js';
import { SIGHUP_CALLER } from '../../node/registry/live-registry.js';

export const DEFAULT_HOME = '.tramite';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(
      `run a node; with no --config and no ${DEFAULT_HOME}/tramite.json yet, first create a development identity there (dev CA, two parties, their tokens, two services answered by the dev-echo back office)`,
    )
    .option('--config <tramite.json>', 'the node configuration (env TRAMITE_CONFIG)')
    .option('--port <port>', 'listen on this port instead of the configured one (0 = any free port)')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (opts: { config?: string; port?: string; logLevel: string }) => {
      try {
        const explicit = opts.config ?? process.env['TRAMITE_CONFIG'];
        const path = resolve(explicit ?? `${DEFAULT_HOME}/tramite.json`);
        if (!explicit && !existsSync(path)) {
          const report = initNode({ dir: resolve(DEFAULT_HOME) });
          process.stderr.write(`first run: created a development identity in ${DEFAULT_HOME}/\n`);
          for (const p of report.parties)
            if (p.token) process.stderr.write(`  ${p.code}: back-office token ${p.token} (also in ${p.tokenFile})\n`);
          if (report.auditorToken) process.stderr.write(`  auditors: token ${report.auditorToken} (also in ${report.auditorTokenFile})\n`);
          if (report.operatorToken)
            process.stderr.write(
              `  operators (GET /health details): token ${report.operatorToken} (also in ${report.operatorTokenFile}); it signs in to the console too\n`,
            );
          if (report.devIdentity) process.stderr.write(`${describeDevIdentity(report.devIdentity).join('\n')}\n`);
        }
        const config = loadConfig(path);
        // The keys are loaded: their passphrases need not outlive this point, nor reach child processes.
        forgetPassphraseVariables(config);
        const port =
          opts.port === undefined
            ? undefined
            : wholeNumberOption(opts.port, '--port', { min: 0, max: 65535, what: 'a TCP port', example: 8080 });
        // Signals are handled from before start-up: a stop requested while the node is starting (its
        // Redis already running) waits for the start to finish, then stops everything in order.
        // Bounded whatever state the node is in (starting, Redis gone): the orderly stop gets the time
        // less a second, and if it still runs when the time is up the process exits anyway.
        const bound = config.node.shutdownTimeoutSeconds * 1000;
        let stopRequested = false;
        let stopDeadline: Deadline | undefined;
        let running: Awaited<ReturnType<typeof serveNode>> | undefined;
        const shutdown = () => {
          stopRequested = true;
          stopDeadline = Deadline.in(bound).earlier(1000);
          setTimeout(() => {
            process.stderr.write(
              `tramite: the node did not stop within node.shutdownTimeoutSeconds (${config.node.shutdownTimeoutSeconds} s); exiting now\n`,
            );
            process.exit(1);
          }, bound).unref();
          if (running) void running.close(stopDeadline).then(() => process.exit(0));
        };
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
        // SIGHUP reloads this process's registry (docs/operators.md, "Reloading the registry"); the
        // node logs the outcome. Handled from the start: its default action would end the process.
        process.on('SIGHUP', () => {
          if (!running || stopRequested) {
            process.stderr.write('tramite: SIGHUP ignored: the node is starting or stopping\n');
            return;
          }
          running.node.reloadRegistry(SIGHUP_CALLER).then(
            (r) =>
              process.stderr.write(
                r.applied
                  ? `tramite: registry version ${r.version.version} applied (${r.version.digest})\n`
                  : `tramite: registry unchanged (version ${r.version.version})\n`,
              ),
            (err: unknown) =>
              process.stderr.write(
                `tramite: registry reload refused, version ${running!.node.registryVersion.version} kept:\n${(err as Error).message}\n`,
              ),
          );
        });
        // --port holds for the configuration a reload reads again too: else every reload would change node.listen.
        const withPort = (c: NodeConfig): NodeConfig =>
          port === undefined ? c : { ...c, node: { ...c.node, listen: { ...c.node.listen, port } } };
        running = await serveNode(withPort(config), {
          logToStdout: true,
          logLevel: opts.logLevel,
          builtinAdapters: BUILTIN_ADAPTERS,
          loadConfig: () => withPort(loadConfig(path)),
        });
        if (stopRequested) {
          await running.close(stopDeadline);
          process.exit(0);
        }
        const tls = running.node.config.node.listen.tls;
        const clients = tls?.requireClientCert
          ? 'required'
          : tls?.requestCert
            ? "asked for (the envelope endpoint needs a peer's)"
            : 'not asked for';
        // One write: a reader waiting for the health line has the TLS line too.
        process.stderr.write(
          `tramite node "${running.node.config.node.name}" listening\n` +
            (tls ? `  TLS:       certificate ${tls.certFile}; client certificates ${clients}\n` : '') +
            (running.node.config.node.development
              ? '  DEVELOPMENT node (node.development: true): development-only parts such as the dev-echo back office may run\n'
              : '') +
            `  envelopes: ${running.node.envelopeUrl}\n  API:       ${running.baseUrl}/api/v1/messages\n  health:    ${running.baseUrl}/health\n` +
            `  console:   ${running.baseUrl}/console (sign in with an operator or auditor token)\n`,
        );
      } catch (err) {
        reportError(err);
      }
    });
}
