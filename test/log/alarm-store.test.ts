/**
 * The alarms table of both log stores: raising is an atomic claim of (rule, subject) — of concurrent
 * raisers, in one process or two sharing the log, exactly one gets the alarm (and only it notifies) —
 * acknowledging and clearing are single too, a cleared alarm lets the next one be raised, and alarms
 * survive a restart.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { NewAlarm } from '../../src/log/alarm-rows.js';
import type { LogStore } from '../../src/log/log-store.js';
import { dropFileDatabase, newStoreSite, STORE_KINDS, type StoreKind, type StoreSite } from './log-fixtures.js';

afterAll(() => dropFileDatabase());

const operator = { role: 'operator', name: 'Maria Rossi' } as const;

function newAlarm(over: Partial<NewAlarm> = {}): NewAlarm {
  return {
    id: randomUUID(),
    rule: 'stuck-messages',
    subject: 'ComunicazioneVariazione',
    severity: 'warning',
    raisedAt: new Date('2031-03-03T09:00:00.000Z').toISOString(),
    summary: '3 messaggi non finali da oltre 900 s',
    facts: { messages: 3 },
    ...over,
  };
}

describe.each(STORE_KINDS)('%s log store: alarms', (kind: StoreKind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function site(): Promise<StoreSite> {
    const s = await newStoreSite(kind);
    cleanups.push(() => s.dispose());
    return s;
  }
  async function open(s: StoreSite): Promise<LogStore> {
    const store = await s.open();
    let closed = false;
    const close = store.close.bind(store);
    store.close = async () => {
      if (closed) return;
      closed = true;
      await close();
    };
    cleanups.push(() => store.close());
    return store;
  }

  it('of 40 concurrent raises of one (rule, subject) exactly one claims it; another subject is its own alarm', async () => {
    const store = await open(await site());
    const results = await Promise.all(Array.from({ length: 40 }, () => store.raiseAlarm(newAlarm())));
    const claimed = results.filter((r) => r !== undefined);
    expect(claimed).toHaveLength(1);
    expect(claimed[0]).toMatchObject({
      state: 'raised',
      rule: 'stuck-messages',
      subject: 'ComunicazioneVariazione',
      facts: { messages: 3 },
    });
    expect(await store.raiseAlarm(newAlarm({ subject: 'Altro' }))).toBeDefined();
    expect((await store.activeAlarms()).map((a) => a.subject).sort()).toEqual(['Altro', 'ComunicazioneVariazione']);
  });

  it('two store instances on one log (two node processes) racing: exactly one raise wins, and one clear', async () => {
    const s = await site();
    const a = await open(s);
    const b = await open(s);
    const raised = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).raiseAlarm(newAlarm({ rule: 'backlog', subject: 'deliver' }))),
    );
    const winner = raised.filter((r) => r !== undefined);
    expect(winner).toHaveLength(1);
    const cleared = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).clearAlarm(winner[0]!.id, '2031-03-03T10:00:00.000Z')),
    );
    expect(cleared.filter((r) => r !== undefined)).toHaveLength(1);
    expect(await a.activeAlarms()).toEqual([]);
  });

  it('acknowledged stays active (and still blocks a second raise); cleared frees (rule, subject) for the next raise', async () => {
    const store = await open(await site());
    const first = (await store.raiseAlarm(newAlarm()))!;
    const acked = await store.acknowledgeAlarm(first.id, { at: '2031-03-03T09:05:00.000Z', by: operator, note: 'peer avvisato' });
    expect(acked).toMatchObject({
      state: 'acknowledged',
      acknowledged: { at: '2031-03-03T09:05:00.000Z', by: operator, note: 'peer avvisato' },
    });
    expect(await store.raiseAlarm(newAlarm())).toBeUndefined();
    expect((await store.activeAlarms()).map((a) => a.id)).toEqual([first.id]);
    expect(await store.clearAlarm(first.id, '2031-03-03T09:10:00.000Z')).toMatchObject({
      state: 'cleared',
      clearedAt: '2031-03-03T09:10:00.000Z',
    });
    expect(await store.acknowledgeAlarm(first.id, { at: '2031-03-03T09:11:00.000Z', by: operator })).toBeUndefined();
    const second = await store.raiseAlarm(newAlarm({ raisedAt: '2031-03-03T09:20:00.000Z' }));
    expect(second?.id).not.toBe(first.id);
    expect((await store.recentAlarms(10)).map((a) => [a.id, a.state])).toEqual([
      [second!.id, 'raised'],
      [first.id, 'cleared'],
    ]);
  });

  it('a reminder is claimed once per due time, and never for an acknowledged alarm', async () => {
    const store = await open(await site());
    const a = (await store.raiseAlarm(newAlarm()))!;
    const claims = await Promise.all(
      Array.from({ length: 10 }, () => store.claimAlarmReminder(a.id, '2031-03-03T09:00:00.000Z', '2031-03-03T10:00:00.000Z')),
    );
    expect(claims.filter((c) => c !== undefined)).toHaveLength(1);
    expect(await store.claimAlarmReminder(a.id, '2031-03-03T09:30:00.000Z', '2031-03-03T10:30:00.000Z')).toBeUndefined();
    await store.acknowledgeAlarm(a.id, { at: '2031-03-03T10:40:00.000Z', by: operator });
    expect(await store.claimAlarmReminder(a.id, '2031-03-03T11:00:00.000Z', '2031-03-03T11:00:00.000Z')).toBeUndefined();
  });

  it('an alarm survives the store being closed and opened again (a restart)', async () => {
    const s = await site();
    const first = await open(s);
    const a = (await first.raiseAlarm(newAlarm()))!;
    await first.close();
    const again = await open(s);
    expect(await again.alarm(a.id)).toEqual(a);
    expect(await again.raiseAlarm(newAlarm())).toBeUndefined();
  });
});
