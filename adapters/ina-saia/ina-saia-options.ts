import { listenOptionsSchema } from '../sdk/index.js';
import { COMUNE_PATTERN } from './registry-event-schema.js';

/** The ina-saia adapter's options, for one hosted party: one Comune. */
export interface InaSaiaOptions {
  /** The Comune this party is. */
  readonly comune: { readonly codice: string };
  /** Where communications go: the INA party and its sincrono service (the esito is the reply). */
  readonly ina: { readonly party: string; readonly service: string; readonly action?: string };
  /** How long one attempt waits for INA's esito before looking again later. */
  readonly timeoutMs: number;
  /** Transport failures are retried after delayMs, doubling up to maxDelayMs, for as long as it takes: order forbids skipping. */
  readonly retry: { readonly delayMs: number; readonly maxDelayMs: number };
  /** How many people's events may be under way at once (one event per person at a time, always). */
  readonly maxParallel: number;
  /** The registry software's API (POST /ina-saia/eventi, GET /ina-saia/eventi/{id}). */
  readonly listen?: { readonly host: string; readonly port: number; readonly apiTokens?: readonly string[] };
  /** Where each outcome is POSTed as JSON, besides being kept for GET. */
  readonly backOffice?: { readonly url: string };
}

export const inaSaiaOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['comune'],
  properties: {
    comune: {
      type: 'object',
      additionalProperties: false,
      required: ['codice'],
      description: 'The Comune this party is.',
      properties: {
        codice: {
          type: 'string',
          pattern: COMUNE_PATTERN,
          description: 'Belfiore (codice catastale) code of the Comune, e.g. H501 for Roma.',
        },
      },
    },
    ina: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The INA node: the party and the sincrono service communications are sent to.',
      properties: {
        party: { type: 'string', pattern: '^[A-Za-z0-9]+/[A-Za-z0-9_]+$', default: 'SPC/INA', description: 'Bus party of INA.' },
        service: { type: 'string', pattern: '^[A-Za-z0-9_]+$', default: 'ComunicazioneINA', description: "INA's sincrono service." },
        action: { type: 'string', pattern: '^[A-Za-z0-9_]+$', description: 'Bus action, when the service defines any.' },
      },
    },
    timeoutMs: {
      type: 'integer',
      minimum: 100,
      maximum: 600000,
      default: 30000,
      description: "How long one attempt waits for INA's esito.",
    },
    retry: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        delayMs: { type: 'integer', minimum: 10, default: 5000, description: 'First delay after a transport failure.' },
        maxDelayMs: { type: 'integer', minimum: 10, default: 300000, description: 'Longest delay between attempts.' },
      },
    },
    maxParallel: {
      type: 'integer',
      minimum: 1,
      maximum: 256,
      default: 8,
      description: "How many people's events may be under way at once.",
    },
    listen: listenOptionsSchema,
    backOffice: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: { url: { type: 'string', format: 'uri', pattern: '^https?://', description: 'URL receiving each outcome as JSON.' } },
    },
  },
} as const;
