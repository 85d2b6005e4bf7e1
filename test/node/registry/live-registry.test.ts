/**
 * LiveRegistry over a real configuration file (made by `tramite init`) and a real SQLite message log:
 * a good file applied as a new version, recorded in the hash-chained log with its digest and who asked;
 * a bad file or a restart-only change refused with the field and the fix, the running registry kept.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initNode } from '../../../src/config/init-node.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { ConfigError } from '../../../src/core/errors.js';
import { hashToken } from '../../../src/core/token-hash.js';
import { verifyChain } from '../../../src/log/chain-verifier.js';
import type { MessageLog } from '../../../src/log/message-log.js';
import { SqliteLogStore } from '../../../src/log/sqlite-log-store.js';
import { LiveRegistry, REGISTRY_LOG_ID, SIGHUP_CALLER } from '../../../src/node/registry/live-registry.js';
import type { Registry } from '../../../src/node/registry/registry.js';
import { messageLog, SteppingClock } from '../../log/log-fixtures.js';

type Json = Record<string, any>;

let dir: string;
let full: Json;
let file: string;
let store: SqliteLogStore;
let log: MessageLog;
let applied: Registry[];
const clock = new SteppingClock();
const OPERATOR = { role: 'operator', name: 'm.rossi' } as const;

/** Writes the config file: the init's, with only ComuneA hosted, edited by `edit`. */
function writeConfig(edit: (c: Json) => void = () => undefined): void {
  const c = structuredClone(full);
  c.parties = c.parties.filter((p: Json) => p.code === 'SPC/ComuneA');
  edit(c);
  writeFileSync(file, JSON.stringify(c, null, 2));
}

const withComuneB = (c: Json): void => void c.parties.push(structuredClone(full['parties'].find((p: Json) => p.code === 'SPC/ComuneB')));

function open(): Promise<LiveRegistry> {
  return LiveRegistry.open(loadConfig(file), {
    load: () => loadConfig(file),
    versionLog: { recordOperatorAction: (a) => log.recordOperatorAction(a), recordsOf: (id) => store.recordsOf(id) },
    applied: (next) => void applied.push(next),
    log: pino({ level: 'silent' }),
    clock,
  });
}

/** The records of registry versions in the log. */
const versionRecords = () => store.recordsOf(REGISTRY_LOG_ID);

/** The ConfigError a reload is refused with. */
async function refusal(live: LiveRegistry): Promise<ConfigError> {
  const err = await live.reload(OPERATOR).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-live-registry-'));
  full = JSON.parse(readFileSync(initNode({ dir, parties: ['SPC/ComuneA', 'SPC/ComuneB'] }).configFile, 'utf8'));
  file = join(dir, 'reloadable.json');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(() => {
  store = new SqliteLogStore(join(mkdtempSync(join(dir, 'log-')), 'log.sqlite'));
  log = messageLog(store, { clock });
  applied = [];
  writeConfig();
});
afterEach(async () => {
  await log.close();
});

describe('the version a node starts with', () => {
  it('is version 1 on a log with no version recorded, and adds no record', async () => {
    const first = await open();
    expect(first.version).toMatchObject({ version: 1, by: 'operator:node-start', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(first.current().version).toBe(1);
    expect(await versionRecords()).toEqual([]);
  });

  it('continues the numbers of the log: the same content (laid out otherwise) the same version, changed content the next, recorded', async () => {
    const first = await open();
    const v1 = first.version;
    writeConfig(withComuneB);
    const v2 = (await first.reload(OPERATOR)).version;
    // The same content, laid out otherwise (keys in another order, no indentation): the same digest, no record.
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Json;
    writeFileSync(file, JSON.stringify(Object.fromEntries(Object.entries(raw).reverse())));
    const again = await open();
    expect(again.version).toEqual(v2);
    expect(await versionRecords()).toHaveLength(1);
    writeConfig();
    const restarted = await open();
    expect(restarted.version).toMatchObject({ version: 3, by: 'operator:node-start', digest: v1.digest });
    expect((await restarted.history()).map((v) => v.version)).toEqual([2, 3]);
  });
});

describe('a reload', () => {
  it('applies a good file as the next version, recorded in the chained log with its digest and who asked', async () => {
    const live = await open();
    const before = live.current();
    writeConfig(withComuneB);
    const outcome = await live.reload(OPERATOR);
    expect(outcome).toMatchObject({ applied: true, version: { version: 2, by: 'operator:m.rossi' }, previous: { version: 1 } });
    expect(outcome.version.digest).not.toBe(outcome.previous.digest);
    // The new snapshot has the party; the one taken before the reload (work in flight) still has not.
    expect(live.current().hostedParty('SPC/ComuneB')).toBeDefined();
    expect(live.current().version).toBe(2);
    expect(before.hostedParty('SPC/ComuneB')).toBeUndefined();
    expect(applied.map((r) => r.version)).toEqual([2]);
    const [record] = await versionRecords();
    expect(record).toMatchObject({
      kind: 'operator',
      action: 'registry-applied',
      from: 'operator:m.rossi',
      detail: { version: 2, digest: outcome.version.digest, previous: { version: 1, digest: outcome.previous.digest }, configPath: file },
    });
    expect((await verifyChain(store.range(1, (await store.head()).seq), [])).ok).toBe(true);
    expect(await live.history()).toEqual([outcome.version]);
  });

  it('reloads the staff tokens: a new operator token is known at once, a removed one no more', async () => {
    const live = await open();
    writeConfig((c) => (c.node.operatorTokens = [{ name: 'l.bianchi', token: hashToken('op-bianchi') }]));
    await live.reload(SIGHUP_CALLER);
    expect(live.current().staffMember('op-bianchi')).toEqual({ role: 'operator', name: 'l.bianchi' });
    expect(live.version.by).toBe('operator:signal:SIGHUP');
  });

  it('of an unchanged file applies nothing and records nothing', async () => {
    const live = await open();
    const outcome = await live.reload(OPERATOR);
    expect(outcome).toMatchObject({ applied: false, version: { version: 1 } });
    expect(await versionRecords()).toEqual([]);
    expect(applied).toEqual([]);
  });

  it('refuses an invalid file with the field and the fix, as at start; the running registry is kept', async () => {
    const live = await open();
    const running = live.current();
    writeConfig((c) => {
      withComuneB(c);
      c.parties[1].cert = 'pki/ComuneB.cert.pem';
    });
    const err = await refusal(live);
    expect(err.code).toBe('TRAMITE_ERR_CONFIG_INVALID');
    expect(err.message).toMatch(/config parties\[1\]\.cert: is not a known property — fix: .*remove it or use one of: code, /);
    expect(live.current()).toBe(running);
    expect(live.version.version).toBe(1);
    expect(await versionRecords()).toEqual([]);
    expect(applied).toEqual([]);
  });

  it('refuses a file that is not JSON, naming the line; the running registry is kept', async () => {
    const live = await open();
    writeFileSync(file, '{ "node": ');
    const err = await refusal(live);
    expect(err.code).toBe('TRAMITE_ERR_CONFIG_UNREADABLE');
    expect(err.message).toMatch(/is not valid JSON at line 1, column \d+: .* — fix: correct the JSON there/);
    expect(live.current().version).toBe(1);
  });

  it('refuses a change that needs a restart, naming each field, and applies nothing else of the file', async () => {
    const live = await open();
    writeConfig((c) => {
      withComuneB(c); // reloadable, but not without the rest
      c.node.listen.port = 9999;
      c.queue.concurrency = 3;
    });
    const err = await refusal(live);
    expect(err.code).toBe('TRAMITE_ERR_RELOAD_NEEDS_RESTART');
    expect(err.message).toMatch(/^config node\.listen: needs a restart \(.*\) — fix: restore it and reload, or restart the node$/m);
    expect(err.message).toMatch(/^config queue\.concurrency: needs a restart/m);
    expect(err.field).toBe('node.listen');
    expect(live.current().hostedParty('SPC/ComuneB')).toBeUndefined();
    expect(await versionRecords()).toEqual([]);
  });

  it("refuses a change of an adapter's options, and applies a change of only its services", async () => {
    writeConfig((c) => {
      c.node.development = true;
      c.services = [{ provider: 'SPC/ComuneA', name: 'Eco', profile: 'sincrono', envelope: 'egov' }];
      c.parties[0].adapters = [{ use: 'dev-echo', services: [] }];
    });
    const live = await open();
    writeConfig((c) => {
      c.node.development = true;
      c.services = [{ provider: 'SPC/ComuneA', name: 'Eco', profile: 'sincrono', envelope: 'egov' }];
      c.parties[0].adapters = [{ use: 'dev-echo', services: ['Eco'] }];
    });
    expect((await live.reload(OPERATOR)).applied).toBe(true);
    writeConfig((c) => {
      c.node.development = true;
      c.services = [{ provider: 'SPC/ComuneA', name: 'Eco', profile: 'sincrono', envelope: 'egov' }];
      c.parties[0].adapters = [{ use: 'dev-echo', services: ['Eco'], options: { delayMs: 5 } }];
    });
    const err = await refusal(live);
    expect(err.code).toBe('TRAMITE_ERR_RELOAD_NEEDS_RESTART');
    expect(err.message).toMatch(/^config parties\[0\]\.adapters: needs a restart \(the adapters of SPC\/ComuneA and their options/m);
  });

  it('runs one at a time: two asked together apply the file once', async () => {
    const live = await open();
    writeConfig(withComuneB);
    const [a, b] = await Promise.all([live.reload(OPERATOR), live.reload(SIGHUP_CALLER)]);
    expect([a.applied, b.applied]).toEqual([true, false]);
    expect(b.version).toEqual(a.version);
    expect(await versionRecords()).toHaveLength(1);
  });
});
