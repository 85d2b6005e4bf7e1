import type { NodeConfig } from '../config/config-types.js';
import { logPostgresUrl } from '../log/open-log-store.js';
import type { AdapterStoreOpener } from '../../adapters/sdk/store/adapter-store.js';
import { PostgresAdapterStore } from '../../adapters/sdk/store/postgres-adapter-store.js';
import { sqliteStoreOpener } from '../../adapters/sdk/store/sqlite-adapter-store.js';

/**
 * Where the node keeps state of its own through the adapter SDK's store (the PDND tracing ledger): SQLite
 * files in its data dir with the SQLite log; with the PostgreSQL log, a schema `node_<name>` in that
 * database, so that every node process, on any host, shares it.
 */
export function nodeStoreOpener(config: NodeConfig): AdapterStoreOpener {
  const url = logPostgresUrl(config.log);
  if (config.log.store === 'postgres' && url)
    return (name, migrations, opts) => PostgresAdapterStore.open({ url, schema: `node_${name.replace(/-/g, '_')}` }, migrations, opts);
  return sqliteStoreOpener(config.node.dataDir);
}
