/**
 * The protocollo adapter's register through its own back-office API, on both store engines: documents
 * registered, sealed and sent at once get numbers 1..n, each once, each in the Segnatura it sent; a
 * document received and handed over twice (at once, and again as a retry) is registered and archived
 * once, its files in the register's store byte for byte, read back by every instance. On
 * PostgreSQL two adapter instances share the place, as two node processes on two hosts do.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import protocollo from '../../../adapters/protocollo/protocollo-adapter.js';
import type { ProtocolloOptions } from '../../../adapters/protocollo/protocollo-options.js';
import { REGISTER_MIGRATIONS } from '../../../adapters/protocollo/register/protocol-register.js';
import { readSegnatura } from '../../../adapters/protocollo/segnatura/segnatura-reader.js';
import { FILE_NAMES, readProtocolloFiles } from '../../../adapters/protocollo/transport/protocollo-files.js';
import type { AdapterInstance, BusClient, BusMessage, OutgoingMessage } from '../../../adapters/sdk/index.js';
import { getTestPki } from '../../fixtures/test-pki.js';
import { STORE_ENGINES, newStorePlace, type StorePlace } from '../store-engines.js';

const AOO = { codiceAmministrazione: 'c_g141', codiceAOO: 'AOO_ORTONA', codiceRegistro: 'PROT', denominazione: 'Comune di Ortona' };
const noop = (): undefined => undefined;

/** The node's side of the bus, as far as sending goes: what the adapter handed it, in order. */
function recordingBus(sent: OutgoingMessage[]): BusClient {
  const refuse = () => Promise.reject(new Error('not used by this test'));
  return {
    send: (message) => {
      sent.push(message);
      return Promise.resolve({ id: `msg-${sent.length}`, direction: 'out', status: 'ACCEPTED', attempts: 0 });
    },
    sendAndWait: refuse,
    answer: refuse,
    state: refuse,
  };
}

const REGIONE_AOO = { codiceAmministrazione: 'r_abruzz', codiceAOO: 'AOO_REGIONE', codiceRegistro: 'RG', denominazione: 'Regione Abruzzo' };

async function startAdapter(
  place: StorePlace,
  sent: OutgoingMessage[],
  as: 'comune' | 'regione' = 'comune',
): Promise<{ instance: AdapterInstance; api: string }> {
  const pki = getTestPki();
  const instance = await protocollo.setup({
    party: as === 'comune' ? 'SPC/ComuneA' : 'SPC/Regione',
    options: {
      aoo: as === 'comune' ? AOO : REGIONE_AOO,
      service: 'ProtocolloInteroperabile',
      pecServices: { invio: 'InvioPEC', ricezione: 'MessaggioPEC' },
      listen: { host: '127.0.0.1', port: 0 },
    } as ProtocolloOptions,
    dataDir: place.dataDir,
    openStore: place.openStore,
    log: { debug: noop, info: noop, warn: noop, error: noop },
    bus: recordingBus(sent),
    identity: as === 'comune' ? pki.comuneA : pki.regione,
    trust: pki.trust,
    clock: { now: () => new Date() },
  });
  await instance.start();
  return { instance, api: (await instance.health()).detail! };
}

const inoltro = (i: number) => ({
  to: 'SPC/Regione',
  destinatario: { codiceAmministrazione: 'r_abruzz', codiceAOO: 'AOO_REGIONE', denominazione: 'Regione Abruzzo' },
  oggetto: `documento ${i}`,
  classifica: { denominazione: 'Affari generali', codice: 'I.1' },
  documentoPrimario: { nomeFile: 'nota.txt', mimeType: 'text/plain', contenuto: Buffer.from(`nota ${i}`).toString('base64') },
  allegati: [],
});

async function post(api: string, body: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const res = await request(`${api}/protocollo/inoltri`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

describe.each(STORE_ENGINES)('the protocollo adapter’s register on %s', (engine) => {
  it('numbers documents sent at once 1..n, each once, each in the Segnatura it sealed and sent', async () => {
    const place = newStorePlace(engine);
    const sent: OutgoingMessage[] = [];
    // A SQLite file is one process's here (two in one process would wait on each other's file lock with the
    // event loop blocked); on PostgreSQL two instances are two node processes sharing the register.
    const adapters = [await startAdapter(place, sent)];
    if (engine === 'postgres') adapters.push(await startAdapter(place, sent));
    try {
      const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => post(adapters[i % adapters.length]!.api, inoltro(i))));
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
      const numbers = answers.map((a) => a.json.identificatore.numeroRegistrazione as string);
      expect([...numbers].sort()).toEqual(Array.from({ length: 24 }, (_, i) => String(i + 1).padStart(7, '0')));
      // What went on the bus carries the number the API answered, sealed in its Segnatura.
      const sealed = sent.map((m) => {
        const file = readProtocolloFiles(m.payload).find((f) => f.nomeFile === FILE_NAMES.segnatura)!;
        const s = readSegnatura(file.content).segnatura;
        return `${s.identificatore.numeroRegistrazione} ${s.oggetto}`;
      });
      expect(sealed.sort()).toEqual(answers.map((a, i) => `${a.json.identificatore.numeroRegistrazione} documento ${i}`).sort());
      // Every instance reads the whole register, each registration sent.
      for (const { api } of adapters) {
        const list = (await (await request(`${api}/protocollo/registrazioni?limit=1000`)).body.json()) as {
          registrazioni: Array<{ state: string }>;
        };
        expect(list.registrazioni.map((r) => r.state)).toEqual(numbers.map(() => 'INVIATA'));
      }
    } finally {
      for (const { instance } of adapters) await instance.stop();
    }
  }, 120_000);

  it('registers a received document once when the node hands it over twice, at once and again as a retry', async () => {
    // The Comune's AOO (a register of its own) seals and sends a document; its bus message is what reaches the Regione.
    const outbound: OutgoingMessage[] = [];
    const sender = await startAdapter(newStorePlace('sqlite'), outbound);
    const place = newStorePlace(engine);
    const replies: OutgoingMessage[] = [];
    const receivers = [await startAdapter(place, replies, 'regione')];
    if (engine === 'postgres') receivers.push(await startAdapter(place, replies, 'regione'));
    try {
      // A binary document (every byte value) beside a text one: the archive must give both back unchanged.
      const pdf = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31 + 7) % 256));
      const document = {
        ...inoltro(1),
        destinatario: { ...REGIONE_AOO, codiceRegistro: undefined },
        allegati: [{ nomeFile: 'allegato.pdf', mimeType: 'application/pdf', contenuto: pdf.toString('base64') }],
      };
      expect((await post(sender.api, document)).status).toBe(202);
      const message: BusMessage = {
        id: 'ComuneA_ComuneASPCoopIT_0000001_2026-12-07_10:00',
        from: 'SPC/ComuneA',
        to: 'SPC/Regione',
        service: 'ProtocolloInteroperabile',
        action: outbound[0]!.action!,
        profile: 'oneway',
        payload: outbound[0]!.payload,
      };
      // Two hand-overs at once (on PostgreSQL by two processes): one may lose the race, retriable, as the node retries it.
      const signal = AbortSignal.timeout(30_000);
      const atOnce = await Promise.allSettled([
        receivers[0]!.instance.egress(message, signal),
        receivers.at(-1)!.instance.egress(message, signal),
      ]);
      for (const r of atOnce) if (r.status === 'rejected') expect(r.reason).toMatchObject({ retriable: true });
      expect(atOnce.some((r) => r.status === 'fulfilled')).toBe(true);
      // The retries (and one more, as after a crash before the node recorded the hand-over) all succeed.
      const retries = atOnce.filter((r) => r.status === 'rejected').length + 1;
      for (let k = 0; k < retries; k++) expect(await receivers.at(-1)!.instance.egress(message, signal)).toEqual({ kind: 'accepted' });
      const list = (await (await request(`${receivers[0]!.api}/protocollo/registrazioni`)).body.json()) as {
        registrazioni: Array<{
          direction: string;
          messageId?: string;
          identificatore: { numeroRegistrazione: string; dataRegistrazione: string };
        }>;
      };
      expect(list.registrazioni.map((r) => [r.direction, r.messageId, r.identificatore.numeroRegistrazione])).toEqual([
        ['in', message.id, '0000001'],
      ]);
      // Archived once, byte for byte as the message carried them, and read by every instance (process).
      const carried = readProtocolloFiles(message.payload).map((f) => ({
        nomeFile: f.nomeFile,
        mimeType: f.mimeType,
        contenuto: f.content.toString('base64'),
      }));
      expect(carried.map((f) => f.nomeFile)).toEqual([FILE_NAMES.segnatura, 'nota.txt', 'allegato.pdf']);
      expect(Buffer.from(carried[2]!.contenuto, 'base64').equals(pdf)).toBe(true);
      const anno = list.registrazioni[0]!.identificatore.dataRegistrazione.slice(0, 4);
      for (const { api } of receivers) {
        const res = await request(`${api}/protocollo/registrazioni/${anno}/0000001/documenti`);
        expect(res.statusCode).toBe(200);
        expect(await res.body.json()).toEqual({ documenti: carried });
      }
      const rows = await place.openStore('registro', REGISTER_MIGRATIONS);
      try {
        expect(await rows.all('SELECT numero, nome_file FROM archive ORDER BY posizione')).toEqual(
          carried.map((f) => ({ numero: 1, nome_file: f.nomeFile })),
        );
      } finally {
        await rows.close();
      }
      // In the store, not in the adapter's folder (as before the archive moved).
      expect(existsSync(join(place.dataDir, 'archivio'))).toBe(false);
      const missing = await request(`${receivers[0]!.api}/protocollo/registrazioni/${anno}/0000002/documenti`);
      expect(missing.statusCode).toBe(404);
      await missing.body.dump();
    } finally {
      for (const { instance } of [sender, ...receivers]) await instance.stop();
    }
  }, 120_000);
});
