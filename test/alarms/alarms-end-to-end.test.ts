/**
 * Alarms end to end, with two real nodes over HTTP: the Regione's node is down, a message to it stays
 * ACCEPTED past the (short) stuck threshold, the stuck-messages alarm is raised once — a real loopback
 * webhook receives it, HMAC-signed, and the e-mail reaches a real SMTP server on loopback — an operator
 * acknowledges it over HTTP (a chained `operator` record with the operator's name, the chain still
 * verifies; an auditor is refused), the Regione comes back, the message is delivered, and the alarm is
 * cleared: the webhook receives `cleared`.
 */
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { hashToken } from '../../src/core/token-hash.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';
import { startSmtpCaptureServer, type SmtpCaptureServer } from '../fixtures/pec/smtp-capture-server.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';
const SECRET = 'segreto-condiviso-per-gli-allarmi-0123456789';
const OPERATOR = 'maria.rossi';

interface Received {
  readonly body: { event: string; alarm: Record<string, any>; node: { name: string; pdd: string } };
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly raw: string;
}

let fed: InProcessFederation;
let regioneAgain: RunningNode | undefined;
let smtp: SmtpCaptureServer;
let webhook: Server;
const received: Received[] = [];

beforeAll(async () => {
  smtp = await startSmtpCaptureServer({ user: 'allarmi', password: 'password-smtp' });
  webhook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({
        body: JSON.parse(raw),
        raw,
        timestamp: req.headers['x-tramite-timestamp'] as string | undefined,
        signature: req.headers['x-tramite-signature'] as string | undefined,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const port = (webhook.address() as { port: number }).port;
  fed = await startFederation('alarms', ({ cst }) => {
    writeFileSync(join(cst.dir, 'alarm-webhook.secret'), SECRET);
    writeFileSync(join(cst.dir, 'smtp.password'), 'password-smtp');
    writeFileSync(join(cst.dir, 'smtp-ca.pem'), smtp.certPem);
    patchConfig(cst, (raw) => {
      raw.node.operatorTokens = [{ name: OPERATOR, token: hashToken(cst.operatorToken) }];
      raw.alarms = {
        evaluateEverySeconds: 1,
        stuckAfterSeconds: 3,
        remindEveryMinutes: 0,
        webhook: { url: `http://127.0.0.1:${port}/allarmi`, timeoutMs: 2000, secretFile: 'alarm-webhook.secret' },
        email: {
          smtp: { host: '127.0.0.1', port: smtp.port, user: 'allarmi', passwordFile: 'smtp.password', caFile: 'smtp-ca.pem' },
          from: 'tramite@cst.example.it',
          to: ['reperibile@cst.example.it'],
        },
      };
    });
  });
  // The peer has been up (ready: its queues and log answer), and goes down: its node stops, its port closed.
  // Stopping a node within milliseconds of its start, while its queues' first Redis commands are in
  // flight, can leave ioredis rejections nobody awaits (seen in CI): not what this test is about.
  for (const until = Date.now() + 30_000; ;) {
    const ready = await request(`${fed.nodes.regione.baseUrl}/health/ready`);
    await ready.body.dump();
    if (ready.statusCode === 200) break;
    if (Date.now() > until) throw new Error(`the Regione's node was not ready within 30 s (${ready.statusCode})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await fed.regione.close();
}, 60_000);

afterAll(async () => {
  await fed?.cst.close();
  await regioneAgain?.close();
  await fed?.backOffice.stop();
  await new Promise((resolve) => webhook?.close(resolve));
  await smtp?.close();
});

async function api(method: 'GET' | 'POST', path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await request(`${fed.nodes.cst.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, json: await res.body.json() };
}

const stuckEvents = (event: string) => received.filter((r) => r.body.event === event && r.body.alarm.rule === 'stuck-messages');

describe('alarms end to end: a peer down → stuck-messages raised → acknowledged → peer back → cleared', () => {
  it('raises once (webhook and e-mail), is acknowledged by a named operator in the chained log, and clears when the message is delivered', async () => {
    const cst = fed.nodes.cst;
    const sent = await api('POST', '/api/v1/messages', cst.tokens[FRANCAVILLA]!, {
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload: '<v:N xmlns:v="urn:t">1</v:N>',
    });
    expect(sent.status).toBe(202);
    const id = sent.json.id as string;

    // Raised, once: the webhook hears it, signed with the shared secret.
    await expect.poll(() => stuckEvents('raised').length, { timeout: 20_000, interval: 200 }).toBe(1);
    const raised = stuckEvents('raised')[0]!;
    expect(raised.body.node).toEqual({ name: 'cst-chieti', pdd: 'CSTChietiSPCoopIT' });
    expect(raised.body.alarm).toMatchObject({ rule: 'stuck-messages', subject: 'ComunicazioneVariazione', state: 'raised' });
    expect(raised.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(`${raised.timestamp}.${raised.raw}`).digest('hex')}`);
    const alarmId = raised.body.alarm.id as string;

    // And by e-mail, with an Italian subject naming node, rule and subject.
    await expect.poll(() => smtp.submissions.length, { timeout: 10_000, interval: 200 }).toBeGreaterThanOrEqual(1);
    const mail = smtp.submissions[0]!;
    expect(mail.rcptTo).toEqual(['reperibile@cst.example.it']);
    expect(mail.secure).toBe(true);
    const parsed = await simpleParser(mail.raw);
    expect(parsed.subject).toBe('[Tramite cst-chieti] Allarme sollevato (avviso): stuck-messages — ComunicazioneVariazione');
    expect(parsed.text).toContain(`Identificativo: ${alarmId}`);

    // The board lists it, to operators and auditors alike; party tokens are refused.
    const listed = await api('GET', '/tramite/operator/alarms', cst.operatorToken);
    expect(listed.status).toBe(200);
    expect(listed.json.alarms.filter((a: any) => a.rule === 'stuck-messages')).toMatchObject([{ id: alarmId, state: 'raised' }]);
    expect((await api('GET', '/tramite/operator/alarms', cst.auditorToken)).status).toBe(200);
    expect((await api('GET', '/tramite/operator/alarms', cst.tokens[FRANCAVILLA]!)).json.error.code).toBe('TRAMITE_ERR_STAFF_ONLY');

    // The metrics show it, read from the log store.
    const scrape = async () =>
      (await (
        await request(`${cst.baseUrl}/metrics`, { headers: { authorization: `Bearer ${cst.operatorToken}` } })
      ).body.text()) as string;
    expect(await scrape()).toMatch(/^tramite_alarms\{rule="stuck-messages",severity="warning",state="raised",node="cst-chieti"\} 1$/m);

    // An auditor may not acknowledge; an operator does, by name, in the chained log.
    const refused = await api('POST', `/tramite/operator/alarms/${alarmId}/acknowledge`, cst.auditorToken, {});
    expect(refused).toMatchObject({ status: 403, json: { error: { code: 'TRAMITE_ERR_AUDITOR_READ_ONLY' } } });
    const acked = await api('POST', `/tramite/operator/alarms/${alarmId}/acknowledge`, cst.operatorToken, { note: 'Regione avvisata' });
    expect(acked.status).toBe(200);
    expect(acked.json.alarm).toMatchObject({
      id: alarmId,
      state: 'acknowledged',
      acknowledged: { by: { role: 'operator', name: OPERATOR }, note: 'Regione avvisata' },
    });
    const records = await api('GET', `/api/v1/audit/records?id=${encodeURIComponent(alarmId)}`, cst.auditorToken);
    expect(records.json.records).toMatchObject([
      {
        kind: 'operator',
        action: 'alarm-acknowledged',
        messageId: alarmId,
        detail: { by: { role: 'operator', name: OPERATOR }, note: 'Regione avvisata' },
      },
    ]);
    const verified = await api('POST', '/api/v1/audit/verify', cst.auditorToken);
    expect(verified.json).toMatchObject({ ok: true, issues: [] });
    await expect.poll(() => stuckEvents('acknowledged').length, { timeout: 10_000, interval: 200 }).toBe(1);
    // Acknowledged is not hidden: still on the board, and never raised a second time.
    expect((await api('GET', '/tramite/operator/alarms', cst.operatorToken)).json.alarms.map((a: any) => a.id)).toContain(alarmId);

    // The peer is back: the message is delivered and the alarm cleared.
    regioneAgain = await serveNode(loadConfig(fed.nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
    await expect
      .poll(async () => (await api('GET', `/api/v1/messages/${encodeURIComponent(id)}`, cst.tokens[FRANCAVILLA]!)).json.status, {
        timeout: 30_000,
        interval: 200,
      })
      .toBe('DELIVERED');
    await expect.poll(() => stuckEvents('cleared').length, { timeout: 10_000, interval: 200 }).toBe(1);
    expect(stuckEvents('cleared')[0]!.body.alarm).toMatchObject({ id: alarmId, state: 'cleared', clearedAt: expect.any(String) });
    expect(stuckEvents('raised')).toHaveLength(1);
    expect((await api('GET', '/tramite/operator/alarms', cst.operatorToken)).json.alarms.map((a: any) => a.id)).not.toContain(alarmId);
    const recent = await api('GET', '/tramite/operator/alarms?include=recent&limit=10', cst.auditorToken);
    expect(recent.json.alarms.find((a: any) => a.id === alarmId)).toMatchObject({ state: 'cleared' });

    // Nothing left to acknowledge: 409 for the cleared alarm, 404 for one that never was.
    expect(await api('POST', `/tramite/operator/alarms/${alarmId}/acknowledge`, cst.operatorToken, {})).toMatchObject({
      status: 409,
      json: { error: { code: 'TRAMITE_ERR_ALARM_CLEARED' } },
    });
    expect(await api('POST', '/tramite/operator/alarms/nessuno/acknowledge', cst.operatorToken)).toMatchObject({
      status: 404,
      json: { error: { code: 'TRAMITE_ERR_ALARM_NOT_FOUND' } },
    });

    // Each event by e-mail too: raised, acknowledged, cleared.
    await expect.poll(() => smtp.submissions.length, { timeout: 10_000, interval: 200 }).toBe(3);
    expect((await simpleParser(smtp.submissions[2]!.raw)).subject).toBe(
      '[Tramite cst-chieti] Allarme rientrato (avviso): stuck-messages — ComunicazioneVariazione',
    );

    // The metrics counted the notifications.
    const metrics = await request(`${cst.baseUrl}/metrics`, { headers: { authorization: `Bearer ${cst.operatorToken}` } });
    const text2 = await metrics.body.text();
    expect(text2).toMatch(/tramite_alarm_notifications_total\{channel="webhook",outcome="sent",node="cst-chieti"\} 3$/m);
    expect(text2).toMatch(/tramite_alarm_notifications_total\{channel="email",outcome="sent",node="cst-chieti"\} 3$/m);
  }, 90_000);
});
