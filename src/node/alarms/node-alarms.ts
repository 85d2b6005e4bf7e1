import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { NodeConfig } from '../../config/config-types.js';
import type { CertificateInventory } from '../certificates/certificate-inventory.js';
import type { MessageLog } from '../../log/message-log.js';
import type { QueueDepth } from '../../queue/work-queue.js';
import type { AlarmMetrics } from '../metrics/alarm-metrics.js';
import { LoggedAlarmBoard, type VerificationOutcome } from './alarm-board.js';
import { AlarmEvaluator } from './alarm-evaluator.js';
import { alarmChannels } from './notifications/alarm-channels.js';
import { AlarmNotifier } from './notifications/alarm-notifier.js';
import type { PeerOutcomes } from './peer-outcomes.js';
import { backlogRule } from './rules/backlog-rule.js';
import { certificateExpiringRule } from './rules/certificate-expiring-rule.js';
import { checkpointLagRule } from './rules/checkpoint-lag-rule.js';
import { peerFailingRule } from './rules/peer-failing-rule.js';
import { stuckMessagesRule } from './rules/stuck-messages-rule.js';
import { tsaFailingRule } from './rules/tsa-failing-rule.js';
import type { AlarmRuleCheck } from './rules/alarm-rule-check.js';
import { stuckAfterMsFor } from './stuck-threshold.js';

export interface NodeAlarmsDeps {
  readonly config: NodeConfig;
  readonly messageLog: MessageLog;
  readonly certificates: CertificateInventory;
  readonly deliverQueue: { depth(now: number): Promise<QueueDepth> };
  readonly peerOutcomes: PeerOutcomes;
  readonly metrics: AlarmMetrics;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * A node's alarms put together from its configuration (`alarms`): the board over the log store, the
 * rules with their thresholds, the evaluator's timer, and the notification channels.
 */
export class NodeAlarms {
  readonly board: LoggedAlarmBoard;
  readonly evaluator: AlarmEvaluator;
  private readonly notifier: AlarmNotifier;

  constructor(deps: NodeAlarmsDeps) {
    const { config, messageLog, clock, log } = deps;
    const a = config.alarms;
    this.notifier = new AlarmNotifier({
      channels: alarmChannels(config),
      node: { name: config.node.name, pdd: config.node.pdd },
      log,
      counted: (channel, outcome) => deps.metrics.notified(channel, outcome),
    });
    this.board = new LoggedAlarmBoard({
      store: messageLog.store,
      operatorActions: messageLog,
      notify: (event, alarm) => this.notifier.notify(event, alarm),
      clock,
      log,
    });
    const rules: AlarmRuleCheck[] = [
      stuckMessagesRule({
        messageCounts: () => messageLog.store.messageCounts(),
        thresholdMs: (service) => stuckAfterMsFor(config, service),
      }),
      backlogRule(deps.deliverQueue, a.backlogJobs),
      peerFailingRule(deps.peerOutcomes, a.peerFailingMinutes),
      certificateExpiringRule(deps.certificates, a.certificateDays),
      checkpointLagRule(messageLog.store, a.checkpointLagRecords, a.checkpointLagMinutes),
      tsaFailingRule(config.log.tsa?.url, () => messageLog.tsaStatus()),
    ];
    this.evaluator = new AlarmEvaluator({
      board: this.board,
      rules,
      everyMs: a.evaluateEverySeconds * 1000,
      remindEveryMs: a.remindEveryMinutes * 60_000,
      clock,
      log,
    });
  }

  start(): void {
    this.evaluator.start();
  }

  /** A log verification's outcome, from whoever ran it: raises or clears log-verification-failed. */
  async verified(outcome: VerificationOutcome): Promise<void> {
    await this.board.verificationOutcome(outcome);
  }

  /** Stops the timer, lets the round and the notifications in flight finish, closes the channels. */
  async stop(): Promise<void> {
    await this.evaluator.stop();
    await this.notifier.idle();
    await this.notifier.close();
  }
}
