/**
 * The PDND simulator's registry, read from a JSON file: the clients (each with the public keys
 * uploaded to it, by kid, and the purposes it may ask vouchers for) and the e-services (the audience
 * their vouchers carry, their purposes, the voucher lifespan). Validated by ajv at load, with messages
 * naming the field, so a typo in a test registry fails at start and not at the first token request.
 */
import { type KeyObject, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { ConfigError } from '../core/errors.js';

export interface RegistryClientKey {
  readonly kid: string;
  readonly publicKey: KeyObject;
  /** The PEM as registered, served again by GET /keys/{kid}. */
  readonly pem: string;
}

export interface RegistryClient {
  readonly clientId: string;
  /** `e-service`: vouchers for purposes; `api`: vouchers for PDND's own APIs (tracing), no purpose. */
  readonly kind: 'e-service' | 'api';
  /** The tenant (ente) the client belongs to: the voucher's consumerId, and whose tracing it uploads. */
  readonly tenantId: string;
  readonly keys: ReadonlyMap<string, RegistryClientKey>;
  readonly purposes: ReadonlySet<string>;
}

export interface RegistryEService {
  readonly eserviceId: string;
  readonly producerId: string;
  readonly descriptorId: string;
  readonly audience: string;
  readonly purposes: ReadonlySet<string>;
  readonly voucherLifespanSeconds: number;
}

export interface SimulatorRegistry {
  readonly clients: ReadonlyMap<string, RegistryClient>;
  readonly eservices: readonly RegistryEService[];
  /** The e-service a purpose belongs to. */
  eserviceOf(purposeId: string): RegistryEService | undefined;
  /** A client key by kid, whichever client it belongs to (kids are unique in PDND). */
  keyByKid(kid: string): (RegistryClientKey & { readonly clientId: string }) | undefined;
}

interface RegistryJson {
  clients: {
    client_id: string;
    kind?: 'e-service' | 'api';
    tenant_id: string;
    keys: { kid: string; pem: string }[];
    purposes?: string[];
  }[];
  eservices: {
    eservice_id: string;
    producer_id: string;
    descriptor_id: string;
    audience: string;
    purposes: string[];
    voucher_lifespan: number;
  }[];
}

const ID = { type: 'string', minLength: 1, maxLength: 200 } as const;
const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['clients', 'eservices'],
  properties: {
    clients: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['client_id', 'tenant_id', 'keys'],
        properties: {
          client_id: ID,
          kind: { enum: ['e-service', 'api'] },
          tenant_id: ID,
          keys: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['kid', 'pem'],
              properties: { kid: ID, pem: { type: 'string', pattern: '-----BEGIN PUBLIC KEY-----' } },
            },
          },
          purposes: { type: 'array', items: ID },
        },
      },
    },
    eservices: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['eservice_id', 'producer_id', 'descriptor_id', 'audience', 'purposes', 'voucher_lifespan'],
        properties: {
          eservice_id: ID,
          producer_id: ID,
          descriptor_id: ID,
          audience: ID,
          purposes: { type: 'array', items: ID },
          voucher_lifespan: { type: 'integer', minimum: 1, maximum: 86400 },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile<RegistryJson>(SCHEMA);

function describe(e: ErrorObject): string {
  const where = e.instancePath || '(root)';
  if (e.keyword === 'additionalProperties')
    return `${where}: unknown field ${(e.params as { additionalProperty: string }).additionalProperty}`;
  if (e.keyword === 'required') return `${where}: missing field ${(e.params as { missingProperty: string }).missingProperty}`;
  return `${where}: ${e.message ?? e.keyword}`;
}

export function loadSimulatorRegistry(file: string): SimulatorRegistry {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `PDND registry ${file} cannot be read as JSON: ${(cause as Error).message}`, {
      cause,
      field: file,
    });
  }
  return parseSimulatorRegistry(json, file);
}

export function parseSimulatorRegistry(json: unknown, source = 'PDND registry'): SimulatorRegistry {
  if (!validate(json)) {
    const errors = (validate.errors ?? []).map(describe);
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `${source}: ${errors.join('; ')}`, { field: errors[0]?.split(':')[0] });
  }
  const kids = new Map<string, RegistryClientKey & { clientId: string }>();
  const clients = new Map<string, RegistryClient>();
  json.clients.forEach((c, i) => {
    if (clients.has(c.client_id))
      throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `${source}: /clients/${i}/client_id: ${c.client_id} appears twice`, {
        field: `/clients/${i}/client_id`,
      });
    const keys = new Map<string, RegistryClientKey>();
    c.keys.forEach((k, j) => {
      const field = `/clients/${i}/keys/${j}`;
      if (kids.has(k.kid))
        throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `${source}: ${field}/kid: ${k.kid} is already registered`, { field });
      let publicKey: KeyObject;
      try {
        publicKey = createPublicKey(k.pem);
      } catch (cause) {
        throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `${source}: ${field}/pem: not a PEM public key`, { cause, field });
      }
      // The PDND authorization server accepts only RS256: only RSA keys can be uploaded.
      if (publicKey.asymmetricKeyType !== 'rsa')
        throw new ConfigError(
          'TRAMITE_ERR_CONFIG_INVALID',
          `${source}: ${field}/pem: a ${publicKey.asymmetricKeyType} key, PDND takes RSA`,
          {
            field,
          },
        );
      const key = { kid: k.kid, publicKey, pem: k.pem };
      keys.set(k.kid, key);
      kids.set(k.kid, { ...key, clientId: c.client_id });
    });
    clients.set(c.client_id, {
      clientId: c.client_id,
      kind: c.kind ?? 'e-service',
      tenantId: c.tenant_id,
      keys,
      purposes: new Set(c.purposes ?? []),
    });
  });
  const eservices: RegistryEService[] = json.eservices.map((e) => ({
    eserviceId: e.eservice_id,
    producerId: e.producer_id,
    descriptorId: e.descriptor_id,
    audience: e.audience,
    purposes: new Set(e.purposes),
    voucherLifespanSeconds: e.voucher_lifespan,
  }));
  const byPurpose = new Map<string, RegistryEService>();
  eservices.forEach((e, i) => {
    for (const p of e.purposes) {
      if (byPurpose.has(p))
        throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `${source}: /eservices/${i}/purposes: purpose ${p} belongs to two e-services`, {
          field: `/eservices/${i}/purposes`,
        });
      byPurpose.set(p, e);
    }
  });
  clients.forEach((c) => {
    for (const p of c.purposes)
      if (!byPurpose.has(p))
        throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `${source}: client ${c.clientId}: purpose ${p} belongs to no e-service`, {
          field: '/clients',
        });
  });
  return { clients, eservices, eserviceOf: (p) => byPurpose.get(p), keyByKid: (kid) => kids.get(kid) };
}
