/** How a message is retried: exponential backoff with full jitter, capped, bounded in attempts. */
export interface RetryPolicy {
  /** Delay before the first retry, ms. */
  readonly initialDelayMs: number;
  /** Growth of the delay per attempt. */
  readonly factor: number;
  /** No delay is longer than this, ms. */
  readonly maxDelayMs: number;
  /** Attempts in all (the first send included); the message's Scadenza ends retries sooner. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialDelayMs: 1000, factor: 2, maxDelayMs: 300_000, maxAttempts: 20 };

/**
 * Delay before attempt `attemptsMade + 1`: a uniformly random delay up to the exponential ceiling
 * ("full jitter"), so a crowd of messages to a peer that comes back does not return in lockstep —
 * never less than a tenth of the ceiling, and never past the message's expiry.
 */
export function retryDelayMs(
  attemptsMade: number,
  policy: RetryPolicy,
  opts: { random?: () => number; msUntilExpiry?: number } = {},
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.max(0, attemptsMade - 1));
  const random = opts.random ?? Math.random;
  const delay = Math.round(ceiling * (0.1 + 0.9 * random()));
  return opts.msUntilExpiry === undefined ? delay : Math.max(0, Math.min(delay, opts.msUntilExpiry));
}

/** A service's policy: the node-wide one, with the fields the service sets overriding it. */
export function servicePolicy(base: RetryPolicy, service?: Partial<RetryPolicy>): RetryPolicy {
  return { ...base, ...(service ?? {}) };
}
