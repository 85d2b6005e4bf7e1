import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.js';
import { MessageLog } from '../../log/message-log.js';
import { openLogStore } from '../../log/open-log-store.js';
import { QueueProducer, type WorkItem } from '../../queue/work-queue.js';
import { attachRedis } from '../../queue/redis-connection.js';
import { servicePolicy } from '../../queue/retry-policy.js';
import { deliveryJob } from '../../node/delivery/delivery-schedule.js';
import { resendFailed } from '../../node/submission/resend.js';
import { systemClock } from '../../core/clock.js';
import { printJson, reportError } from '../cli-output.js';
import { DEFAULT_HOME } from './start.js';
import { Deadline } from '../../core/deadline.js';

export function registerMessagesCommand(program: Command): void {
  const messages = program.command('messages').description("operators' tools for a node's messages");
  messages
    .command('resend')
    .description(
      'send a FAILED outbound message again: a new attempt with the same id (the node picks it up from its queue, or at its next start)',
    )
    .argument('<id>', 'message id')
    .option('--config <tramite.json>', 'the node configuration', `${DEFAULT_HOME}/tramite.json`)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { config: string; json?: boolean }) => {
      let log: MessageLog | undefined;
      let producer: QueueProducer<WorkItem> | undefined;
      let redis: Awaited<ReturnType<typeof attachRedis>>;
      try {
        const config = loadConfig(resolve(opts.config));
        log = new MessageLog({ store: await openLogStore(config.log), node: config.node.pdd, clock: systemClock });
        let queued = false;
        // The node's own resend: the log first, so even if the queue cannot be reached now, the node's
        // start-up reconciliation sends it; then the deliver queue, when its Redis answers.
        const next = await resendFailed(
          {
            store: log,
            schedule: async (rec) => {
              redis = await attachRedis({ ...(config.queue.redisUrl ? { url: config.queue.redisUrl } : {}), dataDir: config.node.dataDir });
              if (!redis) return;
              producer = new QueueProducer<WorkItem>('deliver', redis.connection, `tramite:${config.node.pdd}`);
              const service = config.services.find((s) => s.provider === rec.to && s.name === rec.service);
              await producer.enqueue(deliveryJob(rec, servicePolicy(config.queue.retry, service?.retry)));
              queued = true;
            },
          },
          id,
          // The log names who resent it: here, the account that ran the command on the node's host.
          { by: { role: 'operator', name: `cli:${hostAccount()}` } },
        );
        if (opts.json) printJson({ id, status: next.status, queued });
        else
          process.stdout.write(
            `message ${id} is ACCEPTED again; ${queued ? 'queued for delivery' : 'the node sends it when it next starts'}\n`,
          );
      } catch (err) {
        reportError(err);
      } finally {
        await producer?.close(Deadline.in(5000));
        await log?.close();
        await redis?.close();
      }
    });
}

/** The account running the command (a uid without a passwd entry, as in some containers, is named by its number). */
function hostAccount(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}
