/**
 * daticert.xml: the reader on documents written as providers write them (indented, escaped msgid,
 * zona), its refusals (DOCTYPE, unknown elements, bad enumerations and dates), and the writer's round
 * trip and escaping.
 */
import { describe, expect, it } from 'vitest';
import {
  type Daticert,
  POSTACERT_TIPI,
  buildDaticertXml,
  daticertData,
  daticertDataFrom,
  readDaticert,
} from '../../../adapters/pec/daticert.js';
import { PecError } from '../../../adapters/pec/pec-errors.js';
import { parseUntrustedXml } from '../../../adapters/sdk/index.js';

/** A delivery-failure daticert as a provider indents it (invented values). */
const ERRORE_CONSEGNA = `<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="errore-consegna" errore="no-dest">
    <intestazione>
        <mittente>protocollo@pec.comune-valverde.example</mittente>
        <destinatari tipo="certificato">ufficio.tributi@pec.regione-prova.example</destinatari>
        <destinatari tipo="esterno">mario.rossi@example.org</destinatari>
        <risposte>protocollo@pec.comune-valverde.example</risposte>
        <oggetto>Trasmissione delibera n. 12/2025 &lt;urgente&gt; &amp; riservata</oggetto>
    </intestazione>
    <dati>
        <gestore-emittente>Gestore di Prova S.p.A.</gestore-emittente>
        <data zona="+0100">
            <giorno>04/03/2025</giorno>
            <ora>10:15:01</ora>
        </data>
        <identificativo>opec-prova.20250304101501.77.1@pec.gestore-prova.example</identificativo>
        <msgid>&lt;20250304.101500.4242@pec.comune-valverde.example&gt;</msgid>
        <ricevuta tipo="breve" />
        <consegna>ufficio.tributi@pec.regione-prova.example</consegna>
        <ricezione>ufficio.tributi@pec.regione-prova.example</ricezione>
        <ricezione>archivio@pec.regione-prova.example</ricezione>
        <errore-esteso>5.1.1 - Gestore di Prova: indirizzo non valido</errore-esteso>
    </dati>
</postacert>
`;

const expectMalformed = (fn: () => unknown, reason: RegExp) => {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PecError);
  expect((caught as PecError).code).toBe('TRAMITE_ERR_PEC_MALFORMED');
  expect((caught as PecError).message).toMatch(reason);
};

describe('readDaticert', () => {
  it('reads every field of a provider document', () => {
    expect(readDaticert(Buffer.from(ERRORE_CONSEGNA))).toEqual({
      tipo: 'errore-consegna',
      errore: 'no-dest',
      intestazione: {
        mittente: 'protocollo@pec.comune-valverde.example',
        destinatari: [
          { indirizzo: 'ufficio.tributi@pec.regione-prova.example', tipo: 'certificato' },
          { indirizzo: 'mario.rossi@example.org', tipo: 'esterno' },
        ],
        risposte: 'protocollo@pec.comune-valverde.example',
        oggetto: 'Trasmissione delibera n. 12/2025 <urgente> & riservata',
      },
      dati: {
        gestoreEmittente: 'Gestore di Prova S.p.A.',
        data: { zona: '+0100', giorno: '04/03/2025', ora: '10:15:01', instant: '2025-03-04T09:15:01.000Z' },
        identificativo: 'opec-prova.20250304101501.77.1@pec.gestore-prova.example',
        msgid: '<20250304.101500.4242@pec.comune-valverde.example>',
        ricevuta: 'breve',
        consegna: 'ufficio.tributi@pec.regione-prova.example',
        ricezione: ['ufficio.tributi@pec.regione-prova.example', 'archivio@pec.regione-prova.example'],
        erroreEsteso: '5.1.1 - Gestore di Prova: indirizzo non valido',
      },
    } satisfies Daticert);
  });

  it('unescapes msgid whether the angle brackets were escaped once (the rule) or twice', () => {
    const twice = ERRORE_CONSEGNA.replace('&lt;20250304', '&amp;lt;20250304').replace('example&gt;</msgid>', 'example&amp;gt;</msgid>');
    expect(readDaticert(twice).dati.msgid).toBe('<20250304.101500.4242@pec.comune-valverde.example>');
  });

  it('defaults errore to nessuno and ricevuta@tipo to completa, as the DTD does', () => {
    const doc = readDaticert(ERRORE_CONSEGNA.replace(' errore="no-dest"', '').replace('<ricevuta tipo="breve" />', '<ricevuta/>'));
    expect(doc.errore).toBe('nessuno');
    expect(doc.dati.ricevuta).toBe('completa');
  });

  it('turns the date and its zona into an instant', () => {
    expect(daticertDataFrom({ zona: '+0200', giorno: '14/05/2021', ora: '12:02:08' }).instant).toBe('2021-05-14T10:02:08.000Z');
    expect(daticertDataFrom({ zona: '-0330', giorno: '31/12/2024', ora: '23:00:00' }).instant).toBe('2025-01-01T02:30:00.000Z');
    expect(daticertDataFrom({ zona: '+01:00', giorno: '01/01/2025', ora: '00:30:00' }).instant).toBe('2024-12-31T23:30:00.000Z');
  });

  it('refuses impossible dates, times and zones', () => {
    expectMalformed(() => daticertDataFrom({ zona: '+0100', giorno: '31/02/2025', ora: '10:00:00' }), /not a valid date/);
    expectMalformed(() => daticertDataFrom({ zona: '+0100', giorno: '2025-03-04', ora: '10:00:00' }), /dd\/MM\/yyyy/);
    expectMalformed(() => daticertDataFrom({ zona: '+0100', giorno: '04/03/2025', ora: '24:00:00' }), /not a valid date/);
    expectMalformed(() => daticertDataFrom({ zona: 'CET', giorno: '04/03/2025', ora: '10:00:00' }), /UTC offset/);
  });

  it('refuses a DOCTYPE (no entity can reach the model)', () => {
    const withDoctype = ERRORE_CONSEGNA.replace('<postacert', '<!DOCTYPE postacert [<!ENTITY dest "avvenuta-consegna">]>\n<postacert');
    expectMalformed(() => readDaticert(withDoctype), /DOCTYPE is not accepted/);
  });

  it('reads a document declared ISO-8859-1, as older providers write it', () => {
    const latin1 = Buffer.from(ERRORE_CONSEGNA.replace('UTF-8', 'ISO-8859-1').replace('riservata', 'riservata è'), 'latin1');
    expect(readDaticert(latin1).intestazione.oggetto).toMatch(/riservata è$/);
    expectMalformed(() => readDaticert(Buffer.from(ERRORE_CONSEGNA.replace('riservata', 'riservata è'), 'latin1')), /not valid UTF-8/);
  });

  it('refuses what the DTD does not allow', () => {
    expectMalformed(
      () => readDaticert(ERRORE_CONSEGNA.replace('tipo="errore-consegna"', 'tipo="consegnata"')),
      /@tipo="consegnata" is not one of/,
    );
    expectMalformed(() => readDaticert(ERRORE_CONSEGNA.replace('errore="no-dest"', 'errore="sconosciuto"')), /@errore="sconosciuto"/);
    expectMalformed(
      () => readDaticert(ERRORE_CONSEGNA.replace('<consegna>', '<extra>x</extra><consegna>')),
      /unexpected element <extra> in <dati>/,
    );
    expectMalformed(
      () => readDaticert(ERRORE_CONSEGNA.replace(/<identificativo>.*<\/identificativo>/, '')),
      /<dati> has no <identificativo>/,
    );
    expectMalformed(() => readDaticert(ERRORE_CONSEGNA.replace(/<destinatari[^]*?<\/destinatari>/g, '')), /no <destinatari>/);
    expectMalformed(() => readDaticert(ERRORE_CONSEGNA.replace('<msgid>', '<msgid>x</msgid><msgid>')), /2 <msgid> elements/);
    expectMalformed(() => readDaticert(ERRORE_CONSEGNA.replace('<postacert ', '<postacert xmlns="urn:altro" ')), /not <postacert>/);
    expectMalformed(() => readDaticert(ERRORE_CONSEGNA.replace('<data zona="+0100">', '<data>')), /<data> has no @zona/);
    expectMalformed(() => readDaticert(ERRORE_CONSEGNA.replace('destinatari tipo="esterno"', 'destinatari')), /<destinatari> has no @tipo/);
    expectMalformed(() => readDaticert('<postacert tipo="accettazione"><intestazione>'), /not well formed/);
  });
});

describe('buildDaticertXml', () => {
  const model = readDaticert(ERRORE_CONSEGNA);

  it('writes what the reader reads back, for every tipo', () => {
    for (const tipo of POSTACERT_TIPI) {
      const doc: Daticert = { ...model, tipo };
      expect(readDaticert(buildDaticertXml(doc))).toEqual(doc);
    }
    const minimal: Daticert = {
      tipo: 'accettazione',
      errore: 'nessuno',
      intestazione: {
        mittente: 'a@pec.example',
        destinatari: [{ indirizzo: 'b@pec.example', tipo: 'certificato' }],
        risposte: 'a@pec.example',
      },
      dati: { gestoreEmittente: 'G', data: daticertData(new Date('2025-07-01T10:00:00Z'), '+0200'), identificativo: 'id-1', ricezione: [] },
    };
    expect(readDaticert(buildDaticertXml(minimal))).toEqual(minimal);
    expect(minimal.dati.data).toMatchObject({ giorno: '01/07/2025', ora: '12:00:00' });
  });

  it('escapes every value through the DOM, the msgid brackets included', () => {
    const xml = buildDaticertXml({ ...model, intestazione: { ...model.intestazione, oggetto: 'a < b & "c" ]]> </oggetto><x/>' } });
    expect(xml).toContain('<msgid>&lt;20250304.101500.4242@pec.comune-valverde.example&gt;</msgid>');
    expect(xml).toContain('<oggetto>a &lt; b &amp; "c" ]]&gt; &lt;/oggetto&gt;&lt;x/&gt;</oggetto>');
    expect(() => parseUntrustedXml(xml)).not.toThrow();
    expect(readDaticert(xml).intestazione.oggetto).toBe('a < b & "c" ]]> </oggetto><x/>');
  });

  it('refuses a model the reader would refuse', () => {
    expectMalformed(
      () => buildDaticertXml({ ...model, intestazione: { ...model.intestazione, oggetto: 'bell\u0007' } }),
      /character XML 1\.0 cannot carry/,
    );
    expectMalformed(() => buildDaticertXml({ ...model, intestazione: { ...model.intestazione, destinatari: [] } }), /no destinatari/);
    expectMalformed(() => buildDaticertXml({ ...model, intestazione: { ...model.intestazione, mittente: ' ' } }), /<mittente> is empty/);
    expectMalformed(
      () => buildDaticertXml({ ...model, dati: { ...model.dati, data: { ...model.dati.data, ora: '11:15:01' } } }),
      /not the instant/,
    );
    expectMalformed(() => buildDaticertXml({ ...model, tipo: 'consegnata' as Daticert['tipo'] }), /tipo "consegnata"/);
  });
});
