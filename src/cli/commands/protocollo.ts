import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TrustStore } from '../../crypto/trust-store.js';
import { validateProtocolloDocument } from '../../../adapters/protocollo/protocollo-validate.js';
import { printJson, reportError } from '../cli-output.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerProtocolloCommand(program: Command): void {
  const protocollo = program.command('protocollo').description('offline tools for the protocollo informatico interoperabile (Segnatura)');
  protocollo
    .command('validate')
    .description('read a Segnatura (2021, 2013 or 2001 form) or a ConfermaRicezione / NotificaEccezione / AnnullamentoProtocollazione, check it against the official XSD and, with --trust, its XAdES seal; prints the typed model as JSON (exit 0) or {"valid":false,"code","reason"} with the anomaly code (exit 1)')
    .argument('<file>', 'the XML document')
    .option('--trust <ca.pem>', 'a CA trusted for AOO seals (PEM; repeatable)', collect, [])
    .option('--at <date-time>', 'judge the seal certificate as of this instant (ISO 8601) instead of now')
    .action(async (file: string, opts: { trust: string[]; at?: string }) => {
      let bytes: Buffer;
      let trust: TrustStore | undefined;
      let at: Date | undefined;
      try {
        bytes = readFileSync(file);
        trust = opts.trust.length > 0 ? TrustStore.fromPem(opts.trust.map((f) => readFileSync(f, 'utf8'))) : undefined;
        at = opts.at ? new Date(opts.at) : undefined;
        if (at && Number.isNaN(at.getTime())) throw new Error(`--at "${opts.at}" is not an ISO 8601 date-time`);
      } catch (err) {
        reportError(err, 2);
        return;
      }
      const result = await validateProtocolloDocument(bytes, { ...(trust ? { trust } : {}), ...(at ? { at } : {}) });
      printJson(result);
      if (!result.valid) process.exitCode = 1;
    });
}
