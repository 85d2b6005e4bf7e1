/**
 * What counts as the node's own temporary outage (503, nothing marked failed; a hand-over's record
 * retried) and what does not: the node's log or queue away, or its database's connection errors — never a
 * back office or peer that refused a connection, though that error's cause carries the same errno.
 */
import { describe, expect, it } from 'vitest';
import { TramiteError } from '../../src/core/errors.js';
import { isTemporaryOutage } from '../../src/node/temporary-outage.js';

const errno = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });

describe('isTemporaryOutage', () => {
  it("the node's log or queue away, as its own errors say, or its database's connection errors", () => {
    expect(isTemporaryOutage(new TramiteError('TRAMITE_ERR_LOG_UNAVAILABLE', 'the log is closed'))).toBe(true);
    expect(isTemporaryOutage(new TramiteError('TRAMITE_ERR_QUEUE_UNAVAILABLE', 'Redis away'))).toBe(true);
    expect(isTemporaryOutage(errno('ECONNREFUSED'))).toBe(true);
    expect(isTemporaryOutage(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(
      true,
    );
    expect(isTemporaryOutage(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it("not a back office or peer that could not be reached: that hand-over's own fault, though its cause is ECONNREFUSED", () => {
    const backOffice = new TramiteError('TRAMITE_ERR_PEER_UNREACHABLE', 'back office at http://127.0.0.1:9/ could not be reached', {
      cause: errno('ECONNREFUSED'),
    });
    expect(isTemporaryOutage(backOffice)).toBe(false);
    expect(
      isTemporaryOutage(new TramiteError('EGOV_IT_300', 'refused', { cause: new TramiteError('TRAMITE_ERR_LOG_UNAVAILABLE', 'x') })),
    ).toBe(false);
    expect(isTemporaryOutage(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
  });
});
