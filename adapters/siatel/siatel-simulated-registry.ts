/**
 * The simulator's anagrafe tributaria: a small, deterministic population of invented people, each with
 * the codice fiscale computeCodiceFiscale gives them (or, when two people would share one, the next
 * omocodic form, as the Agenzia assigns it). A fixed list comes first — people a test or the demo can
 * name — then `generatedPeople` more, drawn from name lists with a seeded generator, so the same
 * options always give the same registry. Any other well-formed code is attributed to nobody.
 */
import { checkCodiceFiscale, computeCodiceFiscale, omocodicVariants, type PersonalData } from '../sdk/index.js';
import type { Persona, SiatelEsito, SiatelRequest } from './siatel-mapping.js';

export interface SimulatedPerson extends Persona {
  readonly codiceFiscale: string;
  /** Whether the code is an omocodic form (its base form went to someone registered earlier). */
  readonly omocodico: boolean;
}

export interface SimulatedRegistryOptions {
  /** People generated after the fixed list. */
  readonly generatedPeople: number;
  /** Seed of the generator: another seed, another population. */
  readonly seed: number;
}

/**
 * Persona people. Rossi and Rossini Mario share surname consonants, name, birth date and place: the
 * second gets the first omocodic form of the first's code.
 */
export const NAMED_PEOPLE: readonly Persona[] = [
  { cognome: 'Rossi', nome: 'Mario', sesso: 'M', dataNascita: '1980-01-01', luogoNascita: 'H501', comuneResidenza: 'G141' },
  { cognome: 'Rossini', nome: 'Mario', sesso: 'M', dataNascita: '1980-01-01', luogoNascita: 'H501', comuneResidenza: 'G482' },
  { cognome: 'Bianchi', nome: 'Giulia', sesso: 'F', dataNascita: '1975-06-15', luogoNascita: 'G482', comuneResidenza: 'G482' },
  { cognome: 'Verdi', nome: 'Luca', sesso: 'M', dataNascita: '1990-11-30', luogoNascita: 'G141', comuneResidenza: 'G141' },
  { cognome: 'Esposito', nome: 'Anna', sesso: 'F', dataNascita: '1962-03-08', luogoNascita: 'F839', comuneResidenza: 'C632' },
  { cognome: 'De Luca', nome: 'Francesco', sesso: 'M', dataNascita: '1955-09-21', luogoNascita: 'A345', comuneResidenza: 'A345' },
  { cognome: "D'Angelo", nome: 'Chiara', sesso: 'F', dataNascita: '2001-12-24', luogoNascita: 'G141' },
  { cognome: 'Colombo', nome: 'Paolo', sesso: 'M', dataNascita: '1948-07-04', luogoNascita: 'F205', comuneResidenza: 'L103' },
  { cognome: 'Ricci', nome: 'Sara', sesso: 'F', dataNascita: '1985-02-28', luogoNascita: 'L219', comuneResidenza: 'G482' },
  { cognome: 'Marino', nome: 'Giuseppe', sesso: 'M', dataNascita: '1970-10-10', luogoNascita: 'G273', comuneResidenza: 'G141' },
];

const SURNAMES = [
  'Romano',
  'Gallo',
  'Costa',
  'Fontana',
  'Conti',
  'Bruno',
  'Greco',
  'Lombardi',
  'Moretti',
  'Barbieri',
  'Ferrara',
  'Rinaldi',
  'Caruso',
  'Mancini',
  'Leone',
  'Longo',
  'Gentile',
  'Martinelli',
  'Vitale',
  'Serra',
  'Coppola',
  'De Santis',
  'Marchetti',
  'Ferri',
  'Pellegrini',
  'Palumbo',
  'Sanna',
  'Farina',
  'Rizzi',
  'Monti',
];
const NAMES: Readonly<Record<'M' | 'F', readonly string[]>> = {
  M: [
    'Marco',
    'Andrea',
    'Alessandro',
    'Matteo',
    'Lorenzo',
    'Davide',
    'Simone',
    'Federico',
    'Riccardo',
    'Stefano',
    'Antonio',
    'Roberto',
    'Giovanni',
    'Nicola',
    'Fabio',
  ],
  F: [
    'Francesca',
    'Elena',
    'Martina',
    'Valentina',
    'Alessia',
    'Silvia',
    'Laura',
    'Federica',
    'Paola',
    'Roberta',
    'Maria',
    'Giorgia',
    'Elisa',
    'Ilaria',
    'Cristina',
  ],
};
/** Codici catastali of birth places: Roma, Milano, Napoli, Torino, Palermo, Genova, Bologna, Firenze, L'Aquila, Ortona, Pescara, Chieti, Teramo. */
const BIRTH_PLACES = ['H501', 'F205', 'F839', 'L219', 'G273', 'D969', 'A944', 'D612', 'A345', 'G141', 'G482', 'C632', 'L103'];
/** Comuni of residence of the generated people (Abruzzo, where the demo's Comuni are). */
const RESIDENCES = ['G141', 'G482', 'C632', 'L103', 'A345'];

export class SimulatedRegistry {
  private readonly byCode = new Map<string, SimulatedPerson>();

  constructor(options: SimulatedRegistryOptions) {
    for (const p of NAMED_PEOPLE) this.register(p);
    const random = mulberry32(options.seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    for (let i = 0; i < options.generatedPeople; i++) {
      const sesso = random() < 0.5 ? 'M' : 'F';
      const born = Date.UTC(1930, 0, 1) + Math.floor(random() * 75 * 365.25) * 86_400_000;
      const comuneResidenza = random() < 0.9 ? pick(RESIDENCES) : undefined;
      this.register({
        cognome: pick(SURNAMES),
        nome: pick(NAMES[sesso]),
        sesso,
        dataNascita: new Date(born).toISOString().slice(0, 10),
        luogoNascita: pick(BIRTH_PLACES),
        ...(comuneResidenza ? { comuneResidenza } : {}),
      });
    }
  }

  get size(): number {
    return this.byCode.size;
  }

  /** Everyone, in registration order. */
  people(): SimulatedPerson[] {
    return [...this.byCode.values()];
  }

  person(codiceFiscale: string): SimulatedPerson | undefined {
    return this.byCode.get(codiceFiscale);
  }

  /** What SIATEL answers to a (well-formed) request. */
  answer(request: SiatelRequest, today: Date): SiatelEsito {
    const codiceFiscale = request.codiceFiscale;
    const check = checkCodiceFiscale(codiceFiscale, { today });
    const person = check.valid ? this.byCode.get(check.normalized) : undefined;
    const motivo = check.valid ? {} : { motivo: check.reason };
    switch (request.interrogazione) {
      case 'verificaCodiceFiscale':
        return {
          interrogazione: 'verificaCodiceFiscale',
          codiceFiscale,
          esito: !check.valid ? 'NON_VALIDO' : !person ? 'NON_ATTRIBUITO' : person.omocodico ? 'OMOCODICO' : 'VALIDO',
          ...motivo,
        };
      case 'datiAnagrafici':
        return person
          ? { interrogazione: 'datiAnagrafici', codiceFiscale, esito: 'TROVATO', persona: personaOf(person) }
          : { interrogazione: 'datiAnagrafici', codiceFiscale, esito: check.valid ? 'NON_TROVATO' : 'NON_VALIDO', ...motivo };
      case 'verificaResidenza': {
        const esito = !check.valid
          ? 'NON_VALIDO'
          : !person
            ? 'NON_TROVATO'
            : person.comuneResidenza === request.comune
              ? 'RESIDENTE'
              : 'NON_RESIDENTE';
        return { interrogazione: 'verificaResidenza', codiceFiscale, comune: request.comune, esito, ...motivo };
      }
    }
  }

  /** Gives the person the base code, or the first omocodic form nobody has yet. */
  private register(p: Persona): void {
    const data: PersonalData = { surname: p.cognome, name: p.nome, birthDate: p.dataNascita, sex: p.sesso, placeCode: p.luogoNascita };
    const base = computeCodiceFiscale(data);
    const free = [base, ...omocodicVariants(base)].find((code) => !this.byCode.has(code));
    // Eight people sharing every coded datum is beyond what the lists above can produce often; skip them.
    if (free === undefined) return;
    this.byCode.set(free, { ...p, codiceFiscale: free, omocodico: free !== base });
  }
}

function personaOf(p: SimulatedPerson): Persona {
  const { codiceFiscale: _code, omocodico: _omocodico, ...persona } = p;
  return persona;
}

/** A small seeded PRNG (mulberry32): deterministic, uniform enough for invented people. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
