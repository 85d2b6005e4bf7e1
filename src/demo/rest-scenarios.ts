import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { buildModiRestRequestHeaders } from '../../envelopes/modi-rest/rest-message-headers.js';
import { devPartyFiles, devTlsFiles } from '../crypto/dev-pki.js';
import type { PdndSimulator, PdndSimulatorEndpoints } from '../pdnd-simulator/pdnd-simulator.js';
import { PdndVoucherClient } from '../pdnd/voucher-client.js';
import type { DemoRestApi } from './demo-rest-api.js';
import { DEMO_REST, demoPartyPdnd, demoPdndKeyFiles } from './demo-rest-federation.js';
import type { DemoNode } from './demo-federation.js';
import type { ExchangeReport } from './exchange-report.js';

/** What the REST scenarios run against besides the nodes: the Regione's REST API and the simulated PDND. */
export interface DemoRestWorld {
  readonly api: DemoRestApi;
  readonly simulator: PdndSimulator;
  readonly pdnd: PdndSimulatorEndpoints;
}

type Nodes = { cst: DemoNode; regione: DemoNode };

/** The resident the Comune asks about (the Regione's API knows every codice fiscale not starting with X). */
const RESIDENT = 'RSSMRA85T10A562S';
const OUT = `/rest/out/${DEMO_REST.provider.split('/')[1]}/${DEMO_REST.api}/${DEMO_REST.version}`;
const IN = `/rest/in/${DEMO_REST.api}/${DEMO_REST.version}`;
const PATTERNS = DEMO_REST.profiles.join(' + ');

/**
 * ModI REST with PDND (issue 16): the Comune's back office GETs a resident and POSTs a certificate
 * request through `/rest/out/…` of its node, which signs the call (INTEGRITY_REST_01) with a PDND
 * voucher; the Regione's node verifies both and forwards to its REST API. Then an attacker's request:
 * signed by the Comune, its body altered after signing, sent straight to the Regione's `/rest/in/…`.
 */
export async function restScenarios(nodes: Nodes, world: DemoRestWorld): Promise<ExchangeReport[]> {
  return [
    await throughBothNodes(nodes, world, 'rest-anagrafe-residente', 'GET', `/residenti/${RESIDENT}`, undefined, 200),
    await throughBothNodes(
      nodes,
      world,
      'rest-anagrafe-certificato',
      'POST',
      `/residenti/${RESIDENT}/certificati`,
      { tipo: 'residenza', uso: 'amministrativo' },
      201,
    ),
    await tamperedBody(nodes, world),
  ];
}

async function throughBothNodes(
  nodes: Nodes,
  world: DemoRestWorld,
  scenario: string,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  expectedStatus: number,
): Promise<ExchangeReport> {
  const problems: string[] = [];
  const seenBefore = world.api.received.length;
  const res = await request(`${nodes.cst.baseUrl}${OUT}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${nodes.cst.tokens[DEMO_REST.consumer]}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  if (res.statusCode !== expectedStatus) problems.push(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  else if (!text.includes(RESIDENT)) problems.push(`the answer does not name ${RESIDENT}: ${text.slice(0, 300)}`);
  // The Regione's back office got the call once, told who called, without the ModI headers or the voucher.
  const seen = world.api.received.slice(seenBefore);
  if (seen.length !== 1) problems.push(`the Regione's REST API saw ${seen.length} requests, not 1`);
  else {
    if (seen[0]!.headers['tramite-consumer'] !== DEMO_REST.consumer)
      problems.push(`the Regione's REST API was told the caller is ${String(seen[0]!.headers['tramite-consumer'])}`);
    if (seen[0]!.headers['authorization'] !== undefined || seen[0]!.headers['agid-jwt-signature'] !== undefined)
      problems.push("the Regione's REST API saw ModI headers");
  }
  const cstId = header(res.headers['tramite-exchange-id']);
  const sent = cstId ? await restRequestRecord(nodes.cst, (r) => r.messageId === cstId) : undefined;
  if (!sent) problems.push(`no REST exchange ${cstId ?? '(no Tramite-Exchange-Id)'} in the CST's log`);
  const signatureJti = sent?.detail['signatureJti'];
  const received = signatureJti
    ? await restRequestRecord(nodes.regione, (r) => r.detail['signatureJti'] === signatureJti && r.direction === 'in')
    : undefined;
  if (!received) problems.push(`the Regione's log has no exchange signed with jti ${String(signatureJti)}`);
  else if (received.state !== 'DISPATCHED') problems.push(`the Regione logged its exchange as ${received.state}`);
  const voucherJti = sent?.detail['voucherJti'];
  if (typeof voucherJti !== 'string') problems.push('the CST logged no PDND voucher');
  else if (received && received.detail['voucherJti'] !== voucherJti)
    problems.push('the Regione verified another voucher than the CST sent');
  const crossed =
    `${method} ${OUT}${path}: ${PATTERNS}, PDND voucher jti ${short(voucherJti)} (purpose ${DEMO_REST.purposeId}); ` +
    `exchange ${short(cstId)} at ${nodes.cst.name} = ${short(received?.messageId)} at ${nodes.regione.name}`;
  return {
    scenario,
    id: cstId ?? null,
    status: `HTTP ${res.statusCode}`,
    expected: `HTTP ${expectedStatus}`,
    ok: problems.length === 0,
    // The Regione's node signed the response (INTEGRITY_REST_01) and the CST's verified it before answering.
    receipt: res.statusCode === expectedStatus,
    attempts: 1,
    detail: problems.length === 0 ? crossed : `${problems.join('; ')} (${crossed})`,
  };
}

/**
 * An attacker on the path: a request the Comune really signed (its certificate, a real voucher), whose
 * body is changed after signing and sent to the Regione's `/rest/in/…` over the CST's own TLS identity,
 * so that nothing but the body is wrong. The Regione's node must refuse it on its Digest, 400
 * InteroperabilityInvalidRequest, and its back office must never see it.
 */
async function tamperedBody(nodes: Nodes, world: DemoRestWorld): Promise<ExchangeReport> {
  const problems: string[] = [];
  const pdnd = demoPartyPdnd(DEMO_REST.consumer);
  const voucher = await new PdndVoucherClient({
    tokenEndpoint: world.pdnd.tokenEndpoint,
    assertionAudience: world.pdnd.assertionAudience,
    clientId: pdnd.clientId,
    key: {
      privateKey: createPrivateKey(readFileSync(join(nodes.cst.dir, demoPdndKeyFiles(DEMO_REST.consumer).client))),
      alg: 'RS256',
      kid: pdnd.kid,
    },
  }).requestVoucher({ purposeId: DEMO_REST.purposeId });
  const party = devPartyFiles(join(nodes.cst.dir, 'pki'), { nome: DEMO_REST.consumer.split('/')[1]! });
  const signedBody = Buffer.from(JSON.stringify({ tipo: 'residenza', uso: 'amministrativo' }));
  const signed = await buildModiRestRequestHeaders(
    {
      audience: DEMO_REST.audience,
      issuer: DEMO_REST.consumer,
      subject: DEMO_REST.consumer,
      now: new Date(),
      ttlSeconds: 60,
      body: signedBody,
      headers: { 'content-type': 'application/json' },
    },
    // ID_AUTH_REST_02 is carried by the voucher: the INTEGRITY token's single-use jti is the replay filter.
    { integrity: 'INTEGRITY_REST_01' },
    {
      privateKey: createPrivateKey(readFileSync(party.keyFile)),
      alg: 'RS256',
      certificates: [new X509Certificate(readFileSync(party.certFile))],
    },
  );
  const alteredBody = Buffer.from(JSON.stringify({ tipo: 'residenza', uso: 'esente bollo' }));
  const seenBefore = world.api.received.length;
  const dispatcher = cstTlsClient(nodes);
  const res = await request(`${nodes.regione.baseUrl}${IN}/residenti/${RESIDENT}/certificati`, {
    ...(dispatcher ? { dispatcher } : {}),
    method: 'POST',
    headers: { ...signed.headers, authorization: `Bearer ${voucher.token}` },
    body: alteredBody,
  });
  const text = await res.body.text();
  await (dispatcher as Agent | undefined)?.close();
  let problem: { title?: string; code?: string } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    problems.push(`the refusal is not problem+json: ${text.slice(0, 200)}`);
  }
  if (res.statusCode !== 400) problems.push(`HTTP ${res.statusCode}, not 400`);
  if (problem.title !== 'InteroperabilityInvalidRequest') problems.push(`title ${String(problem.title)}`);
  if (problem.code !== 'TRAMITE_ERR_MODI_REST_DIGEST') problems.push(`code ${String(problem.code)}`);
  const reached = world.api.received.length - seenBefore;
  if (reached !== 0) problems.push(`the Regione's REST API saw it (${reached} requests)`);
  const id = header(res.headers['tramite-exchange-id']);
  const logged = id ? await restRequestRecord(nodes.regione, (r) => r.messageId === id) : undefined;
  if (logged?.state !== 'FAILED') problems.push(`the Regione logged exchange ${String(id)} as ${String(logged?.state)}, not FAILED`);
  else if ((logged.detail['error'] as { code?: string } | undefined)?.code !== 'TRAMITE_ERR_MODI_REST_DIGEST')
    problems.push(`the Regione logged exchange ${String(id)} with ${JSON.stringify(logged.detail['error'])}`);
  const crossed =
    `POST ${IN}/residenti/${RESIDENT}/certificati signed by ${DEMO_REST.consumer} (voucher jti ${short(voucher.jti)}), body altered after signing; ` +
    `refused by ${nodes.regione.name} (exchange ${short(id)}, FAILED); its REST API saw nothing`;
  return {
    scenario: 'rest-corpo-alterato',
    id: id ?? null,
    status: `HTTP ${res.statusCode}${problem.title ? ` ${problem.title}` : ''}`,
    expected: 'HTTP 400 InteroperabilityInvalidRequest',
    ok: problems.length === 0,
    receipt: false,
    attempts: 1,
    ...(problem.code ? { code: problem.code } : {}),
    detail: problems.length === 0 ? crossed : `${problems.join('; ')} (${crossed})`,
  };
}

/** A client of the Regione's node over the CST's TLS client certificate (undefined over plain HTTP). */
function cstTlsClient(nodes: Nodes): Dispatcher | undefined {
  if (!nodes.regione.baseUrl.startsWith('https:')) return undefined;
  const tls = devTlsFiles(join(nodes.cst.dir, 'pki'));
  return new Agent({
    connect: { ca: readFileSync(nodes.regione.caFile, 'utf8'), cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
  });
}

interface LoggedRecord {
  readonly messageId: string;
  readonly direction: string;
  readonly kind: string;
  readonly state: string;
  readonly detail: Record<string, unknown>;
}

/** A `rest-request` record of a node's message log, through its auditor API. */
async function restRequestRecord(node: DemoNode, match: (r: LoggedRecord) => boolean): Promise<LoggedRecord | undefined> {
  const res = await request(`${node.baseUrl}/api/v1/audit/records?service=${DEMO_REST.api}&limit=10000`, {
    headers: { authorization: `Bearer ${node.auditorToken}` },
  });
  const { records } = (await res.body.json()) as { records?: LoggedRecord[] };
  return (records ?? []).find((r) => r.kind === 'rest-request' && r.detail !== undefined && match(r));
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Ids and jtis shortened for the printout (the full ones are in the logs). */
function short(value: unknown): string {
  return typeof value === 'string' ? `${value.slice(0, 8)}…` : 'none';
}
