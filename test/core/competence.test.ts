import { describe, expect, it } from 'vitest';
import { CompetenceTable, competenceKey, Territories, type Comune } from '../../src/core/competence.js';

// Real codes of five Comuni of the Provincia di Chieti (config/territories/chieti.json); Ari and Canosa Sannita share the CAP 66010.
const COMUNI: Comune[] = [
  { belfiore: 'C632', istat: '069022', nome: 'Chieti', cap: ['66100'] },
  { belfiore: 'E435', istat: '069046', nome: 'Lanciano', cap: ['66034'] },
  { belfiore: 'D763', istat: '069035', nome: 'Francavilla al Mare', cap: ['66023'] },
  { belfiore: 'A398', istat: '069003', nome: 'Ari', cap: ['66010'] },
  { belfiore: 'B620', istat: '069010', nome: 'Canosa Sannita', cap: ['66010'] },
];

const VERSION = `sha256:${'ab'.repeat(32)}`;

function table(): CompetenceTable {
  const k = competenceKey;
  return new CompetenceTable(
    new Territories(COMUNI),
    {
      roles: ['SUAP', 'SUE', 'TRIBUTI'],
      bodies: new Map([
        ['UNIONE_FRENTANA', 'Unione dei Comuni Frentani'],
        ['PROVINCIA_CH', 'Provincia di Chieti'],
      ]),
      competent: new Map([
        [k('SUAP', 'C632'), 'SPC/ComuneChieti'],
        [k('SUAP', 'E435'), 'SPC/ComuneLanciano'],
        [k('SUAP', 'PROVINCIA_CH'), 'SPC/ProvinciaChieti'],
        [k('SUE', 'C632'), 'SPC/ComuneChieti'],
      ]),
      delegations: new Map([
        // Ari hands SUAP to its Unione, which hands it on to the Provincia; Francavilla straight to the Provincia.
        [k('SUAP', 'A398'), 'UNIONE_FRENTANA'],
        [k('SUAP', 'UNIONE_FRENTANA'), 'PROVINCIA_CH'],
        [k('SUAP', 'D763'), 'PROVINCIA_CH'],
      ]),
      fallbacks: new Map([['SUE', 'SPC/RegioneAbruzzo']]),
    },
    VERSION,
  );
}

const resolved = (role: string, comune: string) => {
  const r = table().resolve(role, comune);
  if ('refusal' in r) throw new Error(`refused: ${r.refusal.code} ${r.refusal.message}`);
  return r.resolution;
};
const refused = (role: string, comune: string) => {
  const r = table().resolve(role, comune);
  if ('resolution' in r) throw new Error(`resolved to ${r.resolution.party}`);
  return r.refusal;
};

describe('CompetenceTable.resolve', () => {
  it('direct, by Belfiore code (either case), with the table version', () => {
    expect(resolved('SUAP', 'C632')).toEqual({
      role: 'SUAP',
      asked: 'C632',
      comune: 'C632',
      party: 'SPC/ComuneChieti',
      rule: 'direct',
      tableVersion: VERSION,
    });
    expect(resolved('SUAP', 'e435')).toMatchObject({ comune: 'E435', party: 'SPC/ComuneLanciano', rule: 'direct' });
  });

  it('direct, by ISTAT code', () => {
    expect(resolved('SUAP', '069046')).toMatchObject({ asked: '069046', comune: 'E435', party: 'SPC/ComuneLanciano', rule: 'direct' });
  });

  it('direct, by a CAP that is one Comune’s only', () => {
    expect(resolved('SUAP', '66100')).toMatchObject({ asked: '66100', comune: 'C632', party: 'SPC/ComuneChieti', rule: 'direct' });
  });

  it('delegated: to the Provincia, and through an Unione on to the Provincia, naming each hop', () => {
    expect(resolved('SUAP', 'D763')).toMatchObject({ party: 'SPC/ProvinciaChieti', rule: 'delegated', via: ['PROVINCIA_CH'] });
    expect(resolved('SUAP', '069003')).toMatchObject({
      comune: 'A398',
      party: 'SPC/ProvinciaChieti',
      rule: 'delegated',
      via: ['UNIONE_FRENTANA', 'PROVINCIA_CH'],
    });
  });

  it('fallback: a known Comune the table names no one for, when the role has one', () => {
    const r = resolved('SUE', 'E435');
    expect(r).toMatchObject({ party: 'SPC/RegioneAbruzzo', rule: 'fallback' });
    expect(r.via).toBeUndefined();
    // …and never for a Comune that has its own row.
    expect(resolved('SUE', 'C632')).toMatchObject({ party: 'SPC/ComuneChieti', rule: 'direct' });
  });

  it('refuses an unknown territory, by each form of code, and text that is no code', () => {
    for (const code of ['D969', '010025', '16121', 'Chieti', '']) expect(refused('SUAP', code).code).toBe('TRAMITE_ERR_UNKNOWN_TERRITORY');
    expect(refused('SUAP', 'D969').message).toMatch(/Belfiore code D969/);
  });

  it('refuses a CAP shared by several Comuni, naming them', () => {
    const r = refused('SUAP', '66010');
    expect(r.code).toBe('TRAMITE_ERR_AMBIGUOUS_TERRITORY');
    expect(r.message).toMatch(/Ari A398, Canosa Sannita B620/);
  });

  it('refuses an unknown role, naming the declared ones', () => {
    const r = refused('ANAGRAFE', 'C632');
    expect(r.code).toBe('TRAMITE_ERR_UNKNOWN_ROLE');
    expect(r.message).toMatch(/SUAP, SUE, TRIBUTI/);
  });

  it('refuses a declared role no one is competent for where there is no fallback', () => {
    expect(refused('TRIBUTI', 'C632').code).toBe('TRAMITE_ERR_NO_COMPETENT_PARTY');
    // B620 has no SUAP row, no delegation, and SUAP no fallback.
    expect(refused('SUAP', 'B620').code).toBe('TRAMITE_ERR_NO_COMPETENT_PARTY');
  });
});
