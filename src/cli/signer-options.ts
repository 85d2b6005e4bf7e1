import { TramiteError } from '../core/errors.js';
import type { Signer } from '../core/signer.js';
import { loadKeystoreSigningKey, loadPemSigningKey } from '../crypto/party-identity.js';
import { type PassphraseOptions, passphraseSource } from './passphrase-options.js';

/** The signing-key options of the offline signing commands (`envelope seal`, `modi sign-request`). */
export interface SignerOptions extends PassphraseOptions {
  key?: string;
  cert?: string;
  keystore?: string;
  alias?: string;
}

/**
 * The signer the options name: --key + --cert, or --keystore (which needs its passphrase). Checks the
 * combination at once (a usage error); the files are read by the function returned.
 */
export function signerFromOptions(opts: SignerOptions): () => Signer {
  const passphrase = passphraseSource(opts);
  if (opts.keystore !== undefined) {
    if (opts.key !== undefined || opts.cert !== undefined)
      throw new TramiteError('TRAMITE_ERR_CONFIG_INVALID', 'give --keystore, or --key and --cert, not both');
    if (!passphrase)
      throw new TramiteError(
        'TRAMITE_ERR_CONFIG_INVALID',
        '--keystore needs its passphrase: --passphrase-file FILE or --passphrase-env VARIABLE',
      );
    const keystore = { file: opts.keystore, passphrase, alias: opts.alias };
    return () => loadKeystoreSigningKey(keystore, '--keystore');
  }
  if (opts.key === undefined || opts.cert === undefined)
    throw new TramiteError(
      'TRAMITE_ERR_CONFIG_INVALID',
      'name the signer: --key KEY.pem and --cert CERT.pem, or --keystore FILE.p12 --passphrase-file F',
    );
  if (opts.alias !== undefined) throw new TramiteError('TRAMITE_ERR_CONFIG_INVALID', '--alias goes with --keystore');
  const { key, cert } = opts;
  return () => loadPemSigningKey(key, cert, '--key/--cert', passphrase);
}
