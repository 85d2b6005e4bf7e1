/**
 * XSD validation of a sealed Segnatura (2021 form) against the official AgID schema set: as the
 * protocollo adapter runs it (hardened parse, then libxml2's validator compiled once and kept warm), the
 * warm validator alone, and the cold baseline measured in the same run: the same validator compiled
 * afresh for every document — what each validation cost when every call started a fresh libxml2
 * (round 1 also started a wasm worker per call, 60–130 ms, not counted here).
 *
 *   npm run bench:xsd                 # human output
 *   npm run bench:xsd -- --json --seconds 3
 *
 * Two documents: a typical Segnatura (one document, one destinatario) and a large one (400 allegati).
 * Measures only.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { improntaOf } from '../adapters/protocollo/impronta.js';
import { amministrazioneOfAoo, type Documento, type Segnatura } from '../adapters/protocollo/segnatura/segnatura-model.js';
import { patchCapType, validateSegnaturaSchema } from '../adapters/protocollo/segnatura/segnatura-schema.js';
import { buildSegnaturaXml } from '../adapters/protocollo/segnatura/segnatura-writer.js';
import { memorySigner, signXades, XsdSchema } from '../adapters/sdk/index.js';
import { packageRoot } from '../adapters/sdk/shipped-files.js';
import { createDevPki } from '../src/crypto/dev-pki.js';
import { measureAsync, measure, type Measurement } from './bench-stats.js';

interface Args {
  seconds: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 2, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--json') a.json = true;
    else if (k === '--seconds') a.seconds = Number(argv[++i]);
    else {
      process.stderr.write(`unknown argument ${k}\nusage: xsd.bench.js [--seconds S] [--json]\n`);
      process.exit(2);
    }
  }
  if (!(a.seconds > 0)) {
    process.stderr.write('--seconds must be a positive number\n');
    process.exit(2);
  }
  return a;
}

const COMUNE = { denominazione: 'Comune di Valverde', codiceAmministrazione: 'c_l999', codiceAOO: 'AVVPG01' };
const REGIONE = { denominazione: 'Regione Esempio', codiceAmministrazione: 'r_esempio', codiceAOO: 'AOO_GR' };

function segnatura(allegati: number): Segnatura {
  const allegato = (i: number): Documento => ({
    nomeFile: `allegato-${i}.pdf`,
    mimeType: 'application/pdf',
    descrizione: `Tavola ${i} della variante al piano`,
    impronta: improntaOf(Buffer.from(`allegato ${i}`)),
  });
  return {
    form: '2021',
    identificatore: { ...COMUNE, codiceRegistro: 'PG', numeroRegistrazione: '0004218', dataRegistrazione: '2026-03-15' },
    oggetto: 'Richiesta di parere sulla variante n. 3 — àèìòù',
    classifica: { denominazione: 'Urbanistica', codice: { kind: 'flat', codice: 'VI.2' } },
    mittente: amministrazioneOfAoo(COMUNE),
    destinatari: [{ soggetto: amministrazioneOfAoo(REGIONE), confermaRicezione: true, perConoscenza: false }],
    documentoPrimario: { nomeFile: 'richiesta.pdf', mimeType: 'application/pdf', impronta: improntaOf(Buffer.from('richiesta')) },
    allegati: Array.from({ length: allegati }, (_, i) => allegato(i + 1)),
  };
}

/** The schema set the adapter compiles for the 2021 namespace, read from the package as it does. */
function segnaturaSchemaSource() {
  const dir = join(packageRoot(), 'schemas', 'protocollo');
  const main = 'segnatura_protocollo.xsd';
  const dsig = 'import_schemas/xmldsig-core-schema.xsd';
  return {
    name: main,
    main,
    files: { [main]: patchCapType(readFileSync(join(dir, main), 'utf8')), [dsig]: readFileSync(join(dir, dsig), 'utf8') },
  };
}

interface Row {
  readonly name: string;
  readonly bytes: number;
  /** validateSegnaturaSchema as the adapter calls it: the hardened parse (xmldom), then the warm validator. */
  readonly adapter: Measurement;
  /** The warm validator alone (libxml2 parse + validation). */
  readonly warm: Measurement;
  /** The baseline: the validator compiled afresh for the document. */
  readonly cold: Measurement;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'tramite-bench-xsd-'));
  try {
    const pki = createDevPki({ dir, parties: ['SPC/ComuneValverde'] });
    const party = pki.parties[0]!;
    const certPem = readFileSync(party.certFile, 'utf8');
    const seal = memorySigner({
      privateKey: createPrivateKey(readFileSync(party.keyFile)),
      certificate: new X509Certificate(certPem),
      certPem,
    });
    const source = segnaturaSchemaSource();
    const opts = { seconds: args.seconds, warmupSeconds: Math.min(0.5, args.seconds / 4) };
    const rows: Row[] = [];
    for (const [name, allegati] of [
      ['typical', 0],
      ['400 allegati', 400],
    ] as const) {
      const xml = await signXades(buildSegnaturaXml(segnatura(allegati)), seal);
      const check = await validateSegnaturaSchema(xml);
      if (!check.valid) throw new Error(`the bench's Segnatura is not valid: ${check.errors.join('; ')}`);
      const adapter = await measureAsync(() => validateSegnaturaSchema(xml), opts);
      const compiled = XsdSchema.compile(source);
      const warm = measure(() => compiled.validate(xml), opts);
      const cold = measure(() => {
        const result = XsdSchema.compile(source).validate(xml);
        if (!result.valid) throw new Error('the cold validator refused the document');
        return result;
      }, opts);
      rows.push({ name, bytes: Buffer.byteLength(xml), adapter, warm, cold });
    }
    const report = {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      segnatura: rows.map((r) => ({
        document: r.name,
        bytes: r.bytes,
        adapterMeanMs: round(r.adapter.meanUs / 1000),
        adapterP99Ms: round(r.adapter.p99us / 1000),
        validationsPerSec: Math.round(r.warm.opsPerSec),
        meanMs: round(r.warm.meanUs / 1000),
        p99Ms: round(r.warm.p99us / 1000),
        coldValidationsPerSec: Math.round(r.cold.opsPerSec),
        coldMeanMs: round(r.cold.meanUs / 1000),
        ratio: round(r.warm.opsPerSec / r.cold.opsPerSec),
      })),
    };
    if (args.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return;
    }
    process.stdout.write(`Segnatura XSD validation (${report.cpu}, ${report.cores} cores, Node ${report.node})\n`);
    process.stdout.write(
      '  adapter: hardened parse + warm validator, as validateSegnaturaSchema runs; warm: the compiled validator alone;\n',
    );
    process.stdout.write('  cold (baseline): the validator compiled afresh for each document\n\n');
    process.stdout.write('document        bytes  adapter ms (p99)   warm/s  warm ms (p99)   cold/s  cold ms  warm/cold\n');
    for (const r of report.segnatura)
      process.stdout.write(
        `${r.document.padEnd(14)} ${String(r.bytes).padStart(6)} ${r.adapterMeanMs.toFixed(2).padStart(10)} (${r.adapterP99Ms.toFixed(1).padStart(5)}) ` +
          `${String(r.validationsPerSec).padStart(8)} ${r.meanMs.toFixed(2).padStart(7)} (${r.p99Ms.toFixed(1).padStart(5)}) ` +
          `${String(r.coldValidationsPerSec).padStart(8)} ${r.coldMeanMs.toFixed(2).padStart(8)} ${r.ratio.toFixed(1).padStart(9)}×\n`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

await main();
