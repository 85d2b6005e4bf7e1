import { ConfigError } from '../core/errors.js';

/**
 * Reads a numeric command-line option: digits only, within its range. `Number()` would turn "abc" into
 * NaN — which silently switched checks off downstream — and "" or "0x10" into numbers nobody typed.
 */
export function wholeNumberOption(
  value: string,
  option: string,
  range: { readonly min: number; readonly max: number; readonly what: string; readonly example: number },
): number {
  const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!(n >= range.min && n <= range.max)) {
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_INVALID',
      `${option} ${value} is not ${range.what} from ${range.min} to ${range.max} — fix: write digits only, e.g. ${option} ${range.example}`,
      { field: option },
    );
  }
  return n;
}
