import { readFileSync } from 'node:fs';
import { type KeyObject, createPublicKey } from 'node:crypto';
import type { Command } from 'commander';
import { decodeJwt } from 'jose';
import { ConfigError, TramiteError } from '../../core/errors.js';
import { describeCertificate } from '../../core/certificate-description.js';
import { loadConfig } from '../../config/load-config.js';
import { TrustStore } from '../../crypto/trust-store.js';
import { ModiRestError, type ModiRestPosition } from '../../../envelopes/modi-rest/modi-rest-error.js';
import { checkBodyDigest } from '../../../envelopes/modi-rest/body-digest.js';
import { readSignedHeaders } from '../../../envelopes/modi-rest/signed-headers.js';
import { verifyRestToken, type VerifiedRestToken } from '../../../envelopes/modi-rest/rest-token-verify.js';
import { buildModiRestRequestHeaders, type RestRequestPatterns } from '../../../envelopes/modi-rest/rest-message-headers.js';
import { signerAlgorithm, type RestSigningKey } from '../../../envelopes/modi-rest/jws-signing.js';
import {
  DEFAULT_MODI_REST_LIMITS,
  MODI_REST_ALGORITHMS,
  MODI_REST_PATTERNS,
  isModiRestAlgorithm,
  type ModiRestAlgorithm,
  type ModiRestPattern,
} from '../../../envelopes/modi-rest/modi-rest-patterns.js';
import { printJson, reportError } from '../cli-output.js';
import { collectRepeated } from '../repeatable-option.js';
import { wholeNumberOption } from '../whole-number-option.js';
import { PASSPHRASE_ENV_HELP, PASSPHRASE_FILE_HELP } from '../passphrase-options.js';
import { type SignerOptions, signerFromOptions } from '../signer-options.js';

export function registerModiCommand(program: Command): void {
  const modi = program.command('modi').description('offline tools for ModI REST tokens: verify one, or build the headers of a request');

  modi
    .command('verify-jwt')
    .description(
      'verify one ModI REST token (Authorization Bearer, Agid-JWT-Signature or Agid-JWT-TrackingEvidence): alg, signer certificate against the trust store, signature, times, aud, and with --body the Digest it signs; prints {"valid","pattern","signer","claims","code","reason"} and exits 0 only when valid',
    )
    .argument('<file>', 'the compact JWS ("-" for stdin); a leading "Bearer " or "Authorization: Bearer " is ignored')
    .option('--trust <ca.pem>', 'a trusted CA certificate (PEM; repeatable)', collectRepeated, [])
    .option('--config <tramite.json>', "use a node configuration's trust store")
    .option('--jwks <file.json>', 'public keys known by kid (a JWKS, as PDND publishes), for INTEGRITY_REST_02 / AUDIT_REST_02 tokens')
    .option('--at <date-time>', 'judge validity as of this instant (ISO 8601) instead of now')
    .option('--audience <aud>', 'require this audience (aud equal to it, or containing it)')
    .option('--body <file>', 'an Agid-JWT-Signature token: the body bytes its signed Digest must match')
    .option('--skew <seconds>', 'tolerated clock difference for exp, nbf and iat', '5')
    .option('--max-age <seconds>', 'also refuse an iat older than this (live traffic: 300); off by default')
    .action(async (file: string, opts: VerifyOptions) => {
      let inputs: VerifyInputs;
      try {
        inputs = readVerifyInputs(file, opts);
      } catch (err) {
        reportError(err, 2);
        return;
      }
      await verifyJwt(inputs);
    });

  modi
    .command('sign-request')
    .description(
      'build the ModI REST headers a consumer sends (Authorization, Digest, Agid-JWT-Signature, Agid-JWT-TrackingEvidence) for a body, and print them as JSON {"headers",…}',
    )
    .option('--key <key.pem>', 'the signer private key (PEM; encrypted with --passphrase-file or --passphrase-env); with --cert')
    .option('--cert <cert.pem>', 'the signer certificate (PEM); it travels in x5c with the CAs that follow it in the file')
    .option('--keystore <file.p12>', 'instead of --key and --cert: a PKCS#12 keystore holding the key and its certificate')
    .option('--passphrase-file <file>', PASSPHRASE_FILE_HELP)
    .option('--passphrase-env <variable>', PASSPHRASE_ENV_HELP)
    .option('--alias <alias>', '--keystore: which key, when the keystore holds several')
    .requiredOption('--audience <aud>', "the provider's audience for the e-service (aud)")
    .option('--body <file>', 'the exact body bytes to send (Digest is computed over them)')
    .option('--content-type <type>', 'the Content-Type sent with the body (signed in signed_headers)')
    .option(
      '--patterns <list>',
      `comma-separated: ID_AUTH_REST_01 or _02, INTEGRITY_REST_01 or _02, AUDIT_REST_01 or _02 (the _02 integrity and audit tokens are signed with --kid, the PDND key id)`,
      'ID_AUTH_REST_02,INTEGRITY_REST_01',
    )
    .option('--kid <kid>', 'the kid PDND gave the key: INTEGRITY_REST_02 and AUDIT_REST_02 tokens name it instead of a certificate')
    .option('--alg <alg>', `${MODI_REST_ALGORITHMS.join(', ')} (default: RS256 for an RSA key, ES256 for a P-256 key)`)
    .option('--issuer <iss>', 'iss claim')
    .option('--subject <sub>', 'sub claim')
    .option('--audit-claim <name=value>', 'a claim of the audit token, e.g. userID=mario.rossi (repeatable)', collectRepeated, [])
    .option('--purpose-id <id>', 'the PDND purposeId, written in the audit token')
    .option('--ttl <seconds>', 'token lifetime (exp − iat)', '300')
    .action(async (opts: SignOptions) => {
      let prepared: () => Promise<Record<string, unknown>>;
      try {
        prepared = prepareSignRequest(opts);
      } catch (err) {
        reportError(err, 2);
        return;
      }
      try {
        printJson(await prepared());
      } catch (err) {
        reportError(err);
      }
    });
}

interface VerifyOptions {
  trust: string[];
  config?: string;
  jwks?: string;
  at?: string;
  audience?: string;
  body?: string;
  skew: string;
  maxAge?: string;
}

interface VerifyInputs {
  readonly token: string;
  readonly trust: TrustStore;
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly at: Date;
  readonly audience?: string;
  readonly body?: Buffer;
  readonly skewSeconds: number;
  readonly maxAgeSeconds?: number;
}

/** Everything read before verifying; a problem here is a usage error (exit 2). */
function readVerifyInputs(file: string, opts: VerifyOptions): VerifyInputs {
  const skewSeconds = wholeNumberOption(opts.skew, '--skew', { min: 0, max: 86_400, what: 'a whole number of seconds', example: 5 });
  const maxAgeSeconds =
    opts.maxAge === undefined
      ? undefined
      : wholeNumberOption(opts.maxAge, '--max-age', { min: 0, max: 10 * 365 * 86_400, what: 'a whole number of seconds', example: 300 });
  let trust = TrustStore.fromPem(opts.trust.map((f) => readFileSync(f, 'utf8')));
  if (opts.config) trust = trust.withExtra([...loadConfig(opts.config).trust.anchors]);
  const keys = opts.jwks ? readJwks(opts.jwks) : new Map<string, KeyObject>();
  if (trust.anchors.length === 0 && keys.size === 0)
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_INVALID',
      'no trust: pass --trust CA.pem (repeatable), --config tramite.json or --jwks keys.json',
      {
        field: '--trust',
      },
    );
  const at = opts.at ? new Date(opts.at) : new Date();
  if (Number.isNaN(at.getTime()))
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `--at "${opts.at}" is not an ISO 8601 date-time`, { field: '--at' });
  const raw = readFileSync(file === '-' ? 0 : file, 'utf8');
  const token = raw.trim().replace(/^(?:Authorization:\s*)?Bearer\s+/i, '');
  return {
    token,
    trust,
    keys,
    at,
    skewSeconds,
    ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
    ...(opts.audience !== undefined ? { audience: opts.audience } : {}),
    ...(opts.body !== undefined ? { body: readFileSync(opts.body) } : {}),
  };
}

function readJwks(file: string): Map<string, KeyObject> {
  const jwks = JSON.parse(readFileSync(file, 'utf8')) as { keys?: unknown };
  if (!Array.isArray(jwks.keys))
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `${file} is not a JWKS ({"keys":[…]})`, { field: '--jwks' });
  const keys = new Map<string, KeyObject>();
  for (const jwk of jwks.keys as Array<{ kid?: unknown }>) {
    if (typeof jwk.kid !== 'string') continue;
    try {
      keys.set(jwk.kid, createPublicKey({ key: jwk as never, format: 'jwk' }));
    } catch (err) {
      throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `${file}: the key ${jwk.kid} is not a public JWK`, {
        field: '--jwks',
        cause: err,
      });
    }
  }
  return keys;
}

type TokenKind = 'id-auth' | 'integrity' | 'audit';

const POSITION: Record<TokenKind, ModiRestPosition> = {
  'id-auth': 'Authorization',
  integrity: 'Agid-JWT-Signature',
  audit: 'Agid-JWT-TrackingEvidence',
};

/** Which header the token is for, read from its (not yet verified) claims: only to name the pattern. */
function tokenKind(token: string): TokenKind {
  try {
    const claims = decodeJwt(token);
    if (claims.signed_headers !== undefined) return 'integrity';
    if (['userID', 'userLocation', 'LoA', 'dnonce'].some((c) => claims[c] !== undefined)) return 'audit';
  } catch {
    // Unreadable: verifyRestToken refuses it with the precise reason.
  }
  return 'id-auth';
}

function patternOf(kind: TokenKind, verified: VerifiedRestToken): ModiRestPattern {
  const pdnd = verified.kid !== undefined && verified.signer === undefined;
  if (kind === 'integrity') return pdnd ? 'INTEGRITY_REST_02' : 'INTEGRITY_REST_01';
  if (kind === 'audit') return verified.claims.dnonce !== undefined ? 'AUDIT_REST_02' : 'AUDIT_REST_01';
  return typeof verified.claims.jti === 'string' ? 'ID_AUTH_REST_02' : 'ID_AUTH_REST_01';
}

async function verifyJwt(inputs: VerifyInputs): Promise<void> {
  const kind = tokenKind(inputs.token);
  try {
    const verified = await verifyRestToken(inputs.token, POSITION[kind], {
      at: inputs.at,
      skewSeconds: inputs.skewSeconds,
      // A stored token is verified long after it was sent: its age is checked only when asked.
      maxAgeSeconds: inputs.maxAgeSeconds ?? 'unbounded',
      ...(inputs.audience !== undefined ? { audience: inputs.audience } : {}),
      ...(inputs.trust.anchors.length > 0 ? { trust: inputs.trust } : {}),
      ...(inputs.keys.size > 0 ? { keyByKid: (kid: string) => inputs.keys.get(kid) } : {}),
    });
    if (inputs.body) checkSignedDigest(verified, kind, inputs.body);
    printJson({
      valid: true,
      pattern: patternOf(kind, verified),
      signer: verified.signer ? describeCertificate(verified.signer) : `kid ${verified.kid}`,
      claims: verified.claims,
    });
  } catch (err) {
    if (!(err instanceof TramiteError)) {
      reportError(err, 2);
      return;
    }
    printJson({
      valid: false,
      ...(err instanceof ModiRestError && err.signer ? { signer: err.signer } : {}),
      code: err.code,
      reason: err.message,
    });
    process.exitCode = 1;
  }
}

/** --body: the Digest the integrity token signs must be the digest of these bytes. */
function checkSignedDigest(verified: VerifiedRestToken, kind: TokenKind, body: Buffer): void {
  if (kind !== 'integrity')
    throw new ModiRestError(
      'TRAMITE_ERR_MODI_REST_DIGEST',
      POSITION[kind],
      '--body: this token has no signed_headers, so it signs no Digest',
    );
  const digest = readSignedHeaders(verified.claims.signed_headers, DEFAULT_MODI_REST_LIMITS).find(([name]) => name === 'digest');
  if (!digest) throw new ModiRestError('TRAMITE_ERR_MODI_REST_SIGNED_HEADER', 'Agid-JWT-Signature', 'digest is not in signed_headers');
  checkBodyDigest(digest[1], body);
}

interface SignOptions extends SignerOptions {
  audience: string;
  body?: string;
  contentType?: string;
  patterns: string;
  kid?: string;
  alg?: string;
  issuer?: string;
  subject?: string;
  auditClaim: string[];
  purposeId?: string;
  ttl: string;
}

/** Checks the options at once (usage errors); the returned function reads the files and signs. */
function prepareSignRequest(opts: SignOptions): () => Promise<Record<string, unknown>> {
  const ttlSeconds = wholeNumberOption(opts.ttl, '--ttl', { min: 1, max: 86_400, what: 'a whole number of seconds', example: 300 });
  const patterns = parseRestPatterns(opts.patterns, opts.kid !== undefined);
  if (opts.alg !== undefined && !isModiRestAlgorithm(opts.alg))
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `--alg must be one of ${MODI_REST_ALGORITHMS.join(', ')}`, { field: '--alg' });
  const auditClaims = Object.fromEntries(
    opts.auditClaim.map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0)
        throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `--audit-claim "${pair}" is not name=value`, { field: '--audit-claim' });
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
  const signer = signerFromOptions(opts);
  return async () => {
    const material = signer();
    const alg = (opts.alg as ModiRestAlgorithm | undefined) ?? signerAlgorithm(material);
    const x509: RestSigningKey = { privateKey: material, alg, certificates: [material.certificate, ...material.chain] };
    const pdnd: RestSigningKey | undefined = opts.kid !== undefined ? { privateKey: material, alg, kid: opts.kid } : undefined;
    const body = opts.body !== undefined ? readFileSync(opts.body) : undefined;
    const request: RestRequestPatterns = {
      ...(patterns.idAuth ? { idAuth: patterns.idAuth } : {}),
      ...(patterns.integrity ? { integrity: patterns.integrity } : {}),
      ...(patterns.audit
        ? { audit: { pattern: patterns.audit, claims: auditClaims, ...(opts.purposeId ? { purposeId: opts.purposeId } : {}) } }
        : {}),
    };
    const messageKey = patterns.integrity === 'INTEGRITY_REST_02' ? pdnd! : x509;
    const auditKey = patterns.audit === 'AUDIT_REST_02' ? pdnd! : x509;
    const built = await buildModiRestRequestHeaders(
      {
        audience: opts.audience,
        now: new Date(),
        ttlSeconds,
        ...(opts.issuer !== undefined ? { issuer: opts.issuer } : {}),
        ...(opts.subject !== undefined ? { subject: opts.subject } : {}),
        ...(body ? { body } : {}),
        ...(opts.contentType !== undefined ? { headers: { 'Content-Type': opts.contentType } } : {}),
      },
      request,
      messageKey,
      auditKey,
    );
    return { headers: built.headers, ...(built.auditDigest ? { auditDigest: built.auditDigest } : {}) };
  };
}

/** `--patterns`: at most one of each family; the _02 integrity/audit tokens need --kid; INTEGRITY_REST_02 rides on a voucher, not our ID_AUTH. */
function parseRestPatterns(
  list: string,
  hasKid: boolean,
): {
  idAuth?: 'ID_AUTH_REST_01' | 'ID_AUTH_REST_02';
  integrity?: 'INTEGRITY_REST_01' | 'INTEGRITY_REST_02';
  audit?: 'AUDIT_REST_01' | 'AUDIT_REST_02';
} {
  const names = list
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const bad = (why: string) => new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `--patterns "${list}": ${why}`, { field: '--patterns' });
  const unknown = names.filter((n) => !(MODI_REST_PATTERNS as readonly string[]).includes(n));
  if (unknown.length > 0) throw bad(`unknown ${unknown.join(', ')} (known: ${MODI_REST_PATTERNS.join(', ')})`);
  const family = (prefix: string) => {
    const found = names.filter((n) => n.startsWith(prefix));
    if (found.length > 1) throw bad(`name one ${prefix}* pattern, not ${found.join(' and ')}`);
    return found[0];
  };
  const idAuth = family('ID_AUTH_REST_') as 'ID_AUTH_REST_01' | 'ID_AUTH_REST_02' | undefined;
  const integrity = family('INTEGRITY_REST_') as 'INTEGRITY_REST_01' | 'INTEGRITY_REST_02' | undefined;
  const audit = family('AUDIT_REST_') as 'AUDIT_REST_01' | 'AUDIT_REST_02' | undefined;
  if (!idAuth && !integrity && !audit) throw bad('name at least one pattern');
  if ((integrity === 'INTEGRITY_REST_02' || audit === 'AUDIT_REST_02') && !hasKid)
    throw bad('INTEGRITY_REST_02 and AUDIT_REST_02 need --kid (the PDND key id)');
  if (integrity === 'INTEGRITY_REST_02' && idAuth)
    throw bad('INTEGRITY_REST_02 goes with a PDND voucher in Authorization (which this tool does not fetch), not with ID_AUTH_REST_*');
  return { ...(idAuth ? { idAuth } : {}), ...(integrity ? { integrity } : {}), ...(audit ? { audit } : {}) };
}
