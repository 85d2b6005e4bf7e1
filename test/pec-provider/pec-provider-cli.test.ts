/**
 * `tramite pec-provider` as a user runs it (the compiled CLI, built by `npm test`'s pretest): it makes
 * its PKI in --dir, starts Dovecot and the SMTP server, prints where they are, certifies a message,
 * and stops cleanly (exit status 0) on SIGTERM.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePecMessage } from '../../adapters/pec/pec-message.js';
import { TrustStore } from '../../src/crypto/trust-store.js';
import { CLI, runCli } from '../cli/run-cli.js';

interface Started {
  readonly smtp: { host: string; port: number; tlsCertificate: string };
  readonly imap: { host: string; port: number };
  readonly providerCa: string;
  readonly mailboxes: Array<{ address: string; password: string }>;
}

const dir = mkdtempSync(join(tmpdir(), 'tramite-pec-provider-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the command until its JSON line appears. */
function startCli(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; info: Started; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'pec-provider', '--json', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) resolve({ child, info: JSON.parse(line) as Started, stderr: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`pec-provider exited with ${code} before starting: ${stderr}`)));
  });
}

describe('tramite pec-provider', () => {
  it('runs a provider: prints endpoints, certifies a submitted message, stops on SIGTERM', async () => {
    const { child, info, stderr } = await startCli([
      '--dir',
      dir,
      '--domain',
      'pec.example.it',
      '--mailbox',
      'a@pec.example.it:pw a',
      '--mailbox',
      'b@pec.example.it:p:w',
      '--warn-after',
      '1h',
      '--fail-after',
      '2h',
    ]);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      expect(info.mailboxes).toEqual([
        { address: 'a@pec.example.it', password: 'pw a' },
        { address: 'b@pec.example.it', password: 'p:w' },
      ]);
      expect(info.providerCa).toBe(join(dir, 'ca.cert.pem'));

      const sent = await nodemailer
        .createTransport({
          host: info.smtp.host,
          port: info.smtp.port,
          requireTLS: true,
          tls: { ca: [readFileSync(info.smtp.tlsCertificate)] },
          auth: { user: 'a@pec.example.it', pass: 'pw a' },
        })
        .sendMail({ from: 'a@pec.example.it', to: 'b@pec.example.it', subject: 'Dalla CLI', text: 'prova' });

      const trust = TrustStore.fromPem(readFileSync(info.providerCa, 'utf8'));
      const kindsIn = async (user: string, pass: string) => {
        const client = new ImapFlow({
          host: info.imap.host,
          port: info.imap.port,
          secure: false,
          doSTARTTLS: false,
          auth: { user, pass },
          logger: false,
        });
        await client.connect();
        const found: string[] = [];
        try {
          if ((await client.mailboxOpen('INBOX')).exists > 0) {
            for await (const msg of client.fetch('1:*', { source: true })) {
              const pec = await parsePecMessage(msg.source!, { trust });
              if (pec.riferimentoMessageId === sent.messageId && pec.signature.status === 'valid') found.push(pec.kind);
            }
          }
        } finally {
          await client.logout();
        }
        return found.sort();
      };
      await expect
        .poll(() => kindsIn('a@pec.example.it', 'pw a'), { timeout: 15_000, interval: 200 })
        .toEqual(['accettazione', 'avvenuta-consegna']);
      expect(await kindsIn('b@pec.example.it', 'p:w')).toEqual(['posta-certificata']);
      expect(stderr()).toContain('issued avvenuta-consegna for b@pec.example.it into a@pec.example.it');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // The PKI stays for the next run.
    expect(existsSync(join(dir, 'provider.cert.pem'))).toBe(true);
    expect(stderr()).not.toMatch(/^error /m);
  });

  it('refuses a malformed --mailbox or duration with status 2, starting nothing', async () => {
    const bad = await runCli(['pec-provider', '--dir', dir, '--domain', 'pec.example.it', '--mailbox', 'senza-password@pec.example.it']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected address:password');
    const duration = await runCli([
      'pec-provider',
      '--dir',
      dir,
      '--domain',
      'pec.example.it',
      '--mailbox',
      'a@pec.example.it:x',
      '--warn-after',
      '12 ore',
    ]);
    expect(duration.code).toBe(2);
    expect(duration.stderr).toContain('--warn-after "12 ore"');
  });
});
