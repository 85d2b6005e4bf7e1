/**
 * The OpenAPI spec and reference page a real node serves (the demo federation, in this process):
 * - the spec is valid OpenAPI 3.1, by an independent validator;
 * - it is complete: every route the node's HTTP server registers (seen by an onRoute hook on the real
 *   Fastify instance, from its creation) is in it, save those marked `schema: { hide: true }`, each
 *   listed here with why;
 * - it is true: real responses of the node (a send, a get, a list, an auditor search and verify, health,
 *   refusals) validate with Ajv — not Fastify's serializer — against the schema the spec gives for
 *   that route, status and media type; and the serializer dropped nothing (the body equals what the
 *   node holds, as the route builds it);
 * - GET /docs is HTML that loads only same-origin assets, under a CSP that allows no other origin; in a
 *   real Chromium (Debian's, driven by playwright-core) the page renders the operations under that CSP
 *   with no violation and no request to another origin.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { RouteOptions } from 'fastify';
import { request } from 'undici';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { outboundKey } from '../../src/core/message-record.js';
import type { DemoNode } from '../../src/demo/demo-federation.js';
import { messageView } from '../../src/http/message-view.js';
import { patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

/** Every route each Fastify instance the node builds registers, from the instance's creation on. */
const registered = vi.hoisted(() => new Map<object, RouteOptions[]>());
vi.mock('fastify', async (importOriginal) => {
  const real = await importOriginal<typeof import('fastify')>();
  const create = ((opts?: object) => {
    const app = real.default(opts as never);
    const routes: RouteOptions[] = [];
    registered.set(app, routes);
    app.addHook('onRoute', (route) => void routes.push(route as unknown as RouteOptions));
    return app;
  }) as unknown as typeof real.default;
  return { ...real, default: create };
});

/** Hidden routes, and why they may be: they are not an API, so the spec has nothing to say of them. */
const HIDDEN_BY_DESIGN: ReadonlyArray<{ readonly url: RegExp; readonly why: string }> = [
  // @fastify/swagger-ui's page, its assets (scripts, styles, images) and its own copies of this spec (/docs/json, /docs/yaml).
  { url: /^\/docs(\/|$)/, why: 'the reference page and its assets' },
  // The web console's HTML pages (another branch adds them, hidden): pages for a browser, not an API.
  { url: /^\/console(\/|$)/, why: 'the web console’s pages' },
];

const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';

let federation: InProcessFederation;
let cst: DemoNode;
let spec: Record<string, any>;
let ajv: Ajv2020;

beforeAll(async () => {
  federation = await startFederation('openapi', (nodes) =>
    // A REST API the CST's Comune consumes: the REST gateway's routes are registered, and so documented.
    patchConfig(nodes.cst, (raw) => {
      raw.services.push({
        provider: REGIONE,
        name: 'tributi',
        consumers: [ORTONA],
        api: { kind: 'rest', profiles: ['ID_AUTH_REST_01'], audience: 'https://regione.example/tributi/v1' },
      });
    }),
  );
  cst = federation.nodes.cst;
  const res = await request(`${cst.baseUrl}/openapi.json`);
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  spec = (await res.body.json()) as Record<string, any>;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats.default(ajv);
  ajv.addSchema(spec, 'openapi');
}, 120_000);

afterAll(async () => {
  await federation?.close();
});

/** A path as the spec writes it: `:id` → `{id}`, a trailing `*` → `{*}` (as @fastify/swagger does). */
function documentPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}');
}

/** The JSON Pointer of a place in the spec, as a URI fragment. */
function pointer(...tokens: string[]): string {
  return '#/' + tokens.map((t) => encodeURIComponent(t.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
}

/** The response the spec gives for this route and status: the exact status, its range (4XX), or default. */
function documentedResponse(path: string, method: string, status: number): string {
  const responses = spec.paths[path]?.[method]?.responses;
  expect(responses, `${method.toUpperCase()} ${path} in the document`).toBeDefined();
  const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => responses[k]);
  expect(key, `${method.toUpperCase()} ${path} documents status ${status}`).toBeDefined();
  return key!;
}

/** Checks a real response against the document: its status is documented, its body fits the schema for its media type. */
function expectDocumented(path: string, method: string, res: { status: number; contentType: string; body: unknown }): void {
  const key = documentedResponse(path, method, res.status);
  const media = res.contentType.split(';')[0]!.trim();
  const content = spec.paths[path][method].responses[key].content;
  expect(Object.keys(content ?? {}), `${method.toUpperCase()} ${path} ${key} documents ${media}`).toContain(media);
  const validate = ajv.getSchema(`openapi${pointer('paths', path, method, 'responses', key, 'content', media, 'schema')}`);
  expect(validate, 'the schema compiles').toBeDefined();
  const ok = validate!(res.body);
  expect(ok ? [] : validate!.errors, `${method.toUpperCase()} ${path} ${res.status}`).toEqual([]);
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<{ status: number; contentType: string; body: any; text: string }> {
  const res = await request(`${cst.baseUrl}${path}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.body.text();
  const contentType = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, contentType, text, body: /json/.test(contentType) ? JSON.parse(text) : text };
}

describe('the document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(spec);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(spec.openapi).toBe('3.1.0');
  });

  it('says what it is: the package version, the three audiences and their tokens', () => {
    expect(spec.info.version).toMatch(/^\d+\.\d+\.\d+/);
    for (const token of ['party token', 'auditor token', 'operator token']) expect(spec.info.description).toContain(token);
    expect(Object.keys(spec.components.securitySchemes).sort()).toEqual(['auditorToken', 'operatorToken', 'partyToken']);
    for (const scheme of Object.values<any>(spec.components.securitySchemes))
      expect(scheme).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('holds every route the node’s server registers, except the hidden ones listed here', () => {
    const app = federation.cst.app;
    const routes = registered.get(app);
    expect(routes, 'the node’s Fastify instance was created through the hook').toBeDefined();
    expect(routes!.length).toBeGreaterThan(20);
    const missing: string[] = [];
    const hidden = new Set<string>();
    for (const route of routes!) {
      if (route.schema?.hide) {
        hidden.add(route.url);
        continue;
      }
      for (const method of (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toLowerCase())) {
        // HEAD twins of GET routes are Fastify's own (exposeHeadRoutes); @fastify/swagger leaves them out.
        if (method === 'head') continue;
        if (!spec.paths[documentPath(route.url)]?.[method]) missing.push(`${method.toUpperCase()} ${route.url}`);
      }
    }
    expect(missing).toEqual([]);
    expect([...hidden].filter((url) => !HIDDEN_BY_DESIGN.some((h) => h.url.test(url)))).toEqual([]);
    // The reference page is among the hidden routes; the spec itself and the REST gateway are documented.
    expect([...hidden].some((url) => /^\/docs\/?$/.test(url))).toBe(true);
    expect(spec.paths['/openapi.json'].get).toBeDefined();
    expect(Object.keys(spec.paths).filter((p) => p.startsWith('/rest/')).length).toBe(4);
  });

  it('tags each operation with its audience and names the token it takes', () => {
    const audiences = new Set(spec.tags.map((t: { name: string }) => t.name));
    for (const [path, item] of Object.entries<any>(spec.paths))
      for (const [method, op] of Object.entries<any>(item)) {
        expect(op.tags?.length, `${method} ${path}`).toBe(1);
        expect(audiences, `${method} ${path}`).toContain(op.tags[0]);
        expect(Array.isArray(op.security), `${method} ${path} states its security`).toBe(true);
      }
    expect(spec.paths['/api/v1/messages'].post.security).toEqual([{ partyToken: [] }]);
    expect(spec.paths['/api/v1/audit/verify'].post.security).toEqual([{ auditorToken: [] }]);
    expect(spec.paths['/metrics'].get.security).toEqual([{ operatorToken: [] }]);
    expect(spec.paths['/health'].get.security).toEqual([{}, { operatorToken: [] }]);
    expect(spec.paths['/tramite/envelope'].post.security).toEqual([]);
  });

  it('describes the non-JSON routes by their media types: text/plain metrics, SOAP envelopes, problem+json refusals', () => {
    expect(spec.paths['/metrics'].get.responses['200'].content['text/plain']).toBeDefined();
    const envelope = spec.paths['/tramite/envelope'].post;
    expect(envelope.requestBody.content['text/xml']).toBeDefined();
    for (const status of ['200', '400', '500', '503']) expect(envelope.responses[status].content['text/xml'], status).toBeDefined();
    const restOut = Object.entries<any>(spec.paths).find(([p]) => p.startsWith('/rest/out/'))![1];
    expect(restOut.get.responses['400'].content['application/problem+json'].schema.allOf[0]).toMatchObject({
      title: 'Problem',
      required: ['type', 'title', 'status', 'detail'],
    });
    expect(restOut.get.responses.default.description).toMatch(/passed through/);
  });
});

describe('real responses fit the document', () => {
  let sentId: string;

  it('a send with ?wait (200, the message), and without (202, id and status)', async () => {
    const body = { from: ORTONA, to: REGIONE, service: 'VerificaResidenza', payload: '<a:R xmlns:a="urn:t"/>' };
    const waited = await call('POST', '/api/v1/messages?wait=20', { token: cst.tokens[ORTONA], body });
    expect(waited.status).toBe(200);
    expectDocumented('/api/v1/messages', 'post', waited);
    sentId = waited.body.id;
    const accepted = await call('POST', '/api/v1/messages', { token: cst.tokens[ORTONA], body });
    expect(accepted.status).toBe(202);
    expect(Object.keys(accepted.body).sort()).toEqual(['id', 'status']);
    expectDocumented('/api/v1/messages', 'post', accepted);
  });

  it('a get: documented, and nothing of the message dropped by the serializer', async () => {
    const got = await call('GET', `/api/v1/messages/${encodeURIComponent(sentId)}`, { token: cst.tokens[ORTONA] });
    expect(got.status).toBe(200);
    expectDocumented('/api/v1/messages/{id}', 'get', got);
    const held = await federation.cst.node.store.get(outboundKey(sentId));
    expect(got.body).toEqual(JSON.parse(JSON.stringify(messageView(held!))));
    expect(got.body.receipt).toMatchObject({ signer: expect.any(String) });
    expect(got.body.reply).toEqual(expect.any(String));
  });

  it('a list', async () => {
    const list = await call('GET', '/api/v1/messages?limit=5', { token: cst.tokens[ORTONA] });
    expect(list.status).toBe(200);
    expect(list.body.messages.length).toBeGreaterThan(0);
    expectDocumented('/api/v1/messages', 'get', list);
  });

  it('an auditor search, show and verify: documented, and nothing dropped', async () => {
    const search = await call('GET', `/api/v1/audit/records?id=${encodeURIComponent(sentId)}`, { token: cst.auditorToken });
    expect(search.status).toBe(200);
    expect(search.body.records.length).toBeGreaterThan(0);
    expectDocumented('/api/v1/audit/records', 'get', search);
    const held = await federation.cst.node.auditor().search({ messageId: sentId, limit: 1000 });
    expect(search.body.records).toEqual(JSON.parse(JSON.stringify(held)));

    const shown = await call('GET', `/api/v1/audit/messages/${encodeURIComponent(sentId)}`, { token: cst.auditorToken });
    expect(shown.status).toBe(200);
    expectDocumented('/api/v1/audit/messages/{id}', 'get', shown);
    expect(shown.body).toEqual(JSON.parse(JSON.stringify(await federation.cst.node.auditor().show(sentId))));

    const verified = await call('POST', '/api/v1/audit/verify', { token: cst.auditorToken });
    expect(verified.status).toBe(200);
    expect(verified.body.ok).toBe(true);
    expectDocumented('/api/v1/audit/verify', 'post', verified);
  });

  it('health: the status alone, the operator’s details, liveness and readiness', async () => {
    const plain = await call('GET', '/health');
    expect(plain.body).toEqual({ status: 'ok' });
    expectDocumented('/health', 'get', plain);
    const details = await call('GET', '/health', { token: cst.operatorToken });
    expect(details.status).toBe(200);
    expect(details.body.certificates.list.length).toBeGreaterThan(0);
    expect(details.body.adapters.length).toBeGreaterThan(0);
    expectDocumented('/health', 'get', details);
    expectDocumented('/health/live', 'get', await call('GET', '/health/live'));
    const ready = await call('GET', '/health/ready', { token: cst.operatorToken });
    expect(ready.body.dependencies.length).toBeGreaterThan(1);
    expectDocumented('/health/ready', 'get', ready);
  });

  it('metrics as text/plain, and refusals: 401, 404, 422, 400 — JSON errors and problem+json', async () => {
    const metrics = await call('GET', '/metrics', { token: cst.operatorToken });
    expect(metrics.status).toBe(200);
    expectDocumented('/metrics', 'get', metrics);

    const unauthenticated = await call('GET', '/api/v1/messages');
    expect(unauthenticated.status).toBe(401);
    expectDocumented('/api/v1/messages', 'get', unauthenticated);
    const notFound = await call('GET', '/api/v1/messages/nessuno', { token: cst.tokens[ORTONA] });
    expect(notFound.status).toBe(404);
    expectDocumented('/api/v1/messages/{id}', 'get', notFound);
    const unreferenced = await call('POST', '/api/v1/messages/nessuno/answer', { token: cst.tokens[ORTONA], body: { payload: '<a/>' } });
    expect(unreferenced.status).toBeGreaterThanOrEqual(400);
    expectDocumented('/api/v1/messages/{id}/answer', 'post', unreferenced);
    const badBody = await call('POST', '/api/v1/messages', { token: cst.tokens[ORTONA], body: { from: ORTONA } });
    expect(badBody.status).toBe(400);
    expectDocumented('/api/v1/messages', 'post', badBody);
    const auditorOnly = await call('POST', '/api/v1/audit/verify', { token: cst.tokens[ORTONA] });
    expect(auditorOnly.status).toBe(401);
    expectDocumented('/api/v1/audit/verify', 'post', auditorOnly);

    const restRefused = await call('GET', '/rest/out/SPC%2FRegioneAbruzzo/tributi/v1/x');
    expect(restRefused.status).toBe(401);
    expect(restRefused.contentType).toMatch(/^application\/problem\+json/);
    expectDocumented('/rest/out/{provider}/{name}/{version}/{*}', 'get', restRefused);
  });

  it('the envelope endpoint: a SOAP Fault for what is not an envelope', async () => {
    const res = await request(`${cst.baseUrl}/tramite/envelope`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: '<not-an-envelope/>',
    });
    const text = await res.body.text();
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(text).toContain('Fault');
    expectDocumented('/tramite/envelope', 'post', { status: res.statusCode, contentType: String(res.headers['content-type']), body: text });
  });
});

describe('GET /docs', () => {
  it('is an HTML page that loads only same-origin assets, under a CSP that names no other origin', async () => {
    const res = await request(`${cst.baseUrl}/docs`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const html = await res.body.text();
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(3);
    for (const asset of assets) {
      const url = new URL(asset, `${cst.baseUrl}/docs`);
      expect(url.origin, asset).toBe(new URL(cst.baseUrl).origin);
      const got = await request(url);
      expect(got.statusCode, asset).toBe(200);
      await got.body.dump();
    }
    // The page asks for the spec at ./json, beside itself: the same spec.
    const initializer = await (await request(`${cst.baseUrl}/docs/static/swagger-initializer.js`)).body.text();
    expect(initializer).toContain("resolveUrl('./json')");
    const same = (await (await request(`${cst.baseUrl}/docs/json`)).body.json()) as Record<string, any>;
    expect(same.paths).toEqual(spec.paths);
  });

  it('renders in Chromium under its CSP, with no violation and nothing fetched from another origin', async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const requested: string[] = [];
      const problems: string[] = [];
      page.on('request', (r) => void requested.push(r.url()));
      page.on('pageerror', (e) => void problems.push(e.message));
      page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
      await page.addInitScript(() =>
        document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)),
      );
      await page.goto(`${cst.baseUrl}/docs`);
      await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
      // Opening an operation renders its schemas: styles and scripts that a wrong CSP would block.
      await page.locator('.opblock-summary').first().click();
      await page.locator('.responses-wrapper').first().waitFor({ timeout: 10_000 });
      expect(await page.locator('.opblock').count()).toBe(
        Object.values<any>(spec.paths).reduce((n, item) => n + Object.keys(item).length, 0),
      );
      expect(problems).toEqual([]);
      expect([...new Set(requested.map((u) => new URL(u).origin))]).toEqual([new URL(cst.baseUrl).origin]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
