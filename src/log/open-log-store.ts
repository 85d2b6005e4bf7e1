import type { ConfigFileLog } from '../config/config-types.js';
import { ConfigError } from '../core/errors.js';
import type { LogStore } from './log-store.js';
import { PostgresLogStore } from './postgres-log-store.js';
import { SqliteLogStore } from './sqlite-log-store.js';

/** The PostgreSQL URL of the log: `log.postgresUrl`, else TRAMITE_LOG_POSTGRES_URL; whatever else the node keeps in that database goes there too. */
export function logPostgresUrl(log: Pick<ConfigFileLog, 'postgresUrl'>): string | undefined {
  return log.postgresUrl ?? process.env['TRAMITE_LOG_POSTGRES_URL'];
}

/** Opens the store the configuration names: the SQLite file (absolute), or PostgreSQL. */
export async function openLogStore(log: Pick<ConfigFileLog, 'store' | 'sqliteFile' | 'postgresUrl'>): Promise<LogStore> {
  if (log.store === 'postgres') {
    const url = logPostgresUrl(log);
    if (!url)
      throw new ConfigError(
        'TRAMITE_ERR_CONFIG_INVALID',
        'log.store is postgres but neither log.postgresUrl nor TRAMITE_LOG_POSTGRES_URL is set',
        { field: 'log.postgresUrl' },
      );
    return PostgresLogStore.open(url);
  }
  return new SqliteLogStore(log.sqliteFile);
}
