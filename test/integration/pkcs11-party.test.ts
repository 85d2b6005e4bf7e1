/**
 * Two real nodes where the CST's parties sign with keys held in SoftHSM2 (a PKCS#11 token made here,
 * with its own SOFTHSM2_CONF and token directory): ComuneFrancavillaAlMare's RSA key and a new EC P-256
 * key for ComuneOrtona are imported into the token and their PEM files deleted, so the token is the
 * only place a signature can come from. The PIN is in a file.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FRANCAVILLA, ORTONA, partiesSendAndReceiveWith } from './party-key-sources.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '2468';
const savedConf = process.env['SOFTHSM2_CONF'];

partiesSendAndReceiveWith({
  title: 'parties whose keys are on a PKCS#11 token (SoftHSM2)',
  tmpPrefix: 'tramite-it-pkcs11-',
  names: { rsa: 'RSA key on the token', ec: 'EC P-256 key on the token', ecShort: 'EC key on the token' },
  payloadTag: 'token',
  signedWhere: 'on the token',
  install(pki, root) {
    mkdirSync(join(root, 'tokens'));
    writeFileSync(
      join(root, 'softhsm2.conf'),
      `directories.tokendir = ${join(root, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    process.env['SOFTHSM2_CONF'] = join(root, 'softhsm2.conf');
    const util = (...args: string[]) => execFileSync('softhsm2-util', args, { stdio: 'pipe', env: process.env });
    util('--init-token', '--free', '--label', 'cst', '--so-pin', '13572468', '--pin', PIN);
    util('--import', pki('ComuneFrancavillaAlMare.key.pem'), '--token', 'cst', '--label', 'francavilla', '--id', '0a', '--pin', PIN);
    util('--import', pki('ortona-ec.key.pem'), '--token', 'cst', '--label', 'ortona', '--id', '0b', '--pin', PIN);
    writeFileSync(pki('hsm.pin'), `${PIN}\n`, { mode: 0o600 });
    return {
      [FRANCAVILLA]: {
        pkcs11: {
          module: MODULE,
          tokenLabel: 'cst',
          pinFile: 'pki/hsm.pin',
          keyLabel: 'francavilla',
          certificateFile: 'pki/ComuneFrancavillaAlMare.cert.pem',
        },
      },
      [ORTONA]: {
        pkcs11: { module: MODULE, tokenLabel: 'cst', pinFile: 'pki/hsm.pin', keyId: '0b', certificateFile: 'pki/ortona-ec.cert.pem' },
      },
    };
  },
  cleanUp() {
    if (savedConf === undefined) delete process.env['SOFTHSM2_CONF'];
    else process.env['SOFTHSM2_CONF'] = savedConf;
  },
});
