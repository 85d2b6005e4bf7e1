/**
 * The registry reloaded under load on a real node (the demo federation, in this process, real HTTP
 * between the CST and the Regione): messages are submitted continuously while a service of the
 * Regione's is added to the CST's registry; none is lost or misrouted, and each one's behaviour is the
 * version it started under (refused before the new version, accepted and delivered after, the log's
 * own record of each acceptance naming its version). A bad file and a restart-only change are kept out;
 * the registry API shows the current registry and the versions recorded in the log.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/core/token-hash.js';
import { callApi, patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';
/** In the Regione's own registry from the start; in the CST's only from version 2. */
const ADDED = 'VerificaResidenza';
const KEPT = 'ComunicazioneVariazione';

const OPERATOR_TOKEN = 'operator-token-of-m-rossi';

let fed: InProcessFederation;
/** The CST's config file as the federation wrote it (with ADDED). */
let original: Record<string, any>;

beforeAll(async () => {
  fed = await startFederation('registry-reload', ({ cst }) => {
    original = JSON.parse(readFileSync(cst.configFile, 'utf8'));
    patchConfig(cst, (raw) => {
      raw.services = raw.services.filter((s: { name: string }) => s.name !== ADDED);
      raw.node.operatorTokens = [{ name: 'm.rossi', token: hashToken(OPERATOR_TOKEN) }];
    });
  });
}, 120_000);

afterAll(async () => {
  await fed?.close();
});

/** An operator call of the CST's registry API. */
async function registryApi(method: 'GET' | 'POST', path: string, token = OPERATOR_TOKEN): Promise<{ status: number; json: any }> {
  const res = await request(`${fed.nodes.cst.baseUrl}/api/v1/registry${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, json: await res.body.json() };
}

/** The CST's config file with `edit` applied to the file the federation wrote (ADDED included). */
function writeCst(edit: (raw: any) => void): void {
  const raw = structuredClone(original);
  raw.node.operatorTokens = [{ name: 'm.rossi', token: hashToken(OPERATOR_TOKEN) }];
  edit(raw);
  writeFileSync(fed.nodes.cst.configFile, JSON.stringify(raw, null, 2));
}

interface Sent {
  readonly service: string;
  readonly status: number;
  readonly id?: string;
  readonly code?: string;
}

/** The 'message accepted' lines of the CST's log: each id with the registry version it was accepted under. */
function acceptedVersions(): Map<string, number> {
  const lines = readFileSync(fed.nodes.cst.logFile, 'utf8').split('\n').filter(Boolean);
  const versions = new Map<string, number>();
  for (const line of lines) {
    const entry = JSON.parse(line) as { msg?: string; id?: string; registryVersion?: number };
    if (entry.msg === 'message accepted' && entry.id && entry.registryVersion !== undefined) versions.set(entry.id, entry.registryVersion);
  }
  return versions;
}

describe('a reload under load', () => {
  it('loses and misroutes nothing; each message behaves as the version it started under', async () => {
    expect((await registryApi('GET', '')).json.version.version).toBe(1);
    const sent: Sent[][] = [];
    let stop = false;
    const submitter = async (n: number): Promise<void> => {
      const mine: Sent[] = [];
      sent.push(mine);
      for (let i = 0; !stop; i++) {
        const service = i % 2 === 0 ? KEPT : ADDED;
        const r = await callApi(fed.nodes.cst, ORTONA, 'POST', '/api/v1/messages', {
          from: ORTONA,
          to: REGIONE,
          service,
          ...(service === KEPT ? { action: 'Notifica' } : {}),
          payload: `<t:Carico xmlns:t="urn:test" submitter="${n}" i="${i}"/>`,
        });
        mine.push({ service, status: r.status, id: r.json['id'], code: r.json['error']?.code });
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(submitter));
    // Some traffic under version 1, then the reload in the middle of it, then some under version 2.
    await expect.poll(() => sent.flat().length, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(16);
    writeCst(() => undefined);
    const reload = await registryApi('POST', '/reload');
    const countAtReload = sent.flat().length;
    await expect.poll(() => sent.flat().length, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(countAtReload + 16);
    stop = true;
    await load;

    expect(reload.status, JSON.stringify(reload.json)).toBe(200);
    expect(reload.json).toMatchObject({ applied: true, version: { version: 2, by: 'operator:m.rossi' }, previous: { version: 1 } });
    const all = sent.flat();
    // Only two outcomes: accepted, or (the added service, before version 2) refused for want of a route.
    for (const s of all) {
      if (s.status !== 202) expect({ ...s, status: s.status }).toMatchObject({ service: ADDED, status: 422, code: 'TRAMITE_ERR_NO_ROUTE' });
    }
    // Each submitter's own sequence: once the added service was accepted, never refused again.
    for (const mine of sent) {
      const added = mine.filter((s) => s.service === ADDED).map((s) => s.status);
      expect(added.slice(added.indexOf(202))).not.toContain(422);
    }
    expect(all.some((s) => s.service === ADDED && s.status === 422)).toBe(true);
    expect(all.some((s) => s.service === ADDED && s.status === 202)).toBe(true);

    // Every accepted message is delivered, once, to the party and service it was sent to.
    const accepted = all.filter((s) => s.status === 202);
    await expect
      .poll(
        async () => {
          const states = await Promise.all(
            accepted.map(
              async (s) => (await callApi(fed.nodes.cst, ORTONA, 'GET', `/api/v1/messages/${encodeURIComponent(s.id!)}`)).json['status'],
            ),
          );
          return states.filter((st) => st !== 'DELIVERED');
        },
        { timeout: 60_000, interval: 500 },
      )
      .toEqual([]);
    for (const s of accepted) {
      const handed = fed.backOffice.received.filter((d) => d.id === s.id && d.from === ORTONA);
      expect(handed.map((d) => [d.party, d.service])).toEqual([[REGIONE, s.service]]);
    }
    // The log's record of each acceptance names its version: the added service only ever under 2.
    const versions = acceptedVersions();
    for (const s of accepted) {
      const v = versions.get(s.id!);
      expect(v, s.id).toBeDefined();
      if (s.service === ADDED) expect(v).toBe(2);
    }
    expect(new Set(accepted.filter((s) => s.service === KEPT).map((s) => versions.get(s.id!)))).toEqual(new Set([1, 2]));
  }, 180_000);
});

describe('a reload kept out', () => {
  it('a file with a wrong field: 422 with the field and the fix; the running version serves on', async () => {
    const before = (await registryApi('GET', '')).json.version;
    writeCst((raw) => (raw.peers[0].urll = raw.peers[0].url));
    const refused = await registryApi('POST', '/reload');
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe('TRAMITE_ERR_CONFIG_INVALID');
    expect(refused.json.error.message).toMatch(/config peers\[0\]\.urll: is not a known property — fix: did you mean "url"\?/);
    expect((await registryApi('GET', '')).json.version).toEqual(before);
    const r = await callApi(fed.nodes.cst, ORTONA, 'POST', '/api/v1/messages?wait=20', {
      from: ORTONA,
      to: REGIONE,
      service: ADDED,
      payload: '<t:Dopo xmlns:t="urn:test"/>',
    });
    expect(r.json['status']).toBe('DELIVERED');
  }, 60_000);

  it('a change that needs a restart: 422 naming the field, nothing of the file applied', async () => {
    const before = (await registryApi('GET', '')).json.version;
    writeCst((raw) => {
      raw.node.listen.port += 1;
      raw.services = raw.services.filter((s: { name: string }) => s.name !== ADDED);
    });
    const refused = await registryApi('POST', '/reload');
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe('TRAMITE_ERR_RELOAD_NEEDS_RESTART');
    expect(refused.json.error.message).toMatch(/^config node\.listen: needs a restart/m);
    expect((await registryApi('GET', '')).json.version).toEqual(before);
    expect((await registryApi('GET', '')).json.services.map((s: { name: string }) => s.name)).toContain(ADDED);
    writeCst(() => undefined);
  });
});

describe('the registry API', () => {
  it('shows the current registry and its version, and the versions recorded in the log', async () => {
    const current = await registryApi('GET', '');
    expect(current.status).toBe(200);
    expect(current.json.parties.map((p: { code: string }) => p.code).sort()).toEqual(['SPC/ComuneFrancavillaAlMare', ORTONA]);
    expect(current.json.peers).toEqual([expect.objectContaining({ name: 'regione-abruzzo', parties: expect.arrayContaining([REGIONE]) })]);
    expect(current.json.staff).toEqual({ operators: ['m.rossi'], auditors: [expect.any(String)] });
    const { version: _version, ...content } = current.json;
    expect(JSON.stringify(content)).not.toMatch(/sha256:|BEGIN/); // no token hash, no key
    const versions = await registryApi('GET', '/versions');
    expect(versions.json.current).toEqual(current.json.version);
    // Version 1, the file the node started with, is not a record of its own: the first reload's `previous`.
    expect(versions.json.versions.map((v: { version: number; by: string }) => [v.version, v.by])).toEqual([[2, 'operator:m.rossi']]);
    const [record] = await fed.cst.node.store.store.recordsOf('tramite.registry');
    expect(record).toMatchObject({ action: 'registry-applied', detail: { version: 2, previous: { version: 1 } } });
  });

  it('takes the operator token only', async () => {
    const party = await registryApi('GET', '', fed.nodes.cst.tokens[ORTONA]!);
    expect(party.status).toBe(401);
    expect(party.json.error.code).toBe('TRAMITE_ERR_OPERATOR_ONLY');
    expect((await registryApi('POST', '/reload', fed.nodes.cst.auditorToken)).status).toBe(401);
  });
});
