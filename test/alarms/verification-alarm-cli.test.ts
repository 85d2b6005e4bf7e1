/**
 * `tramite log verify --config` over a node's own log reaches its alarm board: a log found tampered
 * raises log-verification-failed in the log store (where the node reads its alarms) and the CLI notifies
 * the configured webhook; a clean run afterwards clears it. With --db (a copy, an auditor's file) the
 * board is left alone.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { MessageLog } from '../../src/log/message-log.js';
import { SqliteLogStore } from '../../src/log/sqlite-log-store.js';
import { patchConfig } from '../../test-support/in-process-federation.js';
import { runCli } from '../cli/run-cli.js';

let cst: DemoNode;
let webhook: Server;
const events: Array<{ event: string; alarm: { rule: string; subject: string } }> = [];

beforeAll(async () => {
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      events.push(JSON.parse(body));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const port = (webhook.address() as { port: number }).port;
  ({ cst } = await writeDemoFederation(mkdtempSync(join(tmpdir(), 'tramite-verify-alarm-')), () => 'http://127.0.0.1:9/', {
    plainHttp: true,
  }));
  patchConfig(cst, (raw) => (raw.alarms = { webhook: { url: `http://127.0.0.1:${port}/allarmi` } }));
  const config = loadConfig(cst.configFile);
  const log = new MessageLog({ store: new SqliteLogStore(config.log.sqliteFile), node: config.node.pdd, clock: { now: () => new Date() } });
  for (const target of ['a', 'b', 'c'])
    await log.recordOperatorAction({ by: { role: 'operator', name: 'maria.rossi' }, action: 'purge-requested', target });
  await log.close();
});

afterAll(async () => {
  await new Promise((resolve) => webhook?.close(resolve));
});

async function activeRules(): Promise<string[]> {
  const store = new SqliteLogStore(loadConfig(cst.configFile).log.sqliteFile);
  try {
    return (await store.activeAlarms()).map((a) => `${a.rule} ${a.subject}`);
  } finally {
    await store.close();
  }
}

async function setState(seq: number, state: string): Promise<void> {
  const store = new SqliteLogStore(loadConfig(cst.configFile).log.sqliteFile);
  try {
    store.database.prepare('UPDATE log_records SET state = ? WHERE seq = ?').run(state, seq);
  } finally {
    await store.close();
  }
}

describe('tramite log verify --config and the alarm board', () => {
  it('tampered: exit 1 and log-verification-failed raised (webhook told); intact again: exit 0 and cleared', async () => {
    expect((await runCli(['log', 'verify', '--config', cst.configFile])).code).toBe(0);
    expect(await activeRules()).toEqual([]);

    await setState(2, 'FORGED');
    // An auditor's --db run reports nothing to the board.
    expect((await runCli(['log', 'verify', '--db', loadConfig(cst.configFile).log.sqliteFile])).code).toBe(1);
    expect(await activeRules()).toEqual([]);
    const bad = await runCli(['log', 'verify', '--config', cst.configFile]);
    expect(bad.code).toBe(1);
    expect(await activeRules()).toEqual(['log-verification-failed message-log']);
    expect(events).toMatchObject([{ event: 'raised', alarm: { rule: 'log-verification-failed', subject: 'message-log' } }]);

    await setState(2, 'RECORDED');
    const good = await runCli(['log', 'verify', '--config', cst.configFile]);
    expect(good.code, good.stderr).toBe(0);
    expect(await activeRules()).toEqual([]);
    expect(events.map((e) => e.event)).toEqual(['raised', 'cleared']);
  });
});
