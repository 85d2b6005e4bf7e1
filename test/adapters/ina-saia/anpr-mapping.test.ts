/**
 * The same registry events in ANPR form: each kind in its operation family (1000 iscrizione, 2000
 * cancellazione, 5000 mutazione — residenza, famiglia, rettifica dati — as the reference gives them)
 * with ANPR's request header, next to the INA-SAIA form of the very same event.
 */
import { describe, expect, it } from 'vitest';
import { ANPR_OPERATIONS, toAnprRichiesta, type AnprContext } from '../../../adapters/ina-saia/anpr-mapping.js';
import { buildComunicazioneXml, readComunicazioneXml } from '../../../adapters/ina-saia/ina-mapping.js';
import { REGISTRY_EVENT_KINDS, parseRegistryEvent, type RegistryEventKind } from '../../../adapters/ina-saia/registry-event.js';
import { COMUNE, OTHER_COMUNE, TODAY, sampleEvents } from './ina-saia-fixtures.js';

const context: AnprContext = {
  codMittente: '058091',
  idOperazioneComune: 'ev-7',
  dataOraRichiesta: '2026-03-15T09:30:00.000+01:00',
  tipoOperazione: 'P',
  tipoInvio: 'TEST',
  applicativo: { nome: 'Tramite', versione: '0.1.0', fornitore: 'Tramite project' },
};

/** Written out from the reference, not read from the module under test. */
const EXPECTED: Record<RegistryEventKind, { family: string; motivo: string; inaElement: string }> = {
  'iscrizione.nascita': { family: '1000', motivo: 'nascita', inaElement: 'IscrizioneNascita' },
  'iscrizione.immigrazione': { family: '1000', motivo: 'immigrazione', inaElement: 'IscrizioneImmigrazione' },
  'cancellazione.morte': { family: '2000', motivo: 'morte', inaElement: 'CancellazioneMorte' },
  'cancellazione.emigrazione': { family: '2000', motivo: 'emigrazione', inaElement: 'CancellazioneEmigrazione' },
  'mutazione.indirizzo': { family: '5000', motivo: 'residenza', inaElement: 'MutazioneIndirizzo' },
  'mutazione.famiglia': { family: '5000', motivo: 'famiglia', inaElement: 'MutazioneFamiglia' },
  'mutazione.datiPersonali': { family: '5000', motivo: 'datiPersonali', inaElement: 'MutazioneDatiPersonali' },
  rettifica: { family: '5000', motivo: 'rettificaDati', inaElement: 'Rettifica' },
};

const event = (kind: RegistryEventKind) => parseRegistryEvent(sampleEvents()[kind], { today: TODAY });

describe('ANPR mapping', () => {
  it.each(REGISTRY_EVENT_KINDS)('%s: its operation family and reason in ANPR form, its own element in INA form', (kind) => {
    const e = event(kind);
    const anpr = toAnprRichiesta(e, context);
    expect(anpr.testataRichiesta.operazioneRichiesta).toBe(EXPECTED[kind].family);
    expect(anpr.motivo).toBe(EXPECTED[kind].motivo);
    const ina = buildComunicazioneXml({
      idComunicazione: context.idOperazioneComune,
      codiceComune: COMUNE,
      dataOraComunicazione: '2026-03-15T08:30:00.000Z',
      evento: e,
    });
    expect(ina).toContain(`<ina:${EXPECTED[kind].inaElement}>`);
    // One model, two forms: both carry the same person and the same decorrenza.
    expect(readComunicazioneXml(ina).evento.soggetto.codiceFiscale).toBe(anpr.generalita.codiceFiscale);
    expect(anpr.testataRichiesta.dataDecorrenza).toBe(e.dataEvento);
  });

  it('covers every kind, and only the families that change the register', () => {
    expect(Object.keys(ANPR_OPERATIONS).sort()).toEqual([...REGISTRY_EVENT_KINDS].sort());
    expect(new Set(Object.values(ANPR_OPERATIONS).map((o) => o.operazioneRichiesta))).toEqual(new Set(['1000', '2000', '5000']));
  });

  it('fills the request header field for field', () => {
    const anpr = toAnprRichiesta(event('iscrizione.nascita'), context);
    expect(anpr.testataRichiesta).toEqual({
      idOperazioneComune: 'ev-7',
      codMittente: '058091',
      codDestinatario: 'ANPR',
      operazioneRichiesta: '1000',
      dataOraRichiesta: '2026-03-15T09:30:00.000+01:00',
      tipoOperazione: 'P',
      protocolloComune: '2024/1234',
      dataProtocolloComune: '2024-03-12',
      tipoInvio: 'TEST',
      dataDecorrenza: '2024-03-10',
      dataDefinizionePratica: '2026-03-15',
      nomeApplicativo: 'Tramite',
      versioneApplicativo: '0.1.0',
      fornitoreApplicativo: 'Tramite project',
    });
  });

  it('leaves the protocol fields out when the Comune gave none, and takes an explicit destinatario and practice date', () => {
    const anpr = toAnprRichiesta(event('mutazione.indirizzo'), {
      ...context,
      codDestinatario: 'ANPR02',
      dataDefinizionePratica: '2026-03-14',
    });
    expect(anpr.testataRichiesta).not.toHaveProperty('protocolloComune');
    expect(anpr.testataRichiesta).not.toHaveProperty('dataProtocolloComune');
    expect(anpr.testataRichiesta.codDestinatario).toBe('ANPR02');
    expect(anpr.testataRichiesta.dataDefinizionePratica).toBe('2026-03-14');
  });

  it('carries the data of each kind: residence and family, provenance, destination, changed data', () => {
    expect(toAnprRichiesta(event('iscrizione.immigrazione'), context)).toMatchObject({
      generalita: {
        codiceFiscale: 'RSSMRA80A01H501U',
        cognome: 'ROSSI',
        nome: 'MARIO',
        sesso: 'M',
        dataNascita: '1980-01-01',
        luogoNascita: 'H501',
      },
      provenienza: { codiceCatastaleComune: OTHER_COMUNE },
      residenza: { toponimo: 'VIA DEL CORSO', civico: '12', cap: '00186' },
      famiglia: { idFamiglia: 'FAM-002', relazioneParentela: 'intestatario' },
    });
    expect(toAnprRichiesta(event('cancellazione.emigrazione'), context).destinazione).toEqual({ codiceCatastaleStato: 'Z404' });
    expect(toAnprRichiesta(event('cancellazione.morte'), context).luogoEvento).toEqual({ codiceCatastaleComune: COMUNE });
    expect(toAnprRichiesta(event('mutazione.datiPersonali'), context).datiVariati).toEqual({
      statoCivile: 'coniugato',
      cittadinanza: 'IT',
    });
    expect(toAnprRichiesta(event('rettifica'), context)).toMatchObject({
      datiVariati: { luogoNascita: 'H501', nome: 'MARIO' },
      motivazione: "Errore di trascrizione dell'atto",
    });
  });

  it('is plain JSON: it survives serialisation unchanged', () => {
    for (const kind of REGISTRY_EVENT_KINDS) {
      const anpr = toAnprRichiesta(event(kind), context);
      expect(JSON.parse(JSON.stringify(anpr))).toEqual(anpr);
    }
  });
});
