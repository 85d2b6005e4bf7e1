import { createHash } from 'node:crypto';
import type { Command, CommanderError } from 'commander';
import { offlineInputsOrUsageError } from '../offline-inputs.js';
import { type PecMessage, type PecOriginal, parsePecMessage, quarantineReason } from '../../../adapters/pec/pec-message.js';
import { PecError } from '../../../adapters/pec/pec-errors.js';
import { printJson, reportError } from '../cli-output.js';
import { collectRepeated } from '../repeatable-option.js';

const PARSE_HELP = `
Prints one JSON line. For a message from a PEC provider (it has X-Ricevuta or X-Trasporto):
  {"pec":true,"kind":"avvenuta-consegna","tipo":"avvenuta-consegna","errore":"nessuno",
   "riferimentoMessageId":"<…>","signature":{"status":"valid","signer":"CN=…"},
   "mapping":{"state":"DELIVERED","recipient":"…"},"quarantine":null,"malformed":[],"daticert":{…},…}
"quarantine" is null only when the message may be acted on; otherwise it gives the code and the reason
(unsigned, bad signature, untrusted signer, malformed). Without --trust no signature is trusted.
The provider certificate is judged at the daticert date (signed), unless --at says otherwise.
For anything else: {"pec":false,"reason":"…"}.

Exit status: 0 PEC message (even one to quarantine), 1 not a PEC message, 2 usage error.`;

export function registerPecCommand(program: Command): void {
  const pec = program
    .command('pec')
    .description('offline tools for PEC (posta elettronica certificata) provider messages')
    // Commander exits 1 on a usage error, which here would read as "not a PEC message": report 2.
    .exitOverride(exitWithUsageStatus);
  pec
    .command('parse')
    .description(
      'classify a PEC receipt or busta (.eml), read its daticert.xml, verify the provider signature; prints the typed message as JSON',
    )
    .argument('<file>', 'the message as received (RFC 5322 / .eml)')
    .option('--trust <ca.pem>', 'a CA trusted for PEC provider signatures (PEM; repeatable)', collectRepeated, [])
    .option('--at <date-time>', 'judge the provider certificate as of this instant (ISO 8601) instead of the message date')
    .option('--accept-sha1', 'accept provider signatures made with SHA-1 (older providers); refused by default')
    .addHelpText('after', PARSE_HELP)
    .action(async (file: string, opts: { trust: string[]; at?: string; acceptSha1?: boolean }) => {
      const inputs = offlineInputsOrUsageError(file, opts);
      if (!inputs) return;
      try {
        const { bytes, ...checks } = inputs;
        const msg = await parsePecMessage(bytes, { ...checks, ...(opts.acceptSha1 ? { acceptSha1: true } : {}) });
        printJson(pecMessageJson(msg));
      } catch (err) {
        if (err instanceof PecError && err.code === 'TRAMITE_ERR_PEC_NOT_PEC') {
          printJson({ pec: false, reason: err.message });
          process.exitCode = 1;
          return;
        }
        reportError(err);
      }
    });
}

/** The message as JSON: absent values as null, attachment bytes as size and SHA-256. */
function pecMessageJson(msg: PecMessage): Record<string, unknown> {
  return {
    pec: true,
    kind: msg.kind,
    tipo: msg.tipo ?? null,
    errore: msg.errore ?? null,
    riferimentoMessageId: msg.riferimentoMessageId ?? null,
    messageId: msg.messageId ?? null,
    date: msg.date?.toISOString() ?? null,
    from: msg.from ?? null,
    subject: msg.subject ?? null,
    tipoRicevuta: msg.tipoRicevuta ?? null,
    signature: msg.signature,
    mapping: msg.mapping,
    quarantine: quarantineReason(msg) ?? null,
    malformed: msg.malformed,
    daticert: msg.daticert ?? null,
    original: msg.original ? originalJson(msg.original) : null,
  };
}

function originalJson(original: PecOriginal): Record<string, unknown> {
  return {
    messageId: original.messageId ?? null,
    from: original.from ?? null,
    to: original.to,
    subject: original.subject ?? null,
    date: original.date?.toISOString() ?? null,
    text: original.text ?? null,
    attachments: original.attachments.map((a) => ({
      filename: a.filename ?? null,
      contentType: a.contentType,
      size: a.content.byteLength,
      sha256: createHash('sha256').update(a.content).digest('hex'),
    })),
  };
}

/** Help and version output keep commander's status 0; every other commander exit is a usage error. */
function exitWithUsageStatus(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}
