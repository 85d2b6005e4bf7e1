/**
 * The competence table edited and reloaded under load (issue 19): submitters keep sending by role and
 * Comune while the CST's table gains a Comune and changes a delegation, and `POST /api/v1/registry/reload`
 * applies it without a restart. No message is lost or misrouted: each one's logged resolution (party,
 * rule, table version) is where it went, and its version is the table in force when it was accepted.
 * A bad table is refused with the row and the fix, and the running table routes on.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_COMPETENCE, DEMO_COMPETENCE_TABLE } from '../../src/demo/demo-competence.js';
import { callApi, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

const PORTAL = DEMO_COMPETENCE.portal;
/** San Vito Chietino: no SUAP row, so the Regione's fallback until the new table gives it to Ortona. */
const ADDED_SUAP = 'I394';
/** Lama dei Peligni: delegates SUAP to the Provincia, then (new table) to the Unione whose SUAP is Lanciano's. */
const REDELEGATED = 'L047';
/** Ortona's SUE: no row and no fallback for SUE in the old table (422), a row in the new one. */
const ADDED_SUE = 'G141';

let fed: InProcessFederation;
let tableFile: string;

/** The demo's table with the Comune added and the delegation changed. */
const NEW_TABLE = {
  ...DEMO_COMPETENCE_TABLE,
  bodies: [...DEMO_COMPETENCE_TABLE.bodies, { id: 'UNIONE_FRENTANA', name: 'Unione dei Comuni Frentani' }],
  competent: [
    ...DEMO_COMPETENCE_TABLE.competent,
    { role: 'SUAP', at: ADDED_SUAP, party: 'SPC/ComuneOrtona' },
    { role: 'SUAP', at: 'UNIONE_FRENTANA', party: 'SPC/ComuneLanciano' },
    { role: 'SUE', at: ADDED_SUE, party: 'SPC/ComuneOrtona' },
  ],
  delegations: DEMO_COMPETENCE_TABLE.delegations.map((d) => (d.from === REDELEGATED ? { ...d, to: 'UNIONE_FRENTANA' } : d)),
};

/** Where each request goes under each table: [role, comune] → party and rule. */
const OLD_ROUTES: Record<string, { party: string; rule: string }> = {
  'SUAP D763': { party: 'SPC/ComuneFrancavillaAlMare', rule: 'direct' },
  [`SUAP ${ADDED_SUAP}`]: { party: 'SPC/RegioneAbruzzo', rule: 'fallback' },
  [`SUAP ${REDELEGATED}`]: { party: 'SPC/ProvinciaChieti', rule: 'delegated' },
};
const NEW_ROUTES: Record<string, { party: string; rule: string }> = {
  'SUAP D763': { party: 'SPC/ComuneFrancavillaAlMare', rule: 'direct' },
  [`SUAP ${ADDED_SUAP}`]: { party: 'SPC/ComuneOrtona', rule: 'direct' },
  [`SUAP ${REDELEGATED}`]: { party: 'SPC/ComuneLanciano', rule: 'delegated' },
};

beforeAll(async () => {
  fed = await startFederation('competence-reload', undefined, { competence: true });
  tableFile = join(fed.nodes.cst.dir, DEMO_COMPETENCE.file);
}, 120_000);

afterAll(async () => {
  await fed?.close();
});

function writeTable(table: unknown): void {
  writeFileSync(tableFile, `${JSON.stringify(table, null, 2)}\n`);
}

async function reload(): Promise<{ status: number; json: any }> {
  const res = await request(`${fed.nodes.cst.baseUrl}/api/v1/registry/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fed.nodes.cst.operatorToken}` },
  });
  return { status: res.statusCode, json: await res.body.json() };
}

const tableVersion = (): string => fed.cst.node.registry.competence!.table.version;

function sendByRole(role: string, comune: string, tag: string, wait = false) {
  return callApi(fed.nodes.cst, PORTAL, 'POST', `/api/v1/messages${wait ? '?wait=20' : ''}`, {
    from: PORTAL,
    to: { role, comune },
    service: DEMO_COMPETENCE.service,
    payload: `<suap:Pratica xmlns:suap="urn:tramite:demo:suap"><suap:richiedente>${tag}</suap:richiedente></suap:Pratica>`,
  });
}

interface Sent {
  readonly key: string;
  readonly status: number;
  readonly id: string;
  /** Answered before the reload was asked for, or sent after its answer. */
  readonly when: 'before' | 'during' | 'after';
}

/** The routing in the hash-chained record of a message's acceptance. */
async function loggedRouting(id: string): Promise<Record<string, any> | undefined> {
  const records = await fed.cst.node.auditor().search({ messageId: id });
  return records.find((r) => r.kind === 'envelope' && r.state === 'ACCEPTED')?.detail?.['routing'] as Record<string, any> | undefined;
}

describe('the competence table reloaded under load', () => {
  it('refuses the Comune not in the table yet: 422 before anything is signed', async () => {
    const refused = await sendByRole('SUE', ADDED_SUE, 'prima');
    expect(refused.status).toBe(422);
    expect(refused.json['error']).toMatchObject({ code: 'TRAMITE_ERR_NO_COMPETENT_PARTY' });
  });

  it('loses and misroutes nothing; each message keeps the table version it was accepted under', async () => {
    const oldVersion = tableVersion();
    const sent: Sent[][] = [];
    let phase: Sent['when'] = 'before';
    let stop = false;
    const keys = Object.keys(OLD_ROUTES);
    const submitter = async (n: number): Promise<void> => {
      const mine: Sent[] = [];
      sent.push(mine);
      for (let i = 0; !stop; i++) {
        const key = keys[(n + i) % keys.length]!;
        const [role, comune] = key.split(' ') as [string, string];
        const startedIn = phase;
        const r = await callApi(fed.nodes.cst, PORTAL, 'POST', '/api/v1/messages', {
          from: PORTAL,
          to: { role, comune },
          service: DEMO_COMPETENCE.service,
          payload: `<suap:Pratica xmlns:suap="urn:tramite:demo:suap"><suap:richiedente>S${n}-${i}</suap:richiedente></suap:Pratica>`,
        });
        const endedIn = phase;
        mine.push({ key, status: r.status, id: r.json['id'], when: startedIn === endedIn ? startedIn : 'during' });
      }
    };
    const load = Promise.all([0, 1, 2].map(submitter));
    await expect.poll(() => sent.flat().length, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(30);
    writeTable(NEW_TABLE);
    phase = 'during';
    const reloaded = await reload();
    phase = 'after';
    const countAtReload = sent.flat().length;
    await expect.poll(() => sent.flat().length, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(countAtReload + 30);
    stop = true;
    await load;

    expect(reloaded.status, JSON.stringify(reloaded.json)).toBe(200);
    expect(reloaded.json).toMatchObject({ applied: true });
    const newVersion = tableVersion();
    expect(newVersion).not.toBe(oldVersion);

    const all = sent.flat();
    expect(all.filter((s) => s.status !== 202)).toEqual([]);
    const routes = { [oldVersion]: OLD_ROUTES, [newVersion]: NEW_ROUTES };
    const versionOf = new Map<string, string>();
    for (const s of all) {
      const routing = await loggedRouting(s.id);
      expect(routing, s.id).toBeDefined();
      const [role, asked] = s.key.split(' ');
      expect(routing).toMatchObject({ role, asked, tableVersion: expect.stringMatching(/^sha256:/) });
      const v = routing!['tableVersion'] as string;
      expect([oldVersion, newVersion]).toContain(v);
      // The table in force at acceptance: the old one before the reload was asked for, the new one after it answered.
      if (s.when === 'before') expect(v, s.id).toBe(oldVersion);
      if (s.when === 'after') expect(v, s.id).toBe(newVersion);
      // The rule and party are that version's.
      expect(routing).toMatchObject(routes[v]![s.key]!);
      versionOf.set(s.id, v);
    }
    // Each submitter's sequence: once under the new table, never under the old one again.
    for (const mine of sent) {
      const vs = mine.map((s) => versionOf.get(s.id));
      expect(vs.slice(vs.indexOf(newVersion))).not.toContain(oldVersion);
    }
    expect(all.some((s) => versionOf.get(s.id) === oldVersion)).toBe(true);
    expect(all.some((s) => versionOf.get(s.id) === newVersion)).toBe(true);

    // Every accepted message is delivered once, to the back office of the party its logged routing names.
    await expect
      .poll(
        async () => {
          const states = await Promise.all(
            all.map(
              async (s) => (await callApi(fed.nodes.cst, PORTAL, 'GET', `/api/v1/messages/${encodeURIComponent(s.id)}`)).json['status'],
            ),
          );
          return states.filter((st) => st !== 'DELIVERED');
        },
        { timeout: 120_000, interval: 500 },
      )
      .toEqual([]);
    for (const s of all) {
      const handed = fed.backOffice.received.filter((d) => d.id === s.id);
      const v = versionOf.get(s.id)!;
      expect(
        handed.map((d) => d.party),
        s.id,
      ).toEqual([routes[v]![s.key]!.party]);
    }
    expect(await fed.cst.node.auditor().verify()).toMatchObject({ ok: true, firstBad: null });
  }, 300_000);

  it('routes the added Comune after the reload', async () => {
    const { status, json } = await sendByRole('SUE', ADDED_SUE, 'dopo', true);
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ status: 'DELIVERED', to: 'SPC/ComuneOrtona' });
    expect(json['routing']).toMatchObject({ party: 'SPC/ComuneOrtona', rule: 'direct', tableVersion: tableVersion() });
    expect(fed.backOffice.received.filter((m) => m.id === json['id']).map((m) => m.party)).toEqual(['SPC/ComuneOrtona']);
  }, 60_000);
});

describe('a bad table kept out', () => {
  const cases = [
    {
      name: 'a delegation cycle',
      table: {
        ...NEW_TABLE,
        delegations: [
          ...NEW_TABLE.delegations,
          { role: 'SUE', from: 'UNIONE_FRENTANA', to: 'PROVINCIA_CH' },
          { role: 'SUE', from: 'PROVINCIA_CH', to: 'UNIONE_FRENTANA' },
        ],
      },
      message: /delegations.*go round in a cycle: .*UNIONE_FRENTANA.*— fix: make one place of the cycle competent itself/,
    },
    {
      name: 'an unknown party',
      table: { ...NEW_TABLE, competent: NEW_TABLE.competent.map((r) => (r.at === ADDED_SUAP ? { ...r, party: 'SPC/ComuneOrtonaa' } : r)) },
      message: /competent\[\d+\].*SPC\/ComuneOrtonaa.*— fix: did you mean "SPC\/ComuneOrtona"\?/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: 422 with the row and the fix; the running table routes on`, async () => {
      const running = tableVersion();
      writeTable(c.table);
      const refused = await reload();
      expect(refused.status, JSON.stringify(refused.json)).toBe(422);
      expect(refused.json.error.code).toBe('TRAMITE_ERR_CONFIG_INVALID');
      expect(refused.json.error.message).toMatch(c.message);
      expect(tableVersion()).toBe(running);
      // The next request still routes by the running table (San Vito's SUAP to Ortona, not refused).
      const { status, json } = await sendByRole('SUAP', ADDED_SUAP, 'ancora', true);
      expect(status, JSON.stringify(json)).toBe(200);
      expect(json['routing']).toMatchObject({ party: 'SPC/ComuneOrtona', rule: 'direct', tableVersion: running });
      writeTable(NEW_TABLE);
    }, 60_000);
  }
});
