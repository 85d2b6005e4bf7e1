/**
 * Cost of refusing each hostile envelope of issue 12 (test-support/hostile-envelopes.ts): the CPU time
 * a node spends on it — parse and verify, as the inbound pipeline does — before it is refused, and
 * the code it is refused with. CPU time is the figure to compare (wall time depends on the machine's load).
 *
 *   npm run bench:hostile            # human table
 *   npm run bench:hostile -- --json  # one JSON object on stdout
 *
 * Single-threaded, one run each. The baseline, measured in the same run: the mean CPU time of fully
 * verifying an ordinary ~6 KB signed busta (its signer trusted here), after warm-up runs; each hostile
 * envelope's cost is also printed as a multiple of it. It only measures and prints: there is no timed assertion. In a node the work runs in a verification
 * worker (src/node/verification-pool.ts), so it costs the event loop nothing; this measures the
 * worker's share.
 */
import { performance } from 'node:perf_hooks';
import { EnvelopeError, SecurityError, TramiteError } from '../src/core/errors.js';
import { DEFAULT_XML_LIMITS } from '../envelopes/xml/hardened-xml.js';
import { TrustStore } from '../src/crypto/trust-store.js';
import { readEnvelope, verifyEnvelope } from '../envelopes/envelope.js';
import { X509Certificate } from 'node:crypto';
import { HOSTILE_ENVELOPES, ordinaryEnvelope, selfMadeSigner, type HostileName } from '../test-support/hostile-envelopes.js';

const PARTIES = { from: 'SPC/ComuneOrtona', to: 'SPC/RegioneAbruzzo', service: 'ComunicazioneVariazione' } as const;

interface Row {
  readonly name: HostileName;
  readonly bytes: number;
  /** CPU time of this thread (the figure that matters on a shared machine). */
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly code: string;
  /** cpuMs as a multiple of the baseline's. */
  readonly ratio: number;
}

function refuse(xml: string, trust: TrustStore): string {
  try {
    verifyEnvelope(readEnvelope(xml, DEFAULT_XML_LIMITS), { trust, at: new Date(), maxAgeSeconds: 300, skewSeconds: 5 });
    return 'accepted';
  } catch (err) {
    if (err instanceof SecurityError) return `${err.code} ${err.reason}`;
    if (err instanceof EnvelopeError) return `${err.code} (${err.posizione})`;
    if (err instanceof TramiteError) return err.code;
    return `unexpected: ${(err as Error).message}`;
  }
}

const BASELINE_RUNS = 50;

/** Mean CPU time of verifying an ordinary busta all the way, its signer trusted (after warm-up runs). */
async function ordinaryBaseline(): Promise<{ bytes: number; cpuMs: number; code: string }> {
  const xml = await ordinaryEnvelope(PARTIES);
  const trust = TrustStore.fromCertificates([new X509Certificate(selfMadeSigner(PARTIES.from).certPem)]);
  for (let i = 0; i < 10; i++) refuse(xml, trust);
  const cpu = process.cpuUsage();
  let code = '';
  for (let i = 0; i < BASELINE_RUNS; i++) code = refuse(xml, trust);
  const used = process.cpuUsage(cpu);
  return { bytes: Buffer.byteLength(xml), cpuMs: (used.user + used.system) / 1000 / BASELINE_RUNS, code };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  // A node trusts its federation's CAs, never a certificate its sender made for itself.
  const trust = TrustStore.fromCertificates([]);
  const baseline = await ordinaryBaseline();
  const rows: Row[] = [];
  for (const name of Object.keys(HOSTILE_ENVELOPES) as HostileName[]) {
    const xml = await HOSTILE_ENVELOPES[name](PARTIES);
    const start = performance.now();
    const cpu = process.cpuUsage();
    const code = refuse(xml, trust);
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    rows.push({
      name,
      bytes: Buffer.byteLength(xml),
      cpuMs: Math.round(cpuMs),
      wallMs: Math.round(performance.now() - start),
      code,
      ratio: cpuMs / baseline.cpuMs,
    });
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ limits: DEFAULT_XML_LIMITS, baseline, envelopes: rows })}\n`);
    return;
  }
  process.stdout.write(`limits: ${JSON.stringify(DEFAULT_XML_LIMITS)}\n`);
  process.stdout.write(
    `baseline: an ordinary ${Math.round(baseline.bytes / 1024)} KB busta verified in ${baseline.cpuMs.toFixed(2)} ms CPU (mean of ${BASELINE_RUNS}): ${baseline.code}\n`,
  );
  for (const r of rows)
    process.stdout.write(
      `${r.name.padEnd(34)} ${String(Math.round(r.bytes / 1024)).padStart(6)} KB ${String(r.cpuMs).padStart(7)} ms CPU ${String(r.wallMs).padStart(7)} ms wall ${r.ratio.toFixed(1).padStart(8)}× baseline  ${r.code}\n`,
    );
}

await main();
