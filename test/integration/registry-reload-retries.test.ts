/**
 * A delivery retried after a reload runs under the version current then (docs/operators.md,
 * "Reloading the registry"): the peer's URL corrected by a reload gets the retry, and a party removed by
 * a reload fails the message at its next attempt, clearly — on real nodes, over real HTTP.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/core/token-hash.js';
import { callApi, patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';
const OPERATOR_TOKEN = 'operator-token-for-retries';
/** Nothing listens there: every attempt to it fails, retriable. */
const DEAD_URL = 'http://127.0.0.1:9/tramite/envelope';

let fed: InProcessFederation;
let original: Record<string, any>;

/** The CST's file as the federation wrote it (the Regione's right URL), with `edit` applied. */
function writeCst(edit: (raw: any) => void = () => undefined): void {
  const raw = structuredClone(original);
  edit(raw);
  writeFileSync(fed.nodes.cst.configFile, JSON.stringify(raw, null, 2));
}

async function reload(): Promise<any> {
  const res = await request(`${fed.nodes.cst.baseUrl}/api/v1/registry/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
  });
  const json = await res.body.json();
  expect(res.statusCode, JSON.stringify(json)).toBe(200);
  return json;
}

const send = async (): Promise<string> => {
  const r = await callApi(fed.nodes.cst, ORTONA, 'POST', '/api/v1/messages', {
    from: ORTONA,
    to: REGIONE,
    service: 'ComunicazioneVariazione',
    action: 'Notifica',
    payload: '<t:Riprova xmlns:t="urn:test"/>',
  });
  expect(r.status).toBe(202);
  return r.json['id'];
};

const message = async (id: string): Promise<Record<string, any>> =>
  (await callApi(fed.nodes.cst, ORTONA, 'GET', `/api/v1/messages/${encodeURIComponent(id)}`)).json;

beforeAll(async () => {
  fed = await startFederation('registry-reload-retries', ({ cst }) => {
    patchConfig(cst, (raw) => {
      raw.node.operatorTokens = [{ name: 'm.rossi', token: hashToken(OPERATOR_TOKEN) }];
      raw.queue.retry = { initialDelayMs: 300, factor: 1, maxDelayMs: 300, maxAttempts: 1000 };
    });
    original = JSON.parse(readFileSync(cst.configFile, 'utf8'));
    patchConfig(cst, (raw) => (raw.peers[0].url = DEAD_URL));
  });
}, 120_000);

afterAll(async () => {
  await fed?.close();
});

describe('a delivery retried after a reload', () => {
  it("goes to the peer's URL as the new version has it", async () => {
    const id = await send();
    await expect
      .poll(async () => (await message(id))['error']?.code, { timeout: 30_000, interval: 200 })
      .toBe('TRAMITE_ERR_PEER_UNREACHABLE');
    expect((await message(id))['status']).toBe('SENDING');
    writeCst();
    expect(await reload()).toMatchObject({ applied: true, version: { version: 2 } });
    await expect.poll(async () => (await message(id))['status'], { timeout: 30_000, interval: 200 }).toBe('DELIVERED');
    expect(fed.backOffice.received.filter((d) => d.id === id).map((d) => d.party)).toEqual([REGIONE]);
  }, 90_000);

  it('fails clearly, at its next attempt, when the new version no longer has its party', async () => {
    writeCst((raw) => (raw.peers[0].url = DEAD_URL));
    await reload();
    const id = await send();
    await expect
      .poll(async () => (await message(id))['error']?.code, { timeout: 30_000, interval: 200 })
      .toBe('TRAMITE_ERR_PEER_UNREACHABLE');
    // The Regione leaves the registry: its party, and the services it provides or consumes.
    writeCst((raw) => {
      raw.peers[0].url = DEAD_URL;
      raw.peers[0].parties = raw.peers[0].parties.filter((p: string) => p !== REGIONE);
      raw.services = raw.services.filter((s: any) => s.provider !== REGIONE && !(s.consumers ?? []).includes(REGIONE));
    });
    expect(await reload()).toMatchObject({ applied: true, version: { version: 4 } });
    await expect.poll(async () => (await message(id))['status'], { timeout: 30_000, interval: 200 }).toBe('FAILED');
    expect((await message(id))['error']).toMatchObject({
      code: 'TRAMITE_ERR_NO_ROUTE',
      message: expect.stringContaining('in the configuration any more (registry version 4)'),
    });
  }, 90_000);
});
