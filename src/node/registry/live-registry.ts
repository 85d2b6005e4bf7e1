import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { NodeConfig } from '../../config/config-types.js';
import { ConfigError } from '../../core/errors.js';
import type { StaffMember } from '../../core/staff-member.js';
import type { LogRecord } from '../../log/log-entry.js';
import type { OperatorAction } from '../../log/message-log.js';
import { Registry, type RegistrySource } from './registry.js';
import { registryDigest } from './registry-digest.js';
import { describeRestartOnly, restartOnlyChanges } from './restart-only-changes.js';

/** The messageId of every registry version's record in the message log: `tramite log search --id tramite.registry`. */
export const REGISTRY_LOG_ID = 'tramite.registry';
/** Who asks for a reload by sending the process SIGHUP. */
export const SIGHUP_CALLER: StaffMember = { role: 'operator', name: 'signal:SIGHUP' };
/** Who "asks" for the version a node starts with (recorded when it differs from the last one recorded). */
export const START_CALLER: StaffMember = { role: 'operator', name: 'node-start' };

/** One version of the registry: its number, the digest of its content, when and by whom it was applied. */
export interface RegistryVersion {
  readonly version: number;
  readonly digest: string;
  readonly appliedAt: string;
  /** `operator:<name>`, `operator:signal:SIGHUP`, `operator:node-start`. */
  readonly by: string;
  /** The log record that holds it (absent for a version not recorded yet). */
  readonly seq?: number;
}

/** What a reload did: applied a new version, or found the file's content the same as the running one. */
export interface ReloadOutcome {
  readonly applied: boolean;
  readonly version: RegistryVersion;
  readonly previous: RegistryVersion;
}

export interface LiveRegistryDeps {
  /** Reads and validates the configuration file again, as at start (loadConfig). */
  readonly load: () => NodeConfig;
  /** The message log's records of registry versions, and where a new one is appended. */
  readonly versionLog: {
    recordOperatorAction(a: OperatorAction): Promise<LogRecord>;
    recordsOf(messageId: string): Promise<LogRecord[]>;
  };
  /**
   * What else follows the registry, told just before the swap: the verification workers' copies, the
   * peer client's TLS, the adapters' service bindings. It must not fail: the new version is recorded by then.
   */
  readonly applied?: (next: Registry) => void;
  readonly log: Logger;
  readonly clock: Clock;
}

/**
 * The node's registry, reloadable without a restart (docs/operators.md, "Reloading the registry"): the
 * configuration file is read and validated whole, refused with its problems (the running registry kept)
 * if it is invalid or changes what needs a restart, recorded in the message log as a chained record
 * with its number, digest and who asked, and only then swapped in — one assignment of an immutable
 * Registry. Work takes `current()` once at its start and finishes under that version.
 */
export class LiveRegistry implements RegistrySource {
  private snapshot: Registry;
  private info: RegistryVersion;
  /** Reloads one at a time, in the order asked. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    initial: Registry,
    info: RegistryVersion,
    private readonly deps: LiveRegistryDeps,
  ) {
    this.snapshot = initial;
    this.info = info;
  }

  /**
   * The registry the node starts with. Its number continues the log's history: the last recorded
   * version's, when the content is the same (a restart, or another process of the node); else the next,
   * recorded as applied by `node-start`. A log with no version recorded yet gets no record: its version
   * 1 is recorded, as `previous`, with the first reload.
   */
  static async open(config: NodeConfig, deps: LiveRegistryDeps): Promise<LiveRegistry> {
    const digest = registryDigest(config);
    const last = (await versionsFrom(deps.versionLog)).at(-1);
    // A node never reloaded: version 1 is the file it starts with, recorded as the `previous` of the first reload.
    if (!last)
      return new LiveRegistry(
        new Registry(config, 1),
        { version: 1, digest, appliedAt: deps.clock.now().toISOString(), by: `${START_CALLER.role}:${START_CALLER.name}` },
        deps,
      );
    if (last.digest === digest) return new LiveRegistry(new Registry(config, last.version), last, deps);
    const version = last.version + 1;
    const recorded = await record(deps, START_CALLER, version, digest, last, config.configPath);
    return new LiveRegistry(new Registry(config, version), recorded, deps);
  }

  current(): Registry {
    return this.snapshot;
  }

  /** The running version. */
  get version(): RegistryVersion {
    return this.info;
  }

  /** Every version recorded in the message log, oldest first (a node never reloaded has none). */
  history(): Promise<RegistryVersion[]> {
    return versionsFrom(this.deps.versionLog);
  }

  /**
   * Reads the configuration file again and applies it, or throws a ConfigError naming every problem
   * (TRAMITE_ERR_CONFIG_INVALID, TRAMITE_ERR_RELOAD_NEEDS_RESTART…) with the running registry kept.
   */
  reload(by: StaffMember): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.reloadNow(by));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(by: StaffMember): Promise<ReloadOutcome> {
    const previous = this.info;
    const log = this.deps.log.child({ by: `${by.role}:${by.name}` });
    try {
      const config = this.deps.load();
      const running = this.snapshot.config;
      const changes = restartOnlyChanges(running, config);
      if (changes.length > 0) {
        throw new ConfigError(
          'TRAMITE_ERR_RELOAD_NEEDS_RESTART',
          `${config.configPath ?? 'the configuration'} changes what a reload cannot (${changes.length} field${changes.length === 1 ? '' : 's'}); nothing was applied:\n${describeRestartOnly(changes)}`,
          { field: changes[0]!.field },
        );
      }
      const digest = registryDigest(config);
      if (digest === previous.digest) {
        log.info({ version: previous.version, digest }, 'registry reload: the configuration is unchanged; nothing to apply');
        return { applied: false, version: previous, previous };
      }
      // The next number after any recorded by another process sharing this log, too.
      const lastRecorded = (await this.history()).at(-1)?.version ?? 0;
      const number = Math.max(previous.version, lastRecorded) + 1;
      const registry = new Registry(config, number);
      const version = await record(this.deps, by, number, digest, previous, config.configPath);
      this.deps.applied?.(registry);
      this.snapshot = registry;
      this.info = version;
      log.info({ version: number, digest, previous: previous.version }, 'registry reloaded');
      return { applied: true, version, previous };
    } catch (err) {
      log.warn(
        { code: (err as ConfigError).code, err: (err as Error).message, version: previous.version },
        'registry reload refused; the running registry is kept',
      );
      throw err;
    }
  }
}

async function record(
  deps: LiveRegistryDeps,
  by: StaffMember,
  version: number,
  digest: string,
  previous: RegistryVersion | undefined,
  configPath: string | undefined,
): Promise<RegistryVersion> {
  const rec = await deps.versionLog.recordOperatorAction({
    by,
    action: 'registry-applied',
    target: REGISTRY_LOG_ID,
    detail: {
      version,
      digest,
      ...(previous ? { previous: { version: previous.version, digest: previous.digest } } : {}),
      ...(configPath !== undefined ? { configPath } : {}),
    },
  });
  return versionOf(rec)!;
}

async function versionsFrom(versionLog: LiveRegistryDeps['versionLog']): Promise<RegistryVersion[]> {
  return (await versionLog.recordsOf(REGISTRY_LOG_ID)).flatMap((r) => versionOf(r) ?? []);
}

function versionOf(r: LogRecord): RegistryVersion | undefined {
  const d = r.detail as { version?: unknown; digest?: unknown } | undefined;
  if (r.kind !== 'operator' || r.action !== 'registry-applied' || typeof d?.version !== 'number' || typeof d.digest !== 'string')
    return undefined;
  return { version: d.version, digest: d.digest, appliedAt: r.time, by: r.from, seq: r.seq };
}
