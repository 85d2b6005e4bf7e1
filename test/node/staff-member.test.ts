import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode } from '../../src/config/init-node.js';
import { loadConfig } from '../../src/config/load-config.js';
import { hashToken } from '../../src/core/token-hash.js';
import { Registry } from '../../src/node/registry/registry.js';
import { configRefusal as refusal, problemAbout, writeConfigCase, type Json } from '../config/config-cases.js';

let dir: string;
let base: Json;
const configWith = (edit: (config: Json) => void): string => writeConfigCase(dir, base, edit, 'staff');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-staff-'));
  base = JSON.parse(readFileSync(initNode({ dir, parties: ['SPC/ComuneA'] }).configFile, 'utf8'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('staff tokens: who an operator or an auditor is', () => {
  it('names each token holder as configured, or after the hash; party tokens and unknown tokens are nobody', () => {
    const registry = new Registry(
      loadConfig(
        configWith((c) => {
          c.node.operatorTokens = [{ name: 'm.rossi', token: hashToken('op-rossi') }, hashToken('op-anonymous')];
          c.log.auditorTokens = [{ name: 'revisore.dei.conti', token: hashToken('aud-1') }];
          c.parties[0].apiTokens = [hashToken('party-a')];
        }),
      ),
    );
    expect(registry.staffMember('op-rossi')).toEqual({ role: 'operator', name: 'm.rossi' });
    expect(registry.staffMember('op-anonymous')).toEqual({ role: 'operator', name: `operator-${hashToken('op-anonymous').slice(7, 15)}` });
    expect(registry.staffMember('aud-1')).toEqual({ role: 'auditor', name: 'revisore.dei.conti' });
    expect(registry.isOperatorToken('op-rossi')).toBe(true);
    expect(registry.isAuditorToken('op-rossi')).toBe(false);
    expect(registry.isAuditorToken('aud-1')).toBe(true);
    expect(registry.staffMember('party-a')).toBeUndefined();
    expect(registry.staffMember('nobody')).toBeUndefined();
  });

  it('refuses a name the log could not show plainly, naming the field', () => {
    const err = refusal(configWith((c) => (c.node.operatorTokens = [{ name: 'Mario Rossi <m@x>', token: hashToken('t') }])));
    expect(problemAbout(err, 'node.operatorTokens[0]')).toBeDefined();
  });
});
