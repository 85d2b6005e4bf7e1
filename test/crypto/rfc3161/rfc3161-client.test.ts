/**
 * RFC 3161 client against a real TSA (openssl ts -reply behind HTTP on 127.0.0.1): tokens obtained,
 * verified, cross-checked with `openssl ts -verify`, and every way a token or an answer can be wrong.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as pkijs from 'pkijs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TramiteError } from '../../../src/core/errors.js';
import { requestTimestamp, verifyTimestampToken } from '../../../src/crypto/rfc3161/index.js';
import { createCa, issueCertificate, startOpensslTsa, type OpensslTsa } from '../../../test-support/openssl-tsa-server.js';

const run = promisify(execFile);

const TSA_SUBJECT = 'CN=Tramite Test TSA, OU=Time-Stamping, O=Tramite Test, C=IT';
const statement = new TextEncoder().encode('{"type":"tramite-log-checkpoint","version":1,"seq":42,"headHash":"ab12"}');

let dir: string;
let tsa: OpensslTsa;
let token: Uint8Array;
let requestedAt: number;
let answeredAt: number;
const stubs: Array<() => Promise<void>> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-tsa-'));
  tsa = await startOpensslTsa(join(dir, 'tsa'));
  requestedAt = Date.now();
  token = await requestTimestamp(tsa.url, statement);
  answeredAt = Date.now();
});

afterAll(async () => {
  for (const close of stubs) await close();
  await tsa?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Awaits `promise`, expecting a TramiteError TRAMITE_ERR_TSA whose message matches `message`. */
async function expectTsaError(promise: Promise<unknown>, message: RegExp): Promise<TramiteError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a rejection').toBeInstanceOf(TramiteError);
  expect((err as TramiteError).code).toBe('TRAMITE_ERR_TSA');
  expect((err as TramiteError).message).toMatch(message);
  return err as TramiteError;
}

/** A throwaway HTTP server on 127.0.0.1, closed after the suite. */
async function stub(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  stubs.push(
    () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Sends a client query on to the real TSA and returns its raw TimeStampResp. */
async function forward(query: Buffer): Promise<Buffer> {
  const res = await request(tsa.url, { method: 'POST', body: query, headers: { 'content-type': 'application/timestamp-query' } });
  return Buffer.from(await res.body.arrayBuffer());
}

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

/** The DER of the TSTInfo the token signs (its eContent). */
function tstInfoOf(der: Uint8Array): Uint8Array {
  const ci = pkijs.ContentInfo.fromBER(new Uint8Array(der));
  const sd = new pkijs.SignedData({ schema: ci.content });
  return new Uint8Array(sd.encapContentInfo.eContent!.getValue());
}

describe('requestTimestamp + verifyTimestampToken against an openssl TSA', () => {
  it('obtains a token that verifies, with genTime now and the TSA subject', async () => {
    const v = await verifyTimestampToken(token, statement, { trustedCerts: [tsa.caCertPem] });
    // openssl stamps with whole seconds (clock_precision_digits = 0): genTime may be up to 1 s early.
    expect(v.genTime.getTime()).toBeGreaterThanOrEqual(requestedAt - 2_000);
    expect(v.genTime.getTime()).toBeLessThanOrEqual(answeredAt + 2_000);
    expect(v.tsa).toBe(TSA_SUBJECT);
    expect(v.serialNumber).toMatch(/^([0-9A-F]{2})+$/);

    // Same verdict with node X509Certificate anchors, and with a PEM bundle holding an unrelated cert too.
    const asX509 = await verifyTimestampToken(token, statement, { trustedCerts: [new X509Certificate(tsa.caCertPem)] });
    expect(asX509).toEqual(v);
    const bundle = `${tsa.tsaCertPem}\n${tsa.caCertPem}`;
    expect((await verifyTimestampToken(token, statement, { trustedCerts: [bundle] })).genTime).toEqual(v.genTime);
    // Validity also required at an explicit instant within the certificates' lifetime.
    expect((await verifyTimestampToken(token, statement, { trustedCerts: [tsa.caCertPem], at: new Date() })).tsa).toBe(TSA_SUBJECT);
  });

  it('returns the bare TimeStampToken (a ContentInfo), which openssl ts -verify accepts too', async () => {
    const tokenFile = join(dir, 'token.der');
    const dataFile = join(dir, 'statement.json');
    await writeFile(tokenFile, token);
    await writeFile(dataFile, statement);
    const { stdout } = await run('openssl', [
      'ts',
      '-verify',
      '-token_in',
      '-in',
      tokenFile,
      '-data',
      dataFile,
      '-CAfile',
      tsa.files.caCert,
    ]);
    expect(stdout).toMatch(/Verification: OK/);
    const ci = pkijs.ContentInfo.fromBER(new Uint8Array(token));
    expect(ci.contentType).toBe('1.2.840.113549.1.7.2');
  });

  it('reuses the PKI already in the directory on a second start', async () => {
    const again = await startOpensslTsa(join(dir, 'tsa'));
    try {
      expect(again.caCertPem).toBe(tsa.caCertPem);
      expect(again.tsaCertPem).toBe(tsa.tsaCertPem);
      expect(again.url).not.toBe(tsa.url);
      const t = await requestTimestamp(again.url, statement);
      expect((await verifyTimestampToken(t, statement, { trustedCerts: [tsa.caCertPem] })).tsa).toBe(TSA_SUBJECT);
    } finally {
      await again.close();
    }
  });

  it('gives each request its own serial number', async () => {
    const other = await requestTimestamp(tsa.url, statement, { timeoutMs: 5_000, hashAlgorithm: 'SHA-256' });
    const a = await verifyTimestampToken(token, statement, { trustedCerts: [tsa.caCertPem] });
    const b = await verifyTimestampToken(other, statement, { trustedCerts: [tsa.caCertPem] });
    expect(b.serialNumber).not.toBe(a.serialNumber);
  });
});

describe('verifyTimestampToken refusals', () => {
  it('refuses the token for other data (messageImprint mismatch)', async () => {
    const other = new TextEncoder().encode('{"type":"tramite-log-checkpoint","version":1,"seq":43,"headHash":"ab12"}');
    await expectTsaError(
      verifyTimestampToken(token, other, { trustedCerts: [tsa.caCertPem] }),
      /messageImprint does not match SHA-256 of the data/,
    );
  });

  it('refuses a token when the trusted certificates are an unrelated CA', async () => {
    const cert = join(dir, 'other-ca.pem');
    await createCa(cert, join(dir, 'other-ca.key'), '/C=IT/O=Someone Else/CN=Unrelated Root');
    const otherCa = await readFile(cert, 'utf8');
    await expectTsaError(
      verifyTimestampToken(token, statement, { trustedCerts: [otherCa] }),
      /TSA certificate "CN=Tramite Test TSA, .*" does not chain to a trusted certificate/,
    );
  });

  it('refuses when the TSA certificate is not valid at the requested instant', async () => {
    await expectTsaError(
      verifyTimestampToken(token, statement, { trustedCerts: [tsa.caCertPem], at: new Date('2200-01-01T00:00:00Z') }),
      /TSA certificate "CN=Tramite Test TSA.*" is not valid at 2200-01-01T00:00:00.000Z/,
    );
  });

  it('refuses a token with a corrupted signature byte', async () => {
    await expectTsaError(
      verifyTimestampToken(flipped(token, token.length - 1), statement, { trustedCerts: [tsa.caCertPem] }),
      /signature does not verify with the key of "CN=Tramite Test TSA/,
    );
  });

  it('refuses a token whose TSTInfo was altered (genTime moved)', async () => {
    const tst = tstInfoOf(token);
    const start = Buffer.from(token).indexOf(Buffer.from(tst));
    // GeneralizedTime: tag 0x18, length 15, "YYYYMMDDhhmmssZ"; move the year's last digit.
    const gt = Buffer.from(tst).indexOf(Buffer.from([0x18, 0x0f]));
    expect(start).toBeGreaterThan(0);
    expect(gt).toBeGreaterThan(0);
    const altered = flipped(token, start + gt + 2 + 3);
    await expectTsaError(verifyTimestampToken(altered, statement, { trustedCerts: [tsa.caCertPem] }), /TSTInfo .*altered/);
  });

  it('refuses truncated, padded and non-DER tokens', async () => {
    const opts = { trustedCerts: [tsa.caCertPem] };
    await expectTsaError(verifyTimestampToken(token.subarray(0, token.length - 10), statement, opts), /cannot be parsed/);
    await expectTsaError(verifyTimestampToken(new Uint8Array([...token, 0, 0]), statement, opts), /trailing data/);
    await expectTsaError(verifyTimestampToken(new TextEncoder().encode('not a token'), statement, opts), /cannot be parsed/);
    await expectTsaError(verifyTimestampToken(new Uint8Array(), statement, opts), /cannot be parsed/);
  });

  it('refuses without trust anchors or with unreadable ones', async () => {
    await expectTsaError(verifyTimestampToken(token, statement, { trustedCerts: [] }), /no trusted certificates/);
    await expectTsaError(verifyTimestampToken(token, statement, { trustedCerts: ['garbage'] }), /holds no PEM certificate/);
  });

  it('refuses every corruption of a byte the verdict depends on, and only ever with TRAMITE_ERR_TSA', async () => {
    const good = await verifyTimestampToken(token, statement, { trustedCerts: [tsa.caCertPem] });
    const buf = Buffer.from(token);
    const tst = tstInfoOf(token);
    const tsaDer = new X509Certificate(tsa.tsaCertPem).raw;
    // Bytes the verdict depends on: the signed TSTInfo, the TSA certificate (bound by the ESS attribute)
    // and the RSA-2048 signature at the end. Elsewhere (e.g. the CA copy the token carries, when the
    // anchor itself is used) a change may be harmless, but then the verdict must not change.
    const critical: Array<[number, number]> = [
      [buf.indexOf(Buffer.from(tst)), tst.length],
      [buf.indexOf(tsaDer), tsaDer.length],
      [token.length - 256, 256],
    ];
    for (const [at] of critical) expect(at).toBeGreaterThan(0);
    const isCritical = (i: number) => critical.some(([at, len]) => i >= at && i < at + len);
    const positions = new Set<number>();
    for (let i = 0; i < token.length; i += Math.floor(token.length / 25)) positions.add(i);
    for (const [at, len] of critical) for (let k = 0; k < 5; k++) positions.add(at + Math.floor((len * k) / 5) + 3);
    const accepted: number[] = [];
    for (const i of positions) {
      try {
        const v = await verifyTimestampToken(flipped(token, i), statement, { trustedCerts: [tsa.caCertPem] });
        expect(v).toEqual(good);
        accepted.push(i);
      } catch (err) {
        expect(err).toBeInstanceOf(TramiteError);
        expect((err as TramiteError).code).toBe('TRAMITE_ERR_TSA');
      }
    }
    expect(accepted.filter(isCritical)).toEqual([]);
    expect(accepted.length).toBeLessThan(positions.size / 2);
  });
});

describe('TSA certificate checks (tokens re-signed with openssl cms)', () => {
  let tstFile: string;
  let notTsaCert: string;
  let notTsaKey: string;
  let otherTsaCert: string;
  let otherTsaKey: string;
  let fresh: Uint8Array;
  beforeAll(async () => {
    // A certificate of the same CA that is not a TSA certificate. It is issued before the token is
    // requested, so that it is valid at the token's genTime and only its key usage is wrong.
    notTsaCert = join(dir, 'signer-no-eku.pem');
    notTsaKey = join(dir, 'signer-no-eku.key');
    await issueCertificate({
      caCert: tsa.files.caCert,
      caKey: tsa.files.caKey,
      cert: notTsaCert,
      key: notTsaKey,
      subject: '/C=IT/O=Tramite Test/CN=Not A TSA',
      extensions: ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = clientAuth'],
    });
    // A proper TSA certificate of the same CA, but not the one the TSTInfo's tsa field names.
    otherTsaCert = join(dir, 'other-tsa.pem');
    otherTsaKey = join(dir, 'other-tsa.key');
    await issueCertificate({
      caCert: tsa.files.caCert,
      caKey: tsa.files.caKey,
      cert: otherTsaCert,
      key: otherTsaKey,
      subject: '/C=IT/O=Tramite Test/CN=Another TSA',
      extensions: [
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = critical, timeStamping',
      ],
    });
    fresh = await requestTimestamp(tsa.url, statement);
    tstFile = join(dir, 'tstinfo.der');
    await writeFile(tstFile, tstInfoOf(fresh));
  });

  /** Signs the real TSTInfo as a TimeStampToken with `cert`/`key`; `cades` adds SigningCertificateV2. */
  async function resign(cert: string, key: string, cades: boolean): Promise<Uint8Array> {
    const out = join(dir, `resigned-${Math.random().toString(36).slice(2)}.der`);
    await run('openssl', [
      'cms',
      '-sign',
      '-binary',
      '-nodetach',
      '-in',
      tstFile,
      '-econtent_type',
      '1.2.840.113549.1.9.16.1.4',
      '-signer',
      cert,
      '-inkey',
      key,
      '-certfile',
      tsa.files.caCert,
      '-md',
      'sha256',
      '-nosmimecap',
      ...(cades ? ['-cades'] : []),
      '-outform',
      'DER',
      '-out',
      out,
    ]);
    return new Uint8Array(await readFile(out));
  }

  it('accepts the TSTInfo re-signed by the TSA key with an ESS attribute (control)', async () => {
    const resigned = await resign(tsa.files.tsaCert, tsa.files.tsaKey, true);
    const v = await verifyTimestampToken(resigned, statement, { trustedCerts: [tsa.caCertPem] });
    expect(v.tsa).toBe(TSA_SUBJECT);
  });

  it('refuses a token without the ESS signing-certificate attribute', async () => {
    const resigned = await resign(tsa.files.tsaCert, tsa.files.tsaKey, false);
    await expectTsaError(
      verifyTimestampToken(resigned, statement, { trustedCerts: [tsa.caCertPem] }),
      /no ESS signing-certificate attribute/,
    );
  });

  it('refuses a token signed by a certificate of the same CA without id-kp-timeStamping', async () => {
    const resigned = await resign(notTsaCert, notTsaKey, true);
    await expectTsaError(
      verifyTimestampToken(resigned, statement, { trustedCerts: [tsa.caCertPem] }),
      /TSA certificate "CN=Not A TSA, O=Tramite Test, C=IT" extendedKeyUsage \(1\.3\.6\.1\.5\.5\.7\.3\.2\) does not include id-kp-timeStamping/,
    );
  });

  it('refuses a token whose TSTInfo names another TSA than its signer', async () => {
    const resigned = await resign(otherTsaCert, otherTsaKey, true);
    await expectTsaError(
      verifyTimestampToken(resigned, statement, { trustedCerts: [tsa.caCertPem] }),
      /names its TSA "CN=Tramite Test TSA, OU=Time-Stamping, O=Tramite Test, C=IT" but is signed by "CN=Another TSA, O=Tramite Test, C=IT"/,
    );
  });
});

describe('requestTimestamp failures', () => {
  it('fails when the TSA is down (connection refused)', async () => {
    const server = createServer();
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((ok) => server.close(() => ok()));
    await expectTsaError(requestTimestamp(`http://127.0.0.1:${port}/tsa`, statement), /could not be reached: .*ECONNREFUSED/);
  });

  it('fails on HTTP 500', async () => {
    const url = await stub((_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('boom'));
    await expectTsaError(requestTimestamp(url, statement), /answered HTTP 500 instead of 200/);
  });

  it('fails on garbage with the right content-type', async () => {
    const url = await stub((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end('<html>garbage</html>'),
    );
    await expectTsaError(requestTimestamp(url, statement), /not a DER TimeStampResp/);
  });

  it('fails on the wrong content-type', async () => {
    const url = await stub((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'));
    await expectTsaError(requestTimestamp(url, statement), /content-type "text\/html" instead of application\/timestamp-reply/);
  });

  it('fails when the TSA does not answer in time', async () => {
    const url = await stub(() => undefined);
    const started = Date.now();
    await expectTsaError(requestTimestamp(url, statement, { timeoutMs: 300 }), /no answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('reports a rejection by the TSA with its status and failInfo', async () => {
    // A genuine openssl rejection: the TSA does not accept SHA-1 imprints (digests = sha256, sha384, sha512).
    const dataFile = join(dir, 'reject.txt');
    const queryFile = join(dir, 'reject.tsq');
    const replyFile = join(dir, 'reject.tsr');
    await writeFile(dataFile, 'x');
    await run('openssl', ['ts', '-query', '-data', dataFile, '-sha1', '-out', queryFile]);
    await run('openssl', ['ts', '-reply', '-config', tsa.files.config, '-queryfile', queryFile, '-out', replyFile]);
    const rejection = await readFile(replyFile);
    const url = await stub((_req, res) => res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(rejection));
    await expectTsaError(requestTimestamp(url, statement), /refused the request: status rejection \(2\), .*failInfo badAlg/);
  });

  it('refuses a replayed answer (same data: nonce differs; other data: imprint differs)', async () => {
    let recorded: Buffer | undefined;
    const url = await stub((req, res) => {
      void (async () => {
        const query = await readBody(req);
        recorded ??= await forward(query);
        res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(recorded);
      })();
    });
    await requestTimestamp(url, statement); // records a genuine answer
    await expectTsaError(requestTimestamp(url, statement), /answered with nonce [0-9a-f]+ instead of [0-9a-f]+/);
    await expectTsaError(requestTimestamp(url, new TextEncoder().encode('other')), /messageImprint is not the one requested/);
  });

  it('refuses bad arguments', async () => {
    await expectTsaError(requestTimestamp('not a url', statement), /not a valid URL/);
    await expectTsaError(requestTimestamp('ftp://127.0.0.1/tsa', statement), /must be http: or https:/);
    await expectTsaError(requestTimestamp(tsa.url, statement, { hashAlgorithm: 'SHA-1' as 'SHA-256' }), /only SHA-256/);
  });
});
