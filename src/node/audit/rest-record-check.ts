import { decodeProtectedHeader } from 'jose';
import { describeCertificate } from '../../core/certificate-description.js';
import { TramiteError } from '../../core/errors.js';
import type { TrustStore } from '../../crypto/trust-store.js';
import { parseHttpMessageBytes } from '../../log/http-message-bytes.js';
import type { LogRecord } from '../../log/log-entry.js';
import { checkBodyDigest } from '../../../envelopes/modi-rest/body-digest.js';
import { ModiRestError, type ModiRestPosition } from '../../../envelopes/modi-rest/modi-rest-error.js';
import { DEFAULT_MODI_REST_LIMITS, MODI_REST_HEADER } from '../../../envelopes/modi-rest/modi-rest-patterns.js';
import { bearerToken, type HeaderValues } from '../../../envelopes/modi-rest/received-headers.js';
import { checkSignedHeaders, readSignedHeaders } from '../../../envelopes/modi-rest/signed-headers.js';
import { verifyRestToken, type RestVerifyPolicy } from '../../../envelopes/modi-rest/rest-token-verify.js';

/** What re-verifying one logged REST request or response found. */
export interface RestRecordCheck {
  readonly valid: boolean;
  /** The certificate of the last token verified (or of the one that failed). */
  readonly signer?: string;
  readonly code?: string;
  /** Set only when something no longer verifies: the problem an audit reports. */
  readonly reason?: string;
  /** ModI tokens with an x5c certificate, verified. */
  readonly tokensVerified: number;
  /** Tokens not re-verified: redacted PDND vouchers, kid-signed tokens (no certificate), and those of a FAILED exchange. */
  readonly tokensSkipped: number;
  /** Why tokens were skipped, when it is not the token's form (a FAILED exchange). */
  readonly note?: string;
}

/** Where ModI tokens travel, with the position a refusal names. */
const TOKEN_HEADERS: ReadonlyArray<readonly [string, ModiRestPosition]> = [
  [MODI_REST_HEADER.authorization, 'Authorization'],
  [MODI_REST_HEADER.signature, 'Agid-JWT-Signature'],
  [MODI_REST_HEADER.trackingEvidence, 'Agid-JWT-TrackingEvidence'],
];

/** As for a logged envelope's Timestamp: the time the record was logged, give or take five minutes. */
const AUDIT_SKEW_SECONDS = 300;

/**
 * Re-verifies the ModI tokens of a logged `rest-request` / `rest-response` as of the record's time,
 * against the auditor's trust: every token signed with a certificate in x5c (Authorization when it is
 * not a voucher, Agid-JWT-Signature with its signed headers and the Digest recomputed over the logged
 * body, Agid-JWT-TrackingEvidence) with envelopes/modi-rest — the iat's age unbounded, no replay filter
 * and no audience, which were judged live. Vouchers (their signature redacted by the gateway) and
 * kid-signed tokens carry no certificate: skipped and counted. A FAILED exchange's tokens may be the
 * very reason it was refused, so they are counted as skipped, not reported.
 */
export async function checkRestRecord(r: LogRecord, trust: TrustStore): Promise<RestRecordCheck> {
  if (!r.envelope) return { valid: false, reason: 'HTTP message purged by retention', tokensVerified: 0, tokensSkipped: 0 };
  let message: ReturnType<typeof parseHttpMessageBytes>;
  try {
    message = parseHttpMessageBytes(r.envelope);
  } catch (err) {
    return { valid: false, code: (err as TramiteError).code, reason: (err as Error).message, tokensVerified: 0, tokensSkipped: 0 };
  }
  const headers = headerValues(message.headers);
  const tokens = TOKEN_HEADERS.flatMap(([name, position]) => (headers.get(name) ?? []).map((value) => ({ value, position })));
  if (r.state === 'FAILED')
    return { valid: true, tokensVerified: 0, tokensSkipped: tokens.length, note: 'tokens not re-verified: the exchange FAILED' };

  const policy: RestVerifyPolicy = {
    at: new Date(r.time),
    skewSeconds: AUDIT_SKEW_SECONDS,
    maxAgeSeconds: 'unbounded',
    typ: 'optional',
    trust,
  };
  let verified = 0;
  let skipped = 0;
  let signer: string | undefined;
  let position: ModiRestPosition = 'token';
  try {
    for (const token of tokens) {
      position = token.position;
      const jws = compactJwsOf(token.value, token.position);
      if (jws === undefined || !hasCertificate(jws)) {
        skipped += 1;
        continue;
      }
      const ok = await verifyRestToken(jws, token.position, policy, { signerKind: 'x509' });
      signer = ok.signer ? describeCertificate(ok.signer) : signer;
      if (token.position === 'Agid-JWT-Signature') {
        // What the token signs: the headers it lists (Digest among them) as logged, and through Digest the logged body.
        checkSignedHeaders(readSignedHeaders(ok.claims.signed_headers, DEFAULT_MODI_REST_LIMITS), headers);
      }
      verified += 1;
    }
    position = 'Digest';
    // Recomputed whenever a Digest was logged, whoever signed it: a body that no longer matches its Digest was changed.
    for (const digest of headers.get(MODI_REST_HEADER.digest) ?? []) checkBodyDigest(digest, message.body);
  } catch (err) {
    const e = err as TramiteError & { signer?: string };
    const named = e.signer ?? signer;
    return {
      valid: false,
      ...(named ? { signer: named } : {}),
      code: e.code ?? 'ERROR',
      reason: `${err instanceof ModiRestError ? err.position : position}: ${e.message}`,
      tokensVerified: verified,
      tokensSkipped: skipped,
    };
  }
  return { valid: true, ...(signer ? { signer } : {}), tokensVerified: verified, tokensSkipped: skipped };
}

function headerValues(list: ReadonlyArray<readonly [string, string]>): HeaderValues {
  const out = new Map<string, string[]>();
  for (const [name, value] of list) out.set(name, [...(out.get(name) ?? []), value]);
  return out;
}

/** The compact JWS a header carries; undefined for an Authorization that is not a Bearer token (another scheme). */
function compactJwsOf(value: string, position: ModiRestPosition): string | undefined {
  if (position !== 'Authorization') return value.trim();
  try {
    return bearerToken(value);
  } catch {
    return undefined;
  }
}

/** Whether the token names its certificate in x5c: only those can be re-verified with the auditor's trust alone. */
function hasCertificate(jws: string): boolean {
  try {
    return decodeProtectedHeader(jws).x5c !== undefined;
  } catch {
    // Not even a JWS header: verified anyway, so the refusal says what is wrong with it.
    return true;
  }
}
