import type { NodeConfig } from '../config/config-types.js';

/**
 * Removes from this process's environment the variables that held the parties' key passphrases, once
 * the keys are loaded: the child servers a node starts (Redis, Dovecot) and its worker threads would
 * otherwise inherit them. Returns the names removed.
 */
export function forgetPassphraseVariables(config: Pick<NodeConfig, 'parties'>, env: NodeJS.ProcessEnv = process.env): string[] {
  const names = config.parties.flatMap((p) => [p.passphraseEnv, p.keystore?.passphraseEnv]).filter((n): n is string => n !== undefined);
  for (const name of names) delete env[name];
  return names;
}
