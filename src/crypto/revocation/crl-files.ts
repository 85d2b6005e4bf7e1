import { readFileSync, statSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';
import { invalidStatus } from './certificate-status.js';
import { parseCrl, verifyCrl, type VerifiedCrl } from './crl.js';
import type { RevocationPolicy } from './revocation-policy.js';

interface LoadedFile {
  readonly version: string;
  readonly crl: pkijs.CertificateRevocationList;
  /** Verified against an issuer (fingerprint and SHA-1 policy), once per version of the file; null: another issuer's. */
  readonly verified: Map<string, VerifiedCrl | null>;
}

/**
 * CRLs an operator keeps in files (copied from the CA, or made by `openssl ca -gencrl`). A file is read
 * again when its size or modification time changes, so a CRL replaced by a cron job counts from the
 * next message on, without a restart.
 */
export class CrlFiles {
  readonly #loaded = new Map<string, LoadedFile>();

  constructor(readonly files: readonly string[]) {}

  /** The CRLs among the files issued by `issuer`, verified against it. A file that cannot be read or verified throws. */
  issuedBy(issuer: X509Certificate, policy: RevocationPolicy): VerifiedCrl[] {
    const out: VerifiedCrl[] = [];
    const key = `${issuer.fingerprint256} ${policy.allowSha1Crl}`;
    for (const file of this.files) {
      const loaded = this.#load(file);
      let verified = loaded.verified.get(key);
      if (verified === undefined) {
        // Decided once per version of the file and issuer: every envelope asks again.
        const fromIssuer = loaded.crl.issuer.isEqual(pkijs.Certificate.fromBER(issuer.raw).subject);
        verified = fromIssuer ? verifyCrl(loaded.crl, issuer, policy, `file ${file}`) : null;
        loaded.verified.set(key, verified);
      }
      if (verified) out.push(verified);
    }
    return out;
  }

  #load(file: string): LoadedFile {
    let version: string;
    try {
      const stat = statSync(file);
      version = `${stat.size} ${stat.mtimeMs}`;
    } catch (cause) {
      throw invalidStatus(`the CRL file ${file} cannot be read (${(cause as Error).message})`, cause);
    }
    const known = this.#loaded.get(file);
    if (known?.version === version) return known;
    this.#loaded.delete(file);
    const crl = parseCrl(readFileSync(file), `file ${file}`);
    const loaded = { version, crl, verified: new Map<string, VerifiedCrl | null>() };
    this.#loaded.set(file, loaded);
    return loaded;
  }
}
