/**
 * The sincrono stage checks the request's Scadenza again right before the inline hand-over: the log's
 * write between the reception's check and the hand-over may outlast it, and an expired request must not
 * reach the back office (SIATEL's simulator, like SIATEL, would count it on the day it arrives).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_XML_LIMITS } from '../../../envelopes/xml/hardened-xml.js';
import { EnvelopeError } from '../../../src/core/errors.js';
import type { AcceptedRequest } from '../../../src/node/reception/authorise.js';
import type { ReceptionDeps } from '../../../src/node/reception/reception-deps.js';
import { answerSincrono } from '../../../src/node/reception/sincrono.js';

const EXPIRES = '2026-12-07T10:00:00.000Z';

function stage(now: string) {
  const handedOver: string[] = [];
  const deps = {
    registry: { current: () => ({}) },
    clock: { now: () => new Date(now) },
    limits: DEFAULT_XML_LIMITS,
    dispatch: {
      hasReceiver: () => true,
      handOver: async (m: { id: string }) => {
        handedOver.push(m.id);
        return '<esito>ok</esito>';
      },
    },
  } as unknown as ReceptionDeps;
  const req = {
    id: 'ComuneOrtona_CSTChietiSPCoopIT_0000001_2026-12-07_10:59',
    from: 'SPC/ComuneOrtona',
    to: { code: 'SPC/AgenziaEntrate' },
    service: { name: 'InterrogazioneSIATEL' },
    profile: 'sincrono',
    confermaRicezione: false,
    expiresAt: EXPIRES,
  } as unknown as AcceptedRequest;
  return { deps, req, handedOver };
}

describe('a sincrono request at its hand-over', () => {
  it('is handed over while its Scadenza has not passed', async () => {
    const { deps, req, handedOver } = stage('2026-12-07T09:59:59.999Z');
    await expect(answerSincrono(deps, req, '<q/>')).resolves.toBe('<esito>ok</esito>');
    expect(handedOver).toEqual([req.id]);
  });

  it('is refused EGOV_IT_301, never handed over, once its Scadenza has passed', async () => {
    const { deps, req, handedOver } = stage('2026-12-07T10:00:00.001Z');
    const refused = await answerSincrono(deps, req, '<q/>').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(EnvelopeError);
    expect(refused).toMatchObject({ code: 'EGOV_IT_301' });
    expect(handedOver).toEqual([]);
  });
});
