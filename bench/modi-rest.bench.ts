/**
 * ModI REST wire benchmark: how many requests' ModI headers one process builds and verifies per second
 * (ID_AUTH_REST_02 + INTEGRITY_REST_01, a 1 KB JSON body with its Content-Type, x5c of one certificate,
 * trust store check included), RS256 with RSA-2048 and ES256 with P-256, next to the raw node:crypto
 * sign/verify that is its floor (two tokens: two signatures, two verifications).
 *
 *   npm run bench:modi-rest                        # human table
 *   npm run bench:modi-rest -- --json              # one JSON object on stdout
 *   npm run bench:modi-rest -- --seconds 1         # timed seconds per measurement (default 3)
 *
 * Single-threaded; 0.5 s warm-up, then a fixed duration. It only measures and prints.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyObject, X509Certificate, createPrivateKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { createDevPki } from '../src/crypto/dev-pki.js';
import { TrustStore } from '../src/crypto/trust-store.js';
import { buildModiRestRequestHeaders, type SignedRestHeaders } from '../envelopes/modi-rest/rest-message-headers.js';
import { verifyModiRestMessage } from '../envelopes/modi-rest/rest-message-verify.js';
import type { RestSigningKey } from '../envelopes/modi-rest/jws-signing.js';
import { measure, measureAsync, type Measurement } from './bench-stats.js';

const WARMUP_SECONDS = 0.5;
const AUD = 'https://regione.example.it/rest/anagrafe/v1';
const BODY = Buffer.from(JSON.stringify({ codiceFiscale: 'RSSMRA80A01H501U', note: 'x'.repeat(960) }));
const PATTERNS = { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' } as const;

function parseArgs(argv: string[]): { seconds: number; json: boolean } {
  let seconds = 3;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') json = true;
    else if (argv[i] === '--seconds' && Number(argv[i + 1]) > 0 && Number(argv[i + 1]) <= 120) seconds = Number(argv[++i]);
    else {
      process.stderr.write('usage: node dist/bench/modi-rest.bench.js [--seconds N (1..120)] [--json]\n');
      process.exit(2);
    }
  }
  return { seconds, json };
}

/** An RSA signer from the dev PKI and an EC P-256 one certified by the same CA with openssl (the dev PKI issues RSA only). */
function keys(): { trust: TrustStore; rsa: RestSigningKey; ec: RestSigningKey } {
  const dir = mkdtempSync(join(tmpdir(), 'tramite-bench-modi-rest-'));
  try {
    createDevPki({ dir, parties: ['SPC/ComuneA'], now: new Date(), validityDays: 30 });
    const f = (name: string) => join(dir, name);
    const rsaCert = new X509Certificate(readFileSync(f('ComuneA.cert.pem')));
    const rsaKey = createPrivateKey(readFileSync(f('ComuneA.key.pem')));
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(f('ec.key.pem'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(f('ext.cnf'), '[ext]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, nonRepudiation\n');
    execFileSync('openssl', ['req', '-new', '-key', f('ec.key.pem'), '-subj', '/C=IT/O=SPC/CN=ComuneEC', '-out', f('ec.csr')], {
      stdio: 'pipe',
    });
    const x509 = ['x509', '-req', '-in', f('ec.csr'), '-CA', f('ca.cert.pem'), '-CAkey', f('ca.key.pem'), '-set_serial', '0x1e5'];
    execFileSync('openssl', [...x509, '-days', '5', '-sha256', '-extfile', f('ext.cnf'), '-extensions', 'ext', '-out', f('ec.cert.pem')], {
      stdio: 'pipe',
    });
    return {
      trust: TrustStore.fromPem(readFileSync(f('ca.cert.pem'), 'utf8')),
      rsa: { privateKey: rsaKey, alg: 'RS256', certificates: [rsaCert] },
      ec: { privateKey: ec.privateKey, alg: 'ES256', certificates: [new X509Certificate(readFileSync(f('ec.cert.pem')))] },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { seconds, json } = parseArgs(process.argv.slice(2));
  const opts = { seconds, warmupSeconds: WARMUP_SECONDS };
  const { trust, rsa, ec } = keys();
  const results: Record<string, Measurement> = {};
  for (const [name, key] of [
    ['RS256', rsa],
    ['ES256', ec],
  ] as const) {
    const spec = () => ({ audience: AUD, now: new Date(), ttlSeconds: 300, body: BODY, headers: { 'Content-Type': 'application/json' } });
    results[`${name} build`] = await measureAsync(() => buildModiRestRequestHeaders(spec(), PATTERNS, key), opts);
    const built: SignedRestHeaders = await buildModiRestRequestHeaders(spec(), PATTERNS, key);
    const policy = { at: new Date(), skewSeconds: 60, audience: AUD, trust };
    results[`${name} verify`] = await measureAsync(
      () => verifyModiRestMessage({ headers: built.headers, body: BODY }, PATTERNS, policy),
      opts,
    );
    const hash = 'sha256';
    const data = Buffer.alloc(1500, 1);
    const privateKey = key.privateKey as KeyObject; // the bench's keys are in memory
    const signature = sign(hash, data, privateKey);
    const publicKey = key.certificates![0]!.publicKey;
    results[`${name} raw 2×sign`] = measure(() => [sign(hash, data, privateKey), sign(hash, data, privateKey)], opts);
    results[`${name} raw 2×verify`] = measure(
      () => verify(hash, data, publicKey, signature) && verify(hash, data, publicKey, signature),
      opts,
    );
  }
  const context = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    node: process.version,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify({ context, bodyBytes: BODY.length, results })}\n`);
    return;
  }
  process.stdout.write(
    `ModI REST headers (ID_AUTH_REST_02 + INTEGRITY_REST_01, ${BODY.length}-byte body), ${seconds} s each; load ${context.loadavg.join(' ')}\n`,
  );
  for (const [name, m] of Object.entries(results)) {
    process.stdout.write(
      `  ${name.padEnd(20)} ${m.opsPerSec.toFixed(0).padStart(8)} /s   p50 ${m.p50us.toFixed(0).padStart(6)} µs   p99 ${m.p99us.toFixed(0).padStart(6)} µs\n`,
    );
  }
}

await main();
