/** The rules' judgements from their sources' figures: thresholds, per-service overrides, severities. */
import { describe, expect, it } from 'vitest';
import type { MessageCount } from '../../src/log/log-store.js';
import { PeerOutcomes } from '../../src/node/alarms/peer-outcomes.js';
import { backlogRule } from '../../src/node/alarms/rules/backlog-rule.js';
import { checkpointLagRule } from '../../src/node/alarms/rules/checkpoint-lag-rule.js';
import { peerFailingRule } from '../../src/node/alarms/rules/peer-failing-rule.js';
import { stuckMessagesRule } from '../../src/node/alarms/rules/stuck-messages-rule.js';
import { stuckAfterMsFor } from '../../src/node/alarms/stuck-threshold.js';

const NOW = new Date('2031-03-03T12:00:00.000Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

function group(service: string, state: string, count: number, oldestSecondsAgo: number): MessageCount {
  return { direction: 'out', from: 'SPC/A', to: 'SPC/B', service, state, count, oldestCreatedAt: ago(oldestSecondsAgo) };
}

describe('stuck-messages', () => {
  const config = {
    alarms: { stuckAfterSeconds: 900 },
    services: [{ name: 'Lento', stuckAfterSeconds: 7200 }],
    restServices: [],
  } as unknown as Parameters<typeof stuckAfterMsFor>[0];

  it('per service, with its own threshold when it has one; final states never count; critical past four thresholds', async () => {
    const rule = stuckMessagesRule({
      messageCounts: async () => [
        group('Anagrafe', 'ACCEPTED', 2, 1000),
        group('Anagrafe', 'SENDING', 1, 100),
        group('Lento', 'ACCEPTED', 5, 3600),
        group('Tributi', 'DELIVERED', 9, 99_999),
        group('Tributi', 'FAILED', 1, 99_999),
        group('Vecchio', 'RECEIVED', 1, 4000),
      ],
      thresholdMs: (s) => stuckAfterMsFor(config, s),
    });
    const found = await rule.check(NOW);
    expect(found.map((c) => [c.subject, c.severity])).toEqual([
      ['Anagrafe', 'warning'],
      ['Vecchio', 'critical'],
    ]);
    expect(found[0]!.facts).toMatchObject({ notFinal: 3, oldestAgeSeconds: 1000, thresholdSeconds: 900 });
  });
});

describe('backlog, peer-failing, checkpoint-lag', () => {
  it('backlog: over the threshold of waiting jobs only', async () => {
    const depth = (waiting: number) => ({ depth: async () => ({ waiting, delayed: 3, failed: 0, oldestWaitingSeconds: 12 }) });
    expect(await backlogRule(depth(1000), 1000).check(NOW)).toEqual([]);
    expect(await backlogRule(depth(1001), 1000).check(NOW)).toMatchObject([
      { subject: 'deliver', severity: 'warning', facts: { waiting: 1001 } },
    ]);
    expect(await backlogRule(depth(10_001), 1000).check(NOW)).toMatchObject([{ severity: 'critical' }]);
  });

  it('peer-failing: failing with no success for the minutes given; a success starts again', async () => {
    let t = NOW.getTime() - 20 * 60_000;
    const outcomes = new PeerOutcomes(() => t);
    outcomes.failed('regione', 'TRAMITE_ERR_PEER_UNREACHABLE');
    outcomes.succeeded('provincia');
    t = NOW.getTime() - 60_000;
    outcomes.failed('regione', 'TRAMITE_ERR_PEER_UNREACHABLE');
    outcomes.failed('provincia', 'TRAMITE_ERR_PEER_UNREACHABLE');
    expect(await peerFailingRule(outcomes, 15).check(NOW)).toMatchObject([{ subject: 'regione', facts: { failures: 2 } }]);
    outcomes.succeeded('regione');
    expect(await peerFailingRule(outcomes, 15).check(NOW)).toEqual([]);
  });

  it('checkpoint-lag: too many records, or records after a checkpoint too old', async () => {
    const source = (headSeq: number, cpSeq: number | undefined, minutesAgo = 0) => ({
      head: async () => ({ seq: headSeq }),
      latestCheckpoint: async () =>
        cpSeq === undefined
          ? undefined
          : ({ seq: cpSeq, time: ago(minutesAgo * 60), headHash: '', node: '', signerCert: '', signature: '' } as const),
    });
    expect(await checkpointLagRule(source(500, 100, 5), 1000, 60).check(NOW)).toEqual([]);
    expect(await checkpointLagRule(source(1200, 100, 5), 1000, 60).check(NOW)).toMatchObject([{ facts: { recordsSinceCheckpoint: 1100 } }]);
    expect(await checkpointLagRule(source(150, 100, 90), 1000, 60).check(NOW)).toMatchObject([{ facts: { minutesSinceCheckpoint: 90 } }]);
    expect(await checkpointLagRule(source(100, 100, 90), 1000, 60).check(NOW)).toEqual([]);
  });
});
