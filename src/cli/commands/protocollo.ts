import type { Command } from 'commander';
import { offlineInputsOrUsageError } from '../offline-inputs.js';
import { validateProtocolloDocument } from '../../../adapters/protocollo/protocollo-validate.js';
import { printJson } from '../cli-output.js';
import { collectRepeated } from '../repeatable-option.js';

export function registerProtocolloCommand(program: Command): void {
  const protocollo = program.command('protocollo').description('offline tools for the protocollo informatico interoperabile (Segnatura)');
  protocollo
    .command('validate')
    .description(
      'read a Segnatura (2021, 2013 or 2001 form) or a ConfermaRicezione / NotificaEccezione / AnnullamentoProtocollazione, check it against the official XSD and, with --trust, its XAdES seal; prints the typed model as JSON (exit 0) or {"valid":false,"code","reason"} with the anomaly code (exit 1)',
    )
    .argument('<file>', 'the XML document')
    .option('--trust <ca.pem>', 'a CA trusted for AOO seals (PEM; repeatable)', collectRepeated, [])
    .option('--at <date-time>', 'judge the seal certificate as of this instant (ISO 8601) instead of now')
    .action(async (file: string, opts: { trust: string[]; at?: string }) => {
      const inputs = offlineInputsOrUsageError(file, opts);
      if (!inputs) return;
      const { bytes, ...checks } = inputs;
      const result = await validateProtocolloDocument(bytes, checks);
      printJson(result);
      if (!result.valid) process.exitCode = 1;
    });
}
