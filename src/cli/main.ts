#!/usr/bin/env node
import { Command } from 'commander';
import { readPackageJson } from '../config/package-root.js';
import { registerCfCommand } from './commands/cf.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerEnvelopeCommand } from './commands/envelope.js';
import { registerInitCommand } from './commands/init.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerLogCommand } from './commands/log.js';
import { registerMessagesCommand } from './commands/messages.js';
import { registerPecCommand } from './commands/pec.js';
import { registerPecProviderCommand } from './commands/pec-provider.js';
import { registerProtocolloCommand } from './commands/protocollo.js';
import { registerStartCommand } from './commands/start.js';

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

registerInitCommand(program);
registerStartCommand(program);
registerEnvelopeCommand(program);
registerKeysCommand(program);
registerDemoCommand(program);
registerLogCommand(program);
registerMessagesCommand(program);
registerCfCommand(program);
registerProtocolloCommand(program);
registerPecCommand(program);
registerPecProviderCommand(program);

await program.parseAsync(process.argv);
