/** fast-check generators of valid registry events (as posted JSON), about people with real codici fiscali. */
import fc from 'fast-check';
import { REGISTRY_EVENT_KINDS } from '../../../adapters/ina-saia/registry-event.js';
import { computeCodiceFiscale, omocodicVariants } from '../../../adapters/sdk/codice-fiscale/codice-fiscale.js';
import { COMUNE, OTHER_COMUNE, TODAY } from './ina-saia-fixtures.js';

const DAY = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
const letters = (min: number, max: number) => fc.stringMatching(new RegExp(`^[A-Z]{${min},${max}}$`));
const nameArb = fc
  .tuple(letters(2, 12), fc.option(fc.tuple(fc.constantFrom(' ', "'", '-'), letters(2, 10)), { nil: undefined }))
  .map(([a, b]) => (b ? `${a}${b[0]}${b[1]}` : a));
const comuneArb = fc
  .tuple(fc.constantFrom(...'ABCDEFGHILM'), fc.integer({ min: 1, max: 999 }))
  .map(([l, n]) => `${l}${String(n).padStart(3, '0')}`);
const statoArb = fc.integer({ min: 100, max: 999 }).map((n) => `Z${n}`);
const luogoArb = fc.oneof(
  comuneArb.map((comune) => ({ comune })),
  statoArb.map((statoEstero) => ({ statoEstero })),
);
const indirizzoArb = fc.record({
  toponimo: fc.constantFrom('VIA ROMA', 'PIAZZA DEL POPOLO', "VIA DELL'ARTE"),
  civico: fc.stringMatching(/^[1-9][0-9]{0,3}(?:\/?[A-C])?$/),
  cap: fc.stringMatching(/^[0-9]{5}$/),
});
const famigliaArb = fc.record({
  idFamiglia: fc.stringMatching(/^[A-Z0-9]{1,12}$/),
  relazione: fc.constantFrom('intestatario', 'coniuge', 'figlio', 'genitore', 'altroParente', 'convivente', 'unitoCivilmente'),
});

/** A person with a codice fiscale computed from their data (omocodic at times), born before TODAY. */
const personArb = fc
  .record({
    cognome: nameArb,
    nome: nameArb,
    sesso: fc.constantFrom('M' as const, 'F' as const),
    birth: fc.integer({ min: Date.UTC(1900, 0, 1), max: TODAY.getTime() - 2 * DAY }),
    luogoNascita: fc.oneof(
      comuneArb.filter((c) => c !== COMUNE),
      statoArb,
    ),
    omocodia: fc.integer({ min: 0, max: 7 }),
  })
  .map(({ birth, omocodia, ...p }) => {
    const dataNascita = isoDay(birth);
    const base = computeCodiceFiscale({
      surname: p.cognome,
      name: p.nome,
      birthDate: dataNascita,
      sex: p.sesso,
      placeCode: p.luogoNascita,
    });
    const codiceFiscale = omocodia === 0 ? base : omocodicVariants(base)[omocodia - 1]!;
    return { codiceFiscale, cognome: p.cognome, nome: p.nome, sesso: p.sesso, dataNascita, luogoNascita: p.luogoNascita };
  });

/** An event as posted: JSON, with the person at least identified. */
export type PostedEvent = Record<string, unknown> & { readonly soggetto: Record<string, unknown> & { readonly codiceFiscale: string } };

/** A valid event of any kind about a generated person, dated between birth and TODAY. */
export const eventArb = fc
  .tuple(
    personArb,
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.constantFrom(...REGISTRY_EVENT_KINDS),
    luogoArb,
    indirizzoArb,
    famigliaArb,
  )
  .map(([p, at, kind, luogo, indirizzo, famiglia]) => {
    const born = Date.parse(p.dataNascita);
    const dataEvento =
      kind === 'iscrizione.nascita' ? p.dataNascita : isoDay(born + Math.floor(at * ((TODAY.getTime() - DAY - born) / DAY)) * DAY);
    const identity = { codiceFiscale: p.codiceFiscale, cognome: p.cognome, nome: p.nome };
    const [tipo, motivo] = kind.split('.') as [string, string | undefined];
    const head = { tipo, ...(motivo ? { motivo } : {}), dataEvento };
    const elsewhere = 'comune' in luogo && luogo.comune === COMUNE ? { comune: OTHER_COMUNE } : luogo;
    const byKind: Record<typeof kind, Record<string, unknown> & Pick<PostedEvent, 'soggetto'>> = {
      'iscrizione.nascita': { soggetto: p, indirizzo, famiglia },
      'iscrizione.immigrazione': { soggetto: p, provenienza: elsewhere, indirizzo, famiglia },
      'cancellazione.morte': { soggetto: { ...identity, sesso: p.sesso }, luogoMorte: luogo },
      'cancellazione.emigrazione': { soggetto: identity, destinazione: elsewhere },
      'mutazione.indirizzo': { soggetto: identity, indirizzo },
      'mutazione.famiglia': { soggetto: { ...identity, dataNascita: p.dataNascita }, famiglia },
      'mutazione.datiPersonali': { soggetto: identity, datiPersonali: { cognome: p.cognome, statoCivile: 'coniugato' } },
      rettifica: { soggetto: identity, rettifiche: { luogoNascita: p.luogoNascita, sesso: p.sesso }, motivazione: 'Errore materiale' },
    };
    const posted: PostedEvent = { ...head, ...byKind[kind] };
    return posted;
  });
