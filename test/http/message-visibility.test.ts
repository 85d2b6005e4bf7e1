/**
 * What a back office sees of the node's messages: the list shows exactly what GET /api/v1/messages/{id}
 * would show it — outbound records its party sent, inbound records addressed to its party — even when
 * sender and recipient are both hosted here (one message, an outbound and an inbound record).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevNode, type DevNode } from './dev-node.js';

const A = 'SPC/ComuneA';
const B = 'SPC/ComuneB';
let dev: DevNode;

beforeAll(async () => {
  dev = await startDevNode([A, B], (c) => {
    c.services = [{ provider: B, name: 'Notifiche', profile: 'oneway' }];
  });
});

afterAll(async () => {
  await dev?.running.close();
});

async function api(party: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await request(`${dev.running.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${dev.tokens[party]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

describe('GET /api/v1/messages', () => {
  it("lists to the recipient only the inbound record of a message between two hosted parties, not the sender's outbound record", async () => {
    const sent = await api(A, 'POST', '/api/v1/messages?wait=20', {
      from: A,
      to: B,
      service: 'Notifiche',
      payload: '<n:N xmlns:n="urn:test">1</n:N>',
    });
    expect(sent.json.status).toBe('DELIVERED');
    const id = sent.json.id as string;

    const ofB = (await api(B, 'GET', '/api/v1/messages')).json.messages as Array<{
      id: string;
      direction: string;
      from: string;
      to: string;
    }>;
    const ofA = (await api(A, 'GET', '/api/v1/messages')).json.messages as Array<{
      id: string;
      direction: string;
      from: string;
      to: string;
    }>;
    expect(ofB.filter((m) => m.id === id).map((m) => m.direction)).toEqual(['in']);
    expect(ofA.filter((m) => m.id === id).map((m) => m.direction)).toEqual(['out']);

    // Every listed record is one the single-message call shows the same caller.
    for (const [party, list] of [
      [B, ofB],
      [A, ofA],
    ] as const) {
      for (const m of list) {
        const one = await api(party, 'GET', `/api/v1/messages/${encodeURIComponent(m.id)}`);
        expect(one.status).toBe(200);
        expect(one.json.direction).toBe(m.direction);
      }
    }
  });

  it('direction=out lists to the recipient nothing it did not send', async () => {
    const outOfB = (await api(B, 'GET', '/api/v1/messages?direction=out')).json.messages as Array<{ from: string }>;
    expect(outOfB.filter((m) => m.from !== B)).toEqual([]);
    const inOfA = (await api(A, 'GET', '/api/v1/messages?direction=in')).json.messages as Array<{ to: string }>;
    expect(inOfA.filter((m) => m.to !== A)).toEqual([]);
  });

  it('service and creation-time filters: createdFrom inclusive, createdTo exclusive; a date that is not one is refused', async () => {
    const ofA = (await api(A, 'GET', '/api/v1/messages?direction=out')).json.messages as Array<{ id: string; createdAt: string }>;
    const first = ofA[ofA.length - 1]!;
    const ids = async (query: string) =>
      ((await api(A, 'GET', `/api/v1/messages?direction=out&${query}`)).json.messages as Array<{ id: string }>).map((m) => m.id);
    expect(await ids(`service=Notifiche&createdFrom=${encodeURIComponent(first.createdAt)}`)).toContain(first.id);
    expect(await ids(`createdTo=${encodeURIComponent(first.createdAt)}`)).not.toContain(first.id);
    expect(await ids('service=Altro')).toEqual([]);
    expect((await api(A, 'GET', '/api/v1/messages?createdFrom=ieri')).status).toBe(400);
  });
});
