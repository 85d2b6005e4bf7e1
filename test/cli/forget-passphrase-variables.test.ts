import { describe, expect, it } from 'vitest';
import { forgetPassphraseVariables } from '../../src/cli/forget-passphrase-variables.js';
import type { NodeConfig } from '../../src/config/config-types.js';

describe('forgetPassphraseVariables', () => {
  it("removes the parties' passphrase variables, of keys and keystores, and nothing else", () => {
    const env: NodeJS.ProcessEnv = { A_PASS: 'a', B_PASS: 'b', PATH: '/usr/bin', TRAMITE_REDIS_URL: 'redis://x' };
    const parties = [
      { passphraseEnv: 'A_PASS' },
      { keystore: { file: '/k.p12', passphraseEnv: 'B_PASS' } },
      { keystore: { file: '/k2.p12', passphraseFile: '/k2.pass' } },
      {},
    ] as unknown as NodeConfig['parties'];
    expect(forgetPassphraseVariables({ parties }, env)).toEqual(['A_PASS', 'B_PASS']);
    expect(env).toEqual({ PATH: '/usr/bin', TRAMITE_REDIS_URL: 'redis://x' });
  });
});
