/**
 * Certificates with chosen validity dates — expiring in a few days, or already expired — made by the
 * openssl CLI (`openssl ca` with -startdate/-enddate, which `openssl x509 -days` cannot do backwards),
 * each in a throwaway CA database. The keys are made by openssl too.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DAY_MS = 86_400_000;

export interface DatedCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface DatedCertificateOptions {
  /** Folder the certificate and key are written to, as `<name>.cert.pem` and `<name>.key.pem`. */
  readonly dir: string;
  readonly name: string;
  /** openssl -subj syntax, e.g. `/C=IT/O=SPC/CN=ComuneA`. */
  readonly subject: string;
  /** notAfter, in days from now (negative: already expired); notBefore is always well before. */
  readonly expiresInDays: number;
  /** The issuer's certificate and key; absent: self-signed. */
  readonly issuer?: DatedCertificate;
  /** A CA certificate (basicConstraints CA:TRUE, keyCertSign) rather than a signer. */
  readonly ca?: boolean;
}

export function issueDated(opts: DatedCertificateOptions): DatedCertificate {
  const work = mkdtempSync(join(tmpdir(), 'tramite-dated-cert-'));
  const f = (name: string): string => join(work, name);
  const certFile = join(opts.dir, `${opts.name}.cert.pem`);
  const keyFile = join(opts.dir, `${opts.name}.key.pem`);
  try {
    writeFileSync(f('index.txt'), '');
    writeFileSync(
      f('ca.cnf'),
      [
        '[ca]',
        'default_ca = dated',
        '[dated]',
        `database = ${f('index.txt')}`,
        `new_certs_dir = ${work}`,
        'default_md = sha256',
        'policy = any',
        'unique_subject = no',
        'rand_serial = yes',
        '[any]',
        'countryName = optional',
        'organizationName = optional',
        'commonName = supplied',
        '[ext]',
        ...(opts.ca
          ? ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign']
          : ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature, nonRepudiation']),
        '',
      ].join('\n'),
    );
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyFile], { stdio: 'pipe' });
    execFileSync('openssl', ['req', '-new', '-key', keyFile, '-subj', opts.subject, '-out', f('req.pem')], { stdio: 'pipe' });
    const now = Date.now();
    execFileSync(
      'openssl',
      [
        'ca',
        '-batch',
        '-notext',
        '-config',
        f('ca.cnf'),
        '-extensions',
        'ext',
        '-in',
        f('req.pem'),
        '-out',
        certFile,
        '-startdate',
        generalizedTime(now - 30 * DAY_MS),
        '-enddate',
        generalizedTime(now + opts.expiresInDays * DAY_MS),
        ...(opts.issuer ? ['-cert', opts.issuer.certFile, '-keyfile', opts.issuer.keyFile] : ['-selfsign', '-keyfile', keyFile]),
      ],
      { stdio: 'pipe' },
    );
    return { certFile, keyFile };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** YYYYMMDDHHMMSSZ, as openssl ca's -startdate and -enddate take it. */
function generalizedTime(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}
