import { X509Certificate, createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readNamedFile } from '../read-named-file.js';
import pkcs11js from 'pkcs11js';
import { ConfigError, TramiteError } from '../../core/errors.js';
import type { EcdsaEncoding, SignatureAlgorithm, Signer } from '../../core/signer.js';
import { readPassphrase, type PassphraseSource } from '../keystore/passphrase.js';
import { certificatesFromPem } from '../trust-store.js';

/** A key on a PKCS#11 token, as the configuration names it. The PIN is read from a file or the environment. */
export interface Pkcs11KeySource {
  /** The PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  readonly module: string;
  /** The token, by label, or by slot id. */
  readonly tokenLabel?: string | undefined;
  readonly slot?: number | undefined;
  readonly pin: PassphraseSource;
  /** The private key, by CKA_LABEL, or by CKA_ID (hex). */
  readonly keyLabel?: string | undefined;
  readonly keyId?: string | undefined;
  /** The certificate (PEM, which may go on with its CA chain), when the token does not hold it. */
  readonly certificateFile?: string | undefined;
}

/** Most sessions a token's signer opens: signatures beyond that wait for a free one. */
const MAX_SESSIONS = 4;
/** Bytes of one P-256 coordinate, and of r and of s. */
const P256_COORDINATE_BYTES = 32;

/** One loaded module and its logged-in tokens: a module is initialised once, a token logged into once. */
interface LoadedModule {
  readonly lib: pkcs11js.PKCS11;
  /** slot (as hex of its handle) → the session holding the login, kept open for the life of the process. */
  readonly loggedIn: Map<string, Buffer>;
}
const modules = new Map<string, LoadedModule>();

/**
 * A Signer whose key stays on a PKCS#11 token: it signs with C_Sign there (CKM_SHA256_RSA_PKCS or
 * CKM_ECDSA over a SHA-256 hash computed on the token too, CKM_ECDSA_SHA256 where offered), never reads the key.
 * Everything that can be wrong — module, token, PIN, key, certificate — is found at start, when this is built,
 * and refused with a code naming the token and the key.
 *
 * C_Sign runs on libuv's thread pool (pkcs11js' async form), so a slow or remote HSM does not hold the
 * event loop. A PKCS#11 session runs one operation at a time: a small pool of sessions (one login for the
 * token, shared by all of them) lets a few signatures go at once.
 */
export function openPkcs11Signer(source: Pkcs11KeySource, owner: string): Signer {
  const where = describeToken(source);
  const loaded = loadModule(source.module, owner);
  const { lib } = loaded;
  const slot = findSlot(lib, source, owner, where);
  const slotKey = slot.toString('hex');
  if (!loaded.loggedIn.has(slotKey)) {
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    const pin = readPassphrase(source.pin, owner);
    try {
      lib.C_Login(session, pkcs11js.CKU_USER, pin);
    } catch (cause) {
      // Already logged in: the login is the token's, for the whole application; nothing to refuse.
      if (pkcs11Code(cause) !== 'CKR_USER_ALREADY_LOGGED_IN') lib.C_CloseSession(session);
      if (pkcs11Code(cause) === 'CKR_USER_ALREADY_LOGGED_IN') {
        // fall through: the session stays as the login's
      } else if (pkcs11Code(cause) === 'CKR_PIN_INCORRECT' || pkcs11Code(cause) === 'CKR_PIN_LEN_RANGE') {
        throw new ConfigError(
          'TRAMITE_ERR_PKCS11_PIN',
          `${owner}: the PIN does not open ${where} (${pkcs11Code(cause)}) — fix: the PIN in the configured file or variable`,
          { cause },
        );
      } else {
        throw new ConfigError('TRAMITE_ERR_PKCS11_TOKEN', `${owner}: cannot log into ${where} (${pkcs11Code(cause) ?? String(cause)})`, {
          cause,
        });
      }
    }
    loaded.loggedIn.set(slotKey, session);
  }
  const pool: Buffer[] = [];
  let open = 0;
  const waiting: Array<(session: Buffer) => void> = [];
  const probe = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
  open++;
  let key: Buffer;
  let certificate: X509Certificate;
  let chain: X509Certificate[];
  let certPem: string;
  try {
    key = findPrivateKey(lib, probe, source, owner, where);
    ({ certificate, chain, certPem } = findCertificate(lib, probe, source, key, owner, where));
  } catch (err) {
    lib.C_CloseSession(probe);
    throw err;
  }
  pool.push(probe);
  const publicKey = certificate.publicKey;
  const algorithm = algorithmOfPublicKey(publicKey, owner, where);
  const keyType = lib.C_GetAttributeValue(probe, key, [{ type: pkcs11js.CKA_KEY_TYPE }])[0]!.value as Buffer;
  const expectedType = algorithm === 'RSA-SHA256' ? pkcs11js.CKK_RSA : pkcs11js.CKK_EC;
  if (ulong(keyType) !== expectedType) {
    throw new ConfigError('TRAMITE_ERR_PKCS11_KEY', `${owner}: the key on ${where} is not of the certificate's type (${algorithm})`);
  }
  const mechanism = signingMechanism(lib, slot, algorithm);

  const take = (): Promise<Buffer> => {
    const free = pool.pop();
    if (free) return Promise.resolve(free);
    if (open < MAX_SESSIONS) {
      open++;
      return Promise.resolve(lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION));
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const give = (session: Buffer): void => {
    const next = waiting.shift();
    if (next) next(session);
    else pool.push(session);
  };

  return {
    algorithm,
    certificate,
    certPem,
    chain,
    keyDescription: where,
    async sign(data: Buffer, opts?: { readonly ecdsaEncoding?: EcdsaEncoding }): Promise<Buffer> {
      const session = await take();
      try {
        const input = mechanism.hashHere ? sha256(data) : data;
        lib.C_SignInit(session, { mechanism: mechanism.id }, key);
        const value = await lib.C_SignAsync(session, input, Buffer.alloc(mechanism.maxLength));
        if (algorithm === 'RSA-SHA256') return Buffer.from(value);
        return opts?.ecdsaEncoding === 'der' ? p1363ToDer(value) : Buffer.from(value);
      } catch (cause) {
        throw new TramiteError('TRAMITE_ERR_PKCS11_TOKEN', `${where}: C_Sign failed (${pkcs11Code(cause) ?? String(cause)})`, { cause });
      } finally {
        give(session);
      }
    },
  };
}

/** "PKCS#11 token "T" (module M) key "K"": how the key is named in messages and logs. */
export function describeToken(source: Pkcs11KeySource): string {
  const token = source.tokenLabel !== undefined ? `token "${source.tokenLabel}"` : `slot ${source.slot ?? '?'}`;
  const key = source.keyLabel !== undefined ? `key "${source.keyLabel}"` : `key id ${source.keyId ?? '?'}`;
  return `PKCS#11 ${token} ${key} (module ${source.module})`;
}

function loadModule(module: string, owner: string): LoadedModule {
  const known = modules.get(module);
  if (known) return known;
  const lib = new pkcs11js.PKCS11();
  try {
    lib.load(module);
    // C_Sign runs on several of libuv's threads at once: the module must lock for itself (OS locking).
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (cause) {
    throw new ConfigError(
      'TRAMITE_ERR_PKCS11_TOKEN',
      `${owner}: cannot load the PKCS#11 module ${module} (${pkcs11Code(cause) ?? (cause as Error).message})`,
      {
        cause,
      },
    );
  }
  const loaded = { lib, loggedIn: new Map<string, Buffer>() };
  modules.set(module, loaded);
  return loaded;
}

function findSlot(lib: pkcs11js.PKCS11, source: Pkcs11KeySource, owner: string, where: string): Buffer {
  const slots = lib.C_GetSlotList(true);
  for (const slot of slots) {
    if (source.slot !== undefined && ulong(slot) === source.slot) return slot;
    if (source.tokenLabel !== undefined && lib.C_GetTokenInfo(slot).label.trim() === source.tokenLabel) return slot;
  }
  throw new ConfigError(
    'TRAMITE_ERR_PKCS11_TOKEN',
    `${owner}: ${where}: no such token is present (${slots.length} token(s) in the module's slots) — fix: the token label or slot, or insert the token`,
  );
}

function findPrivateKey(lib: pkcs11js.PKCS11, session: Buffer, source: Pkcs11KeySource, owner: string, where: string): Buffer {
  const template: pkcs11js.Template = [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, ...keySelector(source)];
  const found = findObjects(lib, session, template);
  if (found.length === 0) throw new ConfigError('TRAMITE_ERR_PKCS11_KEY', `${owner}: ${where}: the token holds no such private key`);
  if (found.length > 1)
    throw new ConfigError('TRAMITE_ERR_PKCS11_KEY', `${owner}: ${where}: ${found.length} private keys match — name one by keyId`);
  return found[0]!;
}

function keySelector(source: Pkcs11KeySource): pkcs11js.Template {
  return [
    ...(source.keyLabel !== undefined ? [{ type: pkcs11js.CKA_LABEL, value: source.keyLabel }] : []),
    ...(source.keyId !== undefined ? [{ type: pkcs11js.CKA_ID, value: Buffer.from(source.keyId, 'hex') }] : []),
  ];
}

/** The certificate file's, else the token's certificate with the key's CKA_ID; checked to be the key's. */
function findCertificate(
  lib: pkcs11js.PKCS11,
  session: Buffer,
  source: Pkcs11KeySource,
  key: Buffer,
  owner: string,
  where: string,
): { certificate: X509Certificate; chain: X509Certificate[]; certPem: string } {
  let certificate: X509Certificate;
  let chain: X509Certificate[] = [];
  if (source.certificateFile !== undefined) {
    const pem = readNamedFile(source.certificateFile, owner).toString('utf8');
    const all = certificatesFromPem(pem, source.certificateFile);
    certificate = all[0]!;
    chain = all.slice(1);
  } else {
    const id = lib.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_ID }])[0]!.value as Buffer;
    const certs = findObjects(lib, session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
      { type: pkcs11js.CKA_ID, value: id },
    ]);
    if (certs.length === 0) {
      throw new ConfigError(
        'TRAMITE_ERR_PKCS11_KEY',
        `${owner}: ${where}: the token holds no certificate for the key — fix: set certificateFile`,
      );
    }
    const der = lib.C_GetAttributeValue(session, certs[0]!, [{ type: pkcs11js.CKA_VALUE }])[0]!.value as Buffer;
    certificate = new X509Certificate(der);
  }
  // The token's public key object (same CKA_ID) must be the certificate's: a wrong certificate file is refused here, not by a peer.
  const spki = publicKeyOnToken(lib, session, key);
  if (spki && !spki.equals(certificate.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw new ConfigError(
      'TRAMITE_ERR_PKCS11_KEY',
      `${owner}: ${where}: the certificate ${certificate.subject.replace(/\n/g, ', ')} is not the key's`,
    );
  }
  return { certificate, chain, certPem: certificate.toString() };
}

/** The SPKI of the public key object paired with `key` (same CKA_ID), when the token holds one. */
function publicKeyOnToken(lib: pkcs11js.PKCS11, session: Buffer, key: Buffer): Buffer | undefined {
  const id = lib.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_ID }])[0]!.value as Buffer;
  const [pub] = findObjects(lib, session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_ID, value: id },
  ]);
  if (!pub) return undefined;
  const type = ulong(lib.C_GetAttributeValue(session, pub, [{ type: pkcs11js.CKA_KEY_TYPE }])[0]!.value as Buffer);
  if (type === pkcs11js.CKK_RSA) {
    const [n, e] = lib.C_GetAttributeValue(session, pub, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
    const jwk = { kty: 'RSA', n: (n!.value as Buffer).toString('base64url'), e: (e!.value as Buffer).toString('base64url') };
    return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  }
  const [point] = lib.C_GetAttributeValue(session, pub, [{ type: pkcs11js.CKA_EC_POINT }]);
  // CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (04 || x || y).
  const raw = unwrapOctetString(point!.value as Buffer);
  if (raw[0] !== 4 || raw.length !== 1 + 2 * P256_COORDINATE_BYTES) return undefined;
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: raw.subarray(1, 33).toString('base64url'),
    y: raw.subarray(33).toString('base64url'),
  };
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
}

function unwrapOctetString(der: Buffer): Buffer {
  if (der[0] !== 0x04) return der;
  const len = der[1]!;
  return len < 0x80 ? der.subarray(2, 2 + len) : der.subarray(2 + (len & 0x7f));
}

function findObjects(lib: pkcs11js.PKCS11, session: Buffer, template: pkcs11js.Template): Buffer[] {
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session, 16);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

function algorithmOfPublicKey(key: KeyObject, owner: string, where: string): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RSA-SHA256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ECDSA-P256-SHA256';
  throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `${owner}: ${where}: the certificate's key is neither RSA nor EC P-256`);
}

/**
 * The mechanism: CKM_SHA256_RSA_PKCS for RSA (hash and DigestInfo on the token); CKM_ECDSA_SHA256 when the
 * token offers it, else CKM_ECDSA over a SHA-256 hash made here (the hash is not secret; SoftHSM2 offers both).
 */
function signingMechanism(
  lib: pkcs11js.PKCS11,
  slot: Buffer,
  algorithm: SignatureAlgorithm,
): { id: number; hashHere: boolean; maxLength: number } {
  if (algorithm === 'RSA-SHA256') return { id: pkcs11js.CKM_SHA256_RSA_PKCS, hashHere: false, maxLength: 1024 };
  const offered = lib.C_GetMechanismList(slot);
  return offered.includes(pkcs11js.CKM_ECDSA_SHA256)
    ? { id: pkcs11js.CKM_ECDSA_SHA256, hashHere: false, maxLength: 2 * P256_COORDINATE_BYTES }
    : { id: pkcs11js.CKM_ECDSA, hashHere: true, maxLength: 2 * P256_COORDINATE_BYTES };
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** r||s (PKCS#11's and XML-DSig's ECDSA form) → the DER SEQUENCE of two INTEGERs (X.509's). */
export function p1363ToDer(value: Buffer): Buffer {
  const half = value.length / 2;
  const integer = (bytes: Buffer): Buffer => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    let v = bytes.subarray(i);
    if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const body = Buffer.concat([integer(value.subarray(0, half)), integer(value.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

function pkcs11Code(err: unknown): string | undefined {
  const message = (err as Error | undefined)?.message ?? '';
  return /CKR_[A-Z_]+/.exec(message)?.[0];
}

/** A CK_ULONG as the module returns it: native byte order (little-endian here), 4 or 8 bytes. */
function ulong(value: Buffer): number {
  return value.length === 8 ? Number(value.readBigUInt64LE()) : value.readUInt32LE();
}
