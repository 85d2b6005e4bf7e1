/** The TLS material of a private Dovecot serving IMAPS: a self-signed certificate for localhost and 127.0.0.1. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DovecotTls {
  readonly cert: string;
  readonly key: string;
  /** The certificate (PEM): the client trusts it as its CA. */
  readonly pem: string;
}

/** Makes an EC P-256 key and a 7-day self-signed certificate in `dir` with the openssl CLI. */
export async function makeDovecotTls(dir: string): Promise<DovecotTls> {
  const cert = join(dir, 'tls-cert.pem');
  const key = join(dir, 'tls-key.pem');
  await run(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert],
      ...['-days', '7', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    ],
    { cwd: dir, timeout: 30_000 },
  );
  return { cert, key, pem: readFileSync(cert, 'utf8') };
}
