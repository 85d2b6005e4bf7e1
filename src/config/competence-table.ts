import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Ajv2020, type AnySchemaObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import canonicalize from 'canonicalize';
import { ConfigError } from '../core/errors.js';
import { CompetenceTable, competenceKey, Territories, type Comune } from '../core/competence.js';
import type { ConfigFile, ConfigFileCompetence } from './config-types.js';
import { readPackageJson } from './package-root.js';
import { closest, invalidConfig, schemaProblem, type Problem } from './schema-problems.js';

/*
 * The operator's competence table and its territory data (docs/operators.md, "Competence tables"):
 * read, checked entirely — schema, then every name it uses — and built into the CompetenceTable the
 * registry resolves with. Every refusal names the file, the row and the fix, all at once.
 */

interface TerritoryFile {
  comuni: Array<{ belfiore: string; istat: string; nome: string; cap: string[] }>;
}

interface TableFile {
  roles: string[];
  bodies?: Array<{ id: string; name: string }>;
  competent: Array<{ role: string; at: string; party: string }>;
  delegations?: Array<{ role: string; from: string; to: string }>;
  fallbacks?: Array<{ role: string; party: string }>;
}

const validators = new Map<string, ValidateFunction>();

/** Compiled once per process, like the config's own schema. */
function validatorFor(schema: 'territories' | 'competence-table'): ValidateFunction {
  let v = validators.get(schema);
  if (!v) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true });
    addFormats.default(ajv, ['date']);
    v = ajv.compile(readPackageJson<AnySchemaObject>('schemas', `${schema}.schema.json`));
    validators.set(schema, v);
  }
  return v;
}

/** The files `competence` names, with the config field that names each (their existence is checked with the others'). */
export function competenceFiles(config: ConfigFile): Array<{ path: string; file: string }> {
  const c = config.competence;
  if (!c) return [];
  return [{ path: 'competence.file', file: c.file }, ...c.territories.map((file, i) => ({ path: `competence.territories[${i}]`, file }))];
}

/** competence.senders: hosted parties, each named once. */
export function competenceSenderProblems(config: ConfigFile, hosted: ReadonlySet<string>): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  config.competence?.senders.forEach((code, i) => {
    const path = `competence.senders[${i}]`;
    if (seen.has(code)) problems.push({ path, what: `"${code}" is listed twice`, fix: 'list each sender once' });
    seen.add(code);
    if (!hosted.has(code)) {
      const guess = closest(code, [...hosted]);
      problems.push({
        path,
        what: `"${code}" is not a party hosted by this node`,
        fix: `${guess ? `did you mean "${guess}"? ` : ''}name a hosted party: only their back offices send through this node`,
      });
    }
  });
  return problems;
}

/**
 * Reads and checks the table and its territories, and builds the table. `knownParties`: every party hosted
 * here or listed by a peer. Throws ConfigError (TRAMITE_ERR_CONFIG_UNREADABLE for a file that cannot be
 * read or parsed, TRAMITE_ERR_CONFIG_INVALID with every problem otherwise).
 */
export function loadCompetenceTable(
  settings: ConfigFileCompetence,
  abs: (file: string) => string,
  knownParties: readonly string[],
  configPath: string | undefined,
): CompetenceTable {
  const problems: Problem[] = [];
  const territoryFiles = settings.territories.map((file, i) => {
    const at = `competence.territories[${i}] (${basename(file)})`;
    return { at, data: readChecked<TerritoryFile>(abs(file), `competence.territories[${i}]`, 'territories', at, problems) };
  });
  const tableAt = `competence.file (${basename(settings.file)})`;
  const table = readChecked<TableFile>(abs(settings.file), 'competence.file', 'competence-table', tableAt, problems);
  if (problems.length > 0) throw invalidConfig(configPath, problems);

  const comuni = comuniOf(territoryFiles, problems);
  const territories = new Territories(comuni);
  const spec = checkTable(table!, territories, knownParties, tableAt, problems);
  if (problems.length > 0) throw invalidConfig(configPath, problems);
  // The version an auditor can recompute: SHA-256 of the RFC 8785 canonical JSON of the table and its territory files.
  const canonical = canonicalize({ table, territories: territoryFiles.map((t) => t.data) })!;
  return new CompetenceTable(territories, spec, `sha256:${createHash('sha256').update(canonical, 'utf8').digest('hex')}`);
}

/** A JSON file parsed and checked against its schema; undefined (with the problems added) when it is not right. */
function readChecked<T>(
  file: string,
  field: string,
  schema: 'territories' | 'competence-table',
  at: string,
  problems: Problem[],
): T | undefined {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (cause) {
    const why = cause instanceof SyntaxError ? `is not valid JSON (${cause.message})` : `cannot be read (${String(cause)})`;
    throw new ConfigError('TRAMITE_ERR_CONFIG_UNREADABLE', `config ${field}: ${file} ${why} — fix: correct the file`, { cause, field });
  }
  const validate = validatorFor(schema);
  if (!validate(data)) {
    problems.push(...(validate.errors ?? []).map((e) => schemaProblem(e, at)));
    return undefined;
  }
  return data as T;
}

/** Every Comune of every territory file, each code once. */
function comuniOf(files: ReadonlyArray<{ at: string; data: TerritoryFile | undefined }>, problems: Problem[]): Comune[] {
  const comuni: Comune[] = [];
  const byCode = new Map<string, string>();
  for (const { at, data } of files) {
    data!.comuni.forEach((c, j) => {
      const path = `${at}.comuni[${j}]`;
      for (const code of [c.belfiore, c.istat]) {
        const first = byCode.get(code);
        if (first !== undefined)
          problems.push({ path, what: `the code ${code} of ${c.nome} is already given to ${first}`, fix: 'keep one row per Comune' });
        else byCode.set(code, `${path} (${c.nome})`);
      }
      comuni.push({ belfiore: c.belfiore, istat: c.istat, nome: c.nome, cap: [...c.cap] });
    });
  }
  return comuni;
}

/** The table's names checked and normalised: places to Belfiore codes or body ids; cycles and dead ends refused. */
function checkTable(
  table: TableFile,
  territories: Territories,
  knownParties: readonly string[],
  at: string,
  problems: Problem[],
): ConstructorParameters<typeof CompetenceTable>[1] {
  const roles = new Set<string>();
  table.roles.forEach((role, i) => {
    if (roles.has(role))
      problems.push({ path: `${at}.roles[${i}]`, what: `role ${role} is declared twice`, fix: 'declare each role once' });
    roles.add(role);
  });
  const bodies = new Map<string, string>();
  (table.bodies ?? []).forEach((b, i) => {
    const path = `${at}.bodies[${i}].id`;
    if (/^[A-Z]\d{3}$/.test(b.id))
      problems.push({
        path,
        what: `"${b.id}" has the form of a Belfiore code`,
        fix: 'give the body an id that names it, e.g. UNIONE_FRENTANA',
      });
    else if (bodies.has(b.id)) problems.push({ path, what: `body ${b.id} is declared twice`, fix: 'declare each body once' });
    bodies.set(b.id, b.name);
  });

  const role = (path: string, name: string): boolean => {
    if (roles.has(name)) return true;
    const guess = closest(name, [...roles]);
    problems.push({
      path,
      what: `role "${name}" is not declared in roles`,
      fix: `${guess ? `did you mean "${guess}"? ` : ''}add it to roles, or use one of ${[...roles].join(', ')}`,
    });
    return false;
  };
  const party = (path: string, code: string): boolean => {
    if (knownParties.includes(code)) return true;
    const guess = closest(code, knownParties);
    problems.push({
      path,
      what: `party "${code}" is neither hosted by this node nor listed by any peer`,
      fix: `${guess ? `did you mean "${guess}"? ` : ''}add it to "parties" (hosted here) or to the "parties" of the peer that hosts it`,
    });
    return false;
  };
  const place = (path: string, code: string): string | undefined => {
    if (bodies.has(code)) return code;
    if (/^\d{5}$/.test(code)) {
      problems.push({
        path,
        what: `"${code}" is a CAP, which may be shared by several Comuni`,
        fix: 'name the Comune by its Belfiore or ISTAT code',
      });
      return undefined;
    }
    const found = territories.find(code);
    if ('comune' in found) return found.comune.belfiore;
    problems.push({
      path,
      what: `"${code}" is no Comune of the territory data and no declared body`,
      fix: `use a Belfiore or ISTAT code of competence.territories, or declare the body in bodies${closest(code, [...bodies.keys()]) ? ` (did you mean "${closest(code, [...bodies.keys()])}"?)` : ''}`,
    });
    return undefined;
  };

  const competent = new Map<string, string>();
  const competentAt = new Map<string, string>();
  table.competent.forEach((row, i) => {
    const path = `${at}.competent[${i}]`;
    const okRole = role(`${path}.role`, row.role);
    const okParty = party(`${path}.party`, row.party);
    const where = place(`${path}.at`, row.at);
    if (!okRole || !okParty || where === undefined) return;
    const key = competenceKey(row.role, where);
    const first = competentAt.get(key);
    if (first !== undefined) {
      problems.push({ path, what: `${row.role} at ${row.at} is already given by ${first}`, fix: 'keep one row per role and place' });
      return;
    }
    competent.set(key, row.party);
    competentAt.set(key, path);
  });

  const delegations = new Map<string, string>();
  const delegationAt = new Map<string, string>();
  (table.delegations ?? []).forEach((row, i) => {
    const path = `${at}.delegations[${i}]`;
    const okRole = role(`${path}.role`, row.role);
    const from = place(`${path}.from`, row.from);
    const to = place(`${path}.to`, row.to);
    if (!okRole || from === undefined || to === undefined) return;
    const key = competenceKey(row.role, from);
    const clash = delegationAt.get(key) ?? competentAt.get(key);
    if (clash !== undefined) {
      problems.push({
        path,
        what: `${row.role} at ${row.from} is already given by ${clash}`,
        fix: 'a place either is competent for a role or hands it on, once: keep one of the rows',
      });
      return;
    }
    delegations.set(key, to);
    delegationAt.set(key, path);
  });

  // Each delegation must lead, hop by hop, to a place someone is competent at, and never back to itself.
  for (const [key, path] of delegationAt) {
    const [roleName, start] = key.split(' ') as [string, string];
    const chain = [start];
    let current = delegations.get(key)!;
    for (;;) {
      if (chain.includes(current)) {
        problems.push({
          path,
          what: `the delegations of ${roleName} go round in a cycle: ${[...chain, current].join(' → ')}`,
          fix: 'make one place of the cycle competent itself (a row of competent), or remove one of its delegations',
        });
        break;
      }
      chain.push(current);
      if (competent.has(competenceKey(roleName, current))) break;
      const next = delegations.get(competenceKey(roleName, current));
      if (next === undefined) {
        problems.push({
          path,
          what: `${roleName} is handed on to ${current}, where no party is competent for it (${chain.join(' → ')})`,
          fix: `add a row of competent for ${roleName} at ${current}, or delegate it on from there`,
        });
        break;
      }
      current = next;
    }
  }

  const fallbacks = new Map<string, string>();
  (table.fallbacks ?? []).forEach((row, i) => {
    const path = `${at}.fallbacks[${i}]`;
    if (!role(`${path}.role`, row.role) || !party(`${path}.party`, row.party)) return;
    if (fallbacks.has(row.role)) {
      problems.push({ path, what: `${row.role} already has a fallback`, fix: 'keep one fallback per role' });
      return;
    }
    fallbacks.set(row.role, row.party);
  });

  return { roles: [...roles], bodies, competent, delegations, fallbacks };
}
