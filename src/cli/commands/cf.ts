import type { Command, CommanderError } from 'commander';
import { checkCodiceFiscale } from '../../../adapters/sdk/index.js';
import { printJson } from '../cli-output.js';

const CHECK_HELP = `
Prints one JSON line:
  {"valid":true,"normalized":"RSSMRA80A01H501U","birthDate":"1980-01-01","sex":"M","placeCode":"H501"}
  {"valid":false,"normalized":"RSSMRA80A01H501X","birthDate":null,"sex":null,"placeCode":null,"reason":"…"}

The code is trimmed, upper-cased and stripped of inner spaces first. Omocodic codes (digits replaced by
LMNPQRSTUV) are accepted and decoded. The code carries only two digits of the year: the century chosen
is the most recent one that does not put the birth date in the future, so a person aged 100 or more
reads as 100 years younger. placeCode is the Belfiore code (Z… for a foreign country); whether that
comune or country exists is not checked.

Exit status: 0 valid, 1 invalid, 2 usage error.`;

export function registerCfCommand(program: Command): void {
  const cf = program
    .command('cf')
    .description('offline tools for the codice fiscale (Italian tax code of a person)')
    // Commander exits 1 on a usage error, which here would read as "invalid code": report 2 instead.
    // Set before adding subcommands, which inherit it.
    .exitOverride(exitWithUsageStatus);

  cf.command('check')
    .description('check a codice fiscale and decode birth date, sex and place of birth; exits 0 only when valid')
    .argument('<code>', 'the codice fiscale (16 characters; quote it if it contains spaces)')
    .addHelpText('after', CHECK_HELP)
    .action((code: string) => {
      const check = checkCodiceFiscale(code);
      if (check.valid) {
        printJson({ valid: true, normalized: check.normalized, birthDate: check.birthDate, sex: check.sex, placeCode: check.placeCode });
        return;
      }
      printJson({ valid: false, normalized: check.normalized, birthDate: null, sex: null, placeCode: null, reason: check.reason });
      process.exitCode = 1;
    });
}

/** Help and version output keep commander's status 0; every other commander exit is a usage error. */
function exitWithUsageStatus(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}
