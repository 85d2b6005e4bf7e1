import { chmodSync, mkdirSync } from 'node:fs';

/**
 * Everything the node writes is its own and private, like its keys: files 0600, folders 0700 — the
 * message log and its -wal/-shm, the Redis it runs, the adapters' stores, checkpoints, its log file.
 * One mechanism covers them all, including files made by libraries and child processes (Redis inherits
 * it): the process's umask, set before anything is created. The data folder itself is made (or, when it
 * exists already, set) 0700.
 */
export function keepNodeFilesPrivate(dataDir: string): void {
  process.umask(0o077);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
}
