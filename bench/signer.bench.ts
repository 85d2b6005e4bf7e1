/**
 * Envelopes signed per second by an in-memory key and by the same RSA key (and an EC P-256 one) on a
 * SoftHSM2 token, one at a time and 8 at once: what moving a party's key to PKCS#11 costs.
 *
 *   npm run bench:signer [-- --seconds N]     # needs softhsm2 (test-support/install-test-services.sh)
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEgovEnvelope, sealEnvelope } from '../envelopes/envelope.js';
import type { Signer } from '../src/core/signer.js';
import { createDevPki } from '../src/crypto/dev-pki.js';
import { memorySigner } from '../src/crypto/signer/memory-signer.js';
import { openPkcs11Signer } from '../src/crypto/signer/pkcs11-signer.js';
import { measureAsync } from './bench-stats.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '1234';
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 3;
const timing = { seconds, warmupSeconds: 0.5 };

const dir = mkdtempSync(join(tmpdir(), 'tramite-bench-signer-'));
try {
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(
    join(dir, 'softhsm2.conf'),
    `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env['SOFTHSM2_CONF'] = join(dir, 'softhsm2.conf');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--so-pin', '12345678', '--pin', PIN], { stdio: 'pipe' });
  const pki = createDevPki({ dir: join(dir, 'pki'), parties: ['SPC/ComuneA'] });
  const party = pki.parties[0]!;
  execFileSync('softhsm2-util', ['--import', party.keyFile, '--token', 'bench', '--label', 'rsa', '--id', '01', '--pin', PIN], {
    stdio: 'pipe',
  });
  writeFileSync(join(dir, 'pin'), PIN);
  const certPem = readFileSync(party.certFile, 'utf8');
  const signers: Array<[string, Signer]> = [
    [
      'in-memory RSA-2048',
      memorySigner({ privateKey: createPrivateKey(readFileSync(party.keyFile)), certificate: new X509Certificate(certPem) }),
    ],
    [
      'SoftHSM2 RSA-2048',
      openPkcs11Signer(
        { module: MODULE, tokenLabel: 'bench', pin: { file: join(dir, 'pin') }, keyLabel: 'rsa', certificateFile: party.certFile },
        'bench',
      ),
    ],
  ];
  const unsigned = buildEgovEnvelope(
    {
      mittente: [{ tipo: 'SPC', nome: 'ComuneA' }],
      destinatario: { tipo: 'SPC', nome: 'Regione' },
      profiloCollaborazione: { profile: 'oneway' },
      servizio: { tipo: 'SPC', nome: 'Anagrafe' },
      messaggio: {
        identificatore: 'ComuneA_ComuneASPCoopIT_0000001_2026-01-01_00:00',
        oraRegistrazione: { value: '2026-01-01T00:00:00', tempo: 'EGOV_IT_SPC' },
      },
      profiloTrasmissione: { inoltro: 'EGOV_IT_ALPIUUNAVOLTA', confermaRicezione: true },
      riscontri: [],
      trasmissioni: [],
      eccezioni: [],
    },
    '<p:Pratica xmlns:p="urn:bench">x</p:Pratica>',
  );
  const seal = (signer: Signer) => sealEnvelope(unsigned, 'egov', signer, { now: new Date(), ttlSeconds: 300 });
  const rows: string[] = [];
  for (const [name, signer] of signers) {
    const one = await measureAsync(() => seal(signer), timing);
    const eight = await measureAsync(() => Promise.all(Array.from({ length: 8 }, () => seal(signer))), timing);
    rows.push(
      `${name.padEnd(20)} ${one.opsPerSec.toFixed(0).padStart(6)} sign/s one at a time (p50 ${one.p50us.toFixed(0)} µs)   ` +
        `${(eight.opsPerSec * 8).toFixed(0).padStart(6)} sign/s 8 at once`,
    );
  }
  process.stdout.write(`envelopes signed (sealEnvelope egov, 3 KB), ${seconds} s per measurement\n${rows.join('\n')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
