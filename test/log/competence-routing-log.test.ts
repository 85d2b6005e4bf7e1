/**
 * A message sent by role keeps its resolution (party, rule, Comune, table version) in both log stores:
 * in the hash-chained record of its envelope, which verification then covers, and in its projection,
 * through later changes of state.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CompetenceResolution } from '../../src/core/competence.js';
import { outboundKey } from '../../src/core/message-record.js';
import type { LogStore } from '../../src/log/log-store.js';
import { dropFileDatabase, messageLog, newStoreSite, sampleEnvelope, sampleMessage, SteppingClock, STORE_KINDS } from './log-fixtures.js';

const ROUTING: CompetenceResolution = {
  role: 'SUAP',
  asked: '069029',
  comune: 'D315',
  party: 'SPC/Regione',
  rule: 'delegated',
  via: ['UNIONE_TRIGNO', 'PROVINCIA_CH'],
  tableVersion: `sha256:${'5e'.repeat(32)}`,
};

afterAll(() => dropFileDatabase());

describe.each(STORE_KINDS)('%s log store', (kind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function fresh(): Promise<LogStore> {
    const site = await newStoreSite(kind);
    const store = await site.open();
    cleanups.push(
      () => site.dispose(),
      () => store.close(),
    );
    return store;
  }

  it('chains the routing with the accepted envelope and keeps it on the message through its changes', async () => {
    const store = await fresh();
    const clock = new SteppingClock();
    const log = messageLog(store, { clock });
    const rec = sampleMessage(1, clock, { routing: ROUTING, to: ROUTING.party });
    await log.create(rec, sampleEnvelope(rec.id));
    await log.transition(outboundKey(rec.id), { status: 'SENDING', attempts: 1 });
    await log.transition(outboundKey(rec.id), { status: 'DELIVERED', receipt: { at: clock.now().toISOString(), signer: 'CN=Regione' } });

    expect((await log.get(outboundKey(rec.id)))?.routing).toEqual(ROUTING);
    const [accepted] = await store.recordsOf(rec.id);
    expect(accepted).toMatchObject({ kind: 'envelope', state: 'ACCEPTED', to: 'SPC/Regione' });
    expect(accepted!.detail?.['routing']).toEqual(ROUTING);
    expect(await log.verify()).toMatchObject({ ok: true, records: 3 });
  });
});
