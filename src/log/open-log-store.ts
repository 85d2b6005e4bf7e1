import type { ConfigFileLog } from '../config/config-types.js';
import { ConfigError } from '../core/errors.js';
import type { LogStore } from './log-store.js';
import { PostgresLogStore } from './postgres-log-store.js';
import { SqliteLogStore } from './sqlite-log-store.js';

/** Opens the store the configuration names: the SQLite file (absolute), or PostgreSQL. */
export async function openLogStore(log: Pick<ConfigFileLog, 'store' | 'sqliteFile' | 'postgresUrl'>): Promise<LogStore> {
  if (log.store === 'postgres') {
    const url = log.postgresUrl ?? process.env['TRAMITE_LOG_POSTGRES_URL'];
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
