import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { RevocationChecker } from './revocation-checker.js';
import { AnchorPolicies, type RevocationMode } from './revocation-policy.js';

/** The configuration's `trust.revocation` as loaded: paths absolute, each anchor's certificates read. */
export interface RevocationSettings {
  readonly mode: RevocationMode;
  readonly allowSha1Crl: boolean;
  readonly anchors: ReadonlyArray<{
    readonly caFile: string;
    readonly certificates: readonly X509Certificate[];
    readonly mode: RevocationMode;
    readonly allowSha1Crl: boolean;
  }>;
  readonly crlFiles: readonly string[];
  readonly ocsp: boolean;
  readonly fetchCrls: boolean;
  readonly timeoutMs: number;
  readonly maxCrlBytes: number;
  readonly maxCacheSeconds: number;
  readonly failureCacheSeconds: number;
}

/** The node's checker, or undefined when every anchor's policy is off (nothing to ask, nothing to wait for). */
export function revocationCheckerFor(
  settings: RevocationSettings | undefined,
  deps: { readonly log?: Pick<Logger, 'warn'>; readonly now?: () => Date } = {},
): RevocationChecker | undefined {
  if (!settings) return undefined;
  const policies = new AnchorPolicies(
    { mode: settings.mode, allowSha1Crl: settings.allowSha1Crl },
    settings.anchors.map((a) => ({ anchors: a.certificates, policy: { mode: a.mode, allowSha1Crl: a.allowSha1Crl } })),
  );
  if (!policies.anyChecked) return undefined;
  return new RevocationChecker({
    policies,
    crlFiles: settings.crlFiles,
    ocsp: settings.ocsp,
    fetchCrls: settings.fetchCrls,
    timeoutMs: settings.timeoutMs,
    maxCrlBytes: settings.maxCrlBytes,
    maxCacheSeconds: settings.maxCacheSeconds,
    failureCacheSeconds: settings.failureCacheSeconds,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
}
