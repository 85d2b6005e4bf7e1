import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import { TramiteError } from '../../../core/errors.js';
import type { NodeConfig } from '../../../config/config-types.js';
import type { AlarmEvent } from '../alarm.js';
import type { AlarmChannel, AlarmNotice } from './alarm-channel.js';

const EVENT_WORDS: Record<AlarmEvent, string> = {
  raised: 'sollevato',
  reminder: 'ancora attivo',
  acknowledged: 'preso in carico',
  cleared: 'rientrato',
};

/** The subject line: node, event, rule and subject, in Italian. */
export function alarmSubject(n: AlarmNotice): string {
  const level = n.alarm.severity === 'critical' ? 'CRITICO' : 'avviso';
  return `[Tramite ${n.node.name}] Allarme ${EVENT_WORDS[n.event]} (${level}): ${n.alarm.rule} — ${n.alarm.subject}`;
}

/** The body: the facts, one per line, and the alarm as JSON for whoever files it. */
export function alarmText(n: AlarmNotice): string {
  const a = n.alarm;
  return [
    `Nodo: ${n.node.name} (${n.node.pdd})`,
    `Evento: ${EVENT_WORDS[n.event]}`,
    `Regola: ${a.rule}`,
    `Oggetto: ${a.subject}`,
    `Gravità: ${a.severity}`,
    `Stato: ${a.state}`,
    `Sollevato: ${a.raisedAt}`,
    ...(a.acknowledged
      ? [`Preso in carico: ${a.acknowledged.at} da ${a.acknowledged.by.name}${a.acknowledged.note ? ` (${a.acknowledged.note})` : ''}`]
      : []),
    ...(a.clearedAt ? [`Rientrato: ${a.clearedAt}`] : []),
    '',
    a.summary,
    '',
    `Identificativo: ${a.id}`,
    '',
    JSON.stringify(a, null, 2),
    '',
  ].join('\n');
}

/** Alarm events by e-mail through the configured SMTP server (nodemailer; STARTTLS whenever offered). */
export class AlarmEmail implements AlarmChannel {
  readonly name = 'email' as const;
  private readonly transport: ReturnType<typeof createTransport>;

  constructor(private readonly config: NonNullable<NodeConfig['alarms']['email']>) {
    const smtp = config.smtp;
    const password = smtp.passwordFile ? readFile(smtp.passwordFile, 'alarms.email.smtp.passwordFile').trim() : undefined;
    const ca = smtp.caFile ? readFile(smtp.caFile, 'alarms.email.smtp.caFile') : undefined;
    this.transport = createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.user ? { auth: { user: smtp.user, pass: password ?? '' } } : {}),
      ...(ca ? { tls: { ca: [ca] } } : {}),
      connectionTimeout: smtp.timeoutMs,
      greetingTimeout: smtp.timeoutMs,
      socketTimeout: smtp.timeoutMs,
    });
  }

  async send(notice: AlarmNotice): Promise<void> {
    try {
      await this.transport.sendMail({
        from: this.config.from,
        to: [...this.config.to],
        subject: alarmSubject(notice),
        text: alarmText(notice),
      });
    } catch (cause) {
      throw new TramiteError(
        'TRAMITE_ERR_ALARM_NOTIFICATION_FAILED',
        `alarm e-mail through ${this.config.smtp.host}:${this.config.smtp.port}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

function readFile(file: string, field: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TramiteError('TRAMITE_ERR_CONFIG_UNREADABLE', `config ${field}: cannot read ${file}`, { cause });
  }
}
