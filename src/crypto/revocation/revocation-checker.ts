import type { X509Certificate } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { describeCertificate } from '../../core/certificate-description.js';
import { SecurityError, TramiteError } from '../../core/errors.js';
import { statusPointers, type StatusPointers } from './certificate-pointers.js';
import { certificateLabel, noStatus, serialText, type CertificateStatus } from './certificate-status.js';
import { CrlFiles } from './crl-files.js';
import { crlCovers, parseCrl, statusFromCrl, verifyCrl, type VerifiedCrl } from './crl.js';
import { ocspQuestion } from './ocsp-request.js';
import { judgeOcspResponse } from './ocsp-response.js';
import { fetchRevocationData } from './revocation-http.js';
import type { AnchorPolicies, RevocationPolicy } from './revocation-policy.js';
import type { CertificateChainCheck, ChainCheck } from './certificate-chain-check.js';

export type { CertificateChainCheck, ChainCheck } from './certificate-chain-check.js';

export interface RevocationCheckerOptions {
  readonly policies: AnchorPolicies;
  /** CRL files the operator keeps (any issuer; each used for the certificates of the CA that signed it). */
  readonly crlFiles?: readonly string[];
  /** Ask the OCSP responders certificates name (AIA). Default true. */
  readonly ocsp?: boolean;
  /** Fetch the CRLs certificates name (CRL Distribution Points). Default true. */
  readonly fetchCrls?: boolean;
  /** One fetch or OCSP exchange, end to end. Default 5000. */
  readonly timeoutMs?: number;
  /** Largest CRL fetched, in bytes. Default 10 MiB. */
  readonly maxCrlBytes?: number;
  /** A fetched CRL or an OCSP answer is kept until its nextUpdate, but no longer than this. Default 3600. */
  readonly maxCacheSeconds?: number;
  /** After a source failed (down, corrupt), how long it is not asked again. Default 30. */
  readonly failureCacheSeconds?: number;
  readonly now?: () => Date;
  /** Where a soft policy's "no fresh status, accepted" goes. */
  readonly log?: Pick<Logger, 'warn'>;
}

/** What the checker has judged since it started: for /health and, later, metrics. */
export interface RevocationCounters {
  /** Certificates found good. */
  good: number;
  /** Certificates refused as revoked. */
  revoked: number;
  /** No fresh status under a hard policy: refused. */
  unknownRefused: number;
  /** No fresh status under a soft policy: accepted with a warning. */
  unknownAccepted: number;
}

const OCSP_MAX_BYTES = 64 * 1024;

/** What the checker does where its options (and the config's trust.revocation) say nothing. */
export const REVOCATION_DEFAULTS = {
  ocsp: true,
  fetchCrls: true,
  timeoutMs: 5000,
  maxCrlBytes: 10 * 1024 * 1024,
  maxCacheSeconds: 3600,
  failureCacheSeconds: 30,
} as const;

/**
 * Judges the revocation status of a certificate chain (leaf first, trust anchor last) by the anchor's
 * policy: OCSP first when the certificate names a responder, then the CRL files, then the CRLs it
 * names; the first fresh answer decides. Revoked is refused under any policy but `off`; no fresh
 * answer is refused under `hard` and accepted with a warning under `soft`.
 *
 * Runs on the main thread: it waits on the network, not the CPU, and its caches serve every caller.
 * Answers are cached until their nextUpdate (capped), failures for a short while, and concurrent
 * questions about one certificate or CRL share one exchange, so a burst of envelopes from one signer
 * costs at most one round trip. Addresses come only from certificates already chained to an anchor.
 */
export class RevocationChecker implements CertificateChainCheck {
  readonly #opts: Required<Omit<RevocationCheckerOptions, 'log' | 'crlFiles'>> & Pick<RevocationCheckerOptions, 'log'>;
  readonly #files: CrlFiles;
  readonly #ocspAnswers = new LRUCache<string, CertificateStatus>({ max: 4096 });
  readonly #crls = new LRUCache<string, VerifiedCrl>({ max: 256 });
  readonly #failures = new LRUCache<string, TramiteError>({ max: 1024 });
  readonly #pointers = new LRUCache<string, StatusPointers>({ max: 4096 });
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly counters: RevocationCounters = { good: 0, revoked: 0, unknownRefused: 0, unknownAccepted: 0 };

  constructor(opts: RevocationCheckerOptions) {
    this.#opts = {
      policies: opts.policies,
      ocsp: opts.ocsp ?? REVOCATION_DEFAULTS.ocsp,
      fetchCrls: opts.fetchCrls ?? REVOCATION_DEFAULTS.fetchCrls,
      timeoutMs: opts.timeoutMs ?? REVOCATION_DEFAULTS.timeoutMs,
      maxCrlBytes: opts.maxCrlBytes ?? REVOCATION_DEFAULTS.maxCrlBytes,
      maxCacheSeconds: opts.maxCacheSeconds ?? REVOCATION_DEFAULTS.maxCacheSeconds,
      failureCacheSeconds: opts.failureCacheSeconds ?? REVOCATION_DEFAULTS.failureCacheSeconds,
      now: opts.now ?? (() => new Date()),
      log: opts.log,
    };
    this.#files = new CrlFiles(opts.crlFiles ?? []);
  }

  get policies(): AnchorPolicies {
    return this.#opts.policies;
  }

  /**
   * Resolves when no certificate of `chain` (leaf first, anchor last, as TrustStore.validateSigner
   * returns it) is revoked and the anchor's policy is satisfied; otherwise rejects with SecurityError
   * TRAMITE_ERR_CERT_REVOKED, TRAMITE_ERR_CERT_STATUS_UNKNOWN or TRAMITE_ERR_REVOCATION_INVALID.
   */
  async checkChain(chain: readonly X509Certificate[], check: ChainCheck = {}): Promise<void> {
    if (chain.length < 2) return; // an anchor alone: nothing above it to ask
    const policy = this.#opts.policies.of(chain[chain.length - 1]!);
    if (policy.mode === 'off') return;
    const role = check.role ?? 'certificate';
    for (let i = 0; i < chain.length - 1; i++) {
      const cert = chain[i]!;
      const issuer = chain[i + 1]!;
      const label = (): string => `${i === 0 ? role : 'CA certificate'} ${certificateLabel(cert)}`;
      const status = await this.#statusOf(cert, issuer, policy).catch((err: unknown) => err as TramiteError);
      if (status instanceof Error) {
        const code = status instanceof TramiteError ? status.code : 'TRAMITE_ERR_CERT_STATUS_UNKNOWN';
        const message = `no fresh revocation status for ${label()}: ${status.message}`;
        if (policy.mode === 'soft') {
          this.counters.unknownAccepted++;
          this.#opts.log?.warn({ code, certificate: describeCertificate(cert), err: status.message }, `${message} (soft policy: accepted)`);
          continue;
        }
        this.counters.unknownRefused++;
        throw new SecurityError(
          code === 'TRAMITE_ERR_REVOCATION_INVALID' ? 'TRAMITE_ERR_REVOCATION_INVALID' : 'TRAMITE_ERR_CERT_STATUS_UNKNOWN',
          message,
          { cause: status, signer: describeCertificate(chain[0]!) },
        );
      }
      const at = check.at ?? this.#opts.now();
      if (status.status === 'revoked' && status.revokedAt <= at) {
        this.counters.revoked++;
        throw new SecurityError(
          'TRAMITE_ERR_CERT_REVOKED',
          `${label()} is revoked since ${status.revokedAt.toISOString()}${status.reason ? ` (${status.reason})` : ''}, says ${status.source}`,
          { signer: describeCertificate(chain[0]!) },
        );
      }
    }
    this.counters.good++;
  }

  /** The status of one certificate: OCSP, then CRL files, then fetched CRLs; the errors of all when none answers. */
  async #statusOf(cert: X509Certificate, issuer: X509Certificate, policy: RevocationPolicy): Promise<CertificateStatus> {
    const pointers = this.#pointersOf(cert);
    const problems: TramiteError[] = [];
    const attempt = async (ask: () => Promise<CertificateStatus | undefined>): Promise<CertificateStatus | undefined> => {
      try {
        return await ask();
      } catch (err) {
        problems.push(err instanceof TramiteError ? err : noStatus((err as Error).message, err));
        return undefined;
      }
    };
    if (this.#opts.ocsp) {
      for (const url of pointers.ocsp) {
        const status = await attempt(() => this.#ocsp(url, cert, issuer));
        if (status) return status;
      }
    }
    const fromFiles = await attempt(async () => {
      for (const crl of this.#files.issuedBy(issuer, policy))
        if (crlCovers(crl, cert, issuer)) return statusFromCrl(crl, cert, this.#opts.now());
      return undefined;
    });
    if (fromFiles) return fromFiles;
    if (this.#opts.fetchCrls) {
      for (const url of pointers.crl) {
        const status = await attempt(async () => {
          const crl = await this.#fetchedCrl(url, issuer, policy);
          return crlCovers(crl, cert, issuer) ? statusFromCrl(crl, cert, this.#opts.now()) : undefined;
        });
        if (status) return status;
      }
    }
    if (problems.length === 0) {
      throw noStatus(
        `it names no ${this.#opts.ocsp ? 'OCSP responder or ' : ''}CRL that can be used${this.#files.files.length ? ', and no CRL file is from its issuer' : ''}`,
      );
    }
    // An answer that cannot be believed says more than one that did not come: report it first.
    const invalid = problems.find((p) => p.code === 'TRAMITE_ERR_REVOCATION_INVALID');
    const first = invalid ?? problems[0]!;
    throw new TramiteError(first.code, problems.map((p) => p.message).join('; '), { cause: first });
  }

  async #ocsp(url: string, cert: X509Certificate, issuer: X509Certificate): Promise<CertificateStatus> {
    const key = `ocsp ${url} ${issuer.fingerprint256} ${serialText(cert.serialNumber)}`;
    const cached = this.#ocspAnswers.get(key);
    if (cached && cached.freshUntil > this.#opts.now()) return cached;
    return this.#once(key, async () => {
      const question = await ocspQuestion(cert, issuer);
      const answer = await fetchRevocationData(url, {
        timeoutMs: this.#opts.timeoutMs,
        maxBytes: OCSP_MAX_BYTES,
        ocspRequest: question.der,
      });
      const now = this.#opts.now();
      // Without nextUpdate "newer information is always available" (RFC 6960 §4.2.2.1): believed now, not kept.
      const status = judgeOcspResponse(answer, { cert, issuer, question, url, now, withoutNextUpdateMs: 0 });
      this.#keep(this.#ocspAnswers, key, status, status.freshUntil);
      return status;
    });
  }

  async #fetchedCrl(url: string, issuer: X509Certificate, policy: RevocationPolicy): Promise<VerifiedCrl> {
    const key = `crl ${url} ${issuer.fingerprint256} ${policy.allowSha1Crl}`;
    const cached = this.#crls.get(key);
    if (cached && cached.nextUpdate > this.#opts.now()) return cached;
    return this.#once(key, async () => {
      const bytes = await fetchRevocationData(url, { timeoutMs: this.#opts.timeoutMs, maxBytes: this.#opts.maxCrlBytes });
      const crl = verifyCrl(parseCrl(bytes, url), issuer, policy, url);
      this.#keep(this.#crls, key, crl, crl.nextUpdate);
      return crl;
    });
  }

  /** One exchange per key at a time; a failure is remembered for failureCacheSeconds so a dead source is not asked per message. */
  async #once<T>(key: string, work: () => Promise<T>): Promise<T> {
    const failed = this.#failures.get(key);
    if (failed) throw failed;
    const running = this.#inFlight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const promise = work()
      .catch((err: unknown) => {
        const failure = err instanceof TramiteError ? err : noStatus((err as Error).message, err);
        if (this.#opts.failureCacheSeconds > 0) this.#failures.set(key, failure, { ttl: this.#opts.failureCacheSeconds * 1000 });
        throw failure;
      })
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, promise);
    return promise;
  }

  #keep<T extends object>(cache: LRUCache<string, T>, key: string, value: T, freshUntil: Date): void {
    const ms = Math.min(freshUntil.getTime() - this.#opts.now().getTime(), this.#opts.maxCacheSeconds * 1000);
    if (ms > 0) cache.set(key, value, { ttl: ms });
  }

  #pointersOf(cert: X509Certificate): StatusPointers {
    let pointers = this.#pointers.get(cert.fingerprint256);
    if (!pointers) {
      pointers = statusPointers(cert);
      this.#pointers.set(cert.fingerprint256, pointers);
    }
    return pointers;
  }
}
