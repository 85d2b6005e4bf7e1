/**
 * GET /metrics on a real node (the demo federation in process, over mutual TLS, with its REST APIs):
 * messages delivered and refused, REST calls and a refusal, then a peer gone — and the scrape shows
 * what an operator would look for, right. promtool (Debian's prometheus package) is the independent
 * check of the exposition, the alert rules and two alerts; the Grafana dashboard's queries name only
 * metrics the node exports.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DemoNode } from '../../src/demo/demo-federation.js';
import { callApi, clientOf, patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';
import { callRest, ORTONA, REGIONE, startRestFederation, type RestFederation } from '../integration/rest-gateway-fixture.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ALERTS = join(ROOT, 'config', 'monitoring', 'tramite-alerts.yml');
const DASHBOARD = join(ROOT, 'config', 'monitoring', 'tramite-dashboard.json');
const ALERT_TESTS = join(import.meta.dirname, 'tramite-alerts.promtool-test.yml');
const CF = 'RSSMRA85T10A562S';

async function scrape(node: DemoNode, token: string | undefined): Promise<{ status: number; type: string; text: string }> {
  const dispatcher = clientOf(node);
  const res = await request(`${node.baseUrl}/metrics`, {
    ...(dispatcher ? { dispatcher } : {}),
    ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
}

/** One sample of the exposition: its name, labels and value. */
interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
function valueOf(all: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

async function send(fed: RestFederation, service: string, i: number): Promise<string> {
  const res = await callApi(fed.nodes.cst, ORTONA, 'POST', '/api/v1/messages', {
    from: ORTONA,
    to: REGIONE,
    service,
    action: 'Notifica',
    payload: `<v:N xmlns:v="urn:t">${i}</v:N>`,
  });
  expect(res.status, JSON.stringify(res.json)).toBe(202);
  return res.json['id'] as string;
}

async function settled(fed: RestFederation, id: string, status: string): Promise<Record<string, any>> {
  // vi.waitFor, not expect.poll: this also runs in beforeAll.
  return vi.waitFor(
    async () => {
      const rec = (await callApi(fed.nodes.cst, ORTONA, 'GET', `/api/v1/messages/${encodeURIComponent(id)}`)).json;
      if (rec['status'] !== status) throw new Error(`${id} is ${rec['status']}, not yet ${status}`);
      return rec;
    },
    { timeout: 30_000, interval: 200 },
  );
}

describe('GET /metrics', () => {
  let fed: RestFederation;
  let regioneUp = true;
  let failedCode: string;
  let scraped: string;
  let scrapedRegione: string;

  beforeAll(async () => {
    fed = await startRestFederation('metrics', () => 'http://127.0.0.1:9/unused');
    const delivered = [await send(fed, 'ComunicazioneVariazione', 1), await send(fed, 'ComunicazioneVariazione', 2)];
    delivered.push(await send(fed, 'ComunicazioneVariazione', 3));
    for (const id of delivered) await settled(fed, id, 'DELIVERED');
    // A service the Regione no longer offers: refused by the peer, FAILED for good.
    const refused = await settled(fed, await send(fed, 'ServizioDismesso', 4), 'FAILED');
    failedCode = refused['error']['code'];
    const ok = await callRest(fed.nodes.cst, ORTONA, 'GET', `/rest/out/SPC%2FRegioneAbruzzo/tributi/v1/residenti/${CF}`);
    expect(ok.status, ok.text).toBe(200);
    // AUDIT_REST_01 without the audit claims: refused at this node before anything is sent.
    const no = await callRest(fed.nodes.cst, ORTONA, 'GET', `/rest/out/RegioneAbruzzo/catasto/v1/residenti/${CF}`);
    expect(no.status).toBeGreaterThanOrEqual(400);
    scraped = (await scrape(fed.nodes.cst, fed.nodes.cst.operatorToken)).text;
    scrapedRegione = (await scrape(fed.nodes.regione, fed.nodes.regione.operatorToken)).text;
  }, 120_000);

  afterAll(async () => {
    if (!fed) return;
    if (regioneUp) await fed.close();
    else {
      await fed.cst.close();
      await fed.backOffice.stop();
      await fed.api.stop();
      await fed.simulator.stop();
    }
  });

  it('refuses a scrape without an operator token (node.metrics.public is false), and a party token', async () => {
    const none = await scrape(fed.nodes.cst, undefined);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text)).toMatchObject({ error: { code: 'TRAMITE_ERR_OPERATOR_ONLY' } });
    const party = await scrape(fed.nodes.cst, fed.nodes.cst.tokens[ORTONA]);
    expect(party.status).toBe(401);
    // Another node's operator token is not this node's.
    expect((await scrape(fed.nodes.cst, fed.nodes.regione.operatorToken)).status).toBe(401);
  });

  it("answers an operator in Prometheus's text format", async () => {
    const res = await scrape(fed.nodes.cst, fed.nodes.cst.operatorToken);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('shows the messages delivered and the one refused, by peer, service and state, with their latency', () => {
    const all = samples(scraped);
    const out = { direction: 'out', peer: 'regione-abruzzo', node: 'cst-chieti' };
    expect(valueOf(all, 'tramite_messages', { ...out, service: 'ComunicazioneVariazione', state: 'DELIVERED' })).toBe(3);
    expect(valueOf(all, 'tramite_messages', { ...out, service: 'ServizioDismesso', state: 'FAILED' })).toBe(1);
    expect(valueOf(all, 'tramite_delivery_latency_seconds_count', { service: 'ComunicazioneVariazione' })).toBe(3);
    expect(valueOf(all, 'tramite_delivery_attempts_total', { peer: 'regione-abruzzo', service: 'ComunicazioneVariazione' })).toBe(3);
    expect(failedCode).toMatch(/^(TRAMITE_ERR|EGOV_IT)_/);
    expect(
      valueOf(all, 'tramite_delivery_failures_total', {
        peer: 'regione-abruzzo',
        service: 'ServizioDismesso',
        code: failedCode,
        outcome: 'final',
      }),
    ).toBe(1);
    expect(valueOf(all, 'tramite_log_appended_records_total')).toBeGreaterThan(0);
  });

  it("shows the Regione's side: the three received from the CST's node and handed over, in its own registry", () => {
    const all = samples(scrapedRegione);
    const inbound = { node: 'regione-abruzzo', direction: 'in', peer: 'cst-chieti', service: 'ComunicazioneVariazione' };
    expect(valueOf(all, 'tramite_messages', { ...inbound, state: 'DISPATCHED' })).toBe(3);
    // The CST's outbound counts are not in the Regione's registry: one registry per node, in one process.
    expect(all.some((s) => s.name === 'tramite_delivery_latency_seconds_count' && s.labels['service'] === 'ComunicazioneVariazione')).toBe(
      false,
    );
  });

  it('shows the REST calls by API, direction and status, and the refusal by code', () => {
    const all = samples(scraped);
    expect(valueOf(all, 'tramite_rest_calls_total', { api: 'tributi', version: 'v1', direction: 'out', status: '200' })).toBe(1);
    const refusals = all.filter((s) => s.name === 'tramite_rest_refusals_total' && s.labels['api'] === 'catasto');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.labels).toMatchObject({ direction: 'out', code: expect.stringMatching(/^TRAMITE_ERR_/) });
    expect(refusals[0]!.value).toBe(1);
  });

  it("shows each certificate's time to expiry: the node's TLS CA's, in days as its notAfter gives them", () => {
    const ca = new X509Certificate(readFileSync(fed.nodes.cst.caFile));
    const days = Math.floor((Date.parse(ca.validTo) - Date.now()) / 86_400_000);
    const series = samples(scraped).filter(
      (s) => s.name === 'tramite_certificate_expires_in_seconds' && s.labels['fingerprint_sha256'] === ca.fingerprint256,
    );
    expect(series.length).toBeGreaterThan(0);
    for (const s of series) expect(Math.floor(s.value / 86_400)).toBe(days);
    const notAfter = samples(scraped).find(
      (s) => s.name === 'tramite_certificate_not_after_timestamp_seconds' && s.labels['fingerprint_sha256'] === ca.fingerprint256,
    );
    expect(notAfter?.value).toBe(Date.parse(ca.validTo) / 1000);
  });

  it('shows the queues empty once all is settled, and the process metrics', () => {
    const all = samples(scraped);
    for (const queue of ['deliver', 'dispatch', 'notify']) {
      expect(valueOf(all, 'tramite_queue_up', { queue })).toBe(1);
      expect(valueOf(all, 'tramite_queue_waiting_jobs', { queue })).toBe(0);
    }
    expect(valueOf(all, 'tramite_process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(valueOf(all, 'tramite_log_records_since_checkpoint')).toBeGreaterThanOrEqual(0);
  });

  it('passes promtool check metrics (lint clean)', () => {
    // promtool reads the exposition on stdin and exits non-zero on any problem, listing it.
    const out = execFileSync('promtool', ['check', 'metrics'], { input: scraped, encoding: 'utf8' });
    expect(out.trim()).toBe('');
  });

  it('ships alert rules that promtool accepts, and two alerts that fire as their unit tests say', () => {
    expect(execFileSync('promtool', ['check', 'rules', ALERTS], { encoding: 'utf8' })).toMatch(/SUCCESS: \d+ rules found/);
    expect(execFileSync('promtool', ['test', 'rules', ALERT_TESTS], { encoding: 'utf8' })).toMatch(/SUCCESS/);
  });

  it("ships a Grafana dashboard whose queries name only the node's metrics", () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const exported = new Set(samples(scraped).map((s) => s.name));
    // Counters and histograms the node has not yet incremented have no sample: their HELP line names them.
    for (const m of scraped.matchAll(/^# HELP (\S+) /gm)) exported.add(m[1]!);
    const used = new Set<string>();
    for (const p of dashboard.panels)
      for (const t of p.targets ?? []) for (const m of t.expr.matchAll(/\b(tramite_[a-z0-9_]+)/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(15);
    const histogramParts = (name: string) => [name, name.replace(/_(bucket|count|sum)$/, '')];
    const missing = [...used].filter((name) => !histogramParts(name).some((n) => exported.has(n)));
    expect(missing).toEqual([]);
  });

  it('a peer gone: the message waits in SENDING, its retry is a delayed job, and the failure code is counted', async () => {
    await fed.regione.close();
    regioneUp = false;
    const id = await send(fed, 'ComunicazioneVariazione', 5);
    await settled(fed, id, 'SENDING');
    const out = { direction: 'out', peer: 'regione-abruzzo', service: 'ComunicazioneVariazione' };
    let all: Sample[] = [];
    await expect
      .poll(
        async () => {
          all = samples((await scrape(fed.nodes.cst, fed.nodes.cst.operatorToken)).text);
          // The message counts are read from the log at most every 5 s: the poll waits for both.
          return [
            valueOf(all, 'tramite_queue_delayed_jobs', { queue: 'deliver' }),
            valueOf(all, 'tramite_messages', { ...out, state: 'SENDING' }),
          ];
        },
        { timeout: 20_000, interval: 100 },
      )
      .toEqual([1, 1]);
    expect(valueOf(all, 'tramite_messages_oldest_age_seconds', { ...out, state: 'SENDING' })).toBeGreaterThanOrEqual(0);
    expect(
      valueOf(all, 'tramite_delivery_failures_total', {
        peer: 'regione-abruzzo',
        service: 'ComunicazioneVariazione',
        code: 'TRAMITE_ERR_PEER_UNREACHABLE',
        outcome: 'retry',
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('node.metrics.public: true; a TSA and a webhook that do not answer', () => {
  let fed: InProcessFederation;
  beforeAll(async () => {
    fed = await startFederation('metrics-public', (nodes) =>
      patchConfig(nodes.cst, (raw) => {
        raw.node.metrics = { public: true };
        // Port 9 (discard) has no listener on the test machine: both are refused at once.
        raw.log.tsa = { url: 'http://127.0.0.1:9/tsa' };
        writeFileSync(join(nodes.cst.dir, 'webhook.secret'), 'a-webhook-secret', { mode: 0o600 });
        raw.parties.find((p: { code: string }) => p.code === ORTONA).notify = {
          url: 'http://127.0.0.1:9/hook',
          secretFile: 'webhook.secret',
        };
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await fed?.close();
  });

  it('answers a scrape without a token, and still refuses a token that is not an operator token', async () => {
    const open = await scrape(fed.nodes.cst, undefined);
    expect(open.status).toBe(200);
    expect(samples(open.text).some((s) => s.name === 'tramite_queue_up')).toBe(true);
    expect((await scrape(fed.nodes.cst, fed.nodes.cst.tokens[ORTONA])).status).toBe(401);
    // The other node keeps the default.
    expect((await scrape(fed.nodes.regione, undefined)).status).toBe(401);
  });

  it("counts the TSA's failures and the webhook's", async () => {
    const res = await callApi(fed.nodes.cst, ORTONA, 'POST', '/api/v1/messages', {
      from: ORTONA,
      to: REGIONE,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload: '<v:N xmlns:v="urn:t">1</v:N>',
    });
    expect(res.status).toBe(202);
    // The checkpoint is still signed, without its time-stamp.
    expect(await fed.cst.node.store.checkpointNow()).toBeDefined();
    await expect
      .poll(
        async () => {
          const all = samples((await scrape(fed.nodes.cst, undefined)).text);
          return [
            valueOf(all, 'tramite_tsa_failures_total')! >= 1,
            valueOf(all, 'tramite_webhook_failures_total', { party: ORTONA })! >= 1,
          ];
        },
        { timeout: 20_000, interval: 200 },
      )
      .toEqual([true, true]);
  });
});
