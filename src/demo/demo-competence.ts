import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigFileCompetence, ConfigFileService } from '../config/config-types.js';
import { packageRoot } from '../config/package-root.js';

/*
 * The demo's routing by competence (issue 19): the CST's portal sends SUAP requests by role and Comune,
 * and the CST node's competence table, over the shipped Comuni of the Provincia di Chieti, names who gets
 * each — a Comune hosted by the CST, a Comune hosted by the other node, the Provincia by delegation.
 */

export const DEMO_COMPETENCE = {
  /** The portal: the one party that may send by role. */
  portal: 'SPC/CSTChietiPortale',
  /** Parties added to each node for it. */
  parties: { cst: ['SPC/CSTChietiPortale', 'SPC/ProvinciaChieti'], regione: ['SPC/ComuneLanciano'] },
  service: 'PraticaSUAP',
  /** The table file, in the CST node's folder. */
  file: 'competence.json',
} as const;

/** Who takes SUAP requests: each competent party offers the service to the portal. */
const SUAP_PARTIES = ['SPC/ComuneFrancavillaAlMare', 'SPC/ComuneOrtona', 'SPC/ComuneLanciano', 'SPC/ProvinciaChieti', 'SPC/RegioneAbruzzo'];

/** The competence table of the demo (schemas/competence-table.schema.json). */
export const DEMO_COMPETENCE_TABLE = {
  roles: ['SUAP', 'SUE', 'ANAGRAFE', 'TRIBUTI'],
  bodies: [{ id: 'PROVINCIA_CH', name: 'Provincia di Chieti' }],
  competent: [
    { role: 'SUAP', at: 'D763', party: 'SPC/ComuneFrancavillaAlMare' },
    { role: 'SUAP', at: 'G141', party: 'SPC/ComuneOrtona' },
    { role: 'SUAP', at: 'E435', party: 'SPC/ComuneLanciano' },
    { role: 'SUAP', at: 'PROVINCIA_CH', party: 'SPC/ProvinciaChieti' },
  ],
  // Two small Comuni of the Maiella run their SUAP through the Provincia.
  delegations: [
    { role: 'SUAP', from: 'D495', to: 'PROVINCIA_CH' },
    { role: 'SUAP', from: 'L047', to: 'PROVINCIA_CH' },
  ],
  fallbacks: [{ role: 'SUAP', party: 'SPC/RegioneAbruzzo' }],
};

/** PraticaSUAP, offered by every competent party to the portal: oneway with a signed riscontro. */
export function demoCompetenceServices(): ConfigFileService[] {
  return SUAP_PARTIES.map((provider) => ({
    provider,
    name: DEMO_COMPETENCE.service,
    tipo: 'SPC',
    profile: 'oneway',
    envelope: 'egov',
    confermaRicezione: true,
    inoltro: 'EGOV_IT_ALPIUUNAVOLTA',
    consumers: [DEMO_COMPETENCE.portal],
  }));
}

/** Writes the table into the CST node's folder; the `competence` block of its config, over the shipped territory data. */
export function writeDemoCompetence(nodeDir: string): ConfigFileCompetence {
  writeFileSync(join(nodeDir, DEMO_COMPETENCE.file), `${JSON.stringify(DEMO_COMPETENCE_TABLE, null, 2)}\n`);
  return {
    file: DEMO_COMPETENCE.file,
    territories: [join(packageRoot(), 'config', 'territories', 'chieti.json')],
    senders: [DEMO_COMPETENCE.portal],
  };
}

/**
 * The second half of the demo (issue 19 item 4): adds a row to the CST's table file, as an operator
 * editing it would. It applies on the next registry reload (competence-scenarios.ts reloads over HTTP).
 */
export function addDemoCompetentRow(nodeDir: string, row: { role: string; at: string; party: string }): void {
  const file = join(nodeDir, DEMO_COMPETENCE.file);
  const table = JSON.parse(readFileSync(file, 'utf8')) as typeof DEMO_COMPETENCE_TABLE;
  table.competent.push(row);
  writeFileSync(file, `${JSON.stringify(table, null, 2)}\n`);
}
