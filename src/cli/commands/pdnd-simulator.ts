import type { Command } from 'commander';
import { PdndSimulator } from '../../pdnd-simulator/pdnd-simulator.js';
import { loadSimulatorRegistry } from '../../pdnd-simulator/simulator-registry.js';
import { printJson, reportError } from '../cli-output.js';
import { wholeNumberOption } from '../whole-number-option.js';

const HELP = `
The registry file lists the clients (client_id, tenant_id, kind e-service|api, keys [{kid, pem}],
purposes) and the e-services (eservice_id, producer_id, descriptor_id, audience, purposes,
voucher_lifespan seconds); see docs/rest-apis.md, "PDND". Endpoints: POST /token.oauth2,
GET /.well-known/jwks.json, GET /keys/{kid}, POST /tracings/submit?date=, GET /tracings[/{id}];
POST /simulator/rotate-key makes a new voucher signing key current (the old one stays in the JWKS).`;

export function registerPdndSimulatorCommand(program: Command): void {
  program
    .command('pdnd-simulator')
    .description('run a simulated PDND Interoperabilità: token endpoint, JWKS, client keys, tracing uploads (for tests and the demo)')
    .requiredOption('--registry <file>', 'the clients, keys, purposes and e-services (JSON)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port (default: any free port)', '0')
    .option('--data <dir>', 'keep uploaded tracing files here (default: in memory)')
    .option('--issuer <domain>', "the vouchers' iss", 'pdnd-simulator.tramite.local')
    .option('--json', 'print the endpoints as one JSON line')
    .addHelpText('after', HELP)
    .action(async (opts: { registry: string; host: string; port: string; data?: string; issuer: string; json?: boolean }) => {
      let simulator: PdndSimulator;
      try {
        const port = wholeNumberOption(opts.port, '--port', { min: 0, max: 65535, what: 'a TCP port', example: 8443 });
        simulator = new PdndSimulator({
          registry: loadSimulatorRegistry(opts.registry),
          host: opts.host,
          port,
          issuer: opts.issuer,
          ...(opts.data !== undefined ? { dataDir: opts.data } : {}),
        });
      } catch (err) {
        reportError(err, 2);
        return;
      }
      try {
        const endpoints = await simulator.start();
        const stop = () => void simulator.stop().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (opts.json) printJson(endpoints);
        else
          process.stdout.write(
            [
              `PDND simulator (Ctrl-C to stop)`,
              `  token endpoint:        ${endpoints.tokenEndpoint}`,
              `  client assertion aud:  ${endpoints.assertionAudience}`,
              `  JWKS:                  ${endpoints.jwksUrl}`,
              `  voucher iss:           ${endpoints.issuer}`,
              `  API voucher aud:       ${endpoints.apiAudience}  (GET /keys/{kid}, /tracings)`,
              '',
            ].join('\n'),
          );
      } catch (err) {
        reportError(err);
      }
    });
}
