/**
 * VerificationRuns against an auditor whose log reads wait until the test lets them go — as PostgreSQL's
 * do: concurrent starts while the head read is pending all get the one run (the check and the
 * registration happen in one turn), and finished runs are forgotten oldest first, the running one never.
 */
import { describe, expect, it } from 'vitest';
import type { StaffMember } from '../../src/core/staff-member.js';
import { VerificationRuns } from '../../src/http/console/verification-runs.js';
import type { AuditReport, LogAuditor } from '../../src/node/audit/log-auditor.js';

const BY: StaffMember = { name: 'auditor-test', role: 'auditor' };

/** An auditor whose head read and verification each wait for `release()`. */
function heldAuditor(report: Partial<AuditReport> = { ok: true, records: 3 }) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let verifications = 0;
  const auditor = {
    headSeq: async () => {
      await held;
      return 3;
    },
    verify: async (opts: { onRecord?: (seq: number) => void }) => {
      verifications += 1;
      await held;
      for (const seq of [1, 2, 3]) opts.onRecord?.(seq);
      return report as AuditReport;
    },
  } as unknown as LogAuditor;
  return { auditor, release: () => release(), verifications: () => verifications };
}

async function settled(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

describe('VerificationRuns', () => {
  it('gives concurrent starts the one running run while the head read is still pending, and ends it done', async () => {
    const runs = new VerificationRuns(() => new Date());
    const a = heldAuditor();
    const started = Array.from({ length: 8 }, () => runs.start(a.auditor, BY));
    expect(new Set(started.map((r) => r.id)).size).toBe(1);
    expect(started[0]!.state).toBe('running');
    a.release();
    await settled();
    expect(a.verifications()).toBe(1);
    expect(started[0]).toMatchObject({ state: 'done', total: 3, checked: 3 });
    expect(runs.start(heldAuditor().auditor, BY).id).not.toBe(started[0]!.id);
  });

  it('joins the running run however often asked, then keeps the latest finished runs and forgets the oldest', async () => {
    const runs = new VerificationRuns(() => new Date());
    const held = heldAuditor();
    const running = runs.start(held.auditor, BY);
    for (let i = 0; i < 30; i++) expect(runs.start(heldAuditor().auditor, BY).id).toBe(running.id);
    held.release();
    await settled();
    const finished: string[] = [running.id];
    for (let i = 0; i < 25; i++) {
      const next = heldAuditor();
      finished.push(runs.start(next.auditor, BY).id);
      next.release();
      await settled();
    }
    const last = heldAuditor();
    const now = runs.start(last.auditor, BY);
    expect(runs.get(now.id)?.state).toBe('running');
    expect(runs.get(finished.at(-1)!)).toBeDefined();
    expect(runs.get(finished[0]!)).toBeUndefined();
    last.release();
  });
});
