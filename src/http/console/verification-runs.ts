import { randomBytes } from 'node:crypto';
import type { AuditReport, LogAuditor } from '../../node/audit/log-auditor.js';
import type { StaffMember } from '../../core/staff-member.js';

/** One verification of the whole log, run in the background while the page polls its progress. */
export interface VerificationRun {
  readonly id: string;
  readonly by: StaffMember;
  readonly startedAt: string;
  /** The log's head when it started: the records it will check. */
  readonly total: number;
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

  async start(auditor: LogAuditor, by: StaffMember): Promise<VerificationRun> {
    const running = [...this.runs.values()].find((r) => r.state === 'running');
    if (running) return running;
    const run: VerificationRun = {
      id: randomBytes(16).toString('base64url'),
      by,
      startedAt: this.now().toISOString(),
      total: await auditor.headSeq(),
      checked: 0,
      state: 'running',
    };
    this.runs.set(run.id, run);
    this.forgetOld();
    void auditor
      .verify({ signatures: true, onRecord: (seq) => (run.checked = seq) })
      .then(
        (report) => {
          run.report = report;
          run.checked = Math.max(run.checked, run.total);
          run.state = 'done';
        },
        (err: unknown) => {
          run.error = (err as Error).message;
          run.state = 'failed';
        },
      )
      .finally(() => (run.finishedAt = this.now().toISOString()));
    return run;
  }

  get(id: string): VerificationRun | undefined {
    return this.runs.get(id);
  }

  /** The most recent run, if any. */
  latest(): VerificationRun | undefined {
    return [...this.runs.values()].at(-1);
  }

  private forgetOld(): void {
    for (const id of [...this.runs.keys()].slice(0, Math.max(0, this.runs.size - KEPT))) this.runs.delete(id);
  }
}
