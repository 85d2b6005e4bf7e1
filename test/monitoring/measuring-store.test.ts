/**
 * The measuring store over a real message log (SQLite): the changes of state the delivery and dispatch
 * workers record are what the counters count — attempts, failures by code (retry or final), the
 * latency from created to DELIVERED — with the peer and hand-over target the labels name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { inboundKey, outboundKey } from '../../src/core/message-record.js';
import { DeliveryMetrics } from '../../src/node/metrics/delivery-metrics.js';
import { MeasuringStore } from '../../src/node/metrics/measuring-store.js';
import { messageLog, newStoreSite, sampleEnvelope, sampleMessage, SteppingClock } from '../log/log-fixtures.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function measured() {
  const site = await newStoreSite('sqlite');
  cleanups.push(() => site.dispose());
  const clock = new SteppingClock();
  const log = messageLog(await site.open(), { clock });
  cleanups.push(() => log.close());
  const registry = new Registry();
  const store = new MeasuringStore(log, new DeliveryMetrics(registry), {
    peerOf: (party) => (party === 'SPC/Regione' ? 'regione' : 'local'),
    dispatchTarget: (_party, service) => (service === 'Protocollo' ? 'adapter:protocollo' : 'back_office'),
  });
  /** A sample's value: `name` is the sample's (a histogram's `_sum`, `_count`), its metric the name without them. */
  const value = async (name: string, labels: Record<string, string>): Promise<number | undefined> => {
    const metric = registry.getSingleMetric(name.replace(/_(sum|count)$/, ''))!;
    return (await metric.get()).values.find(
      (v: { metricName?: string; labels: Record<string, unknown> }) =>
        (v.metricName ?? name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
    )?.value;
  };
  return { clock, store, value };
}

/** Outbound message `M-n` from a Comune to the Regione (a peer), ACCEPTED. */
const toRegione = (n: number, clock: SteppingClock) =>
  sampleMessage(n, clock, {
    id: `M-${n}`,
    direction: 'out',
    status: 'ACCEPTED',
    from: 'SPC/ComuneA',
    to: 'SPC/Regione',
    service: 'Anagrafe',
  });

describe('MeasuringStore', () => {
  it('counts an attempt per attempts change, a failed attempt by code and outcome, and the latency to DELIVERED', async () => {
    const { clock, store, value } = await measured();
    const rec = toRegione(1, clock);
    await store.create(rec, sampleEnvelope(rec.id));
    await store.transition(outboundKey('M-1'), { status: 'SENDING', attempts: 1 });
    await store.transition(outboundKey('M-1'), { status: 'SENDING', error: { code: 'TRAMITE_ERR_PEER_UNREACHABLE', message: 'refused' } });
    await store.transition(outboundKey('M-1'), { status: 'SENDING', attempts: 2 });
    await store.transition(outboundKey('M-1'), { status: 'DELIVERED', error: undefined });
    const delivered = await store.get(outboundKey('M-1'));
    expect(await value('tramite_delivery_attempts_total', { peer: 'regione', service: 'Anagrafe' })).toBe(2);
    expect(
      await value('tramite_delivery_failures_total', { peer: 'regione', code: 'TRAMITE_ERR_PEER_UNREACHABLE', outcome: 'retry' }),
    ).toBe(1);
    const seconds = (Date.parse(delivered!.updatedAt) - Date.parse(delivered!.createdAt)) / 1000;
    expect(seconds).toBeGreaterThan(0);
    expect(await value('tramite_delivery_latency_seconds_sum', { service: 'Anagrafe' })).toBeCloseTo(seconds, 6);
    expect(await value('tramite_delivery_latency_seconds_count', { service: 'Anagrafe' })).toBe(1);

    const refused = toRegione(2, clock);
    await store.create(refused, sampleEnvelope(refused.id));
    await store.transition(outboundKey('M-2'), { status: 'FAILED', error: { code: 'EGOV_IT_104', message: 'unknown service' } });
    expect(await value('tramite_delivery_failures_total', { peer: 'regione', code: 'EGOV_IT_104', outcome: 'final' })).toBe(1);
    // Still one DELIVERED: a FAILED message adds no latency.
    expect(await value('tramite_delivery_latency_seconds_count', { service: 'Anagrafe' })).toBe(1);
  });

  it('counts no attempt for a conditional change that was not made, but the failure an attempt met all the same', async () => {
    const { clock, store, value } = await measured();
    const rec = toRegione(3, clock);
    await store.create(rec, sampleEnvelope(rec.id));
    await store.transition(outboundKey('M-3'), { status: 'DELIVERED' });
    // Another attempt settled the message: a late attempt's SENDING is not made, and no attempt is counted.
    expect(await store.transitionIf(outboundKey('M-3'), ['ACCEPTED', 'SENDING'], { status: 'SENDING', attempts: 1 })).toBeUndefined();
    expect(await value('tramite_delivery_attempts_total', { peer: 'regione', service: 'Anagrafe' })).toBeUndefined();
    // An attempt that was under way and failed: its error is not logged on the delivered message, yet the failure happened.
    const failed = { status: 'SENDING' as const, error: { code: 'TRAMITE_ERR_PEER_UNREACHABLE', message: 'late' } };
    expect(await store.transitionIf(outboundKey('M-3'), ['ACCEPTED', 'SENDING'], failed)).toBeUndefined();
    expect(
      await value('tramite_delivery_failures_total', { peer: 'regione', code: 'TRAMITE_ERR_PEER_UNREACHABLE', outcome: 'retry' }),
    ).toBe(1);
    expect((await store.get(outboundKey('M-3')))!.error).toBeUndefined();
    // Made: counted as any change.
    expect(await store.transitionIf(outboundKey('M-3'), ['DELIVERED'], { attempts: 2 })).toMatchObject({ status: 'DELIVERED' });
    expect(await value('tramite_delivery_attempts_total', { peer: 'regione', service: 'Anagrafe' })).toBe(1);
  });

  it('counts failed hand-overs of inbound messages by party, target and code', async () => {
    const { clock, store, value } = await measured();
    const inbound = sampleMessage(4, clock, {
      id: 'I-1',
      direction: 'in',
      status: 'RECEIVED',
      from: 'SPC/Regione',
      to: 'SPC/ComuneA',
      service: 'Protocollo',
    });
    await store.create(inbound, sampleEnvelope(inbound.id));
    await store.transition(inboundKey('I-1', 'SPC/Regione'), { error: { code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE', message: 'down' } });
    await store.transition(inboundKey('I-1', 'SPC/Regione'), { status: 'DISPATCHED', error: undefined });
    expect(
      await value('tramite_dispatch_failures_total', {
        party: 'SPC/ComuneA',
        target: 'adapter:protocollo',
        code: 'TRAMITE_ERR_ADAPTER_UNAVAILABLE',
      }),
    ).toBe(1);
    // An inbound message is not a delivery.
    expect(await value('tramite_delivery_attempts_total', {})).toBeUndefined();
  });
});
