#!/usr/bin/env node
import { Command } from 'commander';
import { readPackageJson } from '../config/package-root.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerEnvelopeCommand } from './commands/envelope.js';
import { registerInitCommand } from './commands/init.js';
import { registerStartCommand } from './commands/start.js';

const program = new Command()
  .name('tramite')
  .description('Tramite: a cooperation-bus node (Porta di Dominio) for Italian public bodies')
  .version(readPackageJson<{ version: string }>('package.json').version)
  .showHelpAfterError();

registerInitCommand(program);
registerStartCommand(program);
registerEnvelopeCommand(program);
registerDemoCommand(program);

await program.parseAsync(process.argv);
