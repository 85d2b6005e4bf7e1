import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit } from './exit-hook.js';

/** A fresh folder under the system temp dir, readable by this user only, removed at the latest when the process exits. */
export interface PrivateTempDir {
  readonly path: string;
  /** Removes the folder and everything in it. Idempotent. */
  remove(): void;
}

/** Makes `$TMPDIR/tramite-<name>-XXXXXX` with mode 0700. */
export function createPrivateTempDir(name: string): PrivateTempDir {
  const path = mkdtempSync(join(tmpdir(), `tramite-${name}-`));
  // mkdtemp already makes it 0700; said again so a launcher's reader need not know that.
  chmodSync(path, 0o700);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    cancel();
    // Retries: a server that has just stopped may still be closing files in there.
    rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  };
  const cancel = onProcessExit(remove);
  return { path, remove };
}
