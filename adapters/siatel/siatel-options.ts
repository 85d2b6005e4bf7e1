/** The SIATEL adapter's options (one Comune party), and the bodies its back-office API accepts. */
import { listenOptionsSchema } from '../sdk/index.js';
import { clockAnchorSchema } from './siatel-clock.js';
import { SIATEL_LIMITS, type SiatelLimits } from './siatel-quota.js';
import { SIATEL_QUERY_KINDS, type SiatelQueryKind } from './siatel-mapping.js';

export interface SiatelOptions {
  /** The back-office API (loopback by default). Without it the adapter only runs bulk jobs already submitted. */
  readonly listen?: { readonly host?: string; readonly port: number; readonly apiTokens?: readonly string[] };
  /** Where queries go on the bus: the Agenzia's party and its sincrono service. */
  readonly siatel?: { readonly party?: string; readonly service?: string };
  /** Client-side limits per operator; never above SIATEL's (60 a minute, 500 codici fiscali a day). */
  readonly limits?: Partial<SiatelLimits>;
  /** How long one query waits for SIATEL's answer on the bus. */
  readonly timeoutMs?: number;
  /** Demo only: run the quota's clock this many times faster (see siatel-clock.ts). */
  readonly clockFactor?: number;
  /** Demo and tests: where the fast clock starts (an ISO instant; see siatel-clock.ts). Only with clockFactor. */
  readonly clockAnchor?: string;
}

/** The options with every default applied (the node applies the schema's; direct callers may not). */
export interface ResolvedSiatelOptions {
  readonly listen?: { readonly host: string; readonly port: number; readonly apiTokens: readonly string[] };
  readonly siatel: { readonly party: string; readonly service: string };
  readonly limits: SiatelLimits;
  readonly timeoutMs: number;
  readonly clockFactor: number;
  readonly clockAnchor?: Date;
}

export const SIATEL_DEFAULTS = { party: 'SPC/AgenziaEntrate', service: 'InterrogazioneSIATEL', timeoutMs: 30_000 } as const;

export function resolveSiatelOptions(o: SiatelOptions): ResolvedSiatelOptions {
  return {
    ...(o.listen ? { listen: { host: o.listen.host ?? '127.0.0.1', port: o.listen.port, apiTokens: o.listen.apiTokens ?? [] } } : {}),
    siatel: { party: o.siatel?.party ?? SIATEL_DEFAULTS.party, service: o.siatel?.service ?? SIATEL_DEFAULTS.service },
    limits: {
      queriesPerMinute: o.limits?.queriesPerMinute ?? SIATEL_LIMITS.queriesPerMinute,
      codesPerDay: o.limits?.codesPerDay ?? SIATEL_LIMITS.codesPerDay,
    },
    timeoutMs: o.timeoutMs ?? SIATEL_DEFAULTS.timeoutMs,
    clockFactor: o.clockFactor ?? 1,
    ...(o.clockAnchor !== undefined ? { clockAnchor: new Date(o.clockAnchor) } : {}),
  };
}

export const siatelOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    listen: listenOptionsSchema,
    siatel: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: "The Agenzia delle Entrate's party on the bus and its sincrono SIATEL service.",
      properties: {
        party: { type: 'string', pattern: '^[A-Za-z0-9]+/[A-Za-z0-9_]+$', default: SIATEL_DEFAULTS.party },
        service: { type: 'string', pattern: '^[A-Za-z0-9_]+$', default: SIATEL_DEFAULTS.service },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'Per-operator limits the adapter applies before SIATEL does. SIATEL blocks an operator above 60 queries a minute or 500 codici fiscali a day, so larger values are refused; smaller ones leave a margin.',
      properties: {
        queriesPerMinute: { type: 'integer', minimum: 1, maximum: SIATEL_LIMITS.queriesPerMinute, default: SIATEL_LIMITS.queriesPerMinute },
        codesPerDay: { type: 'integer', minimum: 1, maximum: SIATEL_LIMITS.codesPerDay, default: SIATEL_LIMITS.codesPerDay },
      },
    },
    timeoutMs: {
      type: 'integer',
      minimum: 100,
      maximum: 600_000,
      default: SIATEL_DEFAULTS.timeoutMs,
      description:
        "How long a query waits for SIATEL's answer on the bus; the query expires then (its Scadenza), or at the end of its Italian day if sooner.",
    },
    clockFactor: {
      type: 'number',
      minimum: 1,
      maximum: 100_000,
      description:
        "Demo only: the quota's clock runs this many times faster (60: an hour a minute); the limits logic is unchanged. Give the simulator the same factor.",
    },
    clockAnchor: clockAnchorSchema('Give the simulator the same anchor.'),
  },
  // An anchor without a factor would be silently ignored.
  dependencies: { clockAnchor: ['clockFactor'] },
} as const;

// ---------------------------------------------------------------------------------------------------
// API bodies

const operatore = {
  type: 'string',
  pattern: '^[A-Za-z0-9._-]{1,64}$',
  description: 'The SIATEL operator the query is made for (who the limits count).',
} as const;
/** As people type it: the adapter normalizes (spaces, case) and checks it before any query. */
const codiceFiscale = { type: 'string', minLength: 1, maxLength: 64 } as const;
const comune = { type: 'string', pattern: '^[A-Za-z][0-9]{3}$', description: 'Codice catastale (Belfiore) of the Comune.' } as const;

export interface VerificaBody {
  readonly operatore: string;
  readonly codiceFiscale: string;
}

export interface ResidenzaBody extends VerificaBody {
  readonly comune: string;
}

export interface MassivaBody {
  readonly operatore: string;
  readonly codiciFiscali: readonly string[];
  readonly interrogazione: SiatelQueryKind;
  readonly comune?: string;
}

/** Most codici fiscali in one bulk request: at 500 a day, twenty days of one operator's quota. */
export const MAX_BULK_CODES = 10_000;

export const verificaBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['operatore', 'codiceFiscale'],
  properties: { operatore, codiceFiscale },
} as const;

export const residenzaBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['operatore', 'codiceFiscale', 'comune'],
  properties: { operatore, codiceFiscale, comune },
} as const;

export const massivaBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['operatore', 'codiciFiscali'],
  properties: {
    operatore,
    codiciFiscali: { type: 'array', minItems: 1, maxItems: MAX_BULK_CODES, items: codiceFiscale },
    interrogazione: { type: 'string', enum: SIATEL_QUERY_KINDS, default: 'verificaCodiceFiscale' },
    comune,
  },
  if: { type: 'object', required: ['interrogazione'], properties: { interrogazione: { const: 'verificaResidenza' } } },
  then: { type: 'object', required: ['comune'], properties: { comune } },
} as const;
