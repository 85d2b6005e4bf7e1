import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEgovEnvelope } from '../../envelopes/envelope.js';
import { runCli } from './run-cli.js';

let dir: string;
let unsigned: string;
let unsignedModi: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-cli-'));
  const a = await runCli(['init', '--dir', join(dir, 'a'), '--parties', 'ComuneA,SPC/ComuneB', '--port', '0']);
  expect(a.code, a.stderr).toBe(0);
  const other = await runCli(['init', '--dir', join(dir, 'other'), '--parties', 'Intruso']);
  expect(other.code, other.stderr).toBe(0);
  unsigned = join(dir, 'unsigned.xml');
  writeFileSync(
    unsigned,
    buildEgovEnvelope(
      {
        mittente: [{ tipo: 'SPC', nome: 'ComuneA' }],
        destinatario: { tipo: 'SPC', nome: 'RegioneX' },
        profiloCollaborazione: { profile: 'oneway' },
        servizio: { tipo: 'SPC', nome: 'Protocollo' },
        azione: 'Invia',
        messaggio: {
          identificatore: 'ComuneA_ComuneASPCoopIT_0000001_2026-11-23_10:00',
          oraRegistrazione: { value: '2026-11-23T10:00:00Z', tempo: 'EGOV_IT_SPC' },
        },
        profiloTrasmissione: { inoltro: 'EGOV_IT_ALPIUUNAVOLTA', confermaRicezione: true },
        riscontri: [],
        trasmissioni: [],
        eccezioni: [],
      },
      '<p:Documento xmlns:p="urn:test"><p:importo>100</p:importo></p:Documento>',
    ),
  );
  unsignedModi = join(dir, 'unsigned-modi.xml');
  writeFileSync(
    unsignedModi,
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><q:Query xmlns:q="urn:test">cf</q:Query></soap:Body></soap:Envelope>',
  );
});

const pki = (name: string) => join(dir, 'a', 'pki', name);

async function seal(profile: 'egov' | 'modi', file: string, signer = 'ComuneA', extra: string[] = []): Promise<string> {
  const keyDir = signer === 'Intruso' ? join(dir, 'other', 'pki') : join(dir, 'a', 'pki');
  const r = await runCli([
    'envelope',
    'seal',
    '--profile',
    profile,
    '--key',
    join(keyDir, `${signer}.key.pem`),
    '--cert',
    join(keyDir, `${signer}.cert.pem`),
    ...extra,
    file,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const out = join(dir, `signed-${profile}-${signer}-${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(out, r.stdout);
  return out;
}

describe('tramite envelope seal + verify', () => {
  it('seals an e-Gov envelope that then verifies against the CA, naming the signer', async () => {
    const signed = await seal('egov', unsigned);
    const r = await runCli(['envelope', 'verify', signed, '--trust', pki('ca.cert.pem')]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ valid: true, profile: 'egov' });
    expect(out.signer).toContain('CN=ComuneA');
    expect(readFileSync(signed, 'utf8')).toContain('wsse:BinarySecurityToken');
  });

  it('seals a ModI envelope, adding the WS-Addressing headers it lacks', async () => {
    const signed = await seal('modi', unsignedModi, 'ComuneA', [
      '--to',
      'SPC/RegioneX',
      '--from',
      'SPC/ComuneA',
      '--action',
      'urn:tramite:service:SPC:Anagrafe',
    ]);
    const r = await runCli(['envelope', 'verify', signed, '--trust', pki('ca.cert.pem')]);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, profile: 'modi' });
    const inspect = await runCli(['envelope', 'inspect', signed]);
    expect(JSON.parse(inspect.stdout).addressing).toMatchObject({
      to: 'SPC/RegioneX',
      from: 'SPC/ComuneA',
      action: 'urn:tramite:service:SPC:Anagrafe',
    });
  });

  it('prints the ModI patterns an envelope satisfies: ID_AUTH_SOAP_02 + INTEGRITY_SOAP_01 as sealed by default', async () => {
    const signed = await seal('modi', unsignedModi, 'ComuneA', ['--to', 'SPC/RegioneX', '--from', 'SPC/ComuneA']);
    const r = await runCli(['envelope', 'verify', signed, '--trust', pki('ca.cert.pem')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, profile: 'modi', patterns: ['ID_AUTH_SOAP_02', 'INTEGRITY_SOAP_01'] });
  });

  it('seals for ID_AUTH_SOAP_01 with the Body unsigned (as GovWay does without INTEGRITY_SOAP_01), which verifies and says so', async () => {
    const signed = await seal('modi', unsignedModi, 'ComuneA', [
      '--to',
      'SPC/RegioneX',
      '--from',
      'SPC/ComuneA',
      '--patterns',
      'ID_AUTH_SOAP_01',
    ]);
    const r = await runCli(['envelope', 'verify', signed, '--trust', pki('ca.cert.pem')]);
    expect(r.code, r.stdout).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ valid: true, profile: 'modi', patterns: ['ID_AUTH_SOAP_02'] }); // the sealer always signs a wsa:MessageID
    expect(out.signed).not.toContain('Body');
  });

  it('refuses --patterns that name no ID_AUTH pattern, or two (exit 1)', async () => {
    for (const patterns of ['INTEGRITY_SOAP_01', 'ID_AUTH_SOAP_01,ID_AUTH_SOAP_02', 'ID_AUTH_SOAP_03']) {
      const r = await runCli([
        'envelope',
        'seal',
        '--profile',
        'modi',
        '--key',
        pki('ComuneA.key.pem'),
        '--cert',
        pki('ComuneA.cert.pem'),
        '--patterns',
        patterns,
        unsignedModi,
      ]);
      expect(r.code, patterns).toBe(1);
      expect(r.stderr, patterns).toContain('exactly one of ID_AUTH_SOAP_01, ID_AUTH_SOAP_02');
    }
  });

  it('prints no patterns for an e-Gov envelope', async () => {
    const r = await runCli(['envelope', 'verify', await seal('egov', unsigned), '--trust', pki('ca.cert.pem')]);
    expect(JSON.parse(r.stdout)).not.toHaveProperty('patterns');
  });

  it('reports a tampered Body as invalid with EGOV_IT_202 and exit 1', async () => {
    const signed = await seal('egov', unsigned);
    const tampered = join(dir, 'tampered.xml');
    writeFileSync(tampered, readFileSync(signed, 'utf8').replace('>100<', '>900<'));
    const r = await runCli(['envelope', 'verify', tampered, '--trust', pki('ca.cert.pem')]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ valid: false, profile: 'egov', code: 'EGOV_IT_202' });
    expect(out.reason).toContain('TRAMITE_ERR_SIG_DIGEST');
  });

  it('reports a signer from an untrusted CA with the certificate code EGOV_IT_200', async () => {
    const signed = await seal('egov', unsigned, 'Intruso');
    const r = await runCli(['envelope', 'verify', signed, '--trust', pki('ca.cert.pem')]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ valid: false, code: 'EGOV_IT_200' });
    expect(out.reason).toContain('TRAMITE_ERR_CERT_UNTRUSTED');
    expect(out.signer).toContain('CN=Intruso');
  });

  it('judges the Timestamp freshness only when asked (--max-age), and validity at --at', async () => {
    const signed = await seal('egov', unsigned);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const offline = await runCli(['envelope', 'verify', signed, '--trust', pki('ca.cert.pem'), '--at', later]);
    expect(JSON.parse(offline.stdout)).toMatchObject({ valid: false, code: 'EGOV_IT_202' }); // Expires (300 s) has passed
    const stale = await runCli([
      'envelope',
      'verify',
      signed,
      '--trust',
      pki('ca.cert.pem'),
      '--max-age',
      '0',
      '--at',
      new Date(Date.now() + 2000).toISOString(),
    ]);
    expect(JSON.parse(stale.stdout).reason).toContain('TRAMITE_ERR_TIMESTAMP');
  });

  it('refuses --skew abc (exit 2, naming the option) instead of verifying with the Timestamp checks off', async () => {
    const signed = await seal('egov', unsigned);
    const later = new Date(Date.now() + 3_600_000).toISOString(); // Expires has passed: only a disabled check would pass it
    const r = await runCli(['envelope', 'verify', signed, '--trust', pki('ca.cert.pem'), '--at', later, '--skew', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error TRAMITE_ERR_CONFIG_INVALID: --skew abc is not a whole number of seconds');
  });

  it('refuses --max-age x (exit 2, naming the option) instead of skipping the freshness check', async () => {
    const signed = await seal('egov', unsigned);
    const r = await runCli([
      'envelope',
      'verify',
      signed,
      '--trust',
      pki('ca.cert.pem'),
      '--max-age',
      'x',
      '--at',
      new Date(Date.now() + 2000).toISOString(),
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--max-age x is not a whole number of seconds');
  });

  it('refuses --max-age -5 and --skew 1e3, which are not whole numbers of seconds either', async () => {
    const signed = await seal('egov', unsigned);
    for (const args of [
      ['--max-age', '-5'],
      ['--skew', '1e3'],
    ]) {
      const r = await runCli(['envelope', 'verify', signed, '--trust', pki('ca.cert.pem'), ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`${args[0]} ${args[1]} is not`);
    }
  });

  it('refuses seal --ttl soon (exit 2) instead of writing an Expires of NaN', async () => {
    const r = await runCli([
      'envelope',
      'seal',
      '--profile',
      'egov',
      '--key',
      pki('ComuneA.key.pem'),
      '--cert',
      pki('ComuneA.cert.pem'),
      '--ttl',
      'soon',
      unsigned,
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--ttl soon is not a whole number of seconds');
  });

  it('says how to fix a verify call without trust anchors (exit 2)', async () => {
    const r = await runCli(['envelope', 'verify', unsigned]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--trust');
  });

  it('verifies the real GovWay-signed ModI sample when the reference material is present', async () => {
    const sample = join(__dirname, '../../../shared/reference/samples/modi/modi_INTEGRITY_SOAP_01_signed.xml');
    if (!existsSync(sample)) return; // a user's clone has no shared/: nothing to check against
    const r = await runCli([
      'envelope',
      'verify',
      sample,
      '--trust',
      join(__dirname, '../../../shared/reference/samples/modi/ExampleCA.crt'),
    ]);
    expect(r.code, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, profile: 'modi' });
    expect(JSON.parse(r.stdout).signer).toContain('CN=ExampleServer');
  });
});

describe('tramite envelope inspect', () => {
  it('prints the parsed header as JSON', async () => {
    const r = await runCli(['envelope', 'inspect', unsigned]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.profile).toBe('egov');
    expect(out.header.messaggio.identificatore).toBe('ComuneA_ComuneASPCoopIT_0000001_2026-11-23_10:00');
    expect(out.header.profiloTrasmissione).toEqual({ inoltro: 'EGOV_IT_ALPIUUNAVOLTA', confermaRicezione: true });
    expect(out.signed).toBe(false);
  });

  it('prints the EGOV_IT code and position of a malformed envelope, exit 1', async () => {
    const bad = join(dir, 'bad.xml');
    writeFileSync(bad, readFileSync(unsigned, 'utf8').replace('EGOV_IT_MessaggioSingoloOneWay', 'EGOV_IT_Qualcosa'));
    const r = await runCli(['envelope', 'inspect', bad]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      code: 'EGOV_IT_103',
      posizione: 'Intestazione/IntestazioneMessaggio/ProfiloCollaborazione',
    });
    const doctype = join(dir, 'doctype.xml');
    writeFileSync(doctype, `<!DOCTYPE x SYSTEM "file:///etc/passwd">\n${readFileSync(unsigned, 'utf8')}`);
    const d = await runCli(['envelope', 'inspect', doctype]);
    expect(d.code).toBe(1);
    expect(JSON.parse(d.stdout)).toMatchObject({ code: 'EGOV_IT_001' });
    expect(JSON.parse(d.stdout).posizione).toMatch(/riga 1/);
  });
});

describe('--help', () => {
  it.each([
    [[]],
    [['init']],
    [['start']],
    [['demo']],
    [['envelope']],
    [['envelope', 'inspect']],
    [['envelope', 'verify']],
    [['envelope', 'seal']],
    [['log']],
    [['log', 'verify']],
    [['log', 'export']],
    [['messages', 'resend']],
  ])('tramite %j --help explains itself', async (cmd) => {
    const r = await runCli([...cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tramite/m);
  });
});
