import { readFileSync } from 'node:fs';
import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import { ConfigError } from '../../core/errors.js';
import { keyMatchesCertificate } from '../key-matches-certificate.js';
import { certificatesFromPem } from '../trust-store.js';
import { issuerChain } from './issuer-chain.js';
import { type PassphraseSource, describePassphraseSource, readPassphrase } from './passphrase.js';
import { openPkcs12, pickKeystoreEntry } from './pkcs12-keystore.js';

/** What a key or certificate file holds, whatever its form: PEM (certificates, a key, both) or PKCS#12. */
export interface KeyFileContents {
  readonly format: 'pem' | 'der' | 'pkcs12';
  /** The certificate of the key, or the file's first certificate; absent for a file holding a key alone. */
  readonly certificate: X509Certificate | undefined;
  /** The CA certificates of `certificate` found in the file, its issuer first. */
  readonly chain: readonly X509Certificate[];
  readonly privateKey: KeyObject | undefined;
  /** A keystore entry's alias. */
  readonly alias: string | undefined;
}

const PEM_PRIVATE_KEY = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;

/**
 * Reads a key or certificate file for an operator's tool (`tramite keys inspect`, `envelope seal`).
 * Refusals: TRAMITE_ERR_CONFIG_UNREADABLE (cannot read it), TRAMITE_ERR_KEY_PASSPHRASE (it needs a
 * passphrase, or the one given is wrong), TRAMITE_ERR_KEYSTORE_ALIAS, TRAMITE_ERR_KEY_INVALID (not a
 * key or certificate, or a key beside a certificate that is not its own).
 */
export function readKeyFile(
  file: string,
  opts: { passphrase?: PassphraseSource | undefined; alias?: string | undefined },
): KeyFileContents {
  const owner = 'key file';
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_UNREADABLE',
      `cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      {
        cause,
      },
    );
  }
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN ')) return readPem(text, file, opts.passphrase);

  try {
    return { format: 'der', certificate: new X509Certificate(bytes), chain: [], privateKey: undefined, alias: undefined };
  } catch {
    // Not a DER certificate: a keystore, or nothing Tramite reads.
  }
  if (!opts.passphrase) {
    try {
      openPkcs12(file, '', owner);
    } catch (err) {
      if (err instanceof ConfigError && err.code === 'TRAMITE_ERR_KEY_PASSPHRASE') {
        throw new ConfigError(
          'TRAMITE_ERR_KEY_PASSPHRASE',
          `${file} is a PKCS#12 keystore protected by a passphrase — fix: give it with --passphrase-file or --passphrase-env`,
        );
      }
      if (err instanceof ConfigError && err.code === 'TRAMITE_ERR_KEY_INVALID') {
        throw new ConfigError(
          'TRAMITE_ERR_KEY_INVALID',
          `${file} is not a certificate, a private key or a PKCS#12 keystore Tramite can read`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }
  const entry = pickKeystoreEntry(
    openPkcs12(file, opts.passphrase ? readPassphrase(opts.passphrase, owner) : '', owner),
    file,
    opts.alias,
    owner,
  );
  return { format: 'pkcs12', certificate: entry.certificate, chain: entry.chain, privateKey: entry.privateKey, alias: entry.alias };
}

function readPem(text: string, file: string, passphrase: PassphraseSource | undefined): KeyFileContents {
  const keyBlock = PEM_PRIVATE_KEY.exec(text);
  const certificates = text.includes('-----BEGIN CERTIFICATE-----') ? certificatesFromPem(text, file) : [];
  if (!keyBlock && certificates.length === 0) {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${file} holds neither a PEM certificate nor a PEM private key`);
  }
  let privateKey: KeyObject | undefined;
  if (keyBlock) {
    const encrypted = keyBlock[1] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(keyBlock[0]);
    if (encrypted && !passphrase) {
      throw new ConfigError(
        'TRAMITE_ERR_KEY_PASSPHRASE',
        `${file} holds an encrypted private key — fix: give its passphrase with --passphrase-file or --passphrase-env`,
      );
    }
    try {
      privateKey = encrypted
        ? createPrivateKey({ key: keyBlock[0], passphrase: readPassphrase(passphrase!, file) })
        : createPrivateKey(keyBlock[0]);
    } catch (cause) {
      if (cause instanceof ConfigError) throw cause;
      throw encrypted
        ? new ConfigError(
            'TRAMITE_ERR_KEY_PASSPHRASE',
            `the ${describePassphraseSource(passphrase!)} does not decrypt the private key in ${file}`,
            {
              cause,
            },
          )
        : new ConfigError('TRAMITE_ERR_KEY_INVALID', `the private key in ${file} cannot be read`, { cause });
    }
  }
  // With a key, the certificate is the key's; the file's other certificates are its chain.
  const certificate = privateKey ? certificates.find((c) => keyMatchesCertificate(privateKey, c)) : certificates[0];
  if (privateKey && certificates.length > 0 && !certificate) {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `the private key in ${file} belongs to none of the certificates beside it`);
  }
  const chain = certificate ? issuerChain(certificate, certificates) : [];
  return { format: 'pem', certificate, chain, privateKey, alias: undefined };
}
