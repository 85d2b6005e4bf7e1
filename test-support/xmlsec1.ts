/**
 * The xmlsec1 CLI (Debian's xmlsec1, libxml2 + OpenSSL) as an independent XML-DSig implementation for
 * differential tests: it verifies what Tramite signs, signs templates Tramite then verifies, and shows
 * the bytes its own canonicaliser produced for each Reference (`--store-references`, the "PreDigest
 * data" of `--print-debug`).
 *
 * xmlsec1 knows no WS-Security: a KeyInfo holding a wsse:SecurityTokenReference gives it no key, so the
 * signer's certificate is handed to it (`--pubkey-cert-pem`), and the elements whose `Id` attribute
 * (wsu:Id included: it matches by local name) a Reference may name are listed (`--id-attr:Id ns:Element`).
 *
 * Missing xmlsec1 is a failure with the command that installs it, never a skipped test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NS } from '../envelopes/xml/namespaces.js';

export const XMLSEC1_INSTALL = 'apt-get install -y xmlsec1 (as root; test-support/install-test-services.sh does it)';

/** An element kind whose `Id` attribute identifies it, for `--id-attr:Id <ns>:<local>`. */
export interface IdElement {
  readonly ns: string;
  readonly local: string;
}

export interface Xmlsec1Verdict {
  readonly ok: boolean;
  /** Everything xmlsec1 printed (errors and the debug dump), for assertion messages. */
  readonly output: string;
  /** Each Reference's canonical bytes as xmlsec1 digested them, in SignedInfo order. */
  readonly references: readonly string[];
  /** The canonical SignedInfo as xmlsec1 verified the SignatureValue over it. */
  readonly signedInfo: string | undefined;
}

export interface Xmlsec1Signed {
  readonly xml: string;
  readonly references: readonly string[];
  readonly signedInfo: string | undefined;
}

/** Every element a Tramite WS-Security Reference may name, in either profile: Timestamp, token, Body, headers. */
export const WS_SECURITY_IDS: readonly IdElement[] = [
  { ns: NS.wsu, local: 'Timestamp' },
  { ns: NS.wsse, local: 'BinarySecurityToken' },
  { ns: NS.soap11, local: 'Body' },
  { ns: NS.egov, local: 'Intestazione' },
  ...['To', 'From', 'Action', 'MessageID', 'RelatesTo', 'ReplyTo'].map((local) => ({ ns: NS.wsa, local })),
];

let checked = false;

/** Throws, with the install command, when the xmlsec1 CLI is not there. */
export function requireXmlsec1(): void {
  if (checked) return;
  const probe = spawnSync('xmlsec1', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`these differential tests need the xmlsec1 CLI, which is missing: ${XMLSEC1_INSTALL}`);
  }
  checked = true;
}

/** xmlsec1 --verify of `xml` with the signer's certificate (and, if given, a trusted CA). */
export function xmlsec1Verify(
  xml: string,
  opts: { signerCertPem: string; trustedCaPem?: string; ids: readonly IdElement[] },
): Xmlsec1Verdict {
  requireXmlsec1();
  return inTempDir((dir) => {
    const file = join(dir, 'signed.xml');
    writeFileSync(file, xml);
    writeFileSync(join(dir, 'signer.pem'), opts.signerCertPem);
    const args = ['--verify', '--store-references', '--store-signatures', '--print-debug', '--pubkey-cert-pem', join(dir, 'signer.pem')];
    if (opts.trustedCaPem) {
      writeFileSync(join(dir, 'ca.pem'), opts.trustedCaPem);
      args.push('--trusted-pem', join(dir, 'ca.pem'));
    }
    args.push(...idArgs(opts.ids), file);
    const run = spawnSync('xmlsec1', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const output = `${run.stdout}\n${run.stderr}`;
    return { ok: run.status === 0 && /^OK$/m.test(output), output, references: preDigest(run.stdout), signedInfo: preSigned(run.stdout) };
  });
}

/** xmlsec1 --sign of a template (a ds:Signature with empty DigestValue / SignatureValue) with `keyPem`. */
export function xmlsec1Sign(template: string, opts: { keyPem: string; ids: readonly IdElement[] }): Xmlsec1Signed {
  requireXmlsec1();
  return inTempDir((dir) => {
    const file = join(dir, 'template.xml');
    const out = join(dir, 'signed.xml');
    writeFileSync(file, template);
    writeFileSync(join(dir, 'key.pem'), opts.keyPem);
    const args = [
      '--sign',
      '--store-references',
      '--store-signatures',
      '--print-debug',
      '--privkey-pem',
      join(dir, 'key.pem'),
      '--output',
      out,
      ...idArgs(opts.ids),
      file,
    ];
    let stdout: string;
    try {
      stdout = execFileSync('xmlsec1', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`xmlsec1 --sign failed:\n${e.stderr ?? ''}\n${(e.stdout ?? '').slice(0, 2000)}`, { cause: err });
    }
    return { xml: readFileSync(out, 'utf8'), references: preDigest(stdout), signedInfo: preSigned(stdout) };
  });
}

function idArgs(ids: readonly IdElement[]): string[] {
  return ids.flatMap((id) => ['--id-attr:Id', id.ns ? `${id.ns}:${id.local}` : id.local]);
}

function preDigest(stdout: string): string[] {
  return [...stdout.matchAll(/== PreDigest data - start buffer:\n([\s\S]*?)\n== PreDigest data - end buffer/g)].map((m) => m[1]!);
}

function preSigned(stdout: string): string | undefined {
  return /== PreSigned data - start buffer:\n([\s\S]*?)\n== PreSigned data - end buffer/.exec(stdout)?.[1];
}

function inTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tramite-xmlsec1-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
