import { randomBytes } from 'node:crypto';
import type { AuditReport, LogAuditor } from '../../node/audit/log-auditor.js';
import type { StaffMember } from '../../core/staff-member.js';

/** One verification of the whole log, run in the background while the page polls its progress. */
export interface VerificationRun {
  readonly id: string;
  readonly by: StaffMember;
  readonly startedAt: string;
  /** The log's head when it started: the records it will check (0 until the head is read). */
  total: number;
  checked: number;
  state: 'running' | 'done' | 'failed';
  report?: AuditReport;
  error?: string;
  finishedAt?: string;
}

/** How many finished runs are kept for their pages to show. */
const KEPT = 20;

/**
 * The log verifications the console started, in this process. One runs at a time: a second request
 * while one runs gets the running one (verifying twice at once only doubles the work).
 */
export class VerificationRuns {
  private readonly runs = new Map<string, VerificationRun>();

  constructor(private readonly now: () => Date) {}

  /**
   * Starts a run, or returns the running one, without waiting for it. Synchronous on purpose: the
   * "one running?" check and the registration happen in the same turn, so concurrent requests cannot
   * all pass the check while an await (PostgreSQL's head read) is pending and each start a walk.
   */
  start(auditor: LogAuditor, by: StaffMember): VerificationRun {
    const running = this.running();
    if (running) return running;
    const run: VerificationRun = {
      id: randomBytes(16).toString('base64url'),
      by,
      startedAt: this.now().toISOString(),
      total: 0,
      checked: 0,
      state: 'running',
    };
    this.runs.set(run.id, run);
    this.forgetOld();
    void this.execute(auditor, run);
    return run;
  }

  get(id: string): VerificationRun | undefined {
    return this.runs.get(id);
  }

  /** The most recent run, if any. */
  latest(): VerificationRun | undefined {
    return [...this.runs.values()].at(-1);
  }

  private running(): VerificationRun | undefined {
    return [...this.runs.values()].find((r) => r.state === 'running');
  }

  private async execute(auditor: LogAuditor, run: VerificationRun): Promise<void> {
    try {
      run.total = await auditor.headSeq();
      run.report = await auditor.verify({ signatures: true, onRecord: (seq) => (run.checked = seq) });
      run.checked = Math.max(run.checked, run.total);
      run.state = 'done';
    } catch (err) {
      run.error = (err as Error).message;
      run.state = 'failed';
    } finally {
      run.finishedAt = this.now().toISOString();
    }
  }

  /** Drops the oldest finished runs beyond KEPT; a running run is never dropped (its page still polls it). */
  private forgetOld(): void {
    const finished = [...this.runs.values()].filter((r) => r.state !== 'running');
    for (const r of finished.slice(0, Math.max(0, this.runs.size - KEPT))) this.runs.delete(r.id);
  }
}
