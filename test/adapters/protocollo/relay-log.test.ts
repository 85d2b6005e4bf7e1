import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { RelayLog } from '../../../adapters/protocollo/register/relay-log.js';
import type { Identificatore } from '../../../adapters/protocollo/segnatura/segnatura-model.js';
import { STORE_ENGINES, newStorePlace } from '../store-engines.js';

const identificatore = (numero: string): Identificatore => ({
  codiceAmministrazione: 'c_g141',
  codiceAOO: 'AOO_ORTONA',
  codiceRegistro: 'PROT',
  numeroRegistrazione: numero,
  dataRegistrazione: '2026-11-20',
  oraRegistrazione: '10:00:00',
});

describe.each(STORE_ENGINES)('the SOAP relay log on %s', (engine) => {
  it('records a bus message once, finds it by message and by registration (the latest relay of it), and keeps it across processes', async () => {
    const place = newStorePlace(engine);
    const log = await RelayLog.open(place.openStore);
    await log.record({ direction: 'in', messageId: 'm1', identificatore: identificatore('0000007'), party: 'SPC/Regione' });
    // A retry of the same bus message changes nothing.
    await log.record({ direction: 'in', messageId: 'm1', identificatore: identificatore('0000008'), party: 'SPC/Altro' });
    await log.record({ direction: 'in', messageId: 'm2', identificatore: identificatore('0000007'), party: 'SPC/Provincia' });
    expect(await log.byMessage('in', 'm1')).toEqual({
      direction: 'in',
      messageId: 'm1',
      identificatore: identificatore('0000007'),
      party: 'SPC/Regione',
    });
    expect(await log.byMessage('out', 'm1')).toBeUndefined();
    expect(await log.byRegistration('in', identificatore('0000008'))).toBeUndefined();
    await log.close();
    // Another process (or this one after a restart) sees the same log.
    const other = await RelayLog.open(place.openStore);
    expect((await other.byRegistration('in', identificatore('0000007')))?.messageId).toBe('m2');
    await other.close();
  });
});

describe('a relay.sqlite written before the AdapterStore', () => {
  it('opens with its rows, and still finds the latest relay of a registration', async () => {
    const place = newStorePlace('sqlite');
    const old = new Database(join(place.dataDir, 'relay.sqlite'));
    old.exec(`CREATE TABLE relayed (
       direction TEXT NOT NULL, message_id TEXT NOT NULL, registration TEXT NOT NULL, identificatore TEXT NOT NULL, party TEXT NOT NULL,
       PRIMARY KEY (direction, message_id));
     CREATE INDEX relayed_by_registration ON relayed (direction, registration)`);
    old.pragma('user_version = 1');
    const insert = old.prepare('INSERT INTO relayed VALUES (?, ?, ?, ?, ?)');
    // Message ids that sort the other way round from their insertion: the order kept is the rowid's.
    for (const [messageId, party] of [
      ['zz-first', 'SPC/Regione'],
      ['aa-second', 'SPC/Provincia'],
    ])
      insert.run('out', messageId, 'c_g141|AOO_ORTONA|PROT|2026|0000007', JSON.stringify(identificatore('0000007')), party);
    old.close();
    const log = await RelayLog.open(place.openStore);
    expect(await log.byMessage('out', 'zz-first')).toMatchObject({ party: 'SPC/Regione' });
    expect(await log.byRegistration('out', identificatore('0000007'))).toMatchObject({ messageId: 'aa-second', party: 'SPC/Provincia' });
    await log.record({ direction: 'out', messageId: 'mm-third', identificatore: identificatore('0000007'), party: 'SPC/Comune' });
    expect((await log.byRegistration('out', identificatore('0000007')))?.messageId).toBe('mm-third');
    await log.close();
  });
});
