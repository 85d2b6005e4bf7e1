/** `tramite status` against a running node of the demo federation: one screen, JSON, and the exit statuses. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../src/cli/prometheus-text.js';
import { callApi, patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';
import { runCli } from './run-cli.js';

let fed: InProcessFederation;
let dir: string;

beforeAll(async () => {
  // Every certificate counts as expiring (a threshold of 100000 days), judged every second: an alarm to show.
  fed = await startFederation('status-cli', ({ cst }) =>
    patchConfig(cst, (raw) => (raw.alarms = { evaluateEverySeconds: 1, certificateDays: 100_000 })),
  );
  dir = mkdtempSync(join(tmpdir(), 'tramite-status-cli-'));
  writeFileSync(join(dir, 'operator.token'), `${fed.nodes.cst.operatorToken}\n`);
  writeFileSync(join(dir, 'party.token'), `${fed.nodes.cst.tokens['SPC/ComuneOrtona']}\n`);
  const sent = await callApi(fed.nodes.cst, 'SPC/ComuneOrtona', 'POST', '/api/v1/messages?wait=20', {
    from: 'SPC/ComuneOrtona',
    to: 'SPC/RegioneAbruzzo',
    service: 'ComunicazioneVariazione',
    action: 'Notifica',
    payload: '<v:N xmlns:v="urn:t">1</v:N>',
  });
  expect(sent.json['status']).toBe('DELIVERED');
}, 120_000);

afterAll(async () => {
  await fed?.close();
});

const args = (token = 'operator.token') => [
  'status',
  '--config',
  fed.nodes.cst.configFile,
  '--url',
  fed.nodes.cst.baseUrl,
  '--cacert',
  fed.nodes.cst.caFile,
  '--token-file',
  join(dir, token),
];

describe('tramite status', () => {
  it('prints one screen: ready, messages by state, queues, log, adapters, certificates; exit 0', async () => {
    const run = await runCli(args());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`cst-chieti at ${fed.nodes.cst.baseUrl}: ok, ready`);
    expect(run.stdout).toMatch(/^messages {2}out DELIVERED 1$/m);
    expect(run.stdout).toMatch(/^queues {4}.*deliver \d+ waiting/m);
    expect(run.stdout).toMatch(/^adapters {2}.*SPC\/ComuneFrancavillaAlMare protocollo up/m);
    expect(run.stdout).toMatch(/^certs {5}\d+ certificates, 0 expired/m);
  });

  it('lists the active alarms, one line each, and in --json', async () => {
    await expect.poll(async () => (await runCli(args())).stdout, { timeout: 20_000, interval: 500 }).toMatch(/^alarms {4}\d+ active/m);
    const run = await runCli(args());
    expect(run.stdout).toMatch(/^ {2}warning {2}certificate-expiring · trust anchor: CN=Tramite Dev CA/m);
    const status = JSON.parse((await runCli([...args(), '--json'])).stdout) as Record<string, any>;
    expect(status['alarms']).toContainEqual(
      expect.objectContaining({
        rule: 'certificate-expiring',
        severity: 'warning',
        state: 'raised',
        subject: expect.stringMatching(/^trust anchor: /),
      }),
    );
  });

  it('--json gives the same as one object', async () => {
    const run = await runCli([...args(), '--json']);
    const status = JSON.parse(run.stdout) as Record<string, any>;
    expect(status).toMatchObject({ node: 'cst-chieti', status: 'ok', ready: true, failing: [] });
    expect(status['messages']).toContainEqual({ direction: 'out', state: 'DELIVERED', count: 1 });
  });

  it('a token that is not an operator token: exit 2 naming the refusal', async () => {
    const run = await runCli(args('party.token'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/TRAMITE_ERR_OPERATOR_ONLY/);
  });
});

describe('reading the metrics', () => {
  it('reads samples with their labels, escaped values and special numbers; skips comments', () => {
    const samples = parsePrometheusText(
      [
        '# HELP tramite_messages messages',
        '# TYPE tramite_messages gauge',
        'tramite_messages{direction="out",service="A \\"quoted\\"",state="DELIVERED"} 3',
        'tramite_queue_up{queue="deliver"} 1 1700000000000',
        'tramite_delivery_latency_seconds_bucket{le="+Inf"} 7',
        'up +Inf',
        'not a sample',
      ].join('\n'),
    );
    expect(samples).toEqual([
      { name: 'tramite_messages', labels: { direction: 'out', service: 'A "quoted"', state: 'DELIVERED' }, value: 3 },
      { name: 'tramite_queue_up', labels: { queue: 'deliver' }, value: 1 },
      { name: 'tramite_delivery_latency_seconds_bucket', labels: { le: '+Inf' }, value: 7 },
      { name: 'up', labels: {}, value: Infinity },
    ]);
  });
});
