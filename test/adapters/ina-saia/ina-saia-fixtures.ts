/**
 * Shared fixtures of the INA-SAIA tests: people with real codici fiscali, one valid event of every
 * kind, adapter contexts, and a bus whose sendAndWait answers through an INA simulator instance
 * directly (no node: the simulator's egress is the far end).
 */
import { sqliteAdapterFolder } from '../../../adapters/sdk/store/sqlite-adapter-store.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdapterContext, AdapterInstance, BusClient, MessageState, OutgoingMessage } from '../../../adapters/sdk/index.js';
import type { RegistryEventKind } from '../../../adapters/ina-saia/registry-event.js';
import { computeCodiceFiscale } from '../../../adapters/sdk/codice-fiscale/codice-fiscale.js';
import { getTestPki } from '../../fixtures/test-pki.js';

/** "Now" for edge validation: fixed, so no date here drifts into the future or the past. */
export const TODAY = new Date('2026-03-15T10:00:00Z');

/** The sending Comune: Roma. */
export const COMUNE = 'H501';
export const OTHER_COMUNE = 'F205'; // Milano

export const MARIO = { cognome: 'ROSSI', nome: 'MARIO', sesso: 'M', dataNascita: '1980-01-01', luogoNascita: 'H501' } as const;
export const MARIO_CF = 'RSSMRA80A01H501U';
export const GIULIA = { cognome: 'BIANCHI', nome: 'GIULIA', sesso: 'F', dataNascita: '2024-03-10', luogoNascita: 'H501' } as const;
export const GIULIA_CF = computeCodiceFiscale({
  surname: GIULIA.cognome,
  name: GIULIA.nome,
  birthDate: GIULIA.dataNascita,
  sex: GIULIA.sesso,
  placeCode: GIULIA.luogoNascita,
});
export const AMINA = { cognome: "D'ANGELO", nome: 'AMINA', sesso: 'F', dataNascita: '1995-07-21', luogoNascita: 'Z330' } as const;
export const AMINA_CF = computeCodiceFiscale({
  surname: AMINA.cognome,
  name: AMINA.nome,
  birthDate: AMINA.dataNascita,
  sex: AMINA.sesso,
  placeCode: AMINA.luogoNascita,
});

export const ADDRESS = { toponimo: 'VIA DEL CORSO', civico: '12', cap: '00186' } as const;
export const OTHER_ADDRESS = { toponimo: 'PIAZZA NAVONA', civico: '3/B', interno: '4', cap: '00186' } as const;

/** A person as an iscrizione needs them. */
export const soggettoCompleto = (p: typeof MARIO | typeof GIULIA | typeof AMINA, codiceFiscale: string) => ({ codiceFiscale, ...p });

/** One valid event of every kind (JSON, as posted), about Mario unless the kind needs a newborn. */
export function sampleEvents(): Record<RegistryEventKind, Record<string, unknown>> {
  const mario = { codiceFiscale: MARIO_CF, cognome: MARIO.cognome, nome: MARIO.nome };
  return {
    'iscrizione.nascita': {
      tipo: 'iscrizione',
      motivo: 'nascita',
      dataEvento: GIULIA.dataNascita,
      soggetto: soggettoCompleto(GIULIA, GIULIA_CF),
      indirizzo: ADDRESS,
      famiglia: { idFamiglia: 'FAM-001', relazione: 'figlio' },
      riferimentoComune: 'PRATICA-2024-1',
      protocollo: { numero: '2024/1234', data: '2024-03-12' },
    },
    'iscrizione.immigrazione': {
      tipo: 'iscrizione',
      motivo: 'immigrazione',
      dataEvento: '2024-02-01',
      soggetto: soggettoCompleto(MARIO, MARIO_CF),
      provenienza: { comune: OTHER_COMUNE },
      indirizzo: ADDRESS,
      famiglia: { idFamiglia: 'FAM-002', relazione: 'intestatario' },
    },
    'cancellazione.morte': {
      tipo: 'cancellazione',
      motivo: 'morte',
      dataEvento: '2025-11-02',
      soggetto: { ...mario, sesso: 'M', dataNascita: MARIO.dataNascita },
      luogoMorte: { comune: COMUNE },
    },
    'cancellazione.emigrazione': {
      tipo: 'cancellazione',
      motivo: 'emigrazione',
      dataEvento: '2025-06-30',
      soggetto: mario,
      destinazione: { statoEstero: 'Z404' },
    },
    'mutazione.indirizzo': { tipo: 'mutazione', motivo: 'indirizzo', dataEvento: '2024-05-01', soggetto: mario, indirizzo: OTHER_ADDRESS },
    'mutazione.famiglia': {
      tipo: 'mutazione',
      motivo: 'famiglia',
      dataEvento: '2024-06-15',
      soggetto: mario,
      famiglia: { idFamiglia: 'FAM-003', relazione: 'coniuge' },
    },
    'mutazione.datiPersonali': {
      tipo: 'mutazione',
      motivo: 'datiPersonali',
      dataEvento: '2024-06-15',
      soggetto: mario,
      datiPersonali: { statoCivile: 'coniugato', cittadinanza: 'IT' },
    },
    rettifica: {
      tipo: 'rettifica',
      dataEvento: '2024-07-01',
      soggetto: mario,
      rettifiche: { luogoNascita: 'H501', nome: 'MARIO' },
      motivazione: "Errore di trascrizione dell'atto",
    },
  };
}

const quiet = () => undefined;
export const silentLog = { debug: quiet, info: quiet, warn: quiet, error: quiet };

/** A context for a party of the test PKI: SPC/ComuneA's key seals, the PKI's CA is trusted. */
export function contextFor<Options>(
  options: Options,
  bus: BusClient,
  overrides: Partial<AdapterContext<Options>> = {},
): AdapterContext<Options> {
  const pki = getTestPki();
  return {
    party: 'SPC/ComuneA',
    options,
    ...sqliteAdapterFolder(mkdtempSync(join(tmpdir(), 'tramite-ina-saia-'))),
    log: silentLog,
    bus,
    identity: pki.comuneA,
    trust: pki.trust,
    clock: { now: () => new Date() },
    ...overrides,
  };
}

/** A bus that refuses to be used: for instances that never send. */
export const unusedBus: BusClient = {
  send: () => Promise.reject(new Error('unused')),
  sendAndWait: () => Promise.reject(new Error('unused')),
  answer: () => Promise.reject(new Error('unused')),
  state: async () => undefined,
};

export interface SimulatorBus extends BusClient {
  /** Every sendAndWait, in the order they started. */
  readonly started: OutgoingMessage[];
  /** The IdComunicazione of every message the simulator answered, in order. */
  readonly answered: string[];
  /** Per IdComunicazione, when each attempt's sendAndWait started and returned (ms since the epoch). */
  readonly spans: Map<string, Array<{ start: number; end?: number }>>;
}

/**
 * What `before` may ask of one sendAndWait instead of a plain delivery: answer this state (a transport
 * failure), `late` (the wait ends SENDING, the simulator answers afterwards, visible through
 * `state`), or `lost` (the simulator answers, the wait never returns: a crash before the answer).
 */
export type BusTwist = MessageState | 'late' | 'lost' | void;

/**
 * A bus whose sendAndWait hands the message to `simulator.egress` as the INA node would, after
 * `before(message, n)` (n: the call's number) — which may delay it, or twist it (see BusTwist).
 */
export function simulatorBus(
  simulator: AdapterInstance,
  before: (message: OutgoingMessage, n: number) => Promise<BusTwist> = async () => undefined,
): SimulatorBus {
  const started: OutgoingMessage[] = [];
  const answered: string[] = [];
  const spans = new Map<string, Array<{ start: number; end?: number }>>();
  const states = new Map<string, MessageState>();
  let count = 0;
  const deliver = async (id: string, message: OutgoingMessage): Promise<MessageState> => {
    const outcome = await simulator.egress(
      { id, from: 'SPC/ComuneA', to: message.to, service: message.service, profile: 'sincrono', payload: message.payload },
      AbortSignal.timeout(10_000),
    );
    answered.push(idComunicazioneOf(message));
    const state: MessageState = {
      id,
      direction: 'out',
      status: 'DELIVERED',
      attempts: 1,
      ...(outcome.kind === 'reply' ? { reply: outcome.payload } : {}),
    };
    states.set(id, state);
    return state;
  };
  return {
    started,
    answered,
    spans,
    async sendAndWait(message) {
      const n = ++count;
      const id = `msg-${n}`;
      started.push(message);
      const span: { start: number; end?: number } = { start: Date.now() };
      spans.set(idComunicazioneOf(message), [...(spans.get(idComunicazioneOf(message)) ?? []), span]);
      const twist = await before(message, n);
      let state: MessageState;
      if (twist === 'late') {
        state = { id, direction: 'out', status: 'SENDING', attempts: 1 };
        states.set(id, state);
        void delay(50).then(() => deliver(id, message));
      } else if (twist === 'lost') {
        await deliver(id, message);
        return new Promise<MessageState>(() => undefined);
      } else if (twist) {
        state = { ...twist, id };
        states.set(id, state);
      } else {
        state = await deliver(id, message);
      }
      span.end = Date.now();
      return state;
    },
    send: () => Promise.reject(new Error('the ina-saia adapter uses sendAndWait')),
    answer: () => Promise.reject(new Error('unused')),
    state: async (id) => states.get(id),
  };
}

export function idComunicazioneOf(message: OutgoingMessage): string {
  return /<ina:IdComunicazione>([^<]+)</.exec(message.payload)?.[1] ?? '?';
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns true (or throws after `ms`). */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await delay(10);
  }
}
