/**
 * Two real nodes where the CST's parties sign with keys from PKCS#12 keystores, as operators install
 * them: ComuneFrancavillaAlMare from a legacy one (RC2-40 / 3DES, as OpenSSL 1.x and older Java tools
 * write) with its CA inside, passphrase in a file; ComuneOrtona from an EC P-256 one, passphrase in an
 * environment variable. Their PEM keys are deleted first, so nothing else can sign.
 */
import { writeFileSync } from 'node:fs';
import { exportPkcs12 } from '../crypto/openssl-keystores.js';
import { FRANCAVILLA, ORTONA, partiesSendAndReceiveWith } from './party-key-sources.js';

const PASSPHRASE = 'integration keystore passphrase';
const ENV = 'TRAMITE_TEST_ORTONA_KEYSTORE_PASS';

partiesSendAndReceiveWith({
  title: 'parties whose keys come from PKCS#12 keystores',
  tmpPrefix: 'tramite-it-keystore-',
  names: { rsa: 'legacy keystore', ec: 'EC P-256 keystore', ecShort: 'EC keystore' },
  payloadTag: 'keystore',
  signedWhere: 'with that key',
  install(pki) {
    writeFileSync(pki('keystores.pass'), `${PASSPHRASE}\n`, { mode: 0o600 });
    exportPkcs12({
      dir: pki('.'),
      name: 'ComuneFrancavillaAlMare.p12',
      passphrase: PASSPHRASE,
      keyFile: pki('ComuneFrancavillaAlMare.key.pem'),
      certFile: pki('ComuneFrancavillaAlMare.cert.pem'),
      chainFile: pki('ca.cert.pem'),
      legacy: true,
    });
    exportPkcs12({
      dir: pki('.'),
      name: 'ComuneOrtona-ec.p12',
      passphrase: PASSPHRASE,
      keyFile: pki('ortona-ec.key.pem'),
      certFile: pki('ortona-ec.cert.pem'),
    });
    return {
      [FRANCAVILLA]: { keystore: { file: 'pki/ComuneFrancavillaAlMare.p12', passphraseFile: 'pki/keystores.pass' } },
      [ORTONA]: { keystore: { file: 'pki/ComuneOrtona-ec.p12', passphraseEnv: ENV } },
    };
  },
  // The passphrase variable is there only while the node starts (it reads it once).
  async startCst(start) {
    process.env[ENV] = PASSPHRASE;
    try {
      return await start();
    } finally {
      delete process.env[ENV];
    }
  },
});
