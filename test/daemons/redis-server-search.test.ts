/**
 * A production node installs nothing: without node.installPackages (or node.development) a missing
 * redis-server is a typed error that names the package to install, and apt-get is never run.
 */
import { describe, expect, it } from 'vitest';
import { DaemonError } from '../../src/core/errors.js';
import { findRedisServer, REDIS_INSTALL_COMMAND } from '../../src/daemons/redis-launcher.js';

const NOWHERE = { path: '/nonexistent-tramite-path', candidates: [] };

describe('finding redis-server', () => {
  it('missing, and installing not allowed (the default): TRAMITE_ERR_DAEMON_MISSING naming the package and the flag', () => {
    let thrown: unknown;
    try {
      findRedisServer(NOWHERE);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DaemonError);
    expect((thrown as DaemonError).code).toBe('TRAMITE_ERR_DAEMON_MISSING');
    expect((thrown as Error).message).toContain(REDIS_INSTALL_COMMAND);
    expect((thrown as Error).message).toContain('node.installPackages');
    expect((thrown as Error).message).toContain('TRAMITE_REDIS_URL');
  });

  it('found on the PATH or among the candidates, whatever the flag', () => {
    const real = findRedisServer();
    expect(findRedisServer({ path: '/nonexistent-tramite-path', candidates: [real] })).toBe(real);
    expect(findRedisServer({ install: true })).toBe(real);
  });

  it.skipIf(process.getuid?.() === 0)('missing, installing allowed but not root: says it needs root, and what to install', () => {
    expect(() => findRedisServer({ ...NOWHERE, install: true })).toThrow(
      /needs root and apt-get.*apt-get install -y --no-install-recommends redis-server/,
    );
  });
});
