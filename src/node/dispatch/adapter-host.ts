import { adapterStoreOpener } from './adapter-store-opener.js';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { ConfigError, TramiteError } from '../../core/errors.js';
import type { NodeConfig } from '../../config/config-types.js';
import { invalidConfig, schemaProblem } from '../../config/schema-problems.js';
import type { TrustStore } from '../../crypto/trust-store.js';
import type { CertificateChainCheck } from '../../crypto/revocation/certificate-chain-check.js';
import type { AdapterCatalog, AdapterDefinition, AdapterHealth, AdapterInstance, BusClient } from '../../../adapters/sdk/adapter.js';
import { busApiMismatch } from '../../../adapters/sdk/bus-api.js';
import { compileOptionsSchema, deepFreeze, type OptionsValidator } from '../../../adapters/sdk/options-schema.js';

/** The services an adapter of `party` serves: those it declares (or its defaults) that the configuration offers. */
function boundServices(config: NodeConfig, party: string, declared: readonly string[]): ReadonlySet<string> {
  const offered = new Set(config.services.filter((s) => s.provider === party).map((s) => s.name));
  return new Set(declared.filter((s) => offered.has(s)));
}

/** One adapter instance serving one party. */
export interface HostedAdapter {
  readonly party: string;
  readonly id: string;
  readonly version: string;
  readonly services: ReadonlySet<string>;
  readonly instance: AdapterInstance;
  /** `parties[i].adapters[j]`: where the configuration declares it. */
  readonly field: string;
  /** j in `parties[i].adapters[j]`: where a reloaded configuration declares it again. */
  readonly index: number;
  /** The adapter's own default services, for a declaration without `services`. */
  readonly defaultServices: readonly string[];
}

export interface AdapterHostDeps {
  readonly log: Logger;
  /** The bus as the party's adapters see it. */
  readonly bus: (party: string) => BusClient;
  readonly trust: TrustStore;
  /** Handed to the adapters for the signatures inside payloads (XAdES seals, PEC providers). */
  readonly revocation?: CertificateChainCheck;
  readonly clock: Clock;
  /** Adapters `use` may name by id (the built-in table, from the composition root); none by default. */
  readonly catalog?: AdapterCatalog;
}

/**
 * Loads the adapters the configuration declares (built-in id, module path or package), checks each
 * against the contract and its options against the adapter's own JSON Schema (refusals name the
 * field), sets them up, and runs their lifecycle with the node's.
 */
export class AdapterHost {
  private started = false;

  private constructor(
    private adapters: readonly HostedAdapter[],
    private readonly log: Logger,
  ) {}

  static async load(config: NodeConfig, deps: AdapterHostDeps): Promise<AdapterHost> {
    const configDir = config.baseDir;
    const hosted: HostedAdapter[] = [];
    // Which module answered each id: two different definitions may not share one (their data folders would).
    const byId = new Map<string, { definition: AdapterDefinition; field: string }>();
    for (const [i, party] of config.parties.entries()) {
      const partyIds = new Map<string, string>();
      for (const [j, declared] of (party.adapters ?? []).entries()) {
        const field = `parties[${i}].adapters[${j}]`;
        const definition = await importDefinition(declared.use, configDir, field, deps.catalog ?? {});
        refuseDuplicate(definition, field, byId, partyIds, party.code);
        refuseOutsideDevelopment(definition, field, config);
        const options = deepFreeze(
          validateOptions(
            definition,
            structuredClone(declared.options ?? {}) as Record<string, unknown>,
            `${field}.options`,
            config.configPath,
          ),
        );
        const dataDir = adapterDataDir(config, party.code, definition.id);
        mkdirSync(dataDir, { recursive: true });
        const services = boundServices(config, party.code, declared.services ?? definition.services ?? []);
        const log = deps.log.child({ adapter: definition.id, party: party.code });
        let instance: AdapterInstance;
        try {
          instance = await definition.setup({
            party: party.code,
            options,
            dataDir,
            openStore: adapterStoreOpener(config, party.code, definition.id, dataDir),
            log,
            bus: deps.bus(party.code),
            identity: party.identity,
            trust: deps.trust,
            ...(deps.revocation ? { revocation: deps.revocation } : {}),
            clock: deps.clock,
          });
        } catch (cause) {
          throw new ConfigError(
            'TRAMITE_ERR_ADAPTER_INVALID',
            `config ${field}: adapter ${definition.id} refused to set up: ${(cause as Error).message}`,
            { cause, field },
          );
        }
        hosted.push({
          party: party.code,
          id: definition.id,
          version: definition.version,
          services,
          instance,
          field,
          index: j,
          defaultServices: [...(definition.services ?? [])],
        });
        log.info({ version: definition.version, services: [...services] }, 'adapter loaded');
      }
    }
    return new AdapterHost(hosted, deps.log);
  }

  /**
   * A reloaded configuration's service bindings (its `parties[].adapters[].services` and the services
   * offered), in one swap. The adapters themselves and their options are the ones loaded at start: the
   * reload refused any change to them (src/node/registry/restart-only-changes.ts).
   */
  rebind(config: NodeConfig): void {
    this.adapters = this.adapters.map((a) => {
      const declared = config.parties.find((p) => p.code === a.party)?.adapters?.[a.index];
      const services = boundServices(config, a.party, declared?.services ?? a.defaultServices);
      this.log.info({ adapter: a.id, party: a.party, services: [...services] }, 'adapter services bound');
      return { ...a, services };
    });
  }

  /** The adapter that takes `party`'s inbound messages on `service`, if one does. */
  serving(party: string, service: string): HostedAdapter | undefined {
    return this.adapters.find((a) => a.party === party && a.services.has(service));
  }

  /** Starts every adapter; if one cannot start, the ones started are stopped and the node does not start. */
  async start(): Promise<void> {
    const started: HostedAdapter[] = [];
    for (const a of this.adapters) {
      try {
        await a.instance.start();
        started.push(a);
      } catch (cause) {
        for (const s of started.reverse()) await s.instance.stop().catch(() => undefined);
        throw new TramiteError(
          'TRAMITE_ERR_ADAPTER_UNAVAILABLE',
          `adapter ${a.id} of ${a.party} (${a.field}) could not start: ${(cause as Error).message}`,
          { cause },
        );
      }
    }
    this.started = true;
  }

  /** Stops every adapter, in reverse order; a failing stop is logged, the others still stop. */
  async stop(): Promise<void> {
    for (const a of [...this.adapters].reverse()) {
      await a.instance
        .stop()
        .catch((err: unknown) =>
          this.log.error({ adapter: a.id, party: a.party, err: (err as Error).message }, 'adapter did not stop cleanly'),
        );
    }
    this.started = false;
  }

  async health(): Promise<Array<{ party: string; adapter: string; version: string } & AdapterHealth>> {
    return Promise.all(
      this.adapters.map(async (a) => {
        const h = this.started
          ? await a.instance.health().catch((err: unknown): AdapterHealth => ({ status: 'down', detail: (err as Error).message }))
          : { status: 'down' as const, detail: 'not started' };
        return { party: a.party, adapter: a.id, version: a.version, ...h };
      }),
    );
  }
}

/**
 * A development-only adapter answers in place of a real system (dev-echo echoes every request): on a node
 * whose configuration does not say it is a development node it would fake answers in production, so the
 * node does not start.
 */
function refuseOutsideDevelopment(definition: AdapterDefinition, field: string, config: NodeConfig): void {
  if (definition.developmentOnly !== true || config.node.development) return;
  throw new ConfigError(
    'TRAMITE_ERR_DEVELOPMENT_ONLY',
    `config ${field}.use: adapter ${definition.id} is for development only (${definition.description}) and node.development is not true — fix: remove the adapter and give the party a backOffice.url or a real adapter, or, on a development node only, set "node": { "development": true }`,
    { field: `${field}.use` },
  );
}

/** The folder of its own an adapter gets (`<dataDir>/adapters/<party nome>/<adapter id>`). */
export function adapterDataDir(config: NodeConfig, party: string, id: string): string {
  return join(config.node.dataDir, 'adapters', party.split('/')[1]!, id);
}

/** The definition `use` names (built-in id, module path or package), checked against the contract. */
export async function importDefinition(use: string, configDir: string, field: string, catalog: AdapterCatalog): Promise<AdapterDefinition> {
  let mod: Record<string, unknown>;
  try {
    mod = (await (Object.hasOwn(catalog, use) ? catalog[use]!() : import(moduleUrl(use, configDir)))) as Record<string, unknown>;
  } catch (cause) {
    throw new ConfigError(
      'TRAMITE_ERR_ADAPTER_INVALID',
      `config ${field}.use: adapter "${use}" cannot be loaded (${(cause as Error).message}) — fix: name a built-in adapter (${Object.keys(catalog).join(', ') || 'none given to this node'}), a module path relative to the config file (./my-adapter.js) or an installed package`,
      { cause, field: `${field}.use` },
    );
  }
  const def = (mod['default'] ?? mod['adapter']) as Partial<AdapterDefinition> | undefined;
  const problems: string[] = [];
  if (!def || typeof def !== 'object') problems.push('the module exports no adapter (export default defineAdapter({…}))');
  else {
    if (typeof def.id !== 'string' || !/^[a-z][a-z0-9-]{0,39}$/.test(def.id))
      problems.push('id must be lower-case letters, digits and "-"');
    if (typeof def.version !== 'string' || !/^\d+\.\d+\.\d+(?:[-+][\w.-]+)?$/.test(def.version))
      problems.push('version must be a semantic version (1.2.3)');
    if (!def.optionsSchema || typeof def.optionsSchema !== 'object') problems.push('optionsSchema must be a JSON Schema object');
    if (typeof def.setup !== 'function') problems.push('setup must be a function');
    if (def.services !== undefined && !(Array.isArray(def.services) && def.services.every((s) => typeof s === 'string')))
      problems.push('services must be a list of service names');
    if (def.certificateFiles !== undefined && typeof def.certificateFiles !== 'function')
      problems.push('certificateFiles must be a function');
    if (def.developmentOnly !== undefined && typeof def.developmentOnly !== 'boolean')
      problems.push('developmentOnly must be true or false');
  }
  if (problems.length > 0) {
    throw new ConfigError(
      'TRAMITE_ERR_ADAPTER_INVALID',
      `config ${field}.use: "${use}" is not a Tramite adapter: ${problems.join('; ')} — fix: see docs/writing-an-adapter.md`,
      { field: `${field}.use` },
    );
  }
  const mismatch = busApiMismatch(def!.busApi);
  if (mismatch) {
    throw new ConfigError(
      'TRAMITE_ERR_ADAPTER_BUS_API',
      `config ${field}.use: adapter ${def!.id} ${mismatch} — fix: use a version of the adapter written for this node`,
      { field: `${field}.use` },
    );
  }
  return def as AdapterDefinition;
}

/** One id, one definition per node; one instance of an id per party. */
function refuseDuplicate(
  definition: AdapterDefinition,
  field: string,
  byId: Map<string, { definition: AdapterDefinition; field: string }>,
  partyIds: Map<string, string>,
  party: string,
): void {
  const earlier = byId.get(definition.id);
  if (earlier && earlier.definition !== definition) {
    throw new ConfigError(
      'TRAMITE_ERR_ADAPTER_DUPLICATE',
      `config ${field}.use: adapter id "${definition.id}" is already taken by a different module (${earlier.field}) — fix: give one of them another id`,
      { field: `${field}.use` },
    );
  }
  const samePartyField = partyIds.get(definition.id);
  if (samePartyField) {
    throw new ConfigError(
      'TRAMITE_ERR_ADAPTER_DUPLICATE',
      `config ${field}.use: ${party} already has adapter "${definition.id}" (${samePartyField}) — fix: declare it once, listing all its services`,
      { field: `${field}.use` },
    );
  }
  byId.set(definition.id, earlier ?? { definition, field });
  partyIds.set(definition.id, field);
}

/** A module path (relative to the config file, or absolute) or a package name, as an import specifier. */
function moduleUrl(use: string, configDir: string): string {
  if (use.startsWith('.') || isAbsolute(use)) return pathToFileURL(resolve(configDir, use)).href;
  try {
    // A package installed beside the configuration (or anywhere Node would look from there).
    return pathToFileURL(createRequire(join(configDir, 'noop.js')).resolve(use)).href;
  } catch {
    return use; // ESM-only packages without a require condition: let import() resolve it from here
  }
}

/** The declared options checked against the adapter's schema, its defaults filled in (into `options`). */
export function validateOptions(
  def: AdapterDefinition,
  options: Record<string, unknown>,
  field: string,
  configPath: string | undefined,
): Record<string, unknown> {
  let validate: OptionsValidator;
  try {
    validate = compileOptionsSchema(def.optionsSchema);
  } catch (cause) {
    throw new ConfigError(
      'TRAMITE_ERR_ADAPTER_INVALID',
      `config ${field}: adapter ${def.id} has an invalid optionsSchema: ${(cause as Error).message}`,
      { cause, field },
    );
  }
  if (!validate(options))
    throw invalidConfig(
      configPath,
      (validate.errors ?? []).map((e) => schemaProblem(e, field)),
    );
  return options;
}
