/**
 * packaging/systemd/tramite.service, checked by systemd's own parser: `systemd-analyze verify` (no running
 * systemd needed) must find nothing to say about it, and says something about a misspelt directive, a
 * value it cannot parse or a missing program — so the check can fail. Its hardening is measured by
 * `systemd-analyze security --offline`, and its stop bound stays above the node's own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config/package-root.js';
import { DEFAULT_SHUTDOWN_TIMEOUT_SECONDS } from '../../src/config/load-config.js';

const UNIT = readFileSync(join(packageRoot(), 'packaging', 'systemd', 'tramite.service'), 'utf8');
const NODE = '/usr/bin/node';

/**
 * What `systemd-analyze verify` reports about `text` as a unit file: its exit code and every line it
 * printed. verify checks that ExecStart's program exists: on a machine whose node is elsewhere, the
 * unit is checked as installed there (the node running this test), the one line an operator edits too.
 */
function verify(text: string): { status: number | null; findings: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'tramite-unit-'));
  const file = join(dir, 'tramite.service');
  writeFileSync(file, existsSync(NODE) ? text : text.replace(`ExecStart=${NODE} `, `ExecStart=${process.execPath} `));
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
  if (r.error)
    throw new Error(`systemd-analyze cannot run (${r.error.message}): apt-get install systemd (test-support/install-test-services.sh)`);
  return { status: r.status, findings: `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '') };
}

function directive(name: string): string[] {
  return UNIT.split('\n')
    .filter((l) => l.startsWith(`${name}=`))
    .map((l) => l.slice(name.length + 1));
}

describe('the systemd unit', () => {
  it('systemd-analyze verify finds nothing to report', () => {
    expect(verify(UNIT)).toEqual({ status: 0, findings: [] });
  });

  it('the check fails on a misspelt directive, a value systemd cannot parse, and a missing program', () => {
    const misspelt = verify(UNIT.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
    expect(misspelt.findings.join('\n')).toMatch(/Unknown key 'NoNewPrivilege' in section \[Service\]/);
    const badValue = verify(UNIT.replace('ProtectSystem=strict', 'ProtectSystem=strictt'));
    expect(badValue.findings.join('\n')).toMatch(/Failed to parse protect system value.*strictt/);
    const missing = verify(UNIT.replace(/^ExecStart=\S+ /m, 'ExecStart=/nonexistent/node '));
    expect(missing.status).not.toBe(0);
    expect(missing.findings.join('\n')).toMatch(/\/nonexistent\/node is not executable/);
  });

  it('is hardened: its own user, read-only system but the data dir, no privileges, no capabilities', () => {
    expect(directive('User')).toEqual(['tramite']);
    expect(directive('ProtectSystem')).toEqual(['strict']);
    expect(directive('ProtectHome')).toEqual(['yes']);
    expect(directive('PrivateTmp')).toEqual(['yes']);
    expect(directive('NoNewPrivileges')).toEqual(['yes']);
    expect(directive('ReadWritePaths')).toEqual(['/var/lib/tramite']);
    expect(directive('CapabilityBoundingSet')).toEqual(['']);
    const unitFile = join(mkdtempSync(join(tmpdir(), 'tramite-unit-')), 'tramite.service');
    writeFileSync(unitFile, UNIT);
    const s = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unitFile], { encoding: 'utf8' });
    const exposure = /Overall exposure level for tramite\.service: ([\d.]+)/.exec(s.stdout);
    expect(exposure, s.stdout + s.stderr).not.toBeNull();
    // systemd's scale: 0 (locked down) to 10 (exposed); 2 and below it calls OK.
    expect(Number(exposure![1])).toBeLessThanOrEqual(2);
  });

  it('stops as the node does: SIGTERM to the node, reload by SIGHUP, restart on failure, a stop bound above the node’s', () => {
    expect(directive('KillSignal')).toEqual(['SIGTERM']);
    expect(directive('KillMode')).toEqual(['mixed']);
    expect(directive('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(directive('Restart')).toEqual(['on-failure']);
    expect(Number(directive('TimeoutStopSec')[0])).toBeGreaterThan(DEFAULT_SHUTDOWN_TIMEOUT_SECONDS);
  });
});
