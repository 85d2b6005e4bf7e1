import { createHash } from 'node:crypto';
import type { NodeConfig } from '../../config/config-types.js';
import { logPostgresUrl } from '../../log/open-log-store.js';
import { STORE_NAME, StoreError, type AdapterStoreOpener } from '../../../adapters/sdk/store/adapter-store.js';
import { sqliteStoreOpener } from '../../../adapters/sdk/store/sqlite-adapter-store.js';
import { PostgresAdapterStore } from '../../../adapters/sdk/store/postgres-adapter-store.js';

/**
 * Where an adapter's stores are: SQLite files in its own folder when the node's log is SQLite (one host);
 * schemas of their own in the log's PostgreSQL when it is there — so that node processes on several
 * hosts, sharing no disk, share the adapter's state.
 */
export function adapterStoreOpener(config: NodeConfig, party: string, adapterId: string, dataDir: string): AdapterStoreOpener {
  const local = sqliteStoreOpener(dataDir);
  // The log's own database, however it was given (the config or the environment): else processes on
  // several hosts would each keep the adapter's state in a file of their own.
  const url = config.log.store === 'postgres' ? logPostgresUrl(config.log) : undefined;
  return (name, migrations, opts) => {
    if (!STORE_NAME.test(name))
      return Promise.reject(new StoreError(`adapter ${adapterId}: store name ${JSON.stringify(name)} is not a short lower-case word`));
    if (url) {
      return PostgresAdapterStore.open({ url, schema: adapterSchema(party, adapterId, name) }, migrations, opts);
    }
    return local(name, migrations, opts);
  };
}

/**
 * The schema of one store of one adapter of one party: readable (`adapter_protocollo_comuneortona_registro_…`)
 * and unique (a digest of the exact names, since lower-casing and truncation could make two alike).
 */
export function adapterSchema(party: string, adapterId: string, name: string): string {
  const readable = `adapter_${adapterId}_${party.split('/')[1] ?? party}_${name}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const digest = createHash('sha256').update(`${party}\n${adapterId}\n${name}`).digest('hex').slice(0, 8);
  return `${readable.slice(0, 63 - 9)}_${digest}`;
}
