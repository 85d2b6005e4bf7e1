import { describe, expect, it } from 'vitest';
import type { MessageRecord } from '../../../src/core/message-record.js';
import { deliveryJob } from '../../../src/node/delivery/delivery-schedule.js';

const policy = { initialDelayMs: 1000, factor: 2, maxDelayMs: 60_000, maxAttempts: 5 };
/** Only what a delivery job is made of: the id, the attempts already made, the Scadenza. */
const record = (attempts: number, expiresAt?: string) =>
  ({ id: 'CST_PdD_0000001_2026-12-06_10:00', attempts, ...(expiresAt ? { expiresAt } : {}) }) as MessageRecord;

describe('deliveryJob', () => {
  it('a new message gets the whole retry policy', () => {
    expect(deliveryJob(record(0), policy)).toEqual({ key: record(0).id, messageId: record(0).id, retry: policy });
  });

  it('a message scheduled again after a recovery keeps the attempts it made: only the rest are left', () => {
    const job = deliveryJob(record(2, '2026-12-07T00:00:00Z'), policy);
    expect(job).toMatchObject({ attemptsBefore: 2, retry: { ...policy, maxAttempts: 3 }, expiresAt: '2026-12-07T00:00:00Z' });
  });

  it('one that had used every attempt (its exhaustion lost in a crash) still gets one more try', () => {
    expect(deliveryJob(record(7), policy)).toMatchObject({ attemptsBefore: 7, retry: { maxAttempts: 1 } });
  });
});
