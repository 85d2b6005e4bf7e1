/**
 * Keystores made the way operators make them: with the openssl CLI (`openssl pkcs12 -export`, legacy
 * or not, and `openssl pkcs8 -topk8`). Passphrases go to openssl through a file, as in production.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

export interface Pkcs12Options {
  readonly dir: string;
  /** File name of the keystore, in dir. */
  readonly name: string;
  readonly passphrase: string;
  /** PEM files; omit keyFile for a keystore of certificates only. */
  readonly keyFile?: string;
  readonly certFile?: string;
  /** CA certificates to put beside the party's (openssl -certfile). */
  readonly chainFile?: string;
  /** The key's friendlyName (openssl -name). */
  readonly alias?: string;
  /** RC2-40 for certificates, 3DES for keys, SHA-1 MAC: what OpenSSL 1.x and older Java tools write. */
  readonly legacy?: boolean;
  /** No integrity MAC (openssl -nomac); only for building odd keystores. */
  readonly noMac?: boolean;
}

export function exportPkcs12(opts: Pkcs12Options): string {
  const out = join(opts.dir, opts.name);
  const passFile = `${out}.pass-for-openssl`;
  writeFileSync(passFile, opts.passphrase, { mode: 0o600 });
  execFileSync(
    'openssl',
    [
      'pkcs12',
      '-export',
      ...(opts.keyFile ? ['-inkey', opts.keyFile] : ['-nokeys']),
      ...(opts.certFile ? ['-in', opts.certFile] : ['-nocerts', '-in', opts.keyFile!]),
      ...(opts.chainFile ? ['-certfile', opts.chainFile] : []),
      ...(opts.alias ? ['-name', opts.alias] : []),
      ...(opts.legacy ? ['-legacy'] : []),
      ...(opts.noMac ? ['-nomac'] : []),
      '-passout',
      `file:${passFile}`,
      '-out',
      out,
    ],
    { stdio: 'pipe' },
  );
  return out;
}

/**
 * One keystore holding the contents of several (made with noMac): openssl exports one key per file,
 * Java keystores often hold more. Without a MAC, as openssl -nomac writes them.
 */
export function mergePkcs12(files: readonly string[], out: string): string {
  const pfxs = files.map((f) => forge.asn1.fromDer(readFileSync(f).toString('binary')));
  const authSafes = pfxs.map((pfx) => {
    const octets = ((pfx.value as forge.asn1.Asn1[])[1]!.value as forge.asn1.Asn1[])[1]!.value as forge.asn1.Asn1[];
    return { octets: octets[0]!, seq: forge.asn1.fromDer(octets[0]!.value as string) };
  });
  const first = authSafes[0]!;
  (first.seq.value as forge.asn1.Asn1[]).push(...authSafes.slice(1).flatMap((a) => a.seq.value as forge.asn1.Asn1[]));
  first.octets.value = forge.asn1.toDer(first.seq).getBytes();
  const pfx = pfxs[0]!;
  pfx.value = (pfx.value as forge.asn1.Asn1[]).slice(0, 2);
  writeFileSync(out, Buffer.from(forge.asn1.toDer(pfx).getBytes(), 'binary'));
  return out;
}

/** `openssl pkcs8 -topk8 -v2 aes-256-cbc`: an encrypted PKCS#8 PEM key. */
export function encryptPkcs8(keyFile: string, out: string, passphrase: string): string {
  const passFile = `${out}.pass-for-openssl`;
  writeFileSync(passFile, passphrase, { mode: 0o600 });
  execFileSync('openssl', ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', keyFile, '-passout', `file:${passFile}`, '-out', out], {
    stdio: 'pipe',
  });
  return out;
}
