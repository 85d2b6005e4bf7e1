/**
 * Edge validation of registry events: every kind accepted as posted, each rule refusing with
 * TRAMITE_ERR_BAD_REQUEST naming the field, and generated valid events always accepted unchanged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  REGISTRY_EVENT_KINDS,
  RegistryEventError,
  kindOf,
  parseRegistryEvent,
  type RegistryEvent,
} from '../../../adapters/ina-saia/registry-event.js';
import { checkCharacter, computeCodiceFiscale, omocodicVariants } from '../../../adapters/sdk/codice-fiscale/codice-fiscale.js';
import { TramiteError } from '../../../src/core/errors.js';
import { eventArb } from './registry-event-arbitraries.js';
import { COMUNE, GIULIA, GIULIA_CF, MARIO, MARIO_CF, OTHER_COMUNE, TODAY, sampleEvents } from './ina-saia-fixtures.js';

const opts = { today: TODAY, comune: COMUNE };

/** The refusal of `json`, which must be one. */
function refusal(json: unknown, options = opts): RegistryEventError {
  try {
    parseRegistryEvent(json, options);
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryEventError);
    expect(err).toBeInstanceOf(TramiteError);
    expect((err as TramiteError).code).toBe('TRAMITE_ERR_BAD_REQUEST');
    return err as RegistryEventError;
  }
  throw new Error(`expected ${JSON.stringify(json)} to be refused`);
}

const fields = (err: RegistryEventError) => err.problems.map((p) => p.field);

/** A sample event with some fields replaced (a shallow merge, one level into `soggetto` when given). */
function sample(
  kind: keyof ReturnType<typeof sampleEvents>,
  change: Record<string, unknown> = {},
  soggetto: Record<string, unknown> = {},
): Record<string, unknown> {
  const base = sampleEvents()[kind];
  return { ...base, ...change, soggetto: { ...(base['soggetto'] as object), ...soggetto } };
}

describe('registry events: the kinds', () => {
  it('accepts one event of every kind, as posted, typed by tipo and motivo', () => {
    const events = sampleEvents();
    for (const kind of REGISTRY_EVENT_KINDS) {
      const event = parseRegistryEvent(events[kind], opts);
      expect(kindOf(event)).toBe(kind);
      expect(event).toEqual(events[kind]);
    }
  });

  it('normalises the codice fiscale (spaces, lower case) and leaves the posted value untouched', () => {
    const posted = sample('mutazione.indirizzo', {}, { codiceFiscale: 'rss mra 80a01 h501u' });
    const copy = structuredClone(posted);
    expect(parseRegistryEvent(posted, opts).soggetto.codiceFiscale).toBe(MARIO_CF);
    expect(posted).toEqual(copy);
  });

  it('accepts an omocodic codice fiscale, coherent with the same birth data', () => {
    const [omocodic] = omocodicVariants(MARIO_CF);
    const event = parseRegistryEvent(sample('cancellazione.morte', {}, { codiceFiscale: omocodic }), opts);
    expect(event.soggetto.codiceFiscale).toBe(omocodic);
  });
});

describe('registry events: shape, naming the field', () => {
  it('refuses something that is not an event, or an unknown tipo', () => {
    expect(fields(refusal('iscrizione'))).toEqual(['']);
    expect(fields(refusal({ tipo: 'trasloco' }))).toEqual(['tipo']);
    expect(fields(refusal({ motivo: 'nascita' }))).toEqual(['tipo']);
  });

  it('requires a motivo of the tipo, and none for a rettifica', () => {
    expect(refusal(sample('iscrizione.nascita', { motivo: undefined })).message).toMatch(
      /motivo: is required for iscrizione: one of nascita, immigrazione/,
    );
    expect(refusal(sample('cancellazione.morte', { motivo: 'nascita' })).message).toMatch(
      /motivo: "nascita" is not one of morte, emigrazione/,
    );
    expect(fields(refusal(sample('rettifica', { motivo: 'nascita' })))).toEqual(['motivo']);
  });

  it('requires the fields of each kind', () => {
    expect(fields(refusal(sample('iscrizione.nascita', { indirizzo: undefined })))).toEqual(['indirizzo']);
    expect(fields(refusal(sample('iscrizione.immigrazione', { provenienza: undefined })))).toEqual(['provenienza']);
    expect(fields(refusal(sample('cancellazione.emigrazione', { destinazione: undefined })))).toEqual(['destinazione']);
    expect(fields(refusal(sample('mutazione.famiglia', { famiglia: undefined })))).toEqual(['famiglia']);
    expect(fields(refusal(sample('rettifica', { motivazione: undefined })))).toEqual(['motivazione']);
    expect(fields(refusal(sample('mutazione.indirizzo', { dataEvento: undefined })))).toEqual(['dataEvento']);
  });

  it('requires every personal datum for an iscrizione, and only the identity for the rest', () => {
    const { sesso: _s, luogoNascita: _l, ...partial } = sampleEvents()['iscrizione.immigrazione']['soggetto'] as Record<string, unknown>;
    expect(fields(refusal({ ...sampleEvents()['iscrizione.immigrazione'], soggetto: partial }))).toEqual([
      'soggetto.sesso',
      'soggetto.luogoNascita',
    ]);
    expect(fields(refusal(sample('mutazione.indirizzo', {}, { cognome: undefined })))).toEqual(['soggetto.cognome']);
  });

  it('refuses fields the kind does not have, by path', () => {
    expect(fields(refusal(sample('mutazione.indirizzo', { famiglia: { idFamiglia: 'F', relazione: 'figlio' } })))).toEqual(['famiglia']);
    expect(fields(refusal(sample('mutazione.indirizzo', {}, { eta: 44 })))).toEqual(['soggetto.eta']);
  });

  it('refuses an empty mutazione of personal data or rettifica', () => {
    expect(fields(refusal(sample('mutazione.datiPersonali', { datiPersonali: {} })))).toEqual(['datiPersonali']);
    expect(fields(refusal(sample('rettifica', { rettifiche: {} })))).toEqual(['rettifiche']);
  });

  it('refuses dates that do not exist or are not plain dates', () => {
    expect(fields(refusal(sample('mutazione.indirizzo', { dataEvento: '2023-02-29' })))).toEqual(['dataEvento']);
    expect(fields(refusal(sample('mutazione.indirizzo', { dataEvento: '2024-05-01T10:00:00Z' })))).toEqual(['dataEvento']);
    expect(fields(refusal(sample('mutazione.indirizzo', { protocollo: { numero: '1', data: '01/05/2024' } })))).toEqual([
      'protocollo.data',
    ]);
  });

  it('refuses names with digits or surrounding spaces, and malformed addresses', () => {
    expect(fields(refusal(sample('mutazione.indirizzo', {}, { nome: 'MARIO2' })))).toEqual(['soggetto.nome']);
    expect(fields(refusal(sample('mutazione.indirizzo', {}, { cognome: ' ROSSI' })))).toEqual(['soggetto.cognome']);
    expect(fields(refusal(sample('mutazione.indirizzo', { indirizzo: { toponimo: 'VIA ROMA', civico: '1', cap: '0018' } })))).toEqual([
      'indirizzo.cap',
    ]);
  });
});

describe('registry events: Comune codes (Belfiore: a letter and three digits; Z for foreign states)', () => {
  it('accepts a Comune and a foreign state where each belongs', () => {
    expect(() => parseRegistryEvent(sample('iscrizione.immigrazione', { provenienza: { statoEstero: 'Z404' } }), opts)).not.toThrow();
    expect(() => parseRegistryEvent(sample('cancellazione.emigrazione', { destinazione: { comune: OTHER_COMUNE } }), opts)).not.toThrow();
  });

  it('refuses ISTAT codes, lower case, a state as a Comune and a Comune as a state', () => {
    for (const comune of ['058091', 'h501', 'Z404', 'H50', 'H5011']) {
      expect(fields(refusal(sample('iscrizione.immigrazione', { provenienza: { comune } })))).toEqual(['provenienza.comune']);
    }
    expect(fields(refusal(sample('cancellazione.emigrazione', { destinazione: { statoEstero: 'H501' } })))).toEqual([
      'destinazione.statoEstero',
    ]);
    expect(fields(refusal(sample('iscrizione.nascita', {}, { luogoNascita: '058091' })))).toEqual(['soggetto.luogoNascita']);
  });

  it('refuses a place with both a Comune and a state, or neither', () => {
    expect(fields(refusal(sample('iscrizione.immigrazione', { provenienza: { comune: OTHER_COMUNE, statoEstero: 'Z404' } })))).toEqual([
      'provenienza',
    ]);
    expect(fields(refusal(sample('iscrizione.immigrazione', { provenienza: {} })))).toEqual(['provenienza']);
  });

  it('refuses a move from or to the sending Comune itself (that is a change of address)', () => {
    expect(fields(refusal(sample('iscrizione.immigrazione', { provenienza: { comune: COMUNE } })))).toEqual(['provenienza.comune']);
    expect(fields(refusal(sample('cancellazione.emigrazione', { destinazione: { comune: COMUNE } })))).toEqual(['destinazione.comune']);
    // Without knowing the sending Comune, there is nothing to compare with.
    expect(() =>
      parseRegistryEvent(sample('cancellazione.emigrazione', { destinazione: { comune: COMUNE } }), { today: TODAY }),
    ).not.toThrow();
  });
});

describe('registry events: the codice fiscale', () => {
  it('refuses a code with a wrong check character or shape', () => {
    const wrongCheck = MARIO_CF.slice(0, 15) + (MARIO_CF.endsWith('A') ? 'B' : 'A');
    expect(refusal(sample('mutazione.indirizzo', {}, { codiceFiscale: wrongCheck })).message).toMatch(
      /soggetto\.codiceFiscale: is not a valid codice fiscale: check character/,
    );
    expect(fields(refusal(sample('mutazione.indirizzo', {}, { codiceFiscale: 'RSSMRA80A01H501' })))).toEqual(['soggetto.codiceFiscale']);
    expect(fields(refusal(sample('mutazione.indirizzo', {}, { codiceFiscale: 'RSSMRA80A01H5O1U' })))).toEqual(['soggetto.codiceFiscale']);
  });

  it('refuses a sex or birth date the code contradicts', () => {
    expect(fields(refusal(sample('cancellazione.morte', {}, { sesso: 'F' })))).toEqual(['soggetto.sesso']);
    expect(fields(refusal(sample('cancellazione.morte', {}, { dataNascita: '1980-01-02' })))).toEqual(['soggetto.dataNascita']);
    expect(refusal(sample('iscrizione.nascita', {}, { sesso: 'M' })).message).toMatch(
      /soggetto\.sesso: is M, but the codice fiscale is of a woman/,
    );
  });

  it('reads the birth year against the code by its last two digits (the code does not say the century)', () => {
    // Born 1926 or 2026: the code is the same, and "today" cannot tell. A person over 100 is fine.
    const old = computeCodiceFiscale({ surname: 'VERDI', name: 'ANNA', birthDate: '1925-12-01', sex: 'F', placeCode: 'H501' });
    expect(() =>
      parseRegistryEvent(
        {
          ...sampleEvents()['cancellazione.morte'],
          soggetto: { codiceFiscale: old, cognome: 'VERDI', nome: 'ANNA', dataNascita: '1925-12-01' },
        },
        opts,
      ),
    ).not.toThrow();
  });

  it('checks corrected sex and birth date against the code too', () => {
    expect(fields(refusal(sample('rettifica', { rettifiche: { sesso: 'F' } })))).toEqual(['rettifiche.sesso']);
    expect(fields(refusal(sample('rettifica', { rettifiche: { dataNascita: '1981-01-01' } })))).toEqual(['rettifiche.dataNascita']);
  });
});

describe('registry events: dates', () => {
  it('refuses dates in the future', () => {
    expect(fields(refusal(sample('mutazione.indirizzo', { dataEvento: '2026-03-16' })))).toEqual(['dataEvento']);
    expect(fields(refusal(sample('mutazione.indirizzo', { protocollo: { numero: 'P-1', data: '2027-01-01' } })))).toEqual([
      'protocollo.data',
    ]);
  });

  it("takes today as Rome's calendar day: just after midnight in Rome, today is already tomorrow in UTC terms", () => {
    const justAfterMidnightInRome = new Date('2026-03-14T23:30:00Z'); // 00:30 on 15 March in Rome
    expect(() =>
      parseRegistryEvent(sample('mutazione.indirizzo', { dataEvento: '2026-03-15' }), { today: justAfterMidnightInRome }),
    ).not.toThrow();
    expect(
      fields(refusal(sample('mutazione.indirizzo', { dataEvento: '2026-03-16' }), { today: justAfterMidnightInRome, comune: COMUNE })),
    ).toEqual(['dataEvento']);
  });

  it('refuses an event before the birth date, and an iscrizione by birth not on the birth date', () => {
    expect(fields(refusal(sample('cancellazione.morte', { dataEvento: '1979-12-31' })))).toEqual(['dataEvento']);
    expect(refusal(sample('iscrizione.nascita', { dataEvento: '2024-03-12' })).message).toMatch(
      /dataEvento: an iscrizione by birth takes effect on the birth date 2024-03-10/,
    );
  });

  it('lists every problem it finds, the first one as the field', () => {
    const err = refusal(sample('cancellazione.morte', { dataEvento: '2030-01-01' }, { sesso: 'F' }));
    expect(err.field).toBe('soggetto.sesso');
    expect(fields(err)).toEqual(['soggetto.sesso', 'dataEvento']);
  });
});

// ---------------------------------------------------------------------------------------------------
// Generated valid events

describe('registry events: generated valid events', () => {
  it('are accepted, and come back exactly as posted', () => {
    fc.assert(
      fc.property(eventArb, (posted) => {
        const event: RegistryEvent = parseRegistryEvent(posted, opts);
        expect(event).toEqual(posted);
      }),
      { numRuns: 300 },
    );
  });

  it('are refused, naming soggetto.codiceFiscale, once the check character is wrong', () => {
    fc.assert(
      fc.property(eventArb, fc.integer({ min: 1, max: 25 }), (posted, shift) => {
        const cf = posted.soggetto.codiceFiscale;
        const right = checkCharacter(cf.slice(0, 15));
        const wrong = String.fromCharCode(((right.charCodeAt(0) - 65 + shift) % 26) + 65);
        const err = refusal({ ...posted, soggetto: { ...posted.soggetto, codiceFiscale: cf.slice(0, 15) + wrong } });
        expect(err.field).toBe('soggetto.codiceFiscale');
      }),
      { numRuns: 100 },
    );
  });
});

// Keep the fixtures' own people honest: they are what the other tests build on.
it('the fixture people have coherent codici fiscali', () => {
  expect(() => parseRegistryEvent(sample('iscrizione.immigrazione', {}, { ...MARIO, codiceFiscale: MARIO_CF }), opts)).not.toThrow();
  expect(() => parseRegistryEvent(sample('iscrizione.nascita', {}, { ...GIULIA, codiceFiscale: GIULIA_CF }), opts)).not.toThrow();
});
