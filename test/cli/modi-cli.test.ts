import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

let dir: string;
const pki = (name: string) => join(dir, 'a', 'pki', name);
const BODY = '{"codiceFiscale":"RSSMRA80A01H501U"}';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-modi-cli-'));
  const a = await runCli(['init', '--dir', join(dir, 'a'), '--parties', 'ComuneA', '--port', '0']);
  expect(a.code, a.stderr).toBe(0);
  const other = await runCli(['init', '--dir', join(dir, 'other'), '--parties', 'Intruso']);
  expect(other.code, other.stderr).toBe(0);
  writeFileSync(join(dir, 'body.json'), BODY);
  writeFileSync(join(dir, 'tampered.json'), BODY.replace('U"', 'V"'));
});

async function signRequest(extra: string[] = [], signer = 'a/pki/ComuneA'): Promise<Record<string, string>> {
  const r = await runCli([
    'modi',
    'sign-request',
    '--key',
    join(dir, `${signer}.key.pem`),
    '--cert',
    join(dir, `${signer}.cert.pem`),
    '--audience',
    'urn:regione:anagrafe',
    '--body',
    join(dir, 'body.json'),
    '--content-type',
    'application/json',
    ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers;
}

function tokenFile(name: string, token: string): string {
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.jwt`);
  writeFileSync(file, token);
  return file;
}

describe('tramite modi sign-request + verify-jwt', () => {
  it('signs ID_AUTH_REST_02 + INTEGRITY_REST_01 headers whose tokens verify against the CA, with the audience and the body', async () => {
    const headers = await signRequest();
    expect(Object.keys(headers).sort()).toEqual(['Agid-JWT-Signature', 'Authorization', 'Content-Type', 'Digest']);
    const auth = await runCli([
      'modi',
      'verify-jwt',
      tokenFile('auth', headers.Authorization!),
      '--trust',
      pki('ca.cert.pem'),
      '--audience',
      'urn:regione:anagrafe',
    ]);
    expect(auth.code, auth.stdout + auth.stderr).toBe(0);
    expect(JSON.parse(auth.stdout)).toMatchObject({
      valid: true,
      pattern: 'ID_AUTH_REST_02',
      signer: 'CN=ComuneA, O=SPC, C=IT',
      claims: { aud: 'urn:regione:anagrafe' },
    });

    const sig = await runCli(['modi', 'verify-jwt', '-', '--trust', pki('ca.cert.pem'), '--body', join(dir, 'body.json')], {
      input: headers['Agid-JWT-Signature']!,
    });
    expect(sig.code, sig.stdout + sig.stderr).toBe(0);
    expect(JSON.parse(sig.stdout)).toMatchObject({ valid: true, pattern: 'INTEGRITY_REST_01' });
  });

  it('refuses, exit 1 with code and reason: another body, another audience, a later instant, an untrusted CA', async () => {
    const headers = await signRequest();
    const sig = tokenFile('sig', headers['Agid-JWT-Signature']!);
    const cases: Array<[string[], string]> = [
      [['--body', join(dir, 'tampered.json')], 'TRAMITE_ERR_MODI_REST_DIGEST'],
      [['--audience', 'urn:altro'], 'TRAMITE_ERR_MODI_REST_AUDIENCE'],
      [['--at', new Date(Date.now() + 3_600_000).toISOString()], 'TRAMITE_ERR_MODI_REST_EXPIRED'],
    ];
    for (const [extra, code] of cases) {
      const r = await runCli(['modi', 'verify-jwt', sig, '--trust', pki('ca.cert.pem'), ...extra]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ valid: false, code });
      expect(JSON.parse(r.stdout).reason).toBeTruthy();
    }
    const untrusted = await runCli(['modi', 'verify-jwt', sig, '--trust', join(dir, 'other', 'pki', 'ca.cert.pem')]);
    expect(untrusted.code).toBe(1);
    expect(JSON.parse(untrusted.stdout)).toMatchObject({
      valid: false,
      code: 'TRAMITE_ERR_CERT_UNTRUSTED',
      signer: 'CN=ComuneA, O=SPC, C=IT',
    });
  });

  it('signs AUDIT_REST_01 with its claims', async () => {
    const headers = await signRequest([
      '--patterns',
      'ID_AUTH_REST_01,AUDIT_REST_01',
      '--audit-claim',
      'userID=mario.rossi',
      '--audit-claim',
      'userLocation=PDL-1',
      '--audit-claim',
      'LoA=low',
    ]);
    expect(headers.Digest).toBeUndefined();
    const r = await runCli([
      'modi',
      'verify-jwt',
      tokenFile('audit', headers['Agid-JWT-TrackingEvidence']!),
      '--trust',
      pki('ca.cert.pem'),
    ]);
    expect(r.code, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, pattern: 'AUDIT_REST_01', claims: { userID: 'mario.rossi', LoA: 'low' } });
  });

  it('a validly signed token whose claims nest 9000 levels deep is refused as malformed (exit 1), not a crash of the printer', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const n = 9000;
    const payload = `{"aud":"urn:regione:anagrafe","iat":${iat},"exp":${iat + 60},"jti":"deep","d":${'['.repeat(n)}0${']'.repeat(n)}}`;
    const cert = new X509Certificate(readFileSync(pki('ComuneA.cert.pem')));
    const token = await new CompactSign(Buffer.from(payload))
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5c: [cert.raw.toString('base64')] })
      .sign(createPrivateKey(readFileSync(pki('ComuneA.key.pem'))));
    const r = await runCli(['modi', 'verify-jwt', tokenFile('deep', token), '--trust', pki('ca.cert.pem')]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: false, code: 'TRAMITE_ERR_MODI_REST_MALFORMED' });
  });

  it('usage errors exit 2: no trust, a bad --at, an unknown pattern, _02 without --kid', async () => {
    const file = tokenFile('x', 'a.b.c');
    expect((await runCli(['modi', 'verify-jwt', file])).code).toBe(2);
    expect((await runCli(['modi', 'verify-jwt', file, '--trust', pki('ca.cert.pem'), '--at', 'yesterday'])).code).toBe(2);
    const base = ['modi', 'sign-request', '--key', pki('ComuneA.key.pem'), '--cert', pki('ComuneA.cert.pem'), '--audience', 'a'];
    const unknown = await runCli([...base, '--patterns', 'ID_AUTH_REST_03']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('ID_AUTH_REST_03');
    expect((await runCli([...base, '--patterns', 'INTEGRITY_REST_02'])).code).toBe(2);
  });

  it('is listed in the top-level help, with its subcommands', async () => {
    expect((await runCli(['--help'])).stdout).toMatch(/modi\s/);
    const help = await runCli(['modi', '--help']);
    expect(help.stdout).toContain('verify-jwt');
    expect(help.stdout).toContain('sign-request');
  });
});
