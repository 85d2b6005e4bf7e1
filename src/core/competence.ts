/*
 * Routing by competence: for a role (SUAP, ANAGRAFE…) and a Comune, the party competent for it. The
 * table is built and checked by src/config/competence-table.ts; here it only answers, without I/O.
 */

/** One Comune of the territory data: its codice catastale (Belfiore), ISTAT code, name and postal codes. */
export interface Comune {
  readonly belfiore: string;
  readonly istat: string;
  readonly nome: string;
  readonly cap: readonly string[];
}

/** How the competent party was chosen: the Comune's own, through delegations, or the role's fallback. */
export type CompetenceRule = 'direct' | 'delegated' | 'fallback';

/** A resolved destination, as the message log records it with the message. */
export interface CompetenceResolution {
  readonly role: string;
  /** The territory as the caller gave it: a Belfiore code, an ISTAT code or a CAP. */
  readonly asked: string;
  /** The Comune it names, by Belfiore code. */
  readonly comune: string;
  readonly party: string;
  readonly rule: CompetenceRule;
  /** `delegated`: where the role was handed on to, in order (Comuni by Belfiore code, bodies by id); the last holds it. */
  readonly via?: readonly string[];
  /** The table's version: `sha256:` and the hex digest of the table with its territories (docs/operators.md). */
  readonly tableVersion: string;
}

/** Why no party could be named: the caller is told before anything is signed. */
export interface CompetenceRefusal {
  readonly code:
    'TRAMITE_ERR_UNKNOWN_ROLE' | 'TRAMITE_ERR_UNKNOWN_TERRITORY' | 'TRAMITE_ERR_AMBIGUOUS_TERRITORY' | 'TRAMITE_ERR_NO_COMPETENT_PARTY';
  readonly message: string;
}

/**
 * The table as checked at load: every place a Belfiore code or a body id, every party known, no
 * delegation cycle, every delegation ending where someone is competent.
 */
export interface CompetenceSpec {
  readonly roles: readonly string[];
  /** Body id → name (Unioni di Comuni, the Provincia). */
  readonly bodies: ReadonlyMap<string, string>;
  /** `role place` → party. */
  readonly competent: ReadonlyMap<string, string>;
  /** `role place` → the place the role is handed to. */
  readonly delegations: ReadonlyMap<string, string>;
  /** role → party. */
  readonly fallbacks: ReadonlyMap<string, string>;
}

const BELFIORE = /^[A-Za-z]\d{3}$/;
const ISTAT = /^\d{6}$/;
const CAP = /^\d{5}$/;

/** The key of a (role, place) pair in CompetenceSpec's maps. */
export function competenceKey(role: string, place: string): string {
  return `${role} ${place}`;
}

/** A territory, or why the code names none. */
export type TerritoryLookup = { readonly comune: Comune } | { readonly refusal: CompetenceRefusal };

/** Comuni by each of their codes. */
export class Territories {
  private readonly byBelfiore = new Map<string, Comune>();
  private readonly byIstat = new Map<string, Comune>();
  private readonly byCap = new Map<string, Comune[]>();

  constructor(readonly comuni: readonly Comune[]) {
    for (const c of comuni) {
      this.byBelfiore.set(c.belfiore, c);
      this.byIstat.set(c.istat, c);
      for (const cap of c.cap) this.byCap.set(cap, [...(this.byCap.get(cap) ?? []), c]);
    }
  }

  /** The Comune a Belfiore code, an ISTAT code or a CAP names; a CAP shared by several Comuni names none. */
  find(code: string): TerritoryLookup {
    const unknown = (what: string): TerritoryLookup => ({
      refusal: {
        code: 'TRAMITE_ERR_UNKNOWN_TERRITORY',
        message: `${what} — fix: give the Comune's Belfiore code (e.g. C632), its six-digit ISTAT code (e.g. 069022) or its CAP`,
      },
    });
    if (BELFIORE.test(code)) {
      const c = this.byBelfiore.get(code.toUpperCase());
      return c ? { comune: c } : unknown(`no Comune of the territory data has the Belfiore code ${code}`);
    }
    if (ISTAT.test(code)) {
      const c = this.byIstat.get(code);
      return c ? { comune: c } : unknown(`no Comune of the territory data has the ISTAT code ${code}`);
    }
    if (CAP.test(code)) {
      const found = this.byCap.get(code) ?? [];
      if (found.length === 1) return { comune: found[0]! };
      if (found.length === 0) return unknown(`no Comune of the territory data has the CAP ${code}`);
      return {
        refusal: {
          code: 'TRAMITE_ERR_AMBIGUOUS_TERRITORY',
          message: `the CAP ${code} is shared by ${found.length} Comuni (${found.map((c) => `${c.nome} ${c.belfiore}`).join(', ')}) — fix: give the Comune's Belfiore or ISTAT code`,
        },
      };
    }
    return unknown(`"${code}" is neither a Belfiore code, an ISTAT code nor a CAP`);
  }
}

/**
 * Resolution over a checked table. A Comune's own competence comes first, then the delegations it (and
 * each body it hands the role to) made, then the role's fallback.
 */
export class CompetenceTable {
  private readonly roles: ReadonlySet<string>;

  constructor(
    readonly territories: Territories,
    readonly spec: CompetenceSpec,
    /** `sha256:<hex>`: recorded with every message routed by this table. */
    readonly version: string,
  ) {
    this.roles = new Set(spec.roles);
  }

  resolve(role: string, territory: string): { readonly resolution: CompetenceResolution } | { readonly refusal: CompetenceRefusal } {
    if (!this.roles.has(role))
      return {
        refusal: {
          code: 'TRAMITE_ERR_UNKNOWN_ROLE',
          message: `the competence table declares no role "${role}" — fix: use one of ${[...this.roles].join(', ')}`,
        },
      };
    const found = this.territories.find(territory);
    if ('refusal' in found) return found;
    const comune = found.comune.belfiore;
    const base = { role, asked: territory, comune, tableVersion: this.version };
    const via: string[] = [];
    let place = comune;
    // The loader refused cycles, so this ends; the bound keeps it so should a table ever skip the loader.
    for (let hops = 0; hops <= this.spec.delegations.size; hops++) {
      const party = this.spec.competent.get(competenceKey(role, place));
      if (party !== undefined)
        return { resolution: { ...base, party, rule: via.length > 0 ? 'delegated' : 'direct', ...(via.length > 0 ? { via } : {}) } };
      const next = this.spec.delegations.get(competenceKey(role, place));
      if (next === undefined) break;
      via.push(next);
      place = next;
    }
    const fallback = this.spec.fallbacks.get(role);
    if (fallback !== undefined) return { resolution: { ...base, party: fallback, rule: 'fallback' } };
    return {
      refusal: {
        code: 'TRAMITE_ERR_NO_COMPETENT_PARTY',
        message: `no party is competent for ${role} in ${found.comune.nome} (${comune}), and ${role} has no fallback — fix: add a row for it to the competence table, or a fallback for ${role}`,
      },
    };
  }
}
