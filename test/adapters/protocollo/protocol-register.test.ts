import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ProtocolRegister } from '../../../adapters/protocollo/register/protocol-register.js';
import { STORE_ENGINES, newStorePlace } from '../store-engines.js';

const AOO = { codiceAmministrazione: 'c_g141', codiceAOO: 'AOO_ORTONA', codiceRegistro: 'PROT' };

describe.each(STORE_ENGINES)('the protocol register on %s', (engine) => {
  it('numbers progressively with 7 zero-padded digits, and keeps counting after a restart', async () => {
    const place = newStorePlace(engine);
    const reg = await ProtocolRegister.open(place.openStore, AOO);
    const a = await reg.register({ direction: 'out', oggetto: 'uno' }, (id) => id.numeroRegistrazione);
    const b = await reg.register({ direction: 'out', oggetto: 'due' }, (id) => id.numeroRegistrazione);
    await reg.close();
    const again = await ProtocolRegister.open(place.openStore, AOO);
    const c = await again.register({ direction: 'in', oggetto: 'tre' }, (id) => id.numeroRegistrazione);
    expect([a.result, b.result, c.result]).toEqual(['0000001', '0000002', '0000003']);
    expect(await again.byNumber(c.registration.identificatore.dataRegistrazione.slice(0, 4), '0000002')).toMatchObject({
      oggetto: 'due',
      state: 'REGISTRATA',
    });
    await again.close();
  });

  it('issues no number when the document carrying it cannot be built, whether the build throws or rejects', async () => {
    const reg = await ProtocolRegister.open(newStorePlace(engine).openStore, AOO);
    await expect(
      reg.register({ direction: 'out', oggetto: 'rotto' }, () => {
        throw new Error('firma non riuscita');
      }),
    ).rejects.toThrow('firma non riuscita');
    await expect(
      reg.register({ direction: 'out', oggetto: 'rotto anche' }, async () => {
        await sleep(1);
        throw new Error('HSM non raggiungibile');
      }),
    ).rejects.toThrow('HSM non raggiungibile');
    const next = await reg.register({ direction: 'out', oggetto: 'buono' }, (id) => id.numeroRegistrazione);
    expect(next.result).toBe('0000001');
    expect((await reg.list()).map((r) => r.oggetto)).toEqual(['buono']);
    await reg.close();
  });

  it('starts again from 1 each calendar year of Rome, not of UTC', async () => {
    let now = new Date('2026-12-31T22:30:00Z'); // 23:30 in Rome: still 2026
    const reg = await ProtocolRegister.open(newStorePlace(engine).openStore, AOO, { now: () => now });
    await reg.register({ direction: 'out', oggetto: 'a' }, () => undefined);
    const second2026 = await reg.register({ direction: 'out', oggetto: 'b' }, (id) => id);
    now = new Date('2026-12-31T23:30:00Z'); // 00:30 on 1 January 2027 in Rome
    const first2027 = await reg.register({ direction: 'out', oggetto: 'c' }, (id) => id);
    const second2027 = await reg.register({ direction: 'out', oggetto: 'd' }, (id) => id);
    expect(second2026.result).toMatchObject({
      numeroRegistrazione: '0000002',
      dataRegistrazione: '2026-12-31',
      oraRegistrazione: '23:30:00',
    });
    expect(first2027.result).toMatchObject({
      numeroRegistrazione: '0000001',
      dataRegistrazione: '2027-01-01',
      oraRegistrazione: '00:30:00',
    });
    expect(second2027.result.numeroRegistrazione).toBe('0000002');
    expect((await reg.byNumber('2026', '0000002'))?.oggetto).toBe('b');
    expect((await reg.byNumber('2027', '0000002'))?.oggetto).toBe('d');
    await reg.close();
  });

  it('registers a received message once, and records what became of a registration', async () => {
    const reg = await ProtocolRegister.open(newStorePlace(engine).openStore, AOO);
    const sender = { ...AOO, codiceAOO: 'AOO_REGIONE', numeroRegistrazione: '0000042', dataRegistrazione: '2026-11-23' };
    const r = await reg.register({ direction: 'in', oggetto: 'x', messageId: 'm-1', counterpart: sender }, () => undefined);
    expect((await reg.byMessage('in', 'm-1'))?.counterpart).toEqual(sender);
    await expect(reg.register({ direction: 'in', oggetto: 'x', messageId: 'm-1' }, () => undefined)).rejects.toThrow();
    expect(await reg.update(r.registration.identificatore, { state: 'ECCEZIONE', anomalia: '002_AnomaliaImpronta' })).toMatchObject({
      state: 'ECCEZIONE',
      anomalia: '002_AnomaliaImpronta',
    });
    await expect(reg.update({ dataRegistrazione: '2026-01-01', numeroRegistrazione: '0009999' }, { state: 'ANNULLATA' })).rejects.toThrow(
      /007|no registration/,
    );
    expect((await reg.byCounterpart({ ...sender, oraRegistrazione: '10:00:00' }))?.identificatore.numeroRegistrazione).toBe('0000001');
    // The refused duplicate took no number either.
    expect((await reg.register({ direction: 'in', oggetto: 'y', messageId: 'm-2' }, (id) => id.numeroRegistrazione)).result).toBe(
      '0000002',
    );
    await reg.close();
  });

  it('keeps which documents of an incoming registration were not checked (no Impronta), and only those', async () => {
    const reg = await ProtocolRegister.open(newStorePlace(engine).openStore, AOO);
    const flagged = (
      await reg.register(
        { direction: 'in', oggetto: 'dalla Provincia', messageId: 'm1', unchecked: ['nota.pdf', 'relazione.pdf'] },
        () => undefined,
      )
    ).registration;
    const checked = (await reg.register({ direction: 'in', oggetto: 'dalla Regione', messageId: 'm2', unchecked: [] }, () => undefined))
      .registration;
    expect(flagged.unchecked).toEqual(['nota.pdf', 'relazione.pdf']);
    expect(checked.unchecked).toBeUndefined();
    expect((await reg.update(flagged.identificatore, { state: 'CONFERMATA' })).unchecked).toEqual(['nota.pdf', 'relazione.pdf']);
    await reg.close();
  });

  it('archives a received document’s files with its registration, byte for byte, once, and within the message limits', async () => {
    const place = newStorePlace(engine);
    const reg = await ProtocolRegister.open(place.openStore, AOO);
    // Every byte value, a NUL-heavy binary and an empty file: what a BLOB/BYTEA must give back unchanged.
    const documents = [
      { nomeFile: 'Segnatura.xml', mimeType: 'application/xml', content: Buffer.from('<Segnatura>è</Segnatura>', 'utf8') },
      { nomeFile: 'nota.pdf', mimeType: 'application/pdf', content: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256)) },
      { nomeFile: 'zeri.bin', mimeType: 'application/octet-stream', content: Buffer.alloc(1024) },
      { nomeFile: 'vuoto.txt', mimeType: 'text/plain', content: Buffer.alloc(0) },
    ];
    const { registration } = await reg.register({ direction: 'in', oggetto: 'con allegati', messageId: 'm-a', documents }, () => undefined);
    const anno = registration.identificatore.dataRegistrazione.slice(0, 4);
    await reg.close();
    // Read back by another opening of the store (another process, on PostgreSQL), in the message's order.
    const other = await ProtocolRegister.open(place.openStore, AOO);
    expect(await other.documents(anno, '0000001')).toEqual(documents);
    // The message again: refused by the register, nothing archived twice (same number, same rows).
    await expect(other.register({ direction: 'in', oggetto: 'di nuovo', messageId: 'm-a', documents }, () => undefined)).rejects.toThrow();
    expect(await other.documents(anno, '0000001')).toEqual(documents);
    expect(await other.documents(anno, '0000002')).toEqual([]);
    // More than one message may carry is refused before a number is taken.
    const tooBig = [{ nomeFile: 'grande.bin', mimeType: 'application/octet-stream', content: Buffer.alloc(5 * 1024 * 1024 + 1) }];
    await expect(
      other.register({ direction: 'in', oggetto: 'troppo', messageId: 'm-b', documents: tooBig }, () => undefined),
    ).rejects.toMatchObject({
      code: '000_Irricevibile',
    });
    const next = await other.register(
      { direction: 'in', oggetto: 'dopo', messageId: 'm-c', documents: [] },
      (id) => id.numeroRegistrazione,
    );
    expect(next.result).toBe('0000002');
    expect(await other.documents(anno, '0000002')).toEqual([]);
    await other.close();
  });
});

describe('the protocol register shared by processes', () => {
  it('issues 1..300 once each and in sequence to three processes registering at once on one PostgreSQL, a failed build leaving no gap', async () => {
    const place = newStorePlace('postgres');
    // Three stores on one place are three processes' pools: each numbers under the register's advisory lock.
    const registers = await Promise.all([0, 1, 2].map(() => ProtocolRegister.open(place.openStore, AOO)));
    try {
      let failures = 0;
      const one = async (reg: ProtocolRegister, i: number): Promise<string | undefined> => {
        try {
          const { result } = await reg.register({ direction: 'out', oggetto: `doc ${i}` }, async (id) => {
            await sleep(i % 3); // a seal that takes a while, so that the processes overlap
            if (i % 37 === 0) throw new Error('sigillo non riuscito');
            return id.numeroRegistrazione;
          });
          return result;
        } catch (err) {
          if ((err as Error).message !== 'sigillo non riuscito') throw err;
          failures++;
          return undefined;
        }
      };
      // 103 per process, all in flight at once: 9 of them (i = 0, 37, … 296) fail to build, 300 are issued.
      const total = 309;
      const issued = (await Promise.all(Array.from({ length: total }, (_, i) => one(registers[i % 3]!, i)))).filter(
        (n): n is string => n !== undefined,
      );
      expect(failures).toBe(9);
      expect(issued.length).toBe(300);
      expect(new Set(issued).size).toBe(300);
      expect([...issued].sort()).toEqual(Array.from({ length: 300 }, (_, i) => String(i + 1).padStart(7, '0')));
      // In sequence: the register's order by number is the order of the registration times.
      const rows = await registers[0]!.list(1000);
      const byNumber = [...rows].reverse();
      expect(byNumber.map((r) => r.identificatore.numeroRegistrazione)).toEqual(
        Array.from({ length: 300 }, (_, i) => String(i + 1).padStart(7, '0')),
      );
      const times = byNumber.map((r) => r.updatedAt);
      expect(times).toEqual([...times].sort());
    } finally {
      for (const reg of registers) await reg.close();
    }
  }, 60_000);

  it('never gives one number twice to several processes registering at once on the same SQLite file', async () => {
    const { dataDir } = newStorePlace('sqlite');
    // Four real processes (the compiled modules: npm test builds first), 50 registrations each, racing on one file.
    const dist = (path: string) => JSON.stringify(new URL(`../../../dist/${path}`, import.meta.url).href);
    const script = `
      const { ProtocolRegister } = await import(${dist('adapters/protocollo/register/protocol-register.js')});
      const { sqliteStoreOpener } = await import(${dist('adapters/sdk/store/sqlite-adapter-store.js')});
      const reg = await ProtocolRegister.open(sqliteStoreOpener(process.argv[1]), ${JSON.stringify(AOO)});
      const out = [];
      for (let i = 0; i < 50; i++) out.push((await reg.register({ direction: 'out', oggetto: 'x' }, (id) => id.numeroRegistrazione)).result);
      await reg.close();
      console.log(JSON.stringify(out));`;
    const runs = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<string[]>((resolvePromise, reject) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', script, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
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
});

describe('a register written before the AdapterStore', () => {
  const OLD_TABLE = `CREATE TABLE registrations (
      registro TEXT NOT NULL, anno INTEGER NOT NULL, numero INTEGER NOT NULL,
      direction TEXT NOT NULL, data TEXT NOT NULL, ora TEXT NOT NULL, oggetto TEXT NOT NULL,
      state TEXT NOT NULL, message_id TEXT, counterpart TEXT, anomalia TEXT, party TEXT, updated_at TEXT NOT NULL,
      PRIMARY KEY (registro, anno, numero));
    CREATE UNIQUE INDEX registrations_in_message ON registrations (direction, message_id) WHERE message_id IS NOT NULL`;

  it('opens a registro.sqlite written before documents could be unchecked, and gains the column', async () => {
    const place = newStorePlace('sqlite');
    const old = new Database(join(place.dataDir, 'registro.sqlite'));
    old.exec(OLD_TABLE);
    old
      .prepare(
        "INSERT INTO registrations VALUES ('PROT', 2026, 1, 'in', '2026-11-20', '10:00:00', 'vecchia', 'REGISTRATA', 'm0', NULL, NULL, NULL, '2026-11-20T09:00:00Z')",
      )
      .run();
    old.close();
    const reg = await ProtocolRegister.open(place.openStore, AOO, { now: () => new Date('2026-12-01T09:00:00Z') });
    expect(await reg.byNumber('2026', '0000001')).toMatchObject({ oggetto: 'vecchia' });
    expect((await reg.byNumber('2026', '0000001'))!.unchecked).toBeUndefined();
    const added = (await reg.register({ direction: 'in', oggetto: 'nuova', unchecked: ['nota.pdf'] }, () => undefined)).registration;
    expect(added.unchecked).toEqual(['nota.pdf']);
    expect(added.identificatore.numeroRegistrazione).toBe('0000002');
    await reg.close();
  });

  it('opens the registro.sqlite the last synchronous register left (schema version 2), and counts on from it', async () => {
    const place = newStorePlace('sqlite');
    const old = new Database(join(place.dataDir, 'registro.sqlite'));
    old.pragma('journal_mode = WAL');
    old.exec(OLD_TABLE);
    old.exec('ALTER TABLE registrations ADD COLUMN unchecked TEXT');
    old.pragma('user_version = 2');
    const insert = old.prepare(
      `INSERT INTO registrations (registro, anno, numero, direction, data, ora, oggetto, state, message_id, party, unchecked, updated_at)
       VALUES ('PROT', 2026, ?, 'out', '2026-11-20', '10:00:00', ?, 'INVIATA', ?, 'SPC/Regione', ?, '2026-11-20T09:00:00Z')`,
    );
    for (let n = 1; n <= 41; n++) insert.run(n, `documento ${n}`, `m${n}`, n === 41 ? JSON.stringify(['a.pdf']) : null);
    old.close();
    const reg = await ProtocolRegister.open(place.openStore, AOO, { now: () => new Date('2026-12-01T09:00:00Z') });
    expect(await reg.byMessage('out', 'm41')).toMatchObject({ oggetto: 'documento 41', state: 'INVIATA', unchecked: ['a.pdf'] });
    expect((await reg.register({ direction: 'out', oggetto: 'dopo' }, (id) => id.numeroRegistrazione)).result).toBe('0000042');
    expect(await reg.list(2)).toMatchObject([{ oggetto: 'dopo' }, { oggetto: 'documento 41' }]);
    await reg.close();
  });
});
