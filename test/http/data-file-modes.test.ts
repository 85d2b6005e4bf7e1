/**
 * A running node's files are private to its user, like its keys: every file it made under its data
 * folder (message log and its -wal/-shm, Redis's files, id leases, its log) is 0600 and every folder
 * 0700 — readable by no other local account.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevNode, type DevNode } from './dev-node.js';

let dev: DevNode;

beforeAll(async () => {
  dev = await startDevNode(['SPC/ComuneA', 'SPC/ComuneB'], (c) => {
    c.services = [{ provider: 'SPC/ComuneB', name: 'Notifiche', profile: 'oneway' }];
  });
  // One message end to end, so the log, its WAL and the queues have been written.
  const res = await request(`${dev.running.baseUrl}/api/v1/messages?wait=20`, {
    method: 'POST',
    headers: { authorization: `Bearer ${dev.tokens['SPC/ComuneA']}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 'SPC/ComuneA', to: 'SPC/ComuneB', service: 'Notifiche', payload: '<n xmlns="urn:t"/>' }),
  });
  expect(((await res.body.json()) as { status: string }).status).toBe('DELIVERED');
});

afterAll(async () => {
  await dev?.running.close();
});

function walk(dir: string): Array<{ path: string; mode: number; kind: 'file' | 'dir' }> {
  const out: Array<{ path: string; mode: number; kind: 'file' | 'dir' }> = [{ path: dir, mode: statSync(dir).mode & 0o777, kind: 'dir' }];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.isFile()) out.push({ path, mode: statSync(path).mode & 0o777, kind: 'file' });
  }
  return out;
}

describe('the node data folder', () => {
  it('holds the SQLite log with its -wal and -shm, and every file is 0600 and every folder 0700', () => {
    const dataDir = dev.running.node.config.node.dataDir;
    const entries = walk(dataDir);
    const names = entries.map((e) => e.path);
    expect(names.some((n) => n.endsWith('-wal'))).toBe(true);
    expect(names.some((n) => n.endsWith('.sqlite') || n.endsWith('.db'))).toBe(true);
    const open = entries.filter((e) => (e.mode & 0o077) !== 0).map((e) => `${e.path} ${e.mode.toString(8)}`);
    expect(open).toEqual([]);
    expect(entries.filter((e) => e.kind === 'dir').every((e) => e.mode === 0o700)).toBe(true);
  });
});
