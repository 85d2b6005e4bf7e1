/** One exchange of the demo as reported: what happened, what was expected, and whether they agree. */
export interface ExchangeReport {
  readonly scenario: string;
  readonly id: string | null;
  readonly status: string;
  readonly expected: string;
  readonly ok: boolean;
  readonly receipt: boolean;
  readonly attempts: number;
  readonly code?: string;
  readonly detail?: string;
}
