/**
 * The alarm board over a real log store (SQLite and PostgreSQL): two boards on one log — two node
 * processes — reconcile the same findings and only one notifies each raise and each clear; an
 * acknowledgement is a chained operator record and the chain verifies; a failed log verification raises
 * log-verification-failed and a clean one clears it; reminders stop once acknowledged.
 */
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { LogStore } from '../../src/log/log-store.js';
import type { Alarm, AlarmCondition, AlarmEvent } from '../../src/node/alarms/alarm.js';
import { LoggedAlarmBoard } from '../../src/node/alarms/alarm-board.js';
import { dropFileDatabase, messageLog, newStoreSite, SteppingClock, STORE_KINDS, type StoreKind } from '../log/log-fixtures.js';

afterAll(() => dropFileDatabase());

const silent = pino({ level: 'silent' });
const operator = { role: 'operator', name: 'maria.rossi' } as const;

const stuck = (subject: string): AlarmCondition => ({
  rule: 'stuck-messages',
  subject,
  severity: 'warning',
  summary: `servizio ${subject}: messaggi non finali`,
  facts: { service: subject },
});

describe.each(STORE_KINDS)('alarm board on a %s log', (kind: StoreKind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function twoProcesses() {
    const site = await newStoreSite(kind);
    cleanups.push(() => site.dispose());
    const stores: LogStore[] = [await site.open(), await site.open()];
    const clock = new SteppingClock();
    const logs = stores.map((store) => messageLog(store, { clock }));
    cleanups.push(async () => {
      for (const l of logs) await l.close();
    });
    const heard: Array<{ process: number; event: AlarmEvent; alarm: Alarm }> = [];
    const boards = logs.map(
      (log, i) =>
        new LoggedAlarmBoard({
          store: log.store,
          operatorActions: log,
          notify: (event, alarm) => heard.push({ process: i, event, alarm }),
          clock,
          log: silent,
        }),
    );
    return { boards, logs, heard };
  }

  it('two processes reconciling the same findings: one notification per raise and per clear', async () => {
    const { boards, heard } = await twoProcesses();
    await Promise.all(boards.map((b) => b.reconcile('stuck-messages', [stuck('Anagrafe'), stuck('Tributi')])));
    await Promise.all(boards.map((b) => b.reconcile('stuck-messages', [stuck('Anagrafe'), stuck('Tributi')])));
    expect(
      heard
        .filter((h) => h.event === 'raised')
        .map((h) => h.alarm.subject)
        .sort(),
    ).toEqual(['Anagrafe', 'Tributi']);
    // Another rule's findings leave these alone.
    await boards[0]!.reconcile('backlog', []);
    expect(await boards[1]!.current()).toHaveLength(2);
    await Promise.all(boards.map((b) => b.reconcile('stuck-messages', [stuck('Tributi')])));
    expect(heard.filter((h) => h.event === 'cleared').map((h) => h.alarm.subject)).toEqual(['Anagrafe']);
    expect((await boards[0]!.current()).map((a) => a.subject)).toEqual(['Tributi']);
    expect((await boards[1]!.recent(10)).map((a) => [a.subject, a.state])).toEqual([
      ['Tributi', 'raised'],
      ['Anagrafe', 'cleared'],
    ]);
  });

  it('an acknowledgement is a chained operator record with the name, the chain verifies, and reminders stop', async () => {
    const { boards, logs, heard } = await twoProcesses();
    await boards[0]!.reconcile('stuck-messages', [stuck('Anagrafe')]);
    const [raised] = await boards[0]!.current();
    await boards[0]!.remind(0);
    expect(heard.filter((h) => h.event === 'reminder')).toHaveLength(1);
    const acked = await boards[1]!.acknowledge(raised!.id, operator, 'preso in carico');
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledged: { by: operator, note: 'preso in carico' } });
    const records = await logs[0]!.store.searchRecords({ messageId: raised!.id });
    expect(records).toMatchObject([
      {
        kind: 'operator',
        action: 'alarm-acknowledged',
        detail: { by: operator, rule: 'stuck-messages', subject: 'Anagrafe', note: 'preso in carico' },
      },
    ]);
    expect((await logs[0]!.verify()).ok).toBe(true);
    await boards[0]!.remind(0);
    expect(heard.filter((h) => h.event === 'reminder')).toHaveLength(1);
    // Still on the board until its condition is gone.
    expect((await boards[0]!.current()).map((a) => a.state)).toEqual(['acknowledged']);
    await boards[0]!.reconcile('stuck-messages', []);
    await expect(boards[0]!.acknowledge(raised!.id, operator)).rejects.toMatchObject({ code: 'TRAMITE_ERR_ALARM_CLEARED' });
    await expect(boards[0]!.acknowledge('no-such-alarm', operator)).rejects.toMatchObject({ code: 'TRAMITE_ERR_ALARM_NOT_FOUND' });
  });

  it('a verification with issues raises log-verification-failed (critical); a clean one clears it', async () => {
    const { boards, heard } = await twoProcesses();
    await boards[0]!.verificationOutcome({ ok: false, issues: 2, firstBadSeq: 17, firstReason: 'hash mismatch', by: 'auditor API' });
    await boards[1]!.verificationOutcome({ ok: false, issues: 2, firstBadSeq: 17, firstReason: 'hash mismatch', by: 'console' });
    expect(heard.filter((h) => h.event === 'raised')).toMatchObject([
      { alarm: { rule: 'log-verification-failed', subject: 'message-log', severity: 'critical', facts: { issues: 2, firstBadSeq: 17 } } },
    ]);
    await boards[1]!.verificationOutcome({ ok: true, issues: 0, by: 'tramite log verify' });
    expect(heard.filter((h) => h.event === 'cleared')).toHaveLength(1);
    expect(await boards[0]!.current()).toEqual([]);
  });
});
