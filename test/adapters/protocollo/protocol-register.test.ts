import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProtocolRegister } from '../../../adapters/protocollo/register/protocol-register.js';

const AOO = { codiceAmministrazione: 'c_g141', codiceAOO: 'AOO_ORTONA', codiceRegistro: 'PROT' };
const fileIn = () => join(mkdtempSync(join(tmpdir(), 'tramite-register-')), 'registro.sqlite');

describe('the protocol register', () => {
  it('numbers progressively with 7 zero-padded digits, and keeps counting after a restart', async () => {
    const file = fileIn();
    const reg = ProtocolRegister.open(file, AOO);
    const a = reg.register({ direction: 'out', oggetto: 'uno' }, (id) => id.numeroRegistrazione);
    const b = reg.register({ direction: 'out', oggetto: 'due' }, (id) => id.numeroRegistrazione);
    reg.close();
    const again = ProtocolRegister.open(file, AOO);
    const c = again.register({ direction: 'in', oggetto: 'tre' }, (id) => id.numeroRegistrazione);
    expect([a.result, b.result, c.result]).toEqual(['0000001', '0000002', '0000003']);
    expect(again.byNumber(c.registration.identificatore.dataRegistrazione.slice(0, 4), '0000002')).toMatchObject({
      oggetto: 'due',
      state: 'REGISTRATA',
    });
    again.close();
  });

  it('never gives one number twice, even to several processes registering at once on the same file', async () => {
    const file = fileIn();
    // Four real processes (the compiled module: npm test builds first), 50 registrations each, racing on one file.
    const script = `
      const { ProtocolRegister } = await import(${JSON.stringify(new URL('../../../dist/adapters/protocollo/register/protocol-register.js', import.meta.url).href)});
      const reg = ProtocolRegister.open(process.argv[1], ${JSON.stringify(AOO)});
      const out = [];
      for (let i = 0; i < 50; i++) out.push(reg.register({ direction: 'out', oggetto: 'x' }, (id) => id.numeroRegistrazione).result);
      console.log(JSON.stringify(out));`;
    const runs = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<string[]>((resolvePromise, reject) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
            let out = '';
            child.stdout.on('data', (c: Buffer) => (out += c.toString()));
            child.on('exit', (code) => (code === 0 ? resolvePromise(JSON.parse(out) as string[]) : reject(new Error(`exit ${code}`))));
          }),
      ),
    );
    const numbers = runs.flat().sort();
    expect(new Set(numbers).size).toBe(200);
    expect([numbers[0], numbers[199]]).toEqual(['0000001', '0000200']);
  }, 60_000);

  it('issues no number when the document carrying it cannot be built', async () => {
    const reg = ProtocolRegister.open(fileIn(), AOO);
    expect(() =>
      reg.register({ direction: 'out', oggetto: 'rotto' }, () => {
        throw new Error('firma non riuscita');
      }),
    ).toThrow('firma non riuscita');
    const next = reg.register({ direction: 'out', oggetto: 'buono' }, (id) => id.numeroRegistrazione);
    expect(next.result).toBe('0000001');
    expect(reg.list().map((r) => r.oggetto)).toEqual(['buono']);
    reg.close();
  });

  it('starts again from 1 each calendar year of Rome, not of UTC', async () => {
    let now = new Date('2026-12-31T22:30:00Z'); // 23:30 in Rome: still 2026
    const reg = ProtocolRegister.open(fileIn(), AOO, { now: () => now });
    reg.register({ direction: 'out', oggetto: 'a' }, () => undefined);
    now = new Date('2026-12-31T23:30:00Z'); // 00:30 on 1 January 2027 in Rome
    const first2027 = reg.register({ direction: 'out', oggetto: 'b' }, (id) => id);
    expect(first2027.result).toMatchObject({
      numeroRegistrazione: '0000001',
      dataRegistrazione: '2027-01-01',
      oraRegistrazione: '00:30:00',
    });
    reg.close();
  });

  it('registers a received message once, and records what became of a registration', async () => {
    const reg = ProtocolRegister.open(fileIn(), AOO);
    const sender = { ...AOO, codiceAOO: 'AOO_REGIONE', numeroRegistrazione: '0000042', dataRegistrazione: '2026-11-23' };
    const r = reg.register({ direction: 'in', oggetto: 'x', messageId: 'm-1', counterpart: sender }, () => undefined);
    expect(reg.byMessage('in', 'm-1')?.counterpart).toEqual(sender);
    expect(() => reg.register({ direction: 'in', oggetto: 'x', messageId: 'm-1' }, () => undefined)).toThrow();
    expect(reg.update(r.registration.identificatore, { state: 'ECCEZIONE', anomalia: '002_AnomaliaImpronta' })).toMatchObject({
      state: 'ECCEZIONE',
      anomalia: '002_AnomaliaImpronta',
    });
    expect(() => reg.update({ dataRegistrazione: '2026-01-01', numeroRegistrazione: '0009999' }, { state: 'ANNULLATA' })).toThrow(
      /007|no registration/,
    );
    reg.close();
  });

  it('keeps which documents of an incoming registration were not checked (no Impronta), and only those', () => {
    const reg = ProtocolRegister.open(fileIn(), AOO);
    const flagged = reg.register(
      { direction: 'in', oggetto: 'dalla Provincia', messageId: 'm1', unchecked: ['nota.pdf', 'relazione.pdf'] },
      () => undefined,
    ).registration;
    const checked = reg.register(
      { direction: 'in', oggetto: 'dalla Regione', messageId: 'm2', unchecked: [] },
      () => undefined,
    ).registration;
    expect(flagged.unchecked).toEqual(['nota.pdf', 'relazione.pdf']);
    expect(checked.unchecked).toBeUndefined();
    expect(reg.update(flagged.identificatore, { state: 'CONFERMATA' }).unchecked).toEqual(['nota.pdf', 'relazione.pdf']);
    reg.close();
  });

  it('opens a register written before documents could be unchecked, and gains the column', async () => {
    const file = fileIn();
    const Database = (await import('better-sqlite3')).default;
    const old = new Database(file);
    old.exec(`CREATE TABLE registrations (
      registro TEXT NOT NULL, anno INTEGER NOT NULL, numero INTEGER NOT NULL,
      direction TEXT NOT NULL, data TEXT NOT NULL, ora TEXT NOT NULL, oggetto TEXT NOT NULL,
      state TEXT NOT NULL, message_id TEXT, counterpart TEXT, anomalia TEXT, party TEXT, updated_at TEXT NOT NULL,
      PRIMARY KEY (registro, anno, numero))`);
    old
      .prepare(
        "INSERT INTO registrations VALUES ('PROT', 2026, 1, 'in', '2026-11-20', '10:00:00', 'vecchia', 'REGISTRATA', 'm0', NULL, NULL, NULL, '2026-11-20T09:00:00Z')",
      )
      .run();
    old.close();
    const reg = ProtocolRegister.open(file, AOO);
    expect(reg.byNumber('2026', '0000001')).toMatchObject({ oggetto: 'vecchia' });
    expect(reg.byNumber('2026', '0000001')!.unchecked).toBeUndefined();
    const added = reg.register({ direction: 'in', oggetto: 'nuova', unchecked: ['nota.pdf'] }, () => undefined).registration;
    expect(added.unchecked).toEqual(['nota.pdf']);
    reg.close();
  });
});
