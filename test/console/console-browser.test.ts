/**
 * The console in a real headless Chromium (Debian's, driven by playwright-core: no browser download)
 * against two real nodes on 127.0.0.1: a message fails while the Regione's node is down, and is resent
 * from the console once it is back; sign-in, search, a message's page, a log verification, alarms
 * (raised by the node's own rules: every certificate "expires" within a century) acknowledged by an
 * operator; roles, CSRF, cookie flags, keyboard order, and axe-core on every page. Screenshots go to test-output/console/.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { request } from 'undici';
import Fastify from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerConsole } from '../../src/http/console/console-routes.js';
import { loadConfig } from '../../src/config/load-config.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { patchConfig } from '../../test-support/in-process-federation.js';
import type { MessageRecord } from '../../src/core/message-record.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';
const SHOTS = join(import.meta.dirname, '..', '..', 'test-output', 'console');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let cst: RunningNode;
let regione: RunningNode | undefined;
let browser: Browser;
let failedId: string;

async function send(): Promise<string> {
  const res = await request(`${nodes.cst.baseUrl}/api/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${nodes.cst.tokens[FRANCAVILLA]}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload: '<v:N xmlns:v="urn:t">1</v:N>',
    }),
  });
  expect(res.statusCode).toBe(202);
  return ((await res.body.json()) as { id: string }).id;
}

async function statusOf(id: string): Promise<string | undefined> {
  return (await cst.node.store.list({ id, direction: 'out', limit: 1 }))[0]?.status;
}

/** Outside a test (beforeAll), where expect.poll is not available. */
async function waitFor(done: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`not done within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function signIn(token: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${nodes.cst.baseUrl}/console`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Accedi' }).click();
  await page.waitForURL(`${nodes.cst.baseUrl}/console`);
  return { context, page };
}

let operator: BrowserContext | undefined;

/**
 * A page of the operator's one session. Signing in once keeps the test run well within the sign-in
 * rate limit (10 a minute per address), which the last test reaches on purpose.
 */
async function asOperator(): Promise<{ context: BrowserContext; page: Page }> {
  if (!operator) {
    const signedIn = await signIn(nodes.cst.operatorToken);
    operator = signedIn.context;
    return signedIn;
  }
  const page = await operator.newPage();
  await page.goto(`${nodes.cst.baseUrl}/console`);
  return { context: operator, page };
}

/**
 * axe-core's checks on the page as it is: no violations of any kind. Evaluated through the DevTools
 * protocol, as page.addScriptTag would be an inline script the console's CSP (rightly) refuses.
 */
async function expectAccessible(page: Page): Promise<void> {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await (
      window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: unknown }> }> }> } }
    ).axe.run();
    return result.violations.map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
  });
  expect(violations).toEqual([]);
}

/** Every state badge of the page on one line: one box, no taller than one line of its text (no "ACCEP TED"). */
async function expectBadgesOnOneLine(page: Page): Promise<void> {
  const broken = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.state')]
      .filter((el) => el.getClientRects().length !== 1 || el.getBoundingClientRect().height > 2 * parseFloat(getComputedStyle(el).fontSize))
      .map((el) => el.textContent),
  );
  expect(await page.locator('.state').count()).toBeGreaterThan(0);
  expect(broken).toEqual([]);
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * The elements focus visits, Tab after Tab, as `tag#id` or `tag:text`, until `last` (a date-time
 * control takes several presses, one per part: it is listed once).
 */
async function tabOrder(page: Page, last: string): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 40 && seen.at(-1) !== last; i++) {
    await page.keyboard.press('Tab');
    const now = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el) return 'none';
      return el.id ? `${el.tagName.toLowerCase()}#${el.id}` : `${el.tagName.toLowerCase()}:${(el.textContent ?? '').trim()}`;
    });
    if (now !== seen.at(-1)) seen.push(now);
  }
  return seen;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  backOffice = new DemoBackOffice();
  await backOffice.start();
  nodes = await writeDemoFederation(mkdtempSync(join(tmpdir(), 'tramite-console-')), (p) => backOffice.urlFor(p), { plainHttp: true });
  patchConfig(nodes.cst, (raw) => {
    raw.queue.retry.maxAttempts = 1; // with the Regione's node down, one attempt and the message is FAILED
    raw.log.retentionDays = 3650;
    // The certificate-expiring rule, through the node's real evaluator, raises an alarm per certificate
    // within seconds: every demo certificate expires within a century.
    raw.alarms = { ...raw.alarms, evaluateEverySeconds: 1, certificateDays: 36_500 };
  });
  cst = await serveNode(loadConfig(nodes.cst.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  failedId = await send();
  await waitFor(async () => (await statusOf(failedId)) === 'FAILED', 20_000);
  regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await regione?.close();
  await cst?.close();
  await backOffice?.stop();
});

describe('the console in a browser', () => {
  it('has an accessibility check that can fail: an unlabelled control is a violation', async () => {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><html lang="it"><title>t</title><main><input type="text"></main></html>');
    await expect(expectAccessible(page)).rejects.toThrow(/label/);
    await page.close();
  });

  it('refuses a party token at sign-in; Tab reaches the token field after the skip link and the language switch', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${nodes.cst.baseUrl}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    expect(await tabOrder(page, 'button:Accedi')).toEqual(['a:Vai al contenuto', 'a:English', 'input#token', 'button:Accedi']);
    await expectAccessible(page);
    await shoot(page, 'sign-in');
    await page.getByLabel('Token').fill(nodes.cst.tokens[FRANCAVILLA]!);
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Accedi' }).click(),
    ]);
    expect(answer.status()).toBe(401);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('token di una parte');
    expect((await context.cookies()).filter((c) => c.name === 'tramite_console')).toEqual([]);
    await context.close();
  });

  it('signs an operator in with a session cookie HttpOnly, SameSite=Strict, Path=/console, and shows the dashboard', async () => {
    const { context, page } = await asOperator();
    const cookie = (await context.cookies()).find((c) => c.name === 'tramite_console')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console', secure: false });
    expect(Buffer.from(cookie.value, 'base64url')).toHaveLength(32);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Cruscotto');
    expect(await page.locator('#states-h + p + table').textContent()).toContain('FAILED');
    // The message failed seconds ago: in the last hour's count and the last day's.
    const failedOut = page.locator('#recent-h + p + table tbody tr', { hasText: 'FAILED' });
    expect(await failedOut.locator('td.num').allTextContents()).toEqual(['1', '1']);
    await expectAccessible(page);
    await shoot(page, 'dashboard');
    await page.getByRole('link', { name: 'English' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Dashboard');
    await page.getByRole('link', { name: 'Italiano' }).click();
    await page.close();
  });

  it('searches with the form (its controls in Tab order), opens the message and re-verifies its signature', async () => {
    const { page } = await asOperator();
    await page.getByRole('link', { name: 'Messaggi' }).click();
    await page.locator('#party').focus();
    expect(await tabOrder(page, 'button:Cerca')).toEqual([
      'select#peer',
      'select#service',
      'select#state',
      'select#direction',
      'input#createdFrom',
      'input#createdTo',
      'input#id',
      'button:Cerca',
    ]);
    await page.getByLabel('Stato').selectOption('FAILED');
    await page.getByLabel('Nodo remoto').selectOption('regione-abruzzo');
    await page.getByRole('button', { name: 'Cerca' }).click();
    await expect.poll(() => page.locator('table.messages').textContent()).toContain(failedId);
    await expectAccessible(page);
    await shoot(page, 'search');
    await page.getByRole('link', { name: failedId }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe(`Messaggio ${failedId}`);
    expect(await page.locator('#timeline-h + table').textContent()).toContain('TRAMITE_ERR_PEER_UNREACHABLE');
    await page.getByRole('link', { name: 'Verifica di nuovo firme e certificati' }).click();
    await expect.poll(() => page.locator('#sig-h + table').textContent()).toContain('VALIDA');
    expect(await page.locator('#sig-h + table').textContent()).toContain('CN=ComuneFrancavillaAlMare');
    expect(await page.locator('pre.xml').first().textContent()).toContain('<eGov_IT:Intestazione');
    const download = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Scarica' }).first().click()]);
    expect(download[0].suggestedFilename()).toMatch(/-out-request\.xml$/);
    await expectAccessible(page);
    await shoot(page, 'message');
    await page.close();
  });

  it('lets an auditor read but not resend: no checkbox, no button, and a forged POST refused', async () => {
    const { context, page } = await signIn(nodes.cst.auditorToken);
    await page.getByRole('link', { name: 'Falliti e bloccati' }).click();
    expect(await page.locator('#failed-h + table').textContent()).toContain(failedId);
    expect(await page.locator('input[type=checkbox]').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Invia di nuovo/ }).count()).toBe(0);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const status = await page.evaluate(
      async ([token, id]) =>
        (await fetch('/console/attention/resend', { method: 'POST', body: new URLSearchParams({ _csrf: token!, ids: id! }) })).status,
      [csrf, failedId],
    );
    expect(status).toBe(403);
    expect(await statusOf(failedId)).toBe('FAILED');
    await context.close();
  });

  it('shows the alarms on the dashboard and their page; an operator acknowledges one (named on the page and in the log)', async () => {
    await expect.poll(async () => (await cst.node.alarms.current()).length, { timeout: 20_000, interval: 200 }).toBeGreaterThan(1);
    const { page } = await asOperator();
    await page.reload();
    expect(await page.locator('#alarms-h + table').textContent()).toContain('certificate-expiring');
    expect(await page.locator('#alarms-h + table').textContent()).toContain('AVVISO');
    await page.getByRole('link', { name: 'Allarmi', exact: true }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Allarmi');
    expect(await page.locator('#recent-alarms-h + table').textContent()).toContain('APERTO');
    await expectAccessible(page);
    const first = (await cst.node.alarms.current())[0]!;
    await page.locator('#note-0').fill('rinnovo in corso');
    await page
      .getByRole('button', { name: /Prendi in carico/ })
      .first()
      .click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain(`Allarme preso in carico: ${first.subject}`);
    const row = page.locator('#current-alarms-h ~ table tbody tr').first();
    expect(await row.textContent()).toMatch(/da operator-\S+ il .* UTC/);
    expect(await row.textContent()).toContain('rinnovo in corso');
    expect(await row.locator('button').count()).toBe(0);
    const acknowledged = (await cst.node.alarms.current()).find((a) => a.id === first.id)!;
    expect(acknowledged).toMatchObject({ state: 'acknowledged', acknowledged: { by: { role: 'operator' }, note: 'rinnovo in corso' } });
    const logged = (await cst.node.store.store.searchRecords({ messageId: first.id })).filter((r) => r.kind === 'operator');
    expect(logged).toMatchObject([{ action: 'alarm-acknowledged', detail: { rule: 'certificate-expiring', note: 'rinnovo in corso' } }]);
    await expectAccessible(page);
    await shoot(page, 'alarms');
    await page.setViewportSize({ width: 480, height: 900 });
    await expectBadgesOnOneLine(page);
    await page.goto(`${nodes.cst.baseUrl}/console`);
    await expectBadgesOnOneLine(page);
    await page.close();
  });

  it('lets an auditor see the alarms but not acknowledge them: no form, and a forged POST refused', async () => {
    const { context, page } = await signIn(nodes.cst.auditorToken);
    await page.getByRole('link', { name: 'Allarmi', exact: true }).click();
    expect(await page.locator('#current-alarms-h ~ table').first().textContent()).toContain('certificate-expiring');
    expect(await page.getByRole('button', { name: /Prendi in carico/ }).count()).toBe(0);
    expect(await page.locator('input[name=note]').count()).toBe(0);
    const waiting = (await cst.node.alarms.current()).find((a) => a.state === 'raised')!;
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const status = await page.evaluate(
      async ([token, id]) =>
        (await fetch('/console/alarms/acknowledge', { method: 'POST', body: new URLSearchParams({ _csrf: token!, id: id! }) })).status,
      [csrf, waiting.id],
    );
    expect(status).toBe(403);
    expect((await cst.node.alarms.current()).find((a) => a.id === waiting.id)?.state).toBe('raised');
    await context.close();
  });

  it('refuses a POST without the CSRF token, and one from another origin', async () => {
    const { context, page } = await asOperator();
    await page.getByRole('link', { name: 'Falliti e bloccati' }).click();
    const withoutToken = await page.evaluate(
      async (id) => (await fetch('/console/attention/resend', { method: 'POST', body: new URLSearchParams({ ids: id }) })).status,
      failedId,
    );
    expect(withoutToken).toBe(403);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const foreign = await context.request.post(`${nodes.cst.baseUrl}/console/attention/resend`, {
      form: { _csrf: csrf, ids: failedId },
      headers: { origin: 'http://evil.example' },
    });
    expect(foreign.status()).toBe(403);
    expect(await statusOf(failedId)).toBe('FAILED');
    await page.close();
  });

  it('resends a FAILED message from the failed-and-stuck page, which then reaches DELIVERED with the operator named in its log', async () => {
    const { page } = await asOperator();
    await page.getByRole('link', { name: 'Falliti e bloccati' }).click();
    await expectAccessible(page);
    await shoot(page, 'attention');
    await page.getByLabel(`Seleziona il messaggio ${failedId}`).check();
    await page.getByRole('button', { name: 'Invia di nuovo i selezionati' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain(failedId);
    await expect.poll(() => statusOf(failedId), { timeout: 20_000, interval: 100 }).toBe('DELIVERED');
    const records = await cst.node.store.store.recordsOf(failedId);
    expect(records.some((r) => (r.detail as { by?: { name?: string } } | undefined)?.by?.name?.startsWith('operator-'))).toBe(true);
    await page.goto(`${nodes.cst.baseUrl}/console/message?direction=out&id=${encodeURIComponent(failedId)}`);
    expect(await page.locator('#timeline-h + table').textContent()).toContain('eseguito da operator-');
    expect(await page.locator('dl.facts').textContent()).toContain('DELIVERED');
    await page.close();
  });

  it('runs a log verification with its progress bar to the end, and records a purge request', async () => {
    const { page } = await asOperator();
    await page.getByRole('link', { name: 'Integrità del registro' }).click();
    // The run is held at its start until the page has shown it running: the page must then reload itself
    // at the run's end (verify-progress.js reads the bar's data-state), whatever the log's size.
    const real = cst.node.auditor.bind(cst.node);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    cst.node.auditor = () => {
      const auditor = real();
      const verify = auditor.verify.bind(auditor);
      auditor.verify = async (opts) => {
        await held;
        return verify(opts);
      };
      return auditor;
    };
    try {
      // The progress bar's script polls the run's JSON (same origin, under the console's CSP) whatever its state.
      const polled = page.waitForResponse((r) => r.url().includes('/console/integrity/runs/') && r.status() === 200);
      await page.getByRole('button', { name: 'Verifica ora' }).click();
      expect(await (await polled).json()).toMatchObject({ state: 'running', total: expect.any(Number), checked: expect.any(Number) });
      expect(await page.locator('#verify-progress').getAttribute('data-state')).toBe('running');
      expect(await page.locator('#verify-status').textContent()).toContain('in corso');
    } finally {
      release();
      cst.node.auditor = real;
    }
    await expect.poll(() => page.locator('#verify-status').textContent(), { timeout: 30_000 }).toContain('Verifica completata');
    expect(await page.locator('#verify-status').textContent()).toContain('catena, checkpoint e firme integri');
    expect(await page.locator('#verify-status .state').textContent()).toBe('VALIDA');
    // The state verify-progress.js reads: a page rendered while the run went on reloads itself at its end.
    expect(await page.locator('#verify-progress').getAttribute('data-state')).toBe('done');
    expect(await page.locator('#verify-progress').getAttribute('value')).toBe(await page.locator('#verify-progress').getAttribute('max'));
    await expectAccessible(page);
    await shoot(page, 'integrity');
    const at = (ms: number) => new Date(Date.now() + ms).toISOString().slice(0, 19);
    await page.getByLabel('Dal (UTC)').fill(at(-3_600_000));
    await page.getByLabel('Al (UTC, escluso)').fill(at(3_600_000));
    const [bundle] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Scarica' }).click()]);
    expect(bundle.suggestedFilename()).toMatch(/^tramite-log-1-\d+\.json$/);
    expect(JSON.parse(readFileSync((await bundle.path())!, 'utf8'))).toMatchObject({ manifest: { firstSeq: 1 } });
    await page.getByRole('button', { name: 'Applica la conservazione ora' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('Conservazione applicata');
    const purge = (await cst.node.store.store.searchRecords({ messageId: 'retention' })).filter((r) => r.kind === 'operator');
    expect(purge).toHaveLength(1);
    expect(purge[0]).toMatchObject({ action: 'purge-requested', detail: { purged: 0, by: { role: 'operator' } } });
    await page.close();
  });

  it('pages through the search newest first, the next page starting after the last of this one', async () => {
    // 60 delivered messages of an hour ago, logged straight into the log, one second apart (after the
    // verification test: their stand-in envelopes are not signed).
    const base = Date.now() - 3_600_000;
    for (let i = 0; i < 60; i++) {
      const at = new Date(base + i * 1000).toISOString();
      await cst.node.store.create(
        {
          id: `Paging_${String(i).padStart(2, '0')}`,
          direction: 'out',
          envelopeProfile: 'egov',
          collaboration: 'oneway',
          from: FRANCAVILLA,
          to: REGIONE,
          service: 'ComunicazioneVariazione',
          confermaRicezione: false,
          createdAt: at,
          updatedAt: at,
          status: 'DELIVERED',
          attempts: 1,
        },
        `<paging n="${i}"/>`,
      );
    }
    const { page } = await asOperator();
    const to = new Date(base + 60_000).toISOString().slice(0, 19);
    await page.goto(`${nodes.cst.baseUrl}/console/messages?state=DELIVERED&createdTo=${to}`);
    const ids = () => page.locator('table.messages tbody tr td:nth-child(2)').allTextContents();
    const first = await ids();
    expect(first).toHaveLength(50);
    expect(first[0]).toBe('Paging_59');
    expect(first.at(-1)).toBe('Paging_10');
    await page.getByRole('link', { name: 'Pagina successiva' }).click();
    expect(await ids()).toEqual(Array.from({ length: 10 }, (_, i) => `Paging_${String(9 - i).padStart(2, '0')}`));
    expect(await page.getByRole('link', { name: 'Pagina successiva' }).count()).toBe(0);
    await page.close();
  });

  it('narrows the search by service and by time range (from inclusive, to exclusive), and names related messages', async () => {
    // Beside the 60 of the paging test (an hour ago, one a second): two of another service in their
    // range, and an answer to one of them.
    const base = Date.parse((await cst.node.store.list({ id: 'Paging_00', direction: 'out', limit: 1 }))[0]!.createdAt);
    const at = (s: number): string => new Date(base + s * 1000).toISOString();
    const logged = (id: string, s: number, more: Partial<MessageRecord> = {}): MessageRecord => ({
      id,
      direction: 'out',
      envelopeProfile: 'egov',
      collaboration: 'sincrono',
      from: FRANCAVILLA,
      to: REGIONE,
      service: 'AltroServizio',
      confermaRicezione: false,
      createdAt: at(s),
      updatedAt: at(s),
      status: 'DELIVERED',
      attempts: 1,
      ...more,
    });
    await cst.node.store.create(logged('Other_1', 12.5), '<other n="1"/>');
    await cst.node.store.create(logged('Other_2', 15.5), '<other n="2"/>');
    await cst.node.store.create(
      logged('Answer_1', 13.5, { direction: 'in', from: REGIONE, to: FRANCAVILLA, refId: 'Other_1', status: 'RECEIVED' }),
      '<answer/>',
    );
    const { page } = await asOperator();
    const ids = () => page.locator('table.messages tbody tr td:nth-child(2)').allTextContents();
    const range = new URLSearchParams({ createdFrom: at(10).slice(0, 19), createdTo: at(20).slice(0, 19), direction: 'out' });
    await page.goto(`${nodes.cst.baseUrl}/console/messages?${range.toString()}`);
    const paging = Array.from({ length: 10 }, (_, i) => `Paging_${String(19 - i)}`);
    expect(await ids()).toEqual([...paging.slice(0, 4), 'Other_2', ...paging.slice(4, 7), 'Other_1', ...paging.slice(7)]);
    await page.getByLabel('Servizio').selectOption('ComunicazioneVariazione');
    await page.getByRole('button', { name: 'Cerca' }).click();
    await expect.poll(ids).toEqual(paging);
    range.set('service', 'AltroServizio');
    await page.goto(`${nodes.cst.baseUrl}/console/messages?${range.toString()}`);
    expect(await ids()).toEqual(['Other_2', 'Other_1']);
    await page.getByRole('link', { name: 'Other_1' }).click();
    const related = await page.locator('#related-h + table tbody').textContent();
    expect(related).toContain('Risposta');
    expect(related).toContain('Answer_1');
    await expectAccessible(page);
    await page.close();
  });

  it('shows peers, services, parties, adapters and certificates, accessibly', async () => {
    const { page } = await asOperator();
    await page.getByRole('link', { name: 'Nodo e certificati' }).click();
    expect(await page.locator('#peers-h + table').textContent()).toContain('regione-abruzzo');
    expect(await page.locator('#certs-h + table').textContent()).toContain('CN=ComuneOrtona');
    await expectAccessible(page);
    await shoot(page, 'inventory');
    await page.getByRole('link', { name: 'Cruscotto' }).click();
    await shoot(page, 'dashboard');
    await page.getByRole('button', { name: 'Esci' }).click();
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    await page.goto(`${nodes.cst.baseUrl}/console/inventory`);
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    operator = undefined; // signed out
    await page.close();
  });

  it('limits sign-in attempts per address: past 10 a minute, 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await request(`${nodes.cst.baseUrl}/console/sign-in`, {
        method: 'POST',
        headers: { origin: nodes.cst.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'token=guess',
      });
      await res.body.dump();
      statuses.push(res.statusCode);
    }
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
  });

  it('keeps every console route out of the OpenAPI document (schema.hide)', async () => {
    const app = Fastify();
    const routes: Array<{ url: string; method: string | string[]; hide: unknown }> = [];
    app.addHook(
      'onRoute',
      (r) => void routes.push({ url: r.url, method: r.method, hide: (r.schema as { hide?: unknown } | undefined)?.hide }),
    );
    await app.register(rateLimit, { global: false });
    registerConsole(app, cst.node);
    await app.ready();
    const console = routes.filter((r) => r.url.startsWith('/console'));
    expect(console.length).toBeGreaterThanOrEqual(12);
    expect(console.filter((r) => r.hide !== true)).toEqual([]);
    await app.close();
  });
});
