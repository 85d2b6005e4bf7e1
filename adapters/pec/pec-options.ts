/**
 * The PEC adapter's options, as configured for one hosted party that owns one PEC mailbox, and what
 * `start` makes of them: passwords and certificates read from their files (relative paths against the
 * adapter's data folder). Passwords live only in memory, in the returned settings; nothing here logs.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '../../src/core/errors.js';
import { TrustStore, certificatesFromPem } from '../sdk/index.js';
import { PEC_ADDRESS } from '../sdk/index.js';

export interface PecServerOptions {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS from the first byte (SMTPS 465, IMAPS 993); otherwise STARTTLS. */
  readonly secure: boolean;
  /** Refuse to authenticate unless the connection is encrypted (STARTTLS on a plain port). */
  readonly requireTLS: boolean;
  readonly user: string;
  readonly passwordFile: string;
}

export interface PecOptions {
  /** The party's PEC address: the From of everything sent. */
  readonly address: string;
  readonly smtp: PecServerOptions;
  readonly imap: PecServerOptions;
  readonly tls: { readonly caFile?: string; readonly rejectUnauthorized: boolean };
  /** PEM files of the provider CAs whose certificates sign receipts and buste (S/MIME). */
  readonly providerCaFiles: readonly string[];
  readonly pollMs: number;
  readonly acceptSha1: boolean;
  readonly receiptService: string;
  readonly inboundService: string;
  readonly quarantineFolder: string;
  /** Largest mailbox message fetched, by its IMAP RFC822.SIZE; larger ones are quarantined unread. */
  readonly maxMessageBytes: number;
  /** The lease that lets one node process at a time read the mailbox. */
  readonly readerLease: { readonly ttlMs: number; readonly renewMs: number };
}

const SERVICE_PATTERN = '^[A-Za-z0-9_]+$';

const server = (what: 'smtp' | 'imap') =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['host', 'port', 'user', 'passwordFile'],
    description:
      what === 'smtp'
        ? "The provider's SMTP submission server (authenticated): where messages are sent."
        : "The provider's IMAP server: where receipts and incoming buste are read.",
    properties: {
      host: { type: 'string', minLength: 1, description: 'Host name or IP address.' },
      port: {
        type: 'integer',
        minimum: 1,
        maximum: 65535,
        description: what === 'smtp' ? 'TCP port (465 with secure, 587 with STARTTLS).' : 'TCP port (993 with secure, 143 with STARTTLS).',
      },
      secure: {
        type: 'boolean',
        default: false,
        description: 'Implicit TLS from the first byte; false: plain connection upgraded with STARTTLS.',
      },
      requireTLS: {
        type: 'boolean',
        default: true,
        description:
          'With secure false: refuse to go on (and to send the password) unless the server upgrades the connection with STARTTLS.',
      },
      user: { type: 'string', minLength: 1, description: 'Login name (usually the PEC address).' },
      passwordFile: {
        type: 'string',
        minLength: 1,
        description:
          'File holding the password (one line; a trailing newline is ignored). Read at start, never logged. Relative: to the adapter data folder.',
      },
    },
  }) as const;

export const pecOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'smtp', 'imap', 'providerCaFiles'],
  properties: {
    address: {
      type: 'string',
      pattern: PEC_ADDRESS.source,
      description: "The party's PEC address: messages are sent from it, its mailbox is read.",
    },
    smtp: server('smtp'),
    imap: server('imap'),
    tls: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'TLS towards the SMTP and IMAP servers.',
      properties: {
        caFile: {
          type: 'string',
          minLength: 1,
          description: "PEM file of extra CAs to trust for the servers' certificates (a private CA), besides the system roots.",
        },
        rejectUnauthorized: {
          type: 'boolean',
          default: true,
          description: 'Refuse a server certificate that does not verify. Only ever false on a test bench.',
        },
      },
    },
    providerCaFiles: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      description: 'PEM files of the PEC provider CAs trusted to sign receipts and buste (S/MIME); anything else is quarantined.',
    },
    pollMs: { type: 'integer', minimum: 50, maximum: 3_600_000, default: 5000, description: 'Pause between two reads of the mailbox, ms.' },
    acceptSha1: {
      type: 'boolean',
      default: false,
      description: 'Accept provider signatures made with SHA-1 (some providers still sign that way).',
    },
    receiptService: {
      type: 'string',
      pattern: SERVICE_PATTERN,
      default: 'RicevutaPEC',
      description: 'Bus service receipts (pec:Ricevuta) are sent on, to the party itself.',
    },
    inboundService: {
      type: 'string',
      pattern: SERVICE_PATTERN,
      default: 'MessaggioPEC',
      description: 'Bus service incoming PEC messages (pec:MessaggioPEC) are sent on, to the party itself.',
    },
    quarantineFolder: {
      type: 'string',
      minLength: 1,
      default: 'Quarantena',
      description: 'IMAP folder unsigned, badly signed, untrusted or malformed provider messages are moved to (created when missing).',
    },
    maxMessageBytes: {
      type: 'integer',
      minimum: 1024,
      maximum: 200 * 1024 * 1024,
      default: 32 * 1024 * 1024,
      description:
        'Largest mailbox message the adapter fetches, in bytes, judged by the size the IMAP server states (RFC822.SIZE) before a byte of it is read: a message is fetched whole into memory, so a larger one is quarantined unread, with its size as the reason. Default 33554432 (32 MiB): above what providers let through for most mailboxes, and what a node holds without strain; raise it (up to 200 MiB) for a mailbox that receives larger ones.',
    },
    readerLease: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'When several node processes run this adapter on one store (log.store postgres), one of them at a time reads the mailbox and sends what it produced: the holder of this lease. It renews the lease every renewMs; a holder that dies leaves it to expire after ttlMs, and another process takes over from the mailbox cursor. Sending (InvioPEC) is done by any process.',
      properties: {
        ttlMs: {
          type: 'integer',
          minimum: 500,
          maximum: 600_000,
          default: 30_000,
          description:
            'How long the lease lasts unless renewed, ms: the longest the mailbox goes unread after its reader dies. Above renewMs.',
        },
        renewMs: {
          type: 'integer',
          minimum: 100,
          maximum: 300_000,
          default: 10_000,
          description:
            'How often the reader renews the lease (and a standby process tries to take it), ms. At most a third of ttlMs is sane.',
        },
      },
    },
  },
} as const;

/** What `start` reads from the option's files. */
export interface PecSettings {
  readonly smtpPassword: string;
  readonly imapPassword: string;
  /** CAs for the servers' TLS certificates: the system roots plus `tls.caFile`. */
  readonly serverCa: readonly string[] | undefined;
  /** The provider CAs, for S/MIME signatures. */
  readonly providerTrust: TrustStore;
}

/** Reads passwords and certificates; a missing or unreadable file is a ConfigError naming the option. */
export async function loadPecSettings(options: PecOptions, dataDir: string): Promise<PecSettings> {
  const { ttlMs, renewMs } = options.readerLease;
  if (renewMs >= ttlMs) {
    throw new ConfigError(
      'TRAMITE_ERR_CONFIG_INVALID',
      `pec option readerLease.renewMs (${renewMs}) must be below readerLease.ttlMs (${ttlMs}), or the lease runs out between renewals: lower renewMs to a third of ttlMs`,
      { field: 'readerLease.renewMs' },
    );
  }
  const read = async (file: string, field: string): Promise<string> => {
    const path = isAbsolute(file) ? file : resolve(dataDir, file);
    try {
      return await readFile(path, 'utf8');
    } catch (cause) {
      throw new ConfigError(
        'TRAMITE_ERR_CONFIG_INVALID',
        `pec option ${field}: cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`,
        { cause, field },
      );
    }
  };
  // Only the one line terminator an editor adds is dropped: spaces may belong to the password.
  const password = async (file: string, field: string) => (await read(file, field)).replace(/\r?\n$/, '');
  const smtpPassword = await password(options.smtp.passwordFile, 'smtp.passwordFile');
  const imapPassword = await password(options.imap.passwordFile, 'imap.passwordFile');
  if (!smtpPassword || !imapPassword) {
    throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `pec option ${smtpPassword ? 'imap' : 'smtp'}.passwordFile: the file is empty`, {
      field: `${smtpPassword ? 'imap' : 'smtp'}.passwordFile`,
    });
  }
  let serverCa: string[] | undefined;
  if (options.tls.caFile) {
    const pem = await read(options.tls.caFile, 'tls.caFile');
    certificatesFromPem(pem, 'tls.caFile'); // refuses a file with no certificate, now rather than at the first handshake
    // Node's `ca` replaces the system roots; a private CA is meant to be added to them.
    serverCa = [...rootCertificates, pem];
  }
  const providerPems: string[] = [];
  for (const [i, file] of options.providerCaFiles.entries()) {
    const pem = await read(file, `providerCaFiles.${i}`);
    certificatesFromPem(pem, `providerCaFiles.${i}`);
    providerPems.push(pem);
  }
  return { smtpPassword, imapPassword, serverCa, providerTrust: TrustStore.fromPem(providerPems) };
}

/** The domain of an address (what Message-IDs are made under). */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
