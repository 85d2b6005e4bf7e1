/**
 * SIATEL's security alarms as the simulator applies them: an operator who makes more than 60 queries
 * in a rolling minute, or asks about more than 500 codici fiscali in an Italian day, is blocked until
 * the next Italian day (the real service blocks until an administrator unblocks; a day keeps the demo
 * going). Every query received counts, answered or not, as it does for the Agenzia — and every code
 * of a query, also one asked before the same day.
 *
 * The counters are kept so that a test or the demo can prove the client never came close: the largest
 * number of queries seen in any rolling minute, the codes of each day, and the blocks.
 */
import { nextRomeMidnight, romeDay } from '../sdk/index.js';
import type { SiatelLimits } from './siatel-quota.js';

const MINUTE_MS = 60_000;

export interface OperatorCounters {
  readonly operatore: string;
  readonly interrogazioni: number;
  /** The most queries seen in any rolling minute (window of 60 s ending at a query). */
  readonly massimoInUnMinuto: number;
  /** Codici fiscali by Italian day (YYYY-MM-DD). */
  readonly codiciPerGiorno: Readonly<Record<string, number>>;
  readonly blocchi: ReadonlyArray<{ readonly il: string; readonly finoA: string; readonly motivo: string }>;
}

export interface Block {
  readonly until: Date;
  readonly reason: string;
}

interface OperatorState {
  queries: number;
  /** Instants of the queries of the last minute, oldest first. */
  window: number[];
  maxInMinute: number;
  codesByDay: Map<string, number>;
  blocks: Array<{ il: string; finoA: string; motivo: string }>;
  blockedUntil: number;
}

export class SiatelAlarms {
  private readonly byOperator = new Map<string, OperatorState>();

  constructor(
    private readonly limits: SiatelLimits,
    private readonly now: () => Date,
  ) {}

  /** Counts a query about `codes` codici fiscali; says whether the operator is (now) blocked. */
  record(operatore: string, codes: number): Block | undefined {
    const at = this.now().getTime();
    const s = this.stateOf(operatore);
    s.queries += 1;
    while (s.window.length > 0 && (s.window[0] ?? at) <= at - MINUTE_MS) s.window.shift();
    s.window.push(at);
    s.maxInMinute = Math.max(s.maxInMinute, s.window.length);
    const day = romeDay(at);
    const today = (s.codesByDay.get(day) ?? 0) + codes;
    s.codesByDay.set(day, today);

    if (at < s.blockedUntil) return { until: new Date(s.blockedUntil), reason: 'operatore già bloccato' };
    const reason =
      s.window.length > this.limits.queriesPerMinute
        ? `più di ${this.limits.queriesPerMinute} interrogazioni in un minuto (${s.window.length})`
        : today > this.limits.codesPerDay
          ? `più di ${this.limits.codesPerDay} codici fiscali nella giornata del ${day} (${today})`
          : undefined;
    if (reason === undefined) return undefined;
    s.blockedUntil = nextRomeMidnight(at);
    s.blocks.push({ il: new Date(at).toISOString(), finoA: new Date(s.blockedUntil).toISOString(), motivo: reason });
    return { until: new Date(s.blockedUntil), reason };
  }

  operators(): string[] {
    return [...this.byOperator.keys()];
  }

  counters(operatore: string): OperatorCounters {
    const s = this.byOperator.get(operatore) ?? emptyState();
    return {
      operatore,
      interrogazioni: s.queries,
      massimoInUnMinuto: s.maxInMinute,
      codiciPerGiorno: Object.fromEntries(s.codesByDay),
      blocchi: [...s.blocks],
    };
  }

  private stateOf(operatore: string): OperatorState {
    let s = this.byOperator.get(operatore);
    if (!s) {
      s = emptyState();
      this.byOperator.set(operatore, s);
    }
    return s;
  }
}

function emptyState(): OperatorState {
  return { queries: 0, window: [], maxInMinute: 0, codesByDay: new Map(), blocks: [], blockedUntil: 0 };
}
