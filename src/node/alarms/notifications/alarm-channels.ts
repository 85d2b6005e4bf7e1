import type { NodeConfig } from '../../../config/config-types.js';
import type { AlarmChannel } from './alarm-channel.js';
import { AlarmEmail } from './alarm-email.js';
import { AlarmWebhook } from './alarm-webhook.js';

/** The channels `alarms.webhook` and `alarms.email` configure (none, one or both); their secrets are read now. */
export function alarmChannels(config: Pick<NodeConfig, 'alarms'>): AlarmChannel[] {
  const a = config.alarms;
  return [...(a.webhook ? [new AlarmWebhook(a.webhook)] : []), ...(a.email ? [new AlarmEmail(a.email)] : [])];
}
