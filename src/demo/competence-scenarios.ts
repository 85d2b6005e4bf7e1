import { request } from 'undici';
import type { DemoBackOffice } from './demo-back-office.js';
import { addDemoCompetentRow, DEMO_COMPETENCE } from './demo-competence.js';
import type { DemoNode } from './demo-federation.js';
import type { ExchangeReport } from './exchange-report.js';

/*
 * Issue 19's demo: the CST's portal sends the same SUAP request for three citizens of three Comuni, by
 * role and Comune; each reaches the competent Ente — a Comune hosted by the CST, a Comune on the Regione's
 * node, the Provincia by delegation — and a Comune outside the table's territory is refused at once.
 * Then a Comune is added by editing the table and reloading the registry, without restarting the node,
 * and the next request for it reaches the newly competent Ente.
 */

interface Citizen {
  readonly scenario: string;
  readonly comune: string;
  readonly codiceFiscale: string;
  readonly party: string;
  readonly rule: 'direct' | 'delegated' | 'fallback';
}

const CITIZENS: readonly Citizen[] = [
  // Francavilla al Mare (D763), hosted by the CST node itself.
  {
    scenario: 'competence-suap-hosted-by-cst',
    comune: 'D763',
    codiceFiscale: 'RSSMRA85T10D763Q',
    party: 'SPC/ComuneFrancavillaAlMare',
    rule: 'direct',
  },
  // Lanciano, named by its ISTAT code: hosted by the Regione's node.
  {
    scenario: 'competence-suap-on-other-node',
    comune: '069046',
    codiceFiscale: 'BNCLRA70A41E435X',
    party: 'SPC/ComuneLanciano',
    rule: 'direct',
  },
  // Fara San Martino (D495) runs its SUAP through the Provincia.
  {
    scenario: 'competence-suap-delegated',
    comune: 'D495',
    codiceFiscale: 'VRDGPP60C12D495Y',
    party: 'SPC/ProvinciaChieti',
    rule: 'delegated',
  },
];

type Answer = { status: number; json: Record<string, unknown> & { routing?: Record<string, unknown>; error?: { code: string } } };

async function send(cst: DemoNode, comune: string, codiceFiscale: string): Promise<Answer> {
  const res = await request(`${cst.baseUrl}/api/v1/messages?wait=10`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cst.tokens[DEMO_COMPETENCE.portal]}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      from: DEMO_COMPETENCE.portal,
      to: { role: 'SUAP', comune },
      service: DEMO_COMPETENCE.service,
      payload: `<suap:Pratica xmlns:suap="urn:tramite:demo:suap"><suap:richiedente>${codiceFiscale}</suap:richiedente></suap:Pratica>`,
    }),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Answer['json'] };
}

/** The competence scenarios; the federation must have been written with `competence`. */
export async function competenceScenarios(cst: DemoNode, backOffice: DemoBackOffice): Promise<ExchangeReport[]> {
  const reports: ExchangeReport[] = [];
  for (const c of CITIZENS) {
    const { status, json } = await send(cst, c.comune, c.codiceFiscale);
    const id = typeof json['id'] === 'string' ? json['id'] : null;
    const problems: string[] = [];
    if (status !== 200 || json['status'] !== 'DELIVERED') problems.push(`HTTP ${status}, ${String(json['status'] ?? json.error?.code)}`);
    if (json.routing?.['party'] !== c.party || json.routing['rule'] !== c.rule)
      problems.push(`routed to ${String(json.routing?.['party'])} (${String(json.routing?.['rule'])})`);
    const got = backOffice.received.filter((m) => m.id === id).map((m) => m.party);
    if (got.length !== 1 || got[0] !== c.party) problems.push(`received by ${got.join(', ') || 'no back office'}`);
    reports.push({
      scenario: c.scenario,
      id,
      status: String(json['status'] ?? 'none'),
      expected: `DELIVERED to ${c.party} (${c.rule})`,
      ok: problems.length === 0,
      receipt: json['receipt'] !== null && json['receipt'] !== undefined,
      attempts: typeof json['attempts'] === 'number' ? json['attempts'] : 0,
      detail:
        problems.length > 0
          ? problems.join('; ')
          : `SUAP ${c.comune} → ${c.party}, rule ${c.rule}, table ${String(json.routing?.['tableVersion']).slice(0, 19)}…`,
    });
  }
  // Genova's Belfiore code: no Comune of the Provincia di Chieti. Refused before anything is signed.
  const refused = await send(cst, 'D969', 'RSSMRA85T10D969Q');
  const code = refused.json.error?.code;
  reports.push({
    scenario: 'competence-unknown-comune-refused',
    id: null,
    status: `HTTP ${refused.status}`,
    expected: 'HTTP 422 TRAMITE_ERR_UNKNOWN_TERRITORY',
    ok: refused.status === 422 && code === 'TRAMITE_ERR_UNKNOWN_TERRITORY',
    receipt: false,
    attempts: 0,
    ...(code ? { code } : {}),
  });
  reports.push(await comuneAddedByReload(cst, backOffice));
  return reports;
}

/** San Vito Chietino, whose SUAP went to the Regione's fallback until its row gives it to Ortona's. */
const ADDED = { comune: 'I394', codiceFiscale: 'BRNLCU75M20I394K', party: 'SPC/ComuneOrtona' } as const;

/**
 * San Vito Chietino's SUAP: the dry run names the fallback; the table file gets a row for it, applied by
 * `POST /api/v1/registry/reload` with the operator token (the node keeps running); the next request reaches Ortona.
 */
async function comuneAddedByReload(cst: DemoNode, backOffice: DemoBackOffice): Promise<ExchangeReport> {
  const problems: string[] = [];
  // Before: the dry run names the Regione's fallback.
  const before = await request(`${cst.baseUrl}/api/v1/registry/resolve?role=SUAP&comune=${ADDED.comune}`, {
    headers: { authorization: `Bearer ${cst.operatorToken}` },
  });
  const was = (await before.body.json()) as { party?: string; rule?: string };
  if (was.party !== 'SPC/RegioneAbruzzo' || was.rule !== 'fallback') problems.push(`before the reload: ${JSON.stringify(was)}`);
  addDemoCompetentRow(cst.dir, { role: 'SUAP', at: ADDED.comune, party: ADDED.party });
  const res = await request(`${cst.baseUrl}/api/v1/registry/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cst.operatorToken}` },
  });
  const reload = (await res.body.json()) as { applied?: boolean; version?: { version: number }; error?: { code: string; message: string } };
  if (res.statusCode !== 200 || reload.applied !== true)
    problems.push(`reload: HTTP ${res.statusCode}, ${reload.error ? `${reload.error.code}: ${reload.error.message}` : 'not applied'}`);
  const { status, json } = await send(cst, ADDED.comune, ADDED.codiceFiscale);
  const id = typeof json['id'] === 'string' ? json['id'] : null;
  if (status !== 200 || json['status'] !== 'DELIVERED') problems.push(`HTTP ${status}, ${String(json['status'] ?? json.error?.code)}`);
  if (json.routing?.['party'] !== ADDED.party || json.routing['rule'] !== 'direct')
    problems.push(`routed to ${String(json.routing?.['party'])} (${String(json.routing?.['rule'])})`);
  const got = backOffice.received.filter((m) => m.id === id).map((m) => m.party);
  if (got.length !== 1 || got[0] !== ADDED.party) problems.push(`received by ${got.join(', ') || 'no back office'}`);
  return {
    scenario: 'competence-comune-added-by-reload',
    id,
    status: String(json['status'] ?? 'none'),
    expected: `reloaded without restart, then DELIVERED to ${ADDED.party} (direct)`,
    ok: problems.length === 0,
    receipt: json['receipt'] !== null && json['receipt'] !== undefined,
    attempts: typeof json['attempts'] === 'number' ? json['attempts'] : 0,
    detail:
      problems.length > 0
        ? problems.join('; ')
        : `SUAP ${ADDED.comune} was ${String(was.party)} (${String(was.rule)}); row → ${ADDED.party} added, registry version ${String(reload.version?.version)}, table ${String(json.routing?.['tableVersion']).slice(0, 19)}…`,
  };
}
