/**
 * A real node's back-office API over REST exchanges logged by its gateway (MessageLog.recordRestExchange):
 * listed to their party with their HTTP facts, shown one by one, and refused by every SOAP-only
 * operation — resend, answer, poll — with TRAMITE_ERR_REST_EXCHANGE; reconciliation leaves them alone.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundKey, outboundKey } from '../../src/core/message-record.js';
import type { RestExchange } from '../../src/core/rest-exchange.js';
import { COMUNE, inboundExchange, outboundExchange, PDND_CLIENT } from '../log/rest-exchange-fixtures.js';
import { startDevNode, type DevNode } from './dev-node.js';

const B = 'SPC/ComuneB';
let dev: DevNode;
let failedOut: RestExchange;
let delivered: RestExchange;
let inbound: RestExchange;

beforeAll(async () => {
  dev = await startDevNode([COMUNE, B], (c) => {
    // A SOAP service of the same name as a REST API: a richiesta stato must not take a REST exchange for its request.
    c.services = [{ provider: B, name: 'Anagrafe', profile: 'asincronoAsimmetrico' }];
  });
  const now = Date.now();
  // A call the provider never answered: FAILED, which resend would otherwise take.
  failedOut = await outboundExchange({
    createdAt: new Date(now - 3000),
    withResponse: false,
    detail: { error: { code: 'TRAMITE_ERR_PEER_UNREACHABLE', message: 'connect ECONNREFUSED' } },
  });
  delivered = await outboundExchange({ createdAt: new Date(now - 2000) });
  inbound = await inboundExchange({ createdAt: new Date(now - 1000) });
  for (const x of [failedOut, delivered, inbound]) await dev.running.node.store.recordRestExchange(x);
});

afterAll(async () => {
  await dev?.running.close();
});

async function api(party: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await request(`${dev.running.baseUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${dev.tokens[party]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

describe('REST exchanges through the back-office API', () => {
  it('GET /messages lists them to their party, newest first, with method, target and HTTP status', async () => {
    const listed = (await api(COMUNE, 'GET', '/messages')).json.messages as Array<Record<string, any>>;
    expect(listed.map((m) => [m.id, m.direction, m.status, m.envelope, m.profile])).toEqual([
      [inbound.id, 'in', 'DISPATCHED', 'modi-rest', 'sincrono'],
      [delivered.id, 'out', 'DELIVERED', 'modi-rest', 'sincrono'],
      [failedOut.id, 'out', 'FAILED', 'modi-rest', 'sincrono'],
    ]);
    expect(listed[0]!.rest).toEqual({ version: 'v1', method: 'PUT', target: '/rest/in/Tributi/v1/posizioni/42', httpStatus: 200 });
    expect(listed[2]).toMatchObject({
      rest: { method: 'POST', target: '/rest/Anagrafe/v1/residenti?cf=RSSMRA80A01H501U', httpStatus: null },
      error: { code: 'TRAMITE_ERR_PEER_UNREACHABLE' },
    });
    expect((await api(B, 'GET', '/messages')).json.messages).toEqual([]);
  });

  it('GET /messages/{id} shows one, inbound ones by their PDND client as sender', async () => {
    const shown = await api(COMUNE, 'GET', `/messages/${inbound.id}?from=${PDND_CLIENT}`);
    expect(shown.status).toBe(200);
    expect(shown.json).toMatchObject({ id: inbound.id, from: PDND_CLIENT, to: COMUNE, service: 'Tributi', rest: { method: 'PUT' } });
    expect((await api(B, 'GET', `/messages/${delivered.id}`)).status).toBe(404);
  });

  it.each([
    ['resend', () => failedOut.id, undefined],
    ['poll', () => delivered.id, undefined],
    ['answer', () => inbound.id, { payload: '<esito>ok</esito>' }],
  ] as const)(
    'POST /messages/{id}/%s refuses a REST exchange (409 TRAMITE_ERR_REST_EXCHANGE) and changes nothing',
    async (op, id, body) => {
      const before = (await dev.running.node.store.store.head()).seq;
      const res = await api(COMUNE, 'POST', `/messages/${id()}/${op}`, body);
      expect(res.status).toBe(409);
      expect(res.json.error.code).toBe('TRAMITE_ERR_REST_EXCHANGE');
      expect(res.json.error.message).toMatch(/ModI REST exchange/);
      expect((await dev.running.node.store.store.head()).seq).toBe(before);
    },
  );

  it('a SOAP richiesta stato naming a REST exchange as its request is refused (422), not sent', async () => {
    const rest = await outboundExchange({ createdAt: new Date(), over: { to: B } });
    await dev.running.node.store.recordRestExchange(rest);
    const res = await api(COMUNE, 'POST', '/messages', { from: COMUNE, to: B, service: 'Anagrafe', payload: '', refId: rest.id });
    expect(res.status).toBe(422);
    expect(res.json.error).toMatchObject({ code: 'TRAMITE_ERR_BAD_REQUEST', message: expect.stringMatching(/ModI REST exchange/) });
  });

  it('reconciliation takes none of them: they are final when logged', async () => {
    const before = (await dev.running.node.store.store.head()).seq;
    await dev.running.node.reconcile();
    const store = dev.running.node.store;
    expect((await store.get(outboundKey(failedOut.id)))!.status).toBe('FAILED');
    expect((await store.get(outboundKey(delivered.id)))!.status).toBe('DELIVERED');
    expect((await store.get(inboundKey(inbound.id, PDND_CLIENT)))!.status).toBe('DISPATCHED');
    expect((await store.store.head()).seq).toBe(before);
  });
});
