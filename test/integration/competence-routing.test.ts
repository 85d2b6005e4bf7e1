import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { DEMO_COMPETENCE } from '../../src/demo/demo-competence.js';
import { callApi, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

/*
 * Routing by competence between two real nodes on 127.0.0.1: the CST's portal sends to { role, comune },
 * the CST node resolves it with its competence table (over the shipped Comuni of the Provincia di Chieti)
 * and the message reaches the competent Ente's back office, on this node or on the other.
 */

const PORTAL = DEMO_COMPETENCE.portal;
let fed: InProcessFederation;
/** The message sent to Fara San Martino's SUAP (delegated to the Provincia), for the console's page. */
let delegatedId: string;

const pratica = (cf: string) =>
  `<suap:Pratica xmlns:suap="urn:tramite:demo:suap"><suap:richiedente>${cf}</suap:richiedente></suap:Pratica>`;

beforeAll(async () => {
  fed = await startFederation('competence', undefined, { competence: true });
}, 60_000);

afterAll(async () => {
  await fed?.close();
});

async function sendByRole(comune: string, cf: string, from: string = PORTAL) {
  return callApi(fed.nodes.cst, from, 'POST', '/api/v1/messages?wait=10', {
    from,
    to: { role: 'SUAP', comune },
    service: DEMO_COMPETENCE.service,
    payload: pratica(cf),
  });
}

async function dryRun(query: string, token = fed.nodes.cst.operatorToken) {
  const res = await request(`${fed.nodes.cst.baseUrl}/api/v1/registry/resolve?${query}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

describe('a portal sending by role and Comune', () => {
  it('reaches three different back offices — hosted here, on the peer node, by delegation — and logs why each went where it went', async () => {
    const version = fed.cst.node.registry.competence!.table.version;
    const cases = [
      // Francavilla al Mare by its ISTAT code: hosted by the CST node itself.
      { comune: '069035', cf: 'RSSMRA85T10D763Q', party: 'SPC/ComuneFrancavillaAlMare', rule: 'direct', via: undefined },
      // Lanciano by its own CAP: hosted by the Regione's node.
      { comune: '66034', cf: 'BNCLRA70A41E435X', party: 'SPC/ComuneLanciano', rule: 'direct', via: undefined },
      // Fara San Martino by Belfiore code: it delegated SUAP to the Provincia.
      { comune: 'D495', cf: 'VRDGPP60C12D495Y', party: 'SPC/ProvinciaChieti', rule: 'delegated', via: ['PROVINCIA_CH'] },
    ];
    for (const c of cases) {
      const { status, json } = await sendByRole(c.comune, c.cf);
      expect(status, JSON.stringify(json)).toBe(200);
      expect(json).toMatchObject({
        status: 'DELIVERED',
        from: PORTAL,
        to: c.party,
        receipt: { signer: expect.stringContaining(c.party.split('/')[1]!) },
      });
      expect(json['routing']).toEqual({
        role: 'SUAP',
        asked: c.comune,
        comune: expect.stringMatching(/^[A-Z]\d{3}$/),
        party: c.party,
        rule: c.rule,
        ...(c.via ? { via: c.via } : {}),
        tableVersion: version,
      });
      // The competent Ente's back office has it, and no other.
      const got = fed.backOffice.received.filter((m) => m.id === json['id']);
      expect(got.map((m) => m.party)).toEqual([c.party]);
      expect(got[0]!.payload).toContain(c.cf);
      // The hash-chained record of the accepted envelope carries the resolution…
      const records = await fed.cst.node.auditor().search({ messageId: json['id'] });
      const accepted = records.find((r) => r.kind === 'envelope' && r.state === 'ACCEPTED');
      expect(accepted?.detail?.['routing']).toMatchObject({ party: c.party, rule: c.rule, tableVersion: version });
      // …and GET shows it later too.
      const later = await callApi(fed.nodes.cst, PORTAL, 'GET', `/api/v1/messages/${encodeURIComponent(json['id'])}`);
      expect(later.json['routing']).toMatchObject({ party: c.party, rule: c.rule });
      if (c.rule === 'delegated') delegatedId = json['id'];
    }
    // The log, with the resolutions in it, still verifies.
    expect(await fed.cst.node.auditor().verify()).toMatchObject({ ok: true, firstBad: null });
  }, 60_000);

  it('refuses an unknown Comune with 422 before anything is signed: nothing logged', async () => {
    const before = await fed.cst.node.store.list({ parties: new Set([PORTAL]) });
    const recordsBefore = (await fed.cst.node.auditor().search({ party: PORTAL })).length;
    // D969 (Genova) is no Comune of the Provincia di Chieti's territory data.
    const unknown = await sendByRole('D969', 'RSSMRA85T10D969Q');
    expect(unknown.status).toBe(422);
    expect(unknown.json['error']).toMatchObject({ code: 'TRAMITE_ERR_UNKNOWN_TERRITORY' });
    // A CAP shared by many small Comuni names none of them.
    const shared = await sendByRole('66010', 'RSSMRA85T10A398Q');
    expect(shared.status).toBe(422);
    expect(shared.json['error']).toMatchObject({ code: 'TRAMITE_ERR_AMBIGUOUS_TERRITORY' });
    const role = await callApi(fed.nodes.cst, PORTAL, 'POST', '/api/v1/messages', {
      from: PORTAL,
      to: { role: 'URBANISTICA', comune: 'C632' },
      service: DEMO_COMPETENCE.service,
      payload: pratica('X'),
    });
    expect(role.status).toBe(422);
    expect(role.json['error']).toMatchObject({ code: 'TRAMITE_ERR_UNKNOWN_ROLE' });
    expect(await fed.cst.node.store.list({ parties: new Set([PORTAL]) })).toHaveLength(before.length);
    expect(await fed.cst.node.auditor().search({ party: PORTAL })).toHaveLength(recordsBefore);
  });

  it('lets only the parties in competence.senders send by role', async () => {
    const { status, json } = await sendByRole('D763', 'RSSMRA85T10D763Q', 'SPC/ComuneOrtona');
    expect(status).toBe(403);
    expect(json['error']).toMatchObject({ code: 'TRAMITE_ERR_FORBIDDEN' });
    expect(json['error'].message).toMatch(/competence\.senders/);
  });
});

describe("the console's message page", () => {
  it('shows how a message sent by role was routed', async () => {
    const base = fed.nodes.cst.baseUrl;
    const signIn = await request(`${base}/console/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: new URLSearchParams({ token: fed.nodes.cst.operatorToken }).toString(),
    });
    await signIn.body.dump();
    expect(signIn.statusCode).toBe(303);
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    const page = await request(`${base}/console/message?${new URLSearchParams({ id: delegatedId, direction: 'out' })}`, {
      headers: { cookie },
    });
    const text = await page.body.text();
    expect(page.statusCode).toBe(200);
    const version = fed.cst.node.registry.competence!.table.version;
    expect(text).toContain(`SUAP · D495 (D495) → SPC/ProvinciaChieti · delega a PROVINCIA_CH · ${version}`);
  });
});

describe('GET /api/v1/registry/resolve', () => {
  it('dry-runs a resolution with an operator token, and sends nothing', async () => {
    const sent = fed.backOffice.received.length;
    const { status, json } = await dryRun('role=SUAP&comune=L047');
    expect(status).toBe(200);
    expect(json).toEqual({
      party: 'SPC/ProvinciaChieti',
      rule: 'delegated',
      via: ['PROVINCIA_CH'],
      tableVersion: fed.cst.node.registry.competence!.table.version,
      role: 'SUAP',
      comune: 'L047',
    });
    // Vasto has no SUAP row of its own: the Regione's fallback.
    expect((await dryRun('role=SUAP&comune=E372')).json).toMatchObject({ party: 'SPC/RegioneAbruzzo', rule: 'fallback' });
    expect(fed.backOffice.received.length).toBe(sent);
  });

  it('answers the refusal a message would get, and only to an operator', async () => {
    const unknown = await dryRun('role=SUAP&comune=D969');
    expect(unknown.status).toBe(422);
    expect(unknown.json['error']).toMatchObject({ code: 'TRAMITE_ERR_UNKNOWN_TERRITORY' });
    const party = await dryRun('role=SUAP&comune=D763', fed.nodes.cst.tokens[PORTAL]!);
    expect(party.status).toBe(401);
    expect(party.json['error']).toMatchObject({ code: 'TRAMITE_ERR_OPERATOR_ONLY' });
    // The Regione's node has no competence table.
    const regione = await request(`${fed.nodes.regione.baseUrl}/api/v1/registry/resolve?role=SUAP&comune=D763`, {
      headers: { authorization: `Bearer ${fed.nodes.regione.operatorToken}` },
    });
    expect(regione.statusCode).toBe(422);
    expect(((await regione.body.json()) as any).error.code).toBe('TRAMITE_ERR_NO_COMPETENCE_TABLE');
  });
});
