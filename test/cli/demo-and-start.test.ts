import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from './run-cli.js';

describe('tramite demo --once --json', () => {
  it('runs every scenario of the local federation to its expected end and names each node log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tramite-demo-test-'));
    const r = await runCli(['demo', '--once', '--json', '--dir', dir], { timeoutMs: 240_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { exchanges: Array<Record<string, unknown>>; logs: string[] };
    expect(summary.exchanges.map((e) => e['scenario'])).toEqual(
      expect.arrayContaining([
        'oneway-conferma-ricezione',
        'sincrono-egov',
        'sincrono-modi',
        'oneway-regione-to-comune',
        'unknown-service-refused',
        'asincrono-simmetrico',
        'asincrono-asimmetrico',
        'protocollo-conferma-ricezione',
        'protocollo-impronta-errata',
        'pec-consegna',
        'pec-errore-consegna',
        'ina-saia-nascita',
        'siatel-verifica',
        'siatel-massiva-1000',
        'rest-anagrafe-residente',
        'rest-anagrafe-certificato',
        'rest-corpo-alterato',
        'competence-suap-hosted-by-cst',
        'competence-suap-on-other-node',
        'competence-suap-delegated',
        'competence-unknown-comune-refused',
        'competence-comune-added-by-reload',
        'regione-down-then-back',
      ]),
    );
    // npm test installs Dovecot: the PEC scenarios run, they are not skipped.
    expect(summary.exchanges.filter((e) => e['status'] === 'SKIPPED')).toEqual([]);
    for (const e of summary.exchanges) {
      expect(e, JSON.stringify(e)).toMatchObject({ ok: true });
      expect(Object.keys(e)).toEqual(expect.arrayContaining(['scenario', 'id', 'status', 'expected', 'ok', 'receipt', 'attempts']));
    }
    const oneway = summary.exchanges.find((e) => e['scenario'] === 'oneway-conferma-ricezione')!;
    expect(oneway).toMatchObject({ status: 'DELIVERED', receipt: true, attempts: 1 });
    expect(summary.exchanges.find((e) => e['scenario'] === 'unknown-service-refused')).toMatchObject({
      status: 'FAILED',
      code: 'EGOV_IT_105',
    });
    // ModI REST with PDND through both nodes: what crossed is printed (patterns, voucher jti, both exchange ids).
    const crossed =
      /ID_AUTH_REST_02 \+ INTEGRITY_REST_01, PDND voucher jti [0-9a-f-]{8}… .*exchange [0-9a-f-]{8}… at cst-chieti = [0-9a-f-]{8}… at regione-abruzzo$/;
    expect(summary.exchanges.find((e) => e['scenario'] === 'rest-anagrafe-residente')).toMatchObject({
      status: 'HTTP 200',
      ok: true,
      detail: expect.stringMatching(crossed),
    });
    expect(summary.exchanges.find((e) => e['scenario'] === 'rest-anagrafe-certificato')).toMatchObject({
      status: 'HTTP 201',
      ok: true,
      detail: expect.stringMatching(crossed),
    });
    // A body altered after signing, sent straight to the Regione's /rest/in: refused on its Digest, never forwarded.
    expect(summary.exchanges.find((e) => e['scenario'] === 'rest-corpo-alterato')).toMatchObject({
      status: 'HTTP 400 InteroperabilityInvalidRequest',
      code: 'TRAMITE_ERR_MODI_REST_DIGEST',
      ok: true,
      detail: expect.stringMatching(/refused by regione-abruzzo \(exchange [0-9a-f-]{8}…, FAILED\); its REST API saw nothing$/),
    });
    const comeback = summary.exchanges.find((e) => e['scenario'] === 'regione-down-then-back')!;
    expect(comeback).toMatchObject({ status: 'DELIVERED', ok: true });
    expect(comeback['attempts']).toBeGreaterThan(1);
    expect(summary.logs).toHaveLength(2);
    for (const log of summary.logs) {
      expect(existsSync(log), log).toBe(true);
      const verified = await runCli(['log', 'verify', '--db', log, '--json']);
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, firstBad: null });
      expect(JSON.parse(verified.stdout).records).toBeGreaterThan(5);
    }
  }, 300_000);
});

describe('tramite start on embedded defaults', () => {
  it('creates a development identity on first run, serves, and keeps it on the next run', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tramite-start-'));
    const first = await startUntilListening(cwd);
    try {
      expect(first.stderr).toMatch(/first run: created a development identity/);
      expect(first.stderr).toMatch(/SPC\/ComuneDemo: back-office token \S+/);
      const operatorToken = /operators \(GET \/health details\): token (\S+)/.exec(first.stderr)?.[1];
      expect(operatorToken).toBeDefined();
      // Over TLS on loopback with the development CA; anyone sees the status; the operator also sees what the node hosts.
      expect(first.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(first.stderr).toMatch(/TLS: +certificate \S+tls\.cert\.pem/);
      const dispatcher = new Agent({ connect: { ca: readFileSync(join(cwd, '.tramite', 'pki', 'ca.cert.pem'), 'utf8') } });
      expect(await (await request(`${first.baseUrl}/health`, { dispatcher })).body.json()).toEqual({ status: 'ok' });
      const details = await request(`${first.baseUrl}/health`, { dispatcher, headers: { authorization: `Bearer ${operatorToken}` } });
      expect(await details.body.json()).toMatchObject({
        status: 'ok',
        parties: ['SPC/ComuneDemo', 'SPC/RegioneDemo'],
        adapters: [{ party: 'SPC/RegioneDemo', adapter: 'dev-echo', status: 'up' }],
      });
    } finally {
      first.child.kill('SIGTERM');
      await new Promise((r) => first.child.once('exit', r));
    }
    const config = readFileSync(join(cwd, '.tramite', 'tramite.json'), 'utf8');
    const second = await startUntilListening(cwd);
    try {
      expect(second.stderr).not.toMatch(/first run/);
      expect(readFileSync(join(cwd, '.tramite', 'tramite.json'), 'utf8')).toBe(config);
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  }, 60_000);
});

describe('tramite start: the first message a newcomer sends', () => {
  it('reaches DELIVERED: the sincrono one with the dev-echo answer at once, the oneway one with its riscontro', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tramite-first-message-'));
    const node = await startUntilListening(cwd);
    try {
      expect(node.stderr).toMatch(/DEVELOPMENT node \(node\.development: true\)/);
      // As README's quick start does it: the party's token file and the development CA.
      const token = readFileSync(join(cwd, '.tramite', 'pki', 'ComuneDemo.token'), 'utf8').trim();
      const dispatcher = new Agent({ connect: { ca: readFileSync(join(cwd, '.tramite', 'pki', 'ca.cert.pem'), 'utf8') } });
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const send = async (service: string, payload: string) => {
        const res = await request(`${node.baseUrl}/api/v1/messages?wait=10`, {
          dispatcher,
          method: 'POST',
          headers,
          body: JSON.stringify({ from: 'SPC/ComuneDemo', to: 'SPC/RegioneDemo', service, payload }),
        });
        return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
      };

      const eco = await send('EcoDemo', '<ciao xmlns="urn:esempio">mondo</ciao>');
      expect(eco.status, JSON.stringify(eco.body)).toBe(200);
      expect(eco.body).toMatchObject({ status: 'DELIVERED', profile: 'sincrono', receipt: { signer: 'CN=RegioneDemo, O=SPC, C=IT' } });
      expect(eco.body['reply']).toBe(
        `<tramite-dev:Eco xmlns:tramite-dev="urn:tramite:dev-echo" messaggio="${String(eco.body['id'])}" mittente="SPC/ComuneDemo" servizio="EcoDemo">` +
          '<ciao xmlns="urn:esempio">mondo</ciao></tramite-dev:Eco>',
      );

      const notifica = await send('NotificaDemo', '<avviso xmlns="urn:esempio">prova</avviso>');
      expect(notifica.status, JSON.stringify(notifica.body)).toBe(200);
      expect(notifica.body).toMatchObject({ status: 'DELIVERED', profile: 'oneway', receipt: { signer: 'CN=RegioneDemo, O=SPC, C=IT' } });

      // Its state, read back as README's second curl does.
      const state = await request(`${node.baseUrl}/api/v1/messages/${encodeURIComponent(String(eco.body['id']))}`, { dispatcher, headers });
      expect(state.statusCode).toBe(200);
      expect(await state.body.json()).toMatchObject({ id: eco.body['id'], status: 'DELIVERED', reply: eco.body['reply'] });
    } finally {
      node.child.kill('SIGTERM');
      await new Promise((r) => node.child.once('exit', r));
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses to start the dev-echo back office on a node whose config does not say it is a development node', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tramite-not-development-'));
    const made = await runCli(['init', '--dir', join(cwd, '.tramite'), '--json'], { cwd });
    expect(made.code, made.stderr).toBe(0);
    const file = join(cwd, '.tramite', 'tramite.json');
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { node: Record<string, unknown> };
    delete raw.node['development'];
    writeFileSync(file, JSON.stringify(raw, null, 2));
    const run = await runCli(['start', '--config', file, '--port', '0'], { cwd, timeoutMs: 30_000 });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(
      /^error TRAMITE_ERR_DEVELOPMENT_ONLY: config parties\[1\]\.adapters\[0\]\.use: adapter dev-echo is for development only/m,
    );
    expect(run.stderr).not.toMatch(/listening/);
    rmSync(cwd, { recursive: true, force: true });
  }, 60_000);
});

/** Starts `tramite start --port 0` in `cwd` and resolves once it prints where it listens. */
function startUntilListening(cwd: string): Promise<{ child: ReturnType<typeof spawn>; stderr: string; baseUrl: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'start', '--port', '0'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tramite start did not listen within 30 s: ${stderr}`));
    }, 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /health:\s+(https?:\/\/\S+)\/health/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ child, stderr, baseUrl: m[1]! });
      }
    });
    child.once('exit', (code) => reject(new Error(`tramite start exited with ${code}: ${stderr}`)));
  });
}
