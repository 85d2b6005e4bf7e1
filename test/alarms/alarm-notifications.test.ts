/**
 * The notification channels against real loopback servers: the webhook retries a refusal and a silence
 * within its bounds and signs its body; a channel that keeps failing is logged and counted, and the
 * alarm stays on the board.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLogStore } from '../../src/log/sqlite-log-store.js';
import type { Alarm } from '../../src/node/alarms/alarm.js';
import { LoggedAlarmBoard } from '../../src/node/alarms/alarm-board.js';
import { AlarmNotifier } from '../../src/node/alarms/notifications/alarm-notifier.js';
import { AlarmWebhook } from '../../src/node/alarms/notifications/alarm-webhook.js';
import { messageLog, SteppingClock } from '../log/log-fixtures.js';

const ALARM: Alarm = {
  id: 'a1',
  rule: 'backlog',
  subject: 'deliver',
  severity: 'warning',
  state: 'raised',
  raisedAt: '2031-03-03T09:00:00.000Z',
  summary: 'coda deliver: 1200 job in attesa',
};
const NODE = { name: 'cst-chieti', pdd: 'CSTChietiSPCoopIT' };
const noWait = async () => undefined;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A webhook receiver answering each request with the next of `answers` (`silent`: never answers). */
async function receiver(
  answers: Array<number | 'silent'>,
): Promise<{ url: string; bodies: Array<{ raw: string; headers: Record<string, unknown> }> }> {
  const bodies: Array<{ raw: string; headers: Record<string, unknown> }> = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      bodies.push({ raw, headers: req.headers });
      const answer = answers[Math.min(n++, answers.length - 1)]!;
      if (answer !== 'silent') res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/allarmi`, bodies };
}

describe('alarm webhook', () => {
  it('retries a 503 and a silent attempt, then delivers; every attempt signed over timestamp and body', async () => {
    const r = await receiver([503, 'silent', 204]);
    const dir = mkdtempSync(join(tmpdir(), 'tramite-alarm-webhook-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'secret'), 'un-segreto-lungo-abbastanza-42\n');
    const hook = new AlarmWebhook({ url: r.url, timeoutMs: 300, attempts: 3, secretFile: join(dir, 'secret') }, noWait);
    await hook.send({ event: 'raised', alarm: ALARM, node: NODE });
    expect(r.bodies).toHaveLength(3);
    for (const b of r.bodies) {
      expect(JSON.parse(b.raw)).toEqual({ event: 'raised', alarm: ALARM, node: NODE });
      const mac = createHmac('sha256', 'un-segreto-lungo-abbastanza-42')
        .update(`${b.headers['x-tramite-timestamp']}.${b.raw}`)
        .digest('hex');
      expect(b.headers['x-tramite-signature']).toBe(`sha256=${mac}`);
    }
  });

  it('gives up after its attempts with TRAMITE_ERR_ALARM_NOTIFICATION_FAILED; a short secret is refused at start', async () => {
    const r = await receiver([500]);
    const hook = new AlarmWebhook({ url: r.url, timeoutMs: 1000, attempts: 2 }, noWait);
    await expect(hook.send({ event: 'raised', alarm: ALARM, node: NODE })).rejects.toMatchObject({
      code: 'TRAMITE_ERR_ALARM_NOTIFICATION_FAILED',
    });
    expect(r.bodies).toHaveLength(2);
    const dir = mkdtempSync(join(tmpdir(), 'tramite-alarm-webhook-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'short'), 'corto');
    expect(() => new AlarmWebhook({ url: r.url, timeoutMs: 1000, attempts: 1, secretFile: join(dir, 'short') })).toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_CONFIG_INVALID' }),
    );
  });
});

describe('a failing channel', () => {
  it('is logged and counted as failed; the alarm stays on the board', async () => {
    const r = await receiver([500]);
    const dir = mkdtempSync(join(tmpdir(), 'tramite-alarm-board-'));
    const store = new SqliteLogStore(join(dir, 'log.sqlite'));
    const log = messageLog(store);
    cleanups.push(async () => {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const counted: string[] = [];
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const notifier = new AlarmNotifier({
      channels: [new AlarmWebhook({ url: r.url, timeoutMs: 1000, attempts: 2 }, noWait)],
      node: NODE,
      log: logger,
      counted: (channel, outcome) => counted.push(`${channel} ${outcome}`),
    });
    const board = new LoggedAlarmBoard({
      store,
      operatorActions: log,
      notify: (e, a) => notifier.notify(e, a),
      clock: new SteppingClock(),
      log: logger,
    });
    await board.reconcile('backlog', [
      { rule: 'backlog', subject: 'deliver', severity: 'warning', summary: 'coda deliver: 1200 job in attesa' },
    ]);
    await notifier.idle();
    expect(counted).toEqual(['webhook failed']);
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { code: 'TRAMITE_ERR_ALARM_NOTIFICATION_FAILED', channel: 'webhook', event: 'raised' },
    ]);
    expect((await board.current()).map((a) => [a.rule, a.state])).toEqual([['backlog', 'raised']]);
  });
});
