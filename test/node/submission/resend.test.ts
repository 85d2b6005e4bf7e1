/**
 * The one resend use case, as the API and `tramite messages resend` both run it, over a real SQLite
 * message log: only a FAILED outbound message comes back, ACCEPTED and without its error, and is
 * scheduled; a caller sees only its own parties' messages.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { outboundKey, type MessageRecord } from '../../../src/core/message-record.js';
import type { MessageLog } from '../../../src/log/message-log.js';
import { resendFailed } from '../../../src/node/submission/resend.js';
import { messageLog, newStoreSite, sampleEnvelope, sampleMessage, SteppingClock, type StoreSite } from '../../log/log-fixtures.js';

let site: StoreSite | undefined;
let log: MessageLog | undefined;
afterEach(async () => {
  await log?.close();
  await site?.dispose();
  log = site = undefined;
});

/** A log holding one outbound message (i = 1: from SPC/ComuneB) in `status`. */
async function logWith(status: MessageRecord['status']): Promise<{ log: MessageLog; rec: MessageRecord }> {
  site = await newStoreSite('sqlite');
  const clock = new SteppingClock();
  log = messageLog(await site.open(), { clock });
  const rec = sampleMessage(1, clock);
  await log.create(rec, sampleEnvelope(rec.id));
  if (status !== rec.status)
    await log.transition(outboundKey(rec.id), {
      status,
      ...(status === 'FAILED' ? { error: { code: 'TRAMITE_ERR_RETRIES_EXHAUSTED', message: 'gave up' } } : {}),
    });
  return { log, rec };
}

describe('resendFailed', () => {
  it('makes a FAILED message ACCEPTED again, clears its error and schedules it', async () => {
    const { log, rec } = await logWith('FAILED');
    const scheduled: MessageRecord[] = [];
    const next = await resendFailed({ store: log, schedule: async (r) => void scheduled.push(r) }, rec.id, {
      parties: new Set([rec.from]),
    });
    expect(next).toMatchObject({ id: rec.id, status: 'ACCEPTED' });
    expect(next.error).toBeUndefined();
    expect(scheduled.map((r) => r.id)).toEqual([rec.id]);
    expect((await log.get(outboundKey(rec.id)))?.status).toBe('ACCEPTED');
  });

  it('makes one resend of two asked at once (two operators): the other is refused, the message scheduled once', async () => {
    const { log, rec } = await logWith('FAILED');
    const scheduled: MessageRecord[] = [];
    const deps = { store: log, schedule: async (r: MessageRecord) => void scheduled.push(r) };
    const outcomes = await Promise.allSettled([resendFailed(deps, rec.id), resendFailed(deps, rec.id)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: { code: 'TRAMITE_ERR_NOT_RESENDABLE', status: 409 } });
    expect(scheduled.map((r) => r.id)).toEqual([rec.id]);
    expect((await log.get(outboundKey(rec.id)))?.status).toBe('ACCEPTED');
  });

  it('refuses a message that did not fail (TRAMITE_ERR_NOT_RESENDABLE) and leaves it as it is', async () => {
    const { log, rec } = await logWith('DELIVERED');
    const scheduled: MessageRecord[] = [];
    await expect(resendFailed({ store: log, schedule: async (r) => void scheduled.push(r) }, rec.id)).rejects.toMatchObject({
      code: 'TRAMITE_ERR_NOT_RESENDABLE',
      status: 409,
    });
    expect(scheduled).toEqual([]);
    expect((await log.get(outboundKey(rec.id)))?.status).toBe('DELIVERED');
  });

  it("does not show a caller another party's message, nor one the log does not hold (TRAMITE_ERR_NOT_FOUND)", async () => {
    const { log, rec } = await logWith('FAILED');
    const schedule = async (): Promise<void> => undefined;
    await expect(resendFailed({ store: log, schedule }, rec.id, { parties: new Set(['SPC/Altro']) })).rejects.toMatchObject({
      code: 'TRAMITE_ERR_NOT_FOUND',
      status: 404,
    });
    await expect(resendFailed({ store: log, schedule }, 'SPC_Nessuno_0000001_2031-03-03_09:00')).rejects.toMatchObject({
      code: 'TRAMITE_ERR_NOT_FOUND',
    });
    expect((await log.get(outboundKey(rec.id)))?.status).toBe('FAILED');
  });

  it('logs who resent it with the change, and an action that changes no message as an operator record of the chain', async () => {
    const { log, rec } = await logWith('FAILED');
    const by = { role: 'operator', name: 'm.rossi' } as const;
    await resendFailed({ store: log, schedule: async () => undefined }, rec.id, { by });
    const records = await log.store.recordsOf(rec.id);
    expect(records.at(-1)).toMatchObject({ kind: 'state', state: 'ACCEPTED', detail: { status: 'ACCEPTED', by } });
    expect(await log.get(outboundKey(rec.id))).not.toHaveProperty('by');

    const acknowledged = await log.recordOperatorAction({
      by,
      action: 'alarm-acknowledged',
      target: 'alarm-7',
      detail: { note: 'peer down, called' },
    });
    expect(acknowledged).toMatchObject({
      kind: 'operator',
      messageId: 'alarm-7',
      from: 'operator:m.rossi',
      action: 'alarm-acknowledged',
      detail: { by, note: 'peer down, called' },
    });
    expect((await log.verify()).ok).toBe(true);
  });
});
