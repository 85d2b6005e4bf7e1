import type { Logger } from 'pino';
import { systemClock } from '../../core/clock.js';
import type { NodeConfig } from '../../config/config-types.js';
import type { LogStore } from '../../log/log-store.js';
import { MessageLog } from '../../log/message-log.js';
import { LoggedAlarmBoard, type VerificationOutcome } from './alarm-board.js';
import { alarmChannels } from './notifications/alarm-channels.js';
import { AlarmNotifier } from './notifications/alarm-notifier.js';

/**
 * A verification run outside the node (`tramite log verify --config`) reports to the node's board
 * through the log store itself: log-verification-failed is raised or cleared there — the node shows it
 * at once — and this process notifies through the configured channels when it made the change.
 */
export async function reportVerification(config: NodeConfig, store: LogStore, outcome: VerificationOutcome, log: Logger): Promise<void> {
  const notifier = new AlarmNotifier({
    channels: alarmChannels(config),
    node: { name: config.node.name, pdd: config.node.pdd },
    log,
    counted: () => undefined, // a CLI run has no metrics registry: the failures are logged
  });
  try {
    const board = new LoggedAlarmBoard({
      store,
      operatorActions: new MessageLog({ store, node: config.node.pdd, clock: systemClock }),
      notify: (event, alarm) => notifier.notify(event, alarm),
      clock: systemClock,
      log,
    });
    await board.verificationOutcome(outcome);
    await notifier.idle();
  } finally {
    await notifier.close();
  }
}
