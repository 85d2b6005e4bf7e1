import { sqliteAdapterFolder } from '../../../adapters/sdk/store/sqlite-adapter-store.js';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import protocollo from '../../../adapters/protocollo/protocollo-adapter.js';
import type { ProtocolloOptions } from '../../../adapters/protocollo/protocollo-options.js';
import { checkAdapterConformance, type BusMessage } from '../../../adapters/sdk/index.js';

const AOO = { codiceAmministrazione: 'c_g141', codiceAOO: 'AOO_ORTONA', codiceRegistro: 'PROT', denominazione: 'Comune di Ortona' };
const message = (id: string, over: Partial<BusMessage> = {}): BusMessage => ({
  id,
  from: 'SPC/RegioneAbruzzo',
  to: 'SPC/EnteDiProva',
  service: 'ProtocolloInteroperabile',
  profile: 'oneway',
  action: 'ConfermaRicezione',
  payload: '<x xmlns="urn:t"/>',
  ...over,
});

describe('the protocollo adapter', () => {
  it('passes the conformance kit: options, lifecycle, typed final refusals of what it cannot take', async () => {
    const report = await checkAdapterConformance<ProtocolloOptions>(protocollo, {
      options: {
        aoo: AOO,
        service: 'ProtocolloInteroperabile',
        pecServices: { invio: 'InvioPEC', ricezione: 'MessaggioPEC' },
        listen: { host: '127.0.0.1', port: 0 },
      },
      invalidOptions: [
        { options: { aoo: { ...AOO, codiceRegistro: 'con spazi' } }, field: 'aoo.codiceRegistro' },
        { options: { aoo: { ...AOO, codiceAOO: undefined } }, field: 'aoo.codiceAOO' },
        { options: { aoo: AOO, listen: { port: 70000 } }, field: 'listen.port' },
      ],
      refused: [
        { message: message('not-protocollo'), retriable: false, code: '000_Irricevibile' },
        { message: message('sincrono', { profile: 'sincrono' }), retriable: false, code: 'TRAMITE_ERR_ADAPTER_REFUSED' },
        { message: message('unknown-action', { action: 'Saluta' }), retriable: false, code: 'TRAMITE_ERR_ADAPTER_REFUSED' },
      ],
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('answers its back-office API only to a caller with one of the configured tokens', async () => {
    const token = 'segreto-del-protocollo';
    const instance = await protocollo.setup({
      party: 'SPC/ComuneOrtona',
      options: {
        aoo: AOO,
        service: 'ProtocolloInteroperabile',
        pecServices: { invio: 'InvioPEC', ricezione: 'MessaggioPEC' },
        listen: { host: '127.0.0.1', port: 0, apiTokens: [`sha256:${createHash('sha256').update(token).digest('hex')}`] },
      },
      ...sqliteAdapterFolder(mkdtempSync(join(tmpdir(), 'tramite-prot-api-'))),
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      bus: {
        send: async () => Promise.reject(new Error('unused')),
        sendAndWait: async () => Promise.reject(new Error('unused')),
        answer: async () => Promise.reject(new Error('unused')),
        state: async () => undefined,
      },
      identity: undefined as never,
      trust: undefined as never,
      clock: { now: () => new Date() },
    });
    await instance.start();
    try {
      const url = `${(await instance.health()).detail!}/protocollo/registrazioni`;
      const anonymous = await request(url);
      expect(anonymous.statusCode).toBe(401);
      expect(((await anonymous.body.json()) as { error: { code: string } }).error.code).toBe('TRAMITE_ERR_UNAUTHENTICATED');
      const wrong = await request(url, { headers: { authorization: 'Bearer altro' } });
      await wrong.body.dump();
      expect(wrong.statusCode).toBe(401);
      const ok = await request(url, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.statusCode).toBe(200);
      expect(await ok.body.json()).toEqual({ registrazioni: [] });
    } finally {
      await instance.stop();
    }
  });
});
