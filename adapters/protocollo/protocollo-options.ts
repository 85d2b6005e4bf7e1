import { listenOptionsSchema } from '../sdk/index.js';
import type { WithoutImprontaPolicy } from './impronta.js';

/** The protocollo adapter's options, as configured for one hosted party (one AOO). */
export interface ProtocolloOptions {
  readonly aoo: {
    readonly codiceAmministrazione: string;
    readonly codiceAOO: string;
    readonly codiceRegistro: string;
    readonly denominazione: string;
  };
  /** The bus service protocollo messages travel on (each AOO party provides it). */
  readonly service: string;
  /** The services of the party's PEC adapter: for AOO reached by PEC (the guideline's transitional channel). */
  readonly pecServices: { readonly invio: string; readonly ricezione: string };
  /** The back-office API of the adapter (loopback by default): protocol requests come in here. */
  readonly listen?: { readonly host: string; readonly port: number; readonly apiTokens?: readonly string[] };
  /** Where registered documents and protocol events are POSTed (JSON). Without it received documents stay in the adapter's archive. */
  readonly backOffice?: { readonly url: string };
  /**
   * A received 2013 or 2001 Segnatura listing a document without Impronta (those forms allowed it; 2021
   * requires it): `accept` (default) registers it flagged, the document marked unchecked in the register
   * and the back-office event; `refuse` answers NotificaEccezione 002_AnomaliaImpronta.
   */
  readonly withoutImpronta?: WithoutImprontaPolicy;
  /** The AOO's own protocol system, speaking the AgID SOAP interfaces (it keeps the register). */
  readonly soap?: {
    /** Where the adapter serves the destinatario and mittente interfaces to the protocol system. */
    readonly listen?: { readonly host: string; readonly port: number };
    /** The protocol system's destinatario endpoint: documents from the bus are handed to it. */
    readonly destinatarioUrl?: string;
    /** The protocol system's mittente endpoint: confirmations of the documents it sent go to it. */
    readonly mittenteUrl?: string;
    /** Which bus party each receiving AOO is. */
    readonly directory: ReadonlyArray<{ readonly codiceAmministrazione: string; readonly codiceAOO: string; readonly party: string }>;
  };
}

export const protocolloOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['aoo'],
  properties: {
    aoo: {
      type: 'object',
      additionalProperties: false,
      required: ['codiceAmministrazione', 'codiceAOO', 'codiceRegistro', 'denominazione'],
      description: 'The AOO this party registers documents for, with its IPA codes.',
      properties: {
        codiceAmministrazione: {
          type: 'string',
          pattern: '^[A-Za-z0-9_.-]{1,32}$',
          description: 'IPA code of the administration, e.g. c_g141.',
        },
        codiceAOO: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,32}$', description: 'IPA code of the AOO.' },
        codiceRegistro: {
          type: 'string',
          pattern: '^[A-Za-z0-9_.-]{1,16}$',
          description: 'Code of the protocol register (CodiceRegistro: letters, digits, _ . -, up to 16).',
        },
        denominazione: { type: 'string', minLength: 1, description: 'Name of the administration, as the Segnatura shows it.' },
      },
    },
    service: {
      type: 'string',
      pattern: '^[A-Za-z0-9_]+$',
      default: 'ProtocolloInteroperabile',
      description: 'Bus service of protocollo messages.',
    },
    pecServices: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        "The party's PEC adapter services: documents to an AOO reached by PEC go out on invio, PEC messages come in on ricezione.",
      properties: {
        invio: { type: 'string', pattern: '^[A-Za-z0-9_]+$', default: 'InvioPEC', description: 'Service of the PEC adapter that sends.' },
        ricezione: {
          type: 'string',
          pattern: '^[A-Za-z0-9_]+$',
          default: 'MessaggioPEC',
          description: 'Service on which received PEC messages arrive.',
        },
      },
    },
    listen: listenOptionsSchema,
    backOffice: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: { url: { type: 'string', format: 'uri', pattern: '^https?://', description: 'URL receiving protocol events as JSON.' } },
    },
    withoutImpronta: {
      type: 'string',
      enum: ['accept', 'refuse'],
      default: 'accept',
      description:
        'A received 2013 or 2001 Segnatura listing a document without Impronta (those forms made it optional; the 2021 form requires it): ' +
        'accept registers it flagged, the document marked unchecked in the register and the back-office event; refuse answers NotificaEccezione 002_AnomaliaImpronta.',
    },
    soap: {
      type: 'object',
      additionalProperties: false,
      description: 'The AOO protocol system speaking the AgID SOAP interfaces (protocollo-destinatario.wsdl, protocollo-mittente.wsdl).',
      properties: {
        listen: {
          type: 'object',
          additionalProperties: false,
          required: ['port'],
          properties: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'integer', minimum: 0, maximum: 65535 } },
          description: 'Where the adapter serves both interfaces (paths /protocollo/destinatario and /protocollo/mittente).',
        },
        destinatarioUrl: {
          type: 'string',
          format: 'uri',
          pattern: '^https?://',
          description: "The protocol system's destinatario endpoint (MessaggioInoltro).",
        },
        mittenteUrl: {
          type: 'string',
          format: 'uri',
          pattern: '^https?://',
          description: "The protocol system's mittente endpoint (ConfermaMessaggioInoltro).",
        },
        directory: {
          type: 'array',
          default: [],
          description: 'The bus party of each AOO the protocol system sends to.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['codiceAmministrazione', 'codiceAOO', 'party'],
            properties: {
              codiceAmministrazione: { type: 'string', minLength: 1 },
              codiceAOO: { type: 'string', minLength: 1 },
              party: { type: 'string', pattern: '^[A-Za-z0-9]+/[A-Za-z0-9_]+$' },
            },
          },
        },
      },
    },
  },
} as const;

/** The body of POST /protocollo/inoltri: a document to register and send to another AOO. */
export interface InoltroRequest {
  /** The receiving AOO's bus party; or, for an AOO reached by PEC, `pec`. */
  readonly to?: string;
  /** The receiving AOO's PEC address (the guideline's PEC channel). */
  readonly pec?: string;
  readonly destinatario: { readonly codiceAmministrazione: string; readonly codiceAOO: string; readonly denominazione: string };
  readonly oggetto: string;
  readonly classifica: { readonly denominazione: string; readonly codice: string };
  readonly confermaRicezione: boolean;
  readonly documentoPrimario: DocumentoRequest;
  readonly allegati: readonly DocumentoRequest[];
}

export interface DocumentoRequest {
  readonly nomeFile: string;
  readonly mimeType: string;
  /** Base64. */
  readonly contenuto: string;
}

const documento = {
  type: 'object',
  additionalProperties: false,
  required: ['nomeFile', 'mimeType', 'contenuto'],
  properties: {
    nomeFile: { type: 'string', pattern: '^[^/\\\\]{1,200}$' },
    mimeType: { type: 'string', pattern: '^[\\w.+-]+/[\\w.+-]+$' },
    contenuto: { type: 'string', pattern: '^[A-Za-z0-9+/\\s]*={0,2}\\s*$' },
  },
} as const;

export const inoltroRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['destinatario', 'oggetto', 'classifica', 'documentoPrimario'],
  properties: {
    to: { type: 'string', pattern: '^[A-Za-z0-9]+/[A-Za-z0-9_]+$' },
    pec: { type: 'string', pattern: '^[^\\s@<>(),;:"]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$' },
    destinatario: {
      type: 'object',
      additionalProperties: false,
      required: ['codiceAmministrazione', 'codiceAOO', 'denominazione'],
      properties: {
        codiceAmministrazione: { type: 'string', minLength: 1 },
        codiceAOO: { type: 'string', minLength: 1 },
        denominazione: { type: 'string', minLength: 1 },
      },
    },
    oggetto: { type: 'string', minLength: 1, maxLength: 2000 },
    classifica: {
      type: 'object',
      additionalProperties: false,
      required: ['denominazione', 'codice'],
      properties: { denominazione: { type: 'string', minLength: 1 }, codice: { type: 'string', minLength: 1 } },
    },
    confermaRicezione: { type: 'boolean', default: true },
    documentoPrimario: documento,
    allegati: { type: 'array', items: documento, default: [] },
  },
} as const;

/** The body of POST /protocollo/annullamenti: cancel one of our registrations, telling the other AOO. */
export interface AnnullamentoRequest {
  readonly anno: string;
  readonly numero: string;
  readonly motivo: string;
  readonly provvedimento: string;
}

export const annullamentoRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['anno', 'numero', 'motivo', 'provvedimento'],
  properties: {
    anno: { type: 'string', pattern: '^\\d{4}$' },
    numero: { type: 'string', pattern: '^\\d{7,}$' },
    motivo: { type: 'string', minLength: 1 },
    provvedimento: { type: 'string', minLength: 1 },
  },
} as const;
