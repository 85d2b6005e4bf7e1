import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { TramiteError } from '../../../core/errors.js';
import type { NodeConfig } from '../../../config/config-types.js';
import { signWebhook } from '../../notification/status-notifier.js';
import type { AlarmChannel, AlarmNotice } from './alarm-channel.js';

/** The first retry waits this long; each next one twice as long. */
const FIRST_RETRY_MS = 1000;
const MIN_SECRET_CHARS = 16;

/**
 * POSTs `{ event, alarm, node }` as JSON to `alarms.webhook.url`, up to `attempts` times (1 s, 2 s, 4 s…
 * apart) until it answers 2xx. With a secretFile the body is signed as the status webhooks are:
 * `x-tramite-timestamp` (Unix seconds) and `x-tramite-signature: sha256=<hex HMAC-SHA256(secret,
 * timestamp + "." + body)>`, so a receiver checks one scheme for both.
 */
export class AlarmWebhook implements AlarmChannel {
  readonly name = 'webhook' as const;
  private readonly secret: string | undefined;

  constructor(
    private readonly config: NonNullable<NodeConfig['alarms']['webhook']>,
    // Unref'd: a retry pending never keeps a stopping process alive (the alarm is on the board anyway).
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
  ) {
    this.secret = config.secretFile ? readSecret(config.secretFile) : undefined;
  }

  async send(notice: AlarmNotice): Promise<void> {
    const body = JSON.stringify(notice);
    let last: unknown;
    for (let attempt = 1; attempt <= this.config.attempts; attempt++) {
      if (attempt > 1) await this.sleep(FIRST_RETRY_MS * 2 ** (attempt - 2));
      try {
        await this.post(body);
        return;
      } catch (err) {
        last = err;
      }
    }
    throw new TramiteError(
      'TRAMITE_ERR_ALARM_NOTIFICATION_FAILED',
      `alarm webhook ${this.config.url}: ${this.config.attempts} attempts failed, the last: ${(last as Error).message}`,
      { cause: last },
    );
  }

  private async post(body: string): Promise<void> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const res = await request(this.config.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.secret ? { 'x-tramite-timestamp': timestamp, 'x-tramite-signature': signWebhook(this.secret, timestamp, body) } : {}),
      },
      body,
      signal: AbortSignal.timeout(this.config.timeoutMs),
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300)
      throw new TramiteError('TRAMITE_ERR_ALARM_NOTIFICATION_FAILED', `answered HTTP ${res.statusCode}`);
  }
}

function readSecret(file: string): string {
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch (cause) {
    throw new TramiteError('TRAMITE_ERR_CONFIG_UNREADABLE', `config alarms.webhook.secretFile: cannot read ${file}`, { cause });
  }
  if (secret.length < MIN_SECRET_CHARS)
    throw new TramiteError(
      'TRAMITE_ERR_CONFIG_INVALID',
      `config alarms.webhook.secretFile: the secret is shorter than ${MIN_SECRET_CHARS} characters — fix: put a long random secret there (e.g. openssl rand -hex 32)`,
    );
  return secret;
}
