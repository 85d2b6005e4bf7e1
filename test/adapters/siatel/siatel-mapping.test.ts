import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeCodiceFiscale, omocodicVariants } from '../../../adapters/sdk/codice-fiscale/codice-fiscale.js';
import {
  SIATEL_ESITI,
  SIATEL_NAMESPACE,
  SiatelXmlError,
  readSiatelAnswer,
  readSiatelRequest,
  siatelAction,
  validateSiatelSchema,
  writeSiatelAnswer,
  writeSiatelRequest,
  type SiatelAnswer,
  type SiatelRequest,
} from '../../../adapters/siatel/siatel-mapping.js';

const CF = computeCodiceFiscale({ surname: 'Rossi', name: 'Mario', birthDate: '1980-01-01', sex: 'M', placeCode: 'H501' });
const CF_OMOCODICO = omocodicVariants(CF)[0]!;

const REQUESTS: SiatelRequest[] = [
  { interrogazione: 'verificaCodiceFiscale', operatore: 'OP.ortona-1', codiceFiscale: CF },
  { interrogazione: 'datiAnagrafici', operatore: 'OP_2', codiceFiscale: CF_OMOCODICO },
  { interrogazione: 'verificaResidenza', operatore: 'op3', codiceFiscale: CF, comune: 'G141' },
];

const ANSWERS: SiatelAnswer[] = [
  { interrogazione: 'verificaCodiceFiscale', codiceFiscale: CF, esito: 'VALIDO' },
  { interrogazione: 'verificaCodiceFiscale', codiceFiscale: CF_OMOCODICO, esito: 'OMOCODICO' },
  {
    interrogazione: 'verificaCodiceFiscale',
    codiceFiscale: CF,
    esito: 'NON_VALIDO',
    motivo: 'check character is "H", expected "X" & <so> on',
  },
  {
    interrogazione: 'datiAnagrafici',
    codiceFiscale: CF,
    esito: 'TROVATO',
    persona: {
      cognome: "D'Angelo",
      nome: 'Chiara Maria',
      sesso: 'F',
      dataNascita: '2001-12-24',
      luogoNascita: 'G141',
      comuneResidenza: 'G482',
    },
  },
  {
    interrogazione: 'datiAnagrafici',
    codiceFiscale: CF,
    esito: 'TROVATO',
    persona: { cognome: 'Rossi', nome: 'Mario', sesso: 'M', dataNascita: '1980-01-01', luogoNascita: 'Z404' },
  },
  { interrogazione: 'datiAnagrafici', codiceFiscale: CF, esito: 'NON_TROVATO' },
  { interrogazione: 'verificaResidenza', codiceFiscale: CF, comune: 'G141', esito: 'RESIDENTE' },
  { interrogazione: 'verificaResidenza', codiceFiscale: CF, comune: 'C632', esito: 'NON_RESIDENTE' },
  {
    errore: {
      codice: 'OPERATORE_BLOCCATO',
      descrizione: 'Operatore bloccato: più di 60 interrogazioni in un minuto',
      operatore: 'op3',
      bloccatoFinoA: '2026-11-23T23:00:00.000Z',
    },
  },
  { errore: { codice: 'RICHIESTA_NON_VALIDA', descrizione: 'Richiesta non valida' } },
];

const doc = (root: string, inner: string) => `<s:${root} xmlns:s="${SIATEL_NAMESPACE}">${inner}</s:${root}>`;

describe('the SIATEL mapping (Tramite’s own XML, urn:tramite:siatel:1)', () => {
  it.each(REQUESTS)('writes a schema-valid $interrogazione request that reads back the same', async (request) => {
    const xml = writeSiatelRequest(request);
    expect(xml.startsWith('<?xml')).toBe(false); // it travels as a bus Body
    expect(await validateSiatelSchema(xml)).toEqual({ valid: true });
    expect(readSiatelRequest(xml)).toEqual(request);
    expect(xml).toContain(`:${siatelAction(request.interrogazione)} `);
  });

  it.each(ANSWERS.map((a) => ['errore' in a ? a.errore.codice : `${a.interrogazione} ${a.esito}`, a] as const))(
    'writes a schema-valid answer (%s) that reads back the same',
    async (_name, answer) => {
      const xml = writeSiatelAnswer(answer);
      expect(await validateSiatelSchema(xml)).toEqual({ valid: true });
      expect(readSiatelAnswer(xml)).toEqual(answer);
    },
  );

  it('round-trips any well-formed request and answer (property, without the XSD)', () => {
    const letters = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    const operatore = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/);
    const codiceFiscale = fc.stringMatching(/^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/);
    const comune = fc.tuple(letters, fc.integer({ min: 0, max: 999 })).map(([l, n]) => `${l}${String(n).padStart(3, '0')}`);
    // Text as SIATEL could send it: any XML characters, but not only spaces (the reader trims).
    const testo = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 100 })
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    fc.assert(
      fc.property(
        fc.constantFrom(...(['verificaCodiceFiscale', 'datiAnagrafici', 'verificaResidenza'] as const)),
        operatore,
        codiceFiscale,
        comune,
        (kind, op, cf, c) => {
          const request: SiatelRequest =
            kind === 'verificaResidenza'
              ? { interrogazione: kind, operatore: op, codiceFiscale: cf, comune: c }
              : { interrogazione: kind, operatore: op, codiceFiscale: cf };
          expect(readSiatelRequest(writeSiatelRequest(request))).toEqual(request);
        },
      ),
    );
    fc.assert(
      fc.property(
        codiceFiscale,
        fc.constantFrom(...SIATEL_ESITI.verificaCodiceFiscale),
        fc.option(testo, { nil: undefined }),
        (cf, esito, motivo) => {
          const answer: SiatelAnswer = {
            interrogazione: 'verificaCodiceFiscale',
            codiceFiscale: cf,
            esito,
            ...(motivo !== undefined ? { motivo } : {}),
          };
          expect(readSiatelAnswer(writeSiatelAnswer(answer))).toEqual(answer);
        },
      ),
    );
  });

  it('refuses to write a value the schema would refuse, naming the element', () => {
    expect(() => writeSiatelRequest({ interrogazione: 'verificaCodiceFiscale', operatore: 'op', codiceFiscale: CF.toLowerCase() })).toThrow(
      /CodiceFiscale/,
    );
    expect(() => writeSiatelRequest({ interrogazione: 'verificaResidenza', operatore: 'op', codiceFiscale: CF, comune: 'Ortona' })).toThrow(
      /Comune/,
    );
    expect(() => writeSiatelRequest({ interrogazione: 'datiAnagrafici', operatore: 'op con spazi', codiceFiscale: CF })).toThrow(
      /Operatore/,
    );
    expect(() =>
      writeSiatelAnswer({
        interrogazione: 'datiAnagrafici',
        codiceFiscale: CF,
        esito: 'NON_TROVATO',
        persona: { cognome: 'A', nome: 'B', sesso: 'M', dataNascita: '1980-01-01', luogoNascita: 'H501' },
      }),
    ).toThrow(/Persona/);
    expect(() =>
      writeSiatelAnswer({
        interrogazione: 'datiAnagrafici',
        codiceFiscale: CF,
        esito: 'TROVATO',
        persona: { cognome: 'A', nome: 'B', sesso: 'M', dataNascita: '1980-02-30', luogoNascita: 'H501' },
      }),
    ).toThrow(/DataNascita/);
    expect(() => writeSiatelAnswer({ errore: { codice: 'RICHIESTA_NON_VALIDA', descrizione: 'x\u0001y' } })).toThrow(/Descrizione/);
  });

  it.each([
    [
      'another namespace',
      `<VerificaCodiceFiscale xmlns="urn:other"><Operatore>op</Operatore><CodiceFiscale>${CF}</CodiceFiscale></VerificaCodiceFiscale>`,
      /root element/,
    ],
    [
      'a missing element',
      doc('VerificaResidenza', `<s:Operatore>op</s:Operatore><s:CodiceFiscale>${CF}</s:CodiceFiscale>`),
      /missing Comune/,
    ],
    [
      'an unknown element',
      doc('VerificaCodiceFiscale', `<s:Operatore>op</s:Operatore><s:CodiceFiscale>${CF}</s:CodiceFiscale><s:Extra/>`),
      /unexpected/,
    ],
    [
      'elements out of order',
      doc('VerificaCodiceFiscale', `<s:CodiceFiscale>${CF}</s:CodiceFiscale><s:Operatore>op</s:Operatore>`),
      /out of order/,
    ],
    [
      'a repeated element',
      doc('VerificaCodiceFiscale', `<s:Operatore>op</s:Operatore><s:Operatore>op</s:Operatore><s:CodiceFiscale>${CF}</s:CodiceFiscale>`),
      /more than once/,
    ],
    ['a malformed code', doc('DatiAnagrafici', `<s:Operatore>op</s:Operatore><s:CodiceFiscale>RSSMRA</s:CodiceFiscale>`), /CodiceFiscale/],
    ['stray text', doc('DatiAnagrafici', `testo<s:Operatore>op</s:Operatore><s:CodiceFiscale>${CF}</s:CodiceFiscale>`), /text/],
    [
      'a DOCTYPE',
      `<!DOCTYPE x [<!ENTITY e "e">]>${doc('DatiAnagrafici', `<s:Operatore>&e;</s:Operatore><s:CodiceFiscale>${CF}</s:CodiceFiscale>`)}`,
      /DOCTYPE/,
    ],
  ])('refuses a request with %s, and so does the XSD', async (_what, xml, why) => {
    expect(() => readSiatelRequest(xml)).toThrow(SiatelXmlError);
    expect(() => readSiatelRequest(xml)).toThrow(why);
    expect((await validateSiatelSchema(xml)).valid).toBe(false);
  });

  it('refuses an answer that is incoherent or answers another query', () => {
    const found = writeSiatelAnswer({
      interrogazione: 'datiAnagrafici',
      codiceFiscale: CF,
      esito: 'TROVATO',
      persona: { cognome: 'A', nome: 'B', sesso: 'M', dataNascita: '1980-01-01', luogoNascita: 'H501' },
    });
    expect(() => readSiatelAnswer(found.replace('TROVATO', 'NON_TROVATO'))).toThrow(/Persona/);
    expect(() => readSiatelAnswer(found, 'verificaCodiceFiscale')).toThrow(/expected EsitoVerificaCodiceFiscale/);
    expect(() => readSiatelAnswer(writeSiatelAnswer(ANSWERS[0]!).replace('VALIDO', 'FORSE'))).toThrow(/Esito/);
    // An error answers any query.
    expect(readSiatelAnswer(writeSiatelAnswer(ANSWERS[8]!), 'datiAnagrafici')).toEqual(ANSWERS[8]);
  });

  it('names the element and line when the XSD refuses a document', async () => {
    const result = await validateSiatelSchema(
      doc('EsitoVerificaCodiceFiscale', `\n<s:CodiceFiscale>${CF}</s:CodiceFiscale>\n<s:Esito>FORSE</s:Esito>`),
    );
    expect(result.valid).toBe(false);
    expect(!result.valid && result.errors.join('\n')).toMatch(/line 3: .*siatel:Esito.*FORSE/);
  });
});
