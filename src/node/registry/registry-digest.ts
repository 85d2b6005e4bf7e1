import { createHash, createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import type { NodeConfig } from '../../config/config-types.js';

/*
 * The registry's version digest: SHA-256 of the configuration it is built from, in a canonical form —
 * keys sorted, certificates by their SHA-256 fingerprint, keys by the SHA-256 of their public key,
 * secrets (key PEM text, webhook secrets) by their SHA-256 — so the same content always gives the same
 * digest, whatever the file's layout, and no secret is needed to compare two versions. Tables the
 * configuration loads (competence tables) are in the loaded configuration, so in the digest too.
 */

/** Text held in the configuration that must not appear as itself anywhere (it is a key or a secret). */
const SECRET_TEXT: ReadonlySet<string> = new Set(['keyPem', 'secret']);
/** Where the file was read from says nothing of what it says. */
const NOT_CONTENT: ReadonlySet<string> = new Set(['configPath', 'baseDir']);

/** `sha256:<hex>` of the configuration's canonical content. */
export function registryDigest(config: NodeConfig): string {
  const content = Object.fromEntries(Object.entries(config).filter(([k]) => !NOT_CONTENT.has(k)));
  return `sha256:${sha256(JSON.stringify(canonicalContent(content)))}`;
}

/**
 * `value` as plain, canonical JSON data: objects with sorted keys, certificates and keys by digest,
 * secrets hashed, functions left out (a PKCS#11 signer's methods), cycles cut.
 */
export function canonicalContent(value: unknown, seen = new WeakSet<object>()): unknown {
  if (value instanceof X509Certificate) return { certificate: value.fingerprint256 };
  if (value instanceof KeyObject) return { key: keyDigest(value) };
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return { bytes: sha256(Buffer.from(value.buffer, value.byteOffset, value.byteLength)) };
  if (value instanceof Date) return value.toISOString();
  if (seen.has(value)) return '[cycle]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => canonicalContent(v, seen) ?? null);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      const c = SECRET_TEXT.has(key) && typeof v === 'string' ? { secret: sha256(v) } : canonicalContent(v, seen);
      if (c !== undefined) out[key] = c;
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function keyDigest(key: KeyObject): string {
  if (key.type === 'secret') return sha256(key.export());
  // A private key by its public half: its private bits never reach the digest.
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return sha256(pub.export({ type: 'spki', format: 'der' }));
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
