import { readNamedFile } from '../read-named-file.js';
import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { ConfigError } from '../../core/errors.js';
import { keyMatchesCertificate } from '../key-matches-certificate.js';
import { issuerChain } from './issuer-chain.js';

/*
 * PKCS#12 (.p12 / .pfx) keystores as Java's keytool, GovWay and `openssl pkcs12 -export` write them:
 * PBES2 with AES (today's default) and the legacy PKCS#12 PBEs (RC2-40 for certificates, 3DES for
 * keys) that older tools and OpenSSL 1.x still make. node:crypto reads no PKCS#12, and WebCrypto
 * (pkijs) has neither RC2 nor 3DES, so node-forge decrypts; the key and certificates are then handed
 * to node:crypto as DER, which also covers EC keys forge itself cannot parse.
 */

/** One private key of a keystore, its certificate, and the CA certificates that came with it. */
export interface KeystoreEntry {
  readonly privateKey: KeyObject;
  readonly certificate: X509Certificate;
  /** The issuers of `certificate` found in the keystore, its direct issuer first. */
  readonly chain: readonly X509Certificate[];
  /** The key's friendlyName (keytool's alias, openssl's -name), when it has one. */
  readonly alias: string | undefined;
}

/** Every entry of a keystore: each private key with its certificate. */
export interface Pkcs12Contents {
  readonly entries: readonly KeystoreEntry[];
  /** Certificates that belong to no key (CA certificates, keytool's trusted entries). */
  readonly certificates: readonly X509Certificate[];
}

/**
 * Opens a PKCS#12 file. Refusals name the file and never the passphrase: TRAMITE_ERR_CONFIG_UNREADABLE
 * (cannot read it), TRAMITE_ERR_KEY_PASSPHRASE (wrong passphrase), TRAMITE_ERR_KEY_INVALID (not a
 * PKCS#12, corrupt, a key without its certificate).
 */
export function openPkcs12(file: string, passphrase: string, owner: string): Pkcs12Contents {
  const bytes = readNamedFile(file, owner, { kind: 'the keystore' });
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(bytes.toString('binary'), false), false, passphrase);
  } catch (cause) {
    // forge's messages name the structure that failed, never the password; ours say what to do.
    if (isWrongPassphrase(cause)) {
      const mac = /MAC could not be verified/.test((cause as Error).message) ? ' (its integrity check fails)' : '';
      // forge derives PBES2 (AES) keys from the passphrase's code units, not its UTF-8 bytes as OpenSSL does.
      const ascii = /^[\x20-\x7e]*$/.test(passphrase)
        ? ''
        : '; the passphrase has characters outside ASCII, which Tramite cannot use with every PKCS#12 cipher: export the keystore again with an ASCII passphrase';
      throw new ConfigError(
        'TRAMITE_ERR_KEY_PASSPHRASE',
        `${owner}: the passphrase does not open the keystore ${file}${mac} — fix: give the passphrase the keystore was exported with${ascii}`,
        { cause },
      );
    }
    throw new ConfigError(
      'TRAMITE_ERR_KEY_INVALID',
      `${owner}: ${file} is not a PKCS#12 keystore Tramite can read (${(cause as Error).message}) — fix: export it again, e.g. openssl pkcs12 -export -inkey key.pem -in cert.pem -out party.p12`,
      { cause },
    );
  }

  const bags = p12.safeContents.flatMap((contents) => contents.safeBags);
  const certificates: X509Certificate[] = [];
  const keys: Array<{ privateKey: KeyObject; alias: string | undefined; localKeyId: string | undefined }> = [];
  for (const bag of bags) {
    if (bag.type === forge.pki.oids['certBag']) certificates.push(certificateOfBag(bag, file, owner));
    else if (bag.type === forge.pki.oids['keyBag'] || bag.type === forge.pki.oids['pkcs8ShroudedKeyBag']) {
      keys.push({
        privateKey: keyOfBag(bag, file, owner),
        alias: attribute(bag, 'friendlyName'),
        localKeyId: attribute(bag, 'localKeyId'),
      });
    }
  }

  const used = new Set<X509Certificate>();
  const entries = keys.map((key, i): KeystoreEntry => {
    // The key's certificate is the one with its public key: localKeyId links them in most files, but
    // not in all, and a wrong link must not pair a key with another's certificate.
    const certificate = certificates.find((c) => keyMatchesCertificate(key.privateKey, c));
    if (!certificate) {
      const which = key.alias !== undefined ? `the key "${key.alias}"` : `private key #${i + 1}`;
      throw new ConfigError(
        'TRAMITE_ERR_KEY_INVALID',
        `${owner}: the keystore ${file} holds no certificate for ${which} — fix: export the key together with the certificate it was issued for`,
      );
    }
    used.add(certificate);
    return { privateKey: key.privateKey, certificate, chain: issuerChain(certificate, certificates), alias: key.alias };
  });
  return { entries, certificates: certificates.filter((c) => !used.has(c)) };
}

/**
 * The one entry a party signs with: the key named `alias` (compared ignoring case, as Java's
 * PKCS#12 keystore does), or the only key of the keystore.
 */
export function pickKeystoreEntry(contents: Pkcs12Contents, file: string, alias: string | undefined, owner: string): KeystoreEntry {
  const { entries } = contents;
  const names = entries.map((e, i) => (e.alias !== undefined ? `"${e.alias}"` : `#${i + 1} (no alias)`)).join(', ');
  if (entries.length === 0) {
    throw new ConfigError(
      'TRAMITE_ERR_KEY_INVALID',
      `${owner}: the keystore ${file} holds no private key (only certificates) — fix: export the party's key into it`,
    );
  }
  if (alias !== undefined) {
    const found = entries.filter((e) => e.alias?.toLowerCase() === alias.toLowerCase());
    if (found.length === 1) return found[0]!;
    throw new ConfigError(
      'TRAMITE_ERR_KEYSTORE_ALIAS',
      found.length === 0
        ? `${owner}: the keystore ${file} holds no key with the alias "${alias}" — fix: name one of ${names}`
        : `${owner}: the keystore ${file} holds ${found.length} keys with the alias "${alias}" — fix: export the one the party signs with into a keystore of its own`,
    );
  }
  if (entries.length > 1) {
    throw new ConfigError(
      'TRAMITE_ERR_KEYSTORE_ALIAS',
      `${owner}: the keystore ${file} holds ${entries.length} private keys (${names}) and no alias says which one signs — fix: set the alias of the party's key`,
    );
  }
  return entries[0]!;
}

function isWrongPassphrase(err: unknown): boolean {
  const message = err instanceof Error ? err.message : '';
  // The MAC (present in every keystore openssl and keytool write) fails first; without one, decryption does.
  return /Invalid password|wrong password|Failed to decrypt/i.test(message);
}

function attribute(bag: forge.pkcs12.Bag, name: 'friendlyName' | 'localKeyId'): string | undefined {
  const values = (bag.attributes as Record<string, unknown[] | undefined>)[name];
  const first = values?.[0];
  return typeof first === 'string' ? first : undefined;
}

/** forge parses RSA keys itself and hands other keys (EC) back as their PrivateKeyInfo. */
function keyOfBag(bag: forge.pkcs12.Bag, file: string, owner: string): KeyObject {
  try {
    if (bag.key) {
      const der = forge.asn1.toDer(forge.pki.privateKeyToAsn1(bag.key as forge.pki.rsa.PrivateKey)).getBytes();
      return createPrivateKey({ key: Buffer.from(der, 'binary'), format: 'der', type: 'pkcs1' });
    }
    if (bag.asn1)
      return createPrivateKey({ key: Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), 'binary'), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${owner}: a private key in the keystore ${file} cannot be read`, { cause });
  }
  throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${owner}: a key bag in the keystore ${file} is empty`);
}

/** forge parses RSA certificates and hands others (EC) back as ASN.1; both become node certificates. */
function certificateOfBag(bag: forge.pkcs12.Bag, file: string, owner: string): X509Certificate {
  try {
    const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
    if (asn1) return new X509Certificate(Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary'));
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${owner}: a certificate in the keystore ${file} cannot be read`, { cause });
  }
  throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${owner}: a certificate bag in the keystore ${file} is empty`);
}
