/**
 * A real RFC 3161 time-stamping authority for tests: `openssl ts -reply` behind a node:http server on
 * 127.0.0.1. The PKI (a root CA and a TSA certificate it issued) is made once per directory with the
 * openssl CLI and reused by later starts on the same directory.
 *
 * No long-lived child process here (one `openssl ts -reply` per request, and the HTTP server listens
 * on port 0 itself, so it needs no free-port probe): of the daemon helpers it takes the private temp
 * dir, for each request's query and reply files, removed on close() or when the process exits.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createPrivateTempDir } from '../src/daemons/private-temp-dir.js';

const run = promisify(execFile);

/** The policy the test TSA stamps under (a private-enterprise arc no one owns in production). */
export const TEST_TSA_POLICY = '1.3.6.1.4.1.99999.1';

export interface OpensslTsa {
  /** POST URL of the TSA, e.g. `http://127.0.0.1:40123/tsa`. */
  readonly url: string;
  /** The root CA that issued the TSA certificate: the trust anchor a verifier should be given. */
  readonly caCertPem: string;
  /** The TSA's own (signer) certificate. */
  readonly tsaCertPem: string;
  /** Files of the PKI, for tests that want to sign other things with it. */
  readonly files: OpensslTsaFiles;
  /** Requests answered so far (any outcome). */
  readonly requests: () => number;
  close(): Promise<void>;
}

export interface OpensslTsaFiles {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly tsaCert: string;
  readonly tsaKey: string;
  readonly config: string;
}

/** Subject of the TSA certificate the server signs with (openssl `-subj` syntax). */
export const TEST_TSA_SUBJECT = '/C=IT/O=Tramite Test/OU=Time-Stamping/CN=Tramite Test TSA';
export const TEST_TSA_CA_SUBJECT = '/C=IT/O=Tramite Test/CN=Tramite Test TSA Root CA';

/** Biggest TimeStampReq the server reads; real ones are under 100 bytes. */
const MAX_QUERY_BYTES = 64 * 1024;

export async function startOpensslTsa(dir: string): Promise<OpensslTsa> {
  const files = await ensureTsaPki(resolve(dir));
  const scratch = createPrivateTempDir('tsa');
  let counter = 0;
  let served = 0;
  // openssl ts -reply reads and rewrites the serial file: one reply at a time keeps serials unique.
  let queue: Promise<unknown> = Promise.resolve();

  const reply = async (query: Buffer): Promise<{ status: number; type: string; body: Buffer }> => {
    const id = `${process.pid}-${++counter}`;
    const queryFile = join(scratch.path, `query-${id}.tsq`);
    const replyFile = join(scratch.path, `reply-${id}.tsr`);
    try {
      await writeFile(queryFile, query);
      await run('openssl', ['ts', '-reply', '-config', files.config, '-queryfile', queryFile, '-out', replyFile]);
      return { status: 200, type: 'application/timestamp-reply', body: await readFile(replyFile) };
    } catch (err) {
      // openssl answers a well-formed but unacceptable query (e.g. a digest it does not allow) with a
      // rejection reply and exit code 0; only a query it cannot even parse lands here.
      const stderr = (err as { stderr?: string }).stderr ?? String(err);
      return { status: 500, type: 'text/plain; charset=utf-8', body: Buffer.from(`openssl ts -reply failed:\n${stderr}`) };
    } finally {
      await rm(queryFile, { force: true });
      await rm(replyFile, { force: true });
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST a TimeStampReq\n');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_QUERY_BYTES) {
        res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('query too large\n');
        req.destroy();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (type !== 'application/timestamp-query') {
      res.writeHead(415, { 'content-type': 'text/plain' }).end('content-type must be application/timestamp-query\n');
      return;
    }
    const job = queue.then(() => reply(Buffer.concat(chunks)));
    queue = job.catch(() => undefined);
    const out = await job;
    served++;
    res.writeHead(out.status, { 'content-type': out.type, 'content-length': out.body.length }).end(out.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`test TSA failed: ${String(err)}\n`);
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  const [caCertPem, tsaCertPem] = await Promise.all([readFile(files.caCert, 'utf8'), readFile(files.tsaCert, 'utf8')]);

  return {
    url: `http://127.0.0.1:${port}/tsa`,
    caCertPem,
    tsaCertPem,
    files,
    requests: () => served,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.close((err) => {
          scratch.remove();
          if (err) fail(err);
          else ok();
        });
        server.closeAllConnections();
      }),
  };
}

/** Creates the CA, the TSA certificate and the `openssl ts` configuration in `dir`, unless already there. */
export async function ensureTsaPki(dir: string): Promise<OpensslTsaFiles> {
  mkdirSync(dir, { recursive: true });
  const files: OpensslTsaFiles = {
    dir,
    caCert: join(dir, 'tsa-ca.pem'),
    caKey: join(dir, 'tsa-ca.key'),
    tsaCert: join(dir, 'tsa.pem'),
    tsaKey: join(dir, 'tsa.key'),
    config: join(dir, 'tsa.cnf'),
  };
  const serial = join(dir, 'tsa-serial');
  if ([files.caCert, files.caKey, files.tsaCert, files.tsaKey, files.config].every((f) => existsSync(f))) return files;

  await createCa(files.caCert, files.caKey, TEST_TSA_CA_SUBJECT);
  await issueCertificate({
    caCert: files.caCert,
    caKey: files.caKey,
    cert: files.tsaCert,
    key: files.tsaKey,
    subject: TEST_TSA_SUBJECT,
    extensions: [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = critical, timeStamping',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always',
    ],
  });
  await writeFile(serial, '01\n');
  await writeFile(
    files.config,
    [
      '[ tsa ]',
      'default_tsa = tsa_test',
      '',
      '[ tsa_test ]',
      `serial = ${serial}`,
      'crypto_device = builtin',
      `signer_cert = ${files.tsaCert}`,
      // The token carries the CA too, as real TSAs commonly do; a verifier must still anchor trust itself.
      `certs = ${files.caCert}`,
      `signer_key = ${files.tsaKey}`,
      'signer_digest = sha256',
      `default_policy = ${TEST_TSA_POLICY}`,
      'other_policies = 1.3.6.1.4.1.99999.2',
      'digests = sha256, sha384, sha512',
      'accuracy = secs:1, millisecs:0, microsecs:0',
      'clock_precision_digits = 0',
      'ordering = no',
      'tsa_name = yes',
      'ess_cert_id_chain = no',
      'ess_cert_id_alg = sha256',
      '',
    ].join('\n'),
  );
  return files;
}

/** A self-signed root CA (RSA 2048) made with `openssl req -x509`, with its own request config (not the system one). */
export async function createCa(certFile: string, keyFile: string, subject: string): Promise<void> {
  mkdirSync(dirname(certFile), { recursive: true });
  const config = `${certFile.replace(/\.pem$/, '')}.req.cnf`;
  await writeFile(
    config,
    [
      '[ req ]',
      'distinguished_name = dn',
      'x509_extensions = v3_ca',
      'prompt = no',
      '[ dn ]',
      '[ v3_ca ]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always',
      '',
    ].join('\n'),
  );
  await run('openssl', [
    'req',
    '-config',
    config,
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '3650',
    '-subj',
    subject,
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  await rm(config, { force: true });
}

/** An end-entity certificate (RSA 2048) issued by a CA made with `createCa`, with the given extension lines. */
export async function issueCertificate(opts: {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
  subject: string;
  extensions: readonly string[];
  days?: number;
}): Promise<void> {
  const base = opts.cert.replace(/\.pem$/, '');
  const csr = `${base}.csr`;
  const ext = `${base}.ext.cnf`;
  await writeFile(ext, ['[ req ]', 'distinguished_name = dn', 'prompt = no', '[ dn ]', '[ leaf ]', ...opts.extensions, ''].join('\n'));
  await run('openssl', [
    'req',
    '-config',
    ext,
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    opts.subject,
    '-keyout',
    opts.key,
    '-out',
    csr,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    opts.caCert,
    '-CAkey',
    opts.caKey,
    '-set_serial',
    `0x${randomSerial()}`,
    '-days',
    String(opts.days ?? 825),
    '-sha256',
    '-extfile',
    ext,
    '-extensions',
    'leaf',
    '-out',
    opts.cert,
  ]);
  await rm(csr, { force: true });
  await rm(ext, { force: true });
}

/** 128 random bits, positive and without a leading zero byte. */
function randomSerial(): string {
  return `4${randomBytes(16).toString('hex').slice(1)}`;
}
