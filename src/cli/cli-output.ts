import { TramiteError } from '../core/errors.js';

/** Prints a JSON value on one line of stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Reports a failure on stderr as `error CODE: message` and sets the exit code (never throws). */
export function reportError(err: unknown, exitCode = 1): void {
  const code = err instanceof TramiteError ? err.code : (err as NodeJS.ErrnoException)?.code ?? 'ERROR';
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error ${code}: ${message}\n`);
  process.exitCode = exitCode;
}
