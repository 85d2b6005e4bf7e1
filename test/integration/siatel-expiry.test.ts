/**
 * A SIATEL query the Agenzia's node could not take while its caller waited is never counted by SIATEL
 * later: two real nodes, the Agenzia's down when the Comune's registry software asks, back up after the
 * caller gave up. The query carried its Scadenza; the CST's delivery lets it expire rather than deliver
 * it to a SIATEL that would count it on whatever day it arrived (the day-end half of the Scadenza is
 * test/adapters/siatel/siatel-adapter.test.ts's).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { loadConfig } from '../../src/config/load-config.js';
import { DEMO_REGISTRY_COMUNE, adapterUrlOf } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { callApi, patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

const ORTONA = DEMO_REGISTRY_COMUNE.party;
const CALLER_WAITS_MS = 2_000;

let federation: InProcessFederation;
let regioneAgain: RunningNode | undefined;

beforeAll(async () => {
  federation = await startFederation('siatel-expiry', (nodes) =>
    patchConfig(nodes.cst, (raw) => {
      for (const party of raw.parties)
        for (const adapter of party.adapters ?? [])
          if (party.code === ORTONA && adapter.use === 'siatel') adapter.options = { ...adapter.options, timeoutMs: CALLER_WAITS_MS };
    }),
  );
});

afterAll(async () => {
  await regioneAgain?.close();
  await federation?.close();
});

async function simulatorDetail(node: RunningNode, token: string): Promise<string> {
  const res = await request(`${node.baseUrl}/health`, { headers: { authorization: `Bearer ${token}` } });
  const health = (await res.body.json()) as { adapters?: Array<{ adapter: string; detail?: string }> };
  return health.adapters?.find((a) => a.adapter === 'siatel-simulator')?.detail ?? '';
}

describe('a SIATEL query whose caller gave up', () => {
  it('expires at the CST instead of reaching the Agenzia once it is back, and SIATEL never counts it', async () => {
    const siatelApi = await adapterUrlOf(federation.nodes.cst, ORTONA, 'siatel');
    await federation.regione.close();

    const asked = Date.now();
    const res = await request(`${siatelApi}/siatel/verifiche`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operatore: 'ufficio-tributi', codiceFiscale: 'RSSMRA80A01H501U' }),
    });
    const body = (await res.body.json()) as { error: { code: string; message: string } };
    // 504 while the query is still being retried when the wait ends; 502 when a retry found it expired first.
    expect([502, 504], body.error.message).toContain(res.statusCode);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(res.statusCode === 504 ? CALLER_WAITS_MS : 0);
    const named = /SIATEL query (\S+) failed on the bus: TRAMITE_ERR_EXPIRED|\(message (\S+), [A-Z]+\)/.exec(body.error.message);
    expect(named, body.error.message).not.toBeNull();
    const id = named![1] ?? named![2];

    // The Agenzia's node back; the CST keeps retrying (the demo's 250 ms doubling to 2 s) until it settles the query.
    regioneAgain = await serveNode(loadConfig(federation.nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
    await expect
      .poll(async () => (await callApi(federation.nodes.cst, ORTONA, 'GET', `/api/v1/messages/${encodeURIComponent(id!)}`)).json, {
        timeout: 20_000,
        interval: 200,
      })
      .toMatchObject({ status: 'FAILED', error: { code: 'TRAMITE_ERR_EXPIRED' } });
    // The query never reached the simulator (its counters name no operator), nor the Agenzia's log.
    expect(await simulatorDetail(regioneAgain, federation.nodes.regione.operatorToken)).toBe('persone=1010 blocchi=0');
    const atAgenzia = await request(`${regioneAgain.baseUrl}/api/v1/messages/${encodeURIComponent(id!)}`, {
      headers: { authorization: `Bearer ${federation.nodes.regione.tokens['SPC/AgenziaEntrate']}` },
    });
    expect(atAgenzia.statusCode).toBe(404);
    await atAgenzia.body.dump();
  });
});
