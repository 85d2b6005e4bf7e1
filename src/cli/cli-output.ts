import { TramiteError } from '../core/errors.js';

/** Prints a JSON value on one line of stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Reports a failure on stderr as `error CODE: message` and sets the exit code (never throws). */
export function reportError(err: unknown, exitCode = 1): void {
  let code = 'ERROR';
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof TramiteError) code = err.code;
  else if ((err as NodeJS.ErrnoException)?.code) {
    const sys = err as NodeJS.ErrnoException;
    code = sys.code!;
    if (sys.path) message = `${sys.syscall === 'open' ? 'cannot open' : `${sys.syscall ?? 'cannot access'}`} ${sys.path}`;
  }
  process.stderr.write(`error ${code}: ${message}\n`);
  process.exitCode = exitCode;
}
