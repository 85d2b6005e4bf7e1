import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EnvelopeError, SecurityError, TramiteError } from '../../core/errors.js';
import { loadConfig } from '../../config/load-config.js';
import { DEFAULT_XML_LIMITS } from '../../../envelopes/xml/hardened-xml.js';
import { TrustStore } from '../../crypto/trust-store.js';
import { RevocationChecker } from '../../crypto/revocation/revocation-checker.js';
import { AnchorPolicies } from '../../crypto/revocation/revocation-policy.js';
import { describeCertificate } from '../../core/certificate-description.js';
import { readEnvelope, sealEnvelope, verifyEnvelope, type EnvelopeProfile, type ReadEnvelope } from '../../../envelopes/envelope.js';
import { strongestPatterns } from '../../../envelopes/modi/modi-patterns.js';
import { MODI_SOAP_PATTERNS, WEAKEST_MODI_PATTERNS, type ModiSoapPattern } from '../../core/service-profile.js';
import { printJson, reportError } from '../cli-output.js';
import { wholeNumberOption } from '../whole-number-option.js';
import { collectRepeated } from '../repeatable-option.js';
import { PASSPHRASE_ENV_HELP, PASSPHRASE_FILE_HELP } from '../passphrase-options.js';
import { type SignerOptions, signerFromOptions } from '../signer-options.js';
import type { Signer } from '../../core/signer.js';

export function registerEnvelopeCommand(program: Command): void {
  const envelope = program.command('envelope').description('offline tools for SOAP envelopes (e-Gov busta, ModI): inspect, verify, seal');

  envelope
    .command('inspect')
    .description(
      'parse an envelope and print its header as JSON (exit 0), or its EGOV_IT code and position (exit 1); signatures are not checked',
    )
    .argument('<file>', 'the envelope (XML)')
    .action((file: string) => {
      try {
        const env = readEnvelope(readFileSync(file), DEFAULT_XML_LIMITS);
        printJson(describeEnvelope(env));
      } catch (err) {
        printRefusal(err);
      }
    });

  envelope
    .command('verify')
    .description(
      'verify the WS-Security signature, the signer certificate against a trust store and the Timestamp; prints {"valid",…} (for ModI also "patterns", the security patterns the envelope satisfies) and exits 0 only when valid',
    )
    .argument('<file>', 'the envelope (XML)')
    .option('--trust <ca.pem>', 'a trusted CA certificate (PEM; repeatable)', collectRepeated, [])
    .option('--config <tramite.json>', "use a node configuration's trust store")
    .option('--at <date-time>', 'judge validity as of this instant (ISO 8601) instead of now')
    .option(
      '--max-age <seconds>',
      'also refuse a wsu:Created older than this (live traffic uses 300); off by default, since stored envelopes are verified long after they were sent',
    )
    .option('--skew <seconds>', 'tolerated clock difference for Created in the future and Expires', '5')
    .option(
      '--crl <file>',
      'a CRL (PEM or DER, e.g. from openssl ca -gencrl; repeatable): the signer and its CAs must not be on it, and each needs a fresh CRL of its issuer (or --ocsp)',
      collectRepeated,
      [],
    )
    .option('--ocsp', 'online check: ask the OCSP responder each certificate names (AIA); a certificate with no fresh status is refused')
    .action(
      async (
        file: string,
        opts: { trust: string[]; config?: string; at?: string; maxAge?: string; skew: string; crl: string[]; ocsp?: boolean },
      ) => {
        let trust: TrustStore;
        let at: Date;
        let skewSeconds: number;
        let maxAgeSeconds: number | undefined;
        try {
          skewSeconds = wholeNumberOption(opts.skew, '--skew', { min: 0, max: 86_400, what: 'a whole number of seconds', example: 5 });
          maxAgeSeconds =
            opts.maxAge === undefined
              ? undefined
              : wholeNumberOption(opts.maxAge, '--max-age', {
                  min: 0,
                  max: 10 * 365 * 86_400,
                  what: 'a whole number of seconds',
                  example: 300,
                });
          const pems = opts.trust.map((f) => readFileSync(f, 'utf8'));
          trust = TrustStore.fromPem(pems);
          if (opts.config) trust = trust.withExtra([...loadConfig(opts.config).trust.anchors]);
          if (trust.anchors.length === 0)
            throw new TramiteError(
              'TRAMITE_ERR_CONFIG_INVALID',
              'no trust anchors: pass --trust CA.pem (repeatable) or --config tramite.json',
            );
          at = opts.at ? new Date(opts.at) : new Date();
          if (Number.isNaN(at.getTime()))
            throw new TramiteError('TRAMITE_ERR_CONFIG_INVALID', `--at "${opts.at}" is not an ISO 8601 date-time`);
        } catch (err) {
          reportError(err, 2);
          return;
        }
        let env: ReadEnvelope | undefined;
        try {
          env = readEnvelope(readFileSync(file), DEFAULT_XML_LIMITS);
          // No service in view: any ModI pattern will do, and the output says which one the envelope satisfies.
          const opened = verifyEnvelope(
            env,
            {
              trust,
              at,
              skewSeconds,
              ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
            },
            WEAKEST_MODI_PATTERNS,
          );
          const revocation = revocationOptionsChecker(opts);
          if (revocation) await revocation.checkChain(opened.signature.chain, { at, role: 'signer' });
          printJson({
            valid: true,
            ...(revocation ? { revocation: 'good' } : {}),
            profile: opened.profile,
            ...(opened.modi ? { patterns: strongestPatterns(opened.modi.satisfied) } : {}),
            signer: describeCertificate(opened.signature.signer),
            signed: opened.signature.signed,
            timestamp: opened.signature.timestamp,
          });
        } catch (err) {
          if (!(err instanceof TramiteError)) {
            reportError(err, 2);
            return;
          }
          const reason = err instanceof SecurityError ? `${err.reason}: ${err.message}` : err.message;
          printJson({
            valid: false,
            ...(env ? { profile: env.profile } : {}),
            ...(err instanceof SecurityError && err.signer ? { signer: err.signer } : {}),
            code: err.code,
            reason,
            ...(err instanceof EnvelopeError || err instanceof SecurityError ? { posizione: err.posizione } : {}),
          });
          process.exitCode = 1;
        }
      },
    );

  envelope
    .command('seal')
    .description("add a profile's security headers to an existing SOAP envelope, sign it, and write it to stdout")
    .argument('<file>', 'the unsigned SOAP 1.1 envelope (egov: it must already carry eGov_IT:Intestazione)')
    .requiredOption('--profile <egov|modi>', 'egov (busta e-Gov + WS-Security) or modi (WS-Addressing + WS-Security)')
    .option('--key <key.pem>', 'the signer private key (PEM; encrypted with --passphrase-file or --passphrase-env); with --cert')
    .option('--cert <cert.pem>', 'the signer certificate (PEM); it travels in a BinarySecurityToken')
    .option('--keystore <file.p12>', 'instead of --key and --cert: a PKCS#12 keystore holding the key and its certificate')
    .option('--passphrase-file <file>', PASSPHRASE_FILE_HELP)
    .option('--passphrase-env <variable>', PASSPHRASE_ENV_HELP)
    .option('--alias <alias>', '--keystore: which key, when the keystore holds several')
    .option('--to <audience>', 'modi: wsa:To, when the envelope has none')
    .option('--from <client>', 'modi: wsa:From/Address, when the envelope has none')
    .option('--action <action>', 'modi: wsa:Action, when the envelope has none')
    .option(
      '--patterns <list>',
      'modi: the ModI patterns to sign for, comma-separated: ID_AUTH_SOAP_01 or ID_AUTH_SOAP_02, with or without INTEGRITY_SOAP_01 (the Body is signed only with it)',
      'ID_AUTH_SOAP_02,INTEGRITY_SOAP_01',
    )
    .option('--ttl <seconds>', 'lifetime written in wsu:Expires', '300')
    .action(
      async (
        file: string,
        opts: SignerOptions & { profile: string; to?: string; from?: string; action?: string; patterns: string; ttl: string },
      ) => {
        let ttlSeconds: number;
        let signerSource: () => Signer;
        try {
          ttlSeconds = wholeNumberOption(opts.ttl, '--ttl', { min: 1, max: 86_400, what: 'a whole number of seconds', example: 300 });
          signerSource = signerFromOptions(opts);
        } catch (err) {
          reportError(err, 2);
          return;
        }
        try {
          if (opts.profile !== 'egov' && opts.profile !== 'modi')
            throw new TramiteError('TRAMITE_ERR_CONFIG_INVALID', `--profile must be egov or modi, not "${opts.profile}"`);
          const modiPatterns = parsePatterns(opts.patterns);
          const signed = await sealEnvelope(readFileSync(file, 'utf8'), opts.profile as EnvelopeProfile, signerSource(), {
            now: new Date(),
            ttlSeconds,
            addressing: {
              ...(opts.to ? { to: opts.to } : {}),
              ...(opts.from ? { from: opts.from } : {}),
              ...(opts.action ? { action: opts.action } : {}),
            },
            modiPatterns,
          });
          process.stdout.write(signed.endsWith('\n') ? signed : `${signed}\n`);
        } catch (err) {
          reportError(err);
        }
      },
    );
}

/**
 * --crl and --ocsp: a hard policy for every anchor (the caller asked for a status, so no status is a
 * refusal), from the given CRL files and, with --ocsp, the responders; no CRL is fetched. Freshness is
 * judged now; a certificate revoked after --at still counts as good at --at.
 */
function revocationOptionsChecker(opts: { crl: string[]; ocsp?: boolean }): RevocationChecker | undefined {
  if (opts.crl.length === 0 && !opts.ocsp) return undefined;
  return new RevocationChecker({
    policies: new AnchorPolicies({ mode: 'hard', allowSha1Crl: false }),
    crlFiles: opts.crl,
    ocsp: opts.ocsp === true,
    fetchCrls: false,
    failureCacheSeconds: 0,
  });
}

/** `--patterns`: one ID_AUTH pattern, optionally INTEGRITY_SOAP_01, as a service declares them. */
function parsePatterns(list: string): ModiSoapPattern[] {
  const names = list
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(MODI_SOAP_PATTERNS as readonly string[]).includes(n));
  const idAuth = names.filter((n) => n !== 'INTEGRITY_SOAP_01');
  if (unknown.length > 0 || idAuth.length !== 1) {
    throw new TramiteError(
      'TRAMITE_ERR_CONFIG_INVALID',
      `--patterns "${list}": name exactly one of ID_AUTH_SOAP_01, ID_AUTH_SOAP_02, with or without INTEGRITY_SOAP_01`,
    );
  }
  return names as ModiSoapPattern[];
}

function describeEnvelope(env: ReadEnvelope): Record<string, unknown> {
  return {
    profile: env.profile,
    ...(env.egov ? { header: env.egov } : {}),
    ...(env.addressing ? { addressing: env.addressing } : {}),
    signed: env.security !== undefined,
    ...(env.fault ? { fault: { code: env.fault.code, string: env.fault.string } } : {}),
  };
}

function printRefusal(err: unknown): void {
  if (err instanceof EnvelopeError || err instanceof SecurityError) {
    printJson({
      code: err.code,
      posizione: err.posizione,
      message: err.message,
      ...(err instanceof SecurityError ? { reason: err.reason } : {}),
    });
    process.exitCode = 1;
    return;
  }
  reportError(err, err instanceof TramiteError ? 1 : 2);
}
