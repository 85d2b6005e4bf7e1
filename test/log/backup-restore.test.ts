/**
 * docs/operators.md, "Backups and restore", end to end: a node's message log in PostgreSQL, written by
 * real exchanges and sealed by the node's last checkpoint at stop, is dumped with pg_dump, restored with
 * pg_restore into a fresh database, and `tramite log verify` passes on the restore; one byte changed in
 * a restored record is caught and located.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { writeDemoFederation } from '../../src/demo/demo-federation.js';
import { serveNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { dropDatabase, findPostgresBin, freshDatabase } from '../../test-support/postgres-server.js';
import { runCli } from '../cli/run-cli.js';
import { postgresUrl } from './log-fixtures.js';

const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';

const databases: string[] = [];
afterAll(async () => {
  for (const db of databases) await dropDatabase(db);
});

/** A PostgreSQL client program of the test server's own version (pg_dump refuses a newer server). */
function pgTool(name: 'pg_dump' | 'pg_restore', args: string[]): void {
  const r = spawnSync(join(findPostgresBin(), name), args, { encoding: 'utf8' });
  expect(r.status, `${name}: ${r.stderr}`).toBe(0);
}

describe('backup and restore of the PostgreSQL message log', () => {
  it('pg_dump, pg_restore into a fresh database, tramite log verify passes; one changed byte is caught', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tramite-backup-'));
    const live = await freshDatabase(postgresUrl());
    databases.push(live);
    const backOffice = new DemoBackOffice();
    await backOffice.start();
    const nodes = await writeDemoFederation(root, (p) => backOffice.urlFor(p), { plainHttp: true });
    const raw = JSON.parse(readFileSync(nodes.cst.configFile, 'utf8'));
    raw.log = { ...raw.log, store: 'postgres', postgresUrl: live };
    writeFileSync(nodes.cst.configFile, JSON.stringify(raw, null, 2));
    const cst = await serveNode(loadConfig(nodes.cst.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
    const regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
    try {
      for (let i = 0; i < 4; i++) {
        const res = await request(`${nodes.cst.baseUrl}/api/v1/messages?wait=20`, {
          method: 'POST',
          headers: { authorization: `Bearer ${nodes.cst.tokens[FRANCAVILLA]}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            from: FRANCAVILLA,
            to: REGIONE,
            service: 'ComunicazioneVariazione',
            action: 'Notifica',
            payload: `<v:N xmlns:v="urn:t">${i}</v:N>`,
          }),
        });
        expect(((await res.body.json()) as { status: string }).status).toBe('DELIVERED');
      }
    } finally {
      // The stop seals the log's head with a last checkpoint.
      await cst.close();
      await regione.close();
      await backOffice.stop();
    }

    // The operator's backup: the custom format, restored into an empty database.
    const dump = join(root, 'tramite-log.dump');
    pgTool('pg_dump', ['--format=custom', '--no-owner', `--file=${dump}`, `--dbname=${live}`]);
    const restored = await freshDatabase(postgresUrl());
    databases.push(restored);
    pgTool('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${restored}`, dump]);

    const trust = ['--trust', join(nodes.cst.dir, 'pki', 'ca.cert.pem'), '--trust', join(nodes.regione.dir, 'pki', 'ca.cert.pem')];
    const ok = await runCli(['log', 'verify', '--db', restored, ...trust, '--json']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as { ok: boolean; records: number; checkpoints: number; envelopesChecked: number };
    expect(report).toMatchObject({ ok: true, records: 12, envelopesChecked: 8 });
    expect(report.checkpoints).toBeGreaterThanOrEqual(1);

    // One byte of one restored record's envelope (the second envelope logged), flipped.
    const db = new pg.Client({ connectionString: restored });
    await db.connect();
    let seq: number;
    try {
      const second = await db.query<{ seq: string }>(
        'SELECT seq FROM log_records WHERE envelope IS NOT NULL ORDER BY seq LIMIT 1 OFFSET 1',
      );
      seq = Number(second.rows[0]!.seq);
      const flipped = await db.query(
        'UPDATE log_records SET envelope = set_byte(envelope, 200, get_byte(envelope, 200) # 1) WHERE seq = $1',
        [seq],
      );
      expect(flipped.rowCount).toBe(1);
    } finally {
      await db.end();
    }
    const bad = await runCli(['log', 'verify', '--db', restored, ...trust]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`first bad record ${seq}: the envelope kept in record ${seq} does not match its digest`);
  }, 180_000);
});
