#!/usr/bin/env node
import { Command } from 'commander';
import { readPackageJson } from '../config/package-root.js';
import type { Command as CommandType } from 'commander';

/**
 * Each command's module, loaded only when it is the one asked for: `tramite cf check` should not load
 * the whole node (hundreds of modules, over a second of start-up). Help, a version or an unknown command
 * loads them all, so the top-level help lists every command and a typo gets its suggestion.
 */
const COMMANDS: Record<string, () => Promise<(program: CommandType) => void>> = {
  init: async () => (await import('./commands/init.js')).registerInitCommand,
  start: async () => (await import('./commands/start.js')).registerStartCommand,
  envelope: async () => (await import('./commands/envelope.js')).registerEnvelopeCommand,
  keys: async () => (await import('./commands/keys.js')).registerKeysCommand,
  certs: async () => (await import('./commands/certs.js')).registerCertsCommand,
  status: async () => (await import('./commands/status.js')).registerStatusCommand,
  registry: async () => (await import('./commands/registry.js')).registerRegistryCommand,
  demo: async () => (await import('./commands/demo.js')).registerDemoCommand,
  log: async () => (await import('./commands/log.js')).registerLogCommand,
  messages: async () => (await import('./commands/messages.js')).registerMessagesCommand,
  cf: async () => (await import('./commands/cf.js')).registerCfCommand,
  protocollo: async () => (await import('./commands/protocollo.js')).registerProtocolloCommand,
  pec: async () => (await import('./commands/pec.js')).registerPecCommand,
  'pec-provider': async () => (await import('./commands/pec-provider.js')).registerPecProviderCommand,
  modi: async () => (await import('./commands/modi.js')).registerModiCommand,
  'pdnd-simulator': async () => (await import('./commands/pdnd-simulator.js')).registerPdndSimulatorCommand,
  pdnd: async () => (await import('./commands/pdnd.js')).registerPdndCommand,
};

// `tramite log search | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const program = new Command()
  .name('tramite')
  .description('Tramite: a cooperation-bus node (Porta di Dominio) for Italian public bodies')
  .version(readPackageJson<{ version: string }>('package.json').version)
  .showHelpAfterError();

const asked = process.argv[2];
const wanted = asked !== undefined && Object.hasOwn(COMMANDS, asked) ? [asked] : Object.keys(COMMANDS);
for (const register of await Promise.all(wanted.map((name) => COMMANDS[name]!()))) register(program);

await program.parseAsync(process.argv);
