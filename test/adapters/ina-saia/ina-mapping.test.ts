/**
 * The INA-SAIA form: every event kind becomes a Comunicazione valid against the project's XSD (sealed
 * or not) and reads back as the same event; the esito round-trips both ways; the schema refuses what
 * it should; the Comune's seal verifies and breaks as it should.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  INA_NS,
  InaXmlError,
  buildComunicazioneXml,
  buildEsitoXml,
  peekIdComunicazione,
  readComunicazioneXml,
  readEsitoXml,
  validateInaSchema,
  type ComunicazioneIna,
  type EsitoIna,
} from '../../../adapters/ina-saia/ina-mapping.js';
import { checkComunicazioneSeal, sealComunicazione } from '../../../adapters/ina-saia/ina-seal.js';
import { REGISTRY_EVENT_KINDS, parseRegistryEvent, type RegistryEvent } from '../../../adapters/ina-saia/registry-event.js';
import { getTestPki } from '../../fixtures/test-pki.js';
import { COMUNE, TODAY, sampleEvents } from './ina-saia-fixtures.js';
import { eventArb } from './registry-event-arbitraries.js';

const comunicazione = (evento: RegistryEvent, id = 'ev-1'): ComunicazioneIna => ({
  idComunicazione: id,
  codiceComune: COMUNE,
  dataOraComunicazione: '2026-03-15T09:00:00.000Z',
  evento,
});
const events = () => REGISTRY_EVENT_KINDS.map((kind) => [kind, parseRegistryEvent(sampleEvents()[kind], { today: TODAY })] as const);

async function expectValid(xml: string): Promise<void> {
  expect(await validateInaSchema(xml)).toEqual({ valid: true });
}

async function schemaErrors(xml: string): Promise<string> {
  const result = await validateInaSchema(xml);
  expect(result.valid).toBe(false);
  return result.valid ? '' : result.errors.join('\n');
}

describe('INA mapping: Comunicazione', () => {
  it.each(events())('%s: valid against the XSD, and read back as the same event and header', async (_kind, evento) => {
    const xml = buildComunicazioneXml(comunicazione(evento));
    await expectValid(xml);
    expect(readComunicazioneXml(xml)).toEqual(comunicazione(evento));
  });

  it('puts each kind in its own element, in the project namespace, with the header first', () => {
    const [, nascita] = events()[0]!;
    const xml = buildComunicazioneXml(comunicazione(nascita));
    expect(xml).toContain(`<ina:Comunicazione versione="1" xmlns:ina="${INA_NS}">`);
    expect(xml).toMatch(/<ina:Intestazione><ina:IdComunicazione>ev-1<\/ina:IdComunicazione><ina:CodiceComune>H501<\/ina:CodiceComune>/);
    expect(xml).toContain(
      '<ina:RiferimentoComune>PRATICA-2024-1</ina:RiferimentoComune><ina:Protocollo><ina:Numero>2024/1234</ina:Numero>',
    );
    expect(xml).toContain('<ina:IscrizioneNascita><ina:DataEvento>2024-03-10</ina:DataEvento>');
  });

  it('escapes what XML must escape, and reads it back', async () => {
    const evento = parseRegistryEvent({ ...sampleEvents()['rettifica'], motivazione: 'Atto n. 12 <bis> & "allegati"' }, { today: TODAY });
    const xml = buildComunicazioneXml(comunicazione(evento));
    expect(xml).toContain('Atto n. 12 &lt;bis&gt; &amp; "allegati"');
    await expectValid(xml);
    expect(readComunicazioneXml(xml).evento).toEqual(evento);
  });

  it('stays valid and readable once sealed by the Comune, and the seal verifies', async () => {
    const pki = getTestPki();
    for (const [, evento] of events()) {
      const sealed = await sealComunicazione(buildComunicazioneXml(comunicazione(evento)), pki.comuneA, new Date());
      await expectValid(sealed);
      expect(readComunicazioneXml(sealed)).toEqual(comunicazione(evento));
      expect(checkComunicazioneSeal(sealed, pki.trust, new Date())).toMatchObject({ valid: true });
    }
  });

  it('a seal breaks on any change, and with a certificate nobody trusts', async () => {
    const pki = getTestPki();
    const [, evento] = events()[4]!;
    const sealed = await sealComunicazione(buildComunicazioneXml(comunicazione(evento)), pki.comuneA, new Date());
    expect(
      checkComunicazioneSeal(
        sealed.replace('VIA DEL CORSO', 'VIA DEL CORSA').replace('PIAZZA NAVONA', 'PIAZZA NAVONE'),
        pki.trust,
        new Date(),
      ),
    ).toMatchObject({ valid: false });
    const rogue = await sealComunicazione(buildComunicazioneXml(comunicazione(evento)), pki.rogue, new Date());
    expect(checkComunicazioneSeal(rogue, pki.trust, new Date())).toMatchObject({ valid: false });
    expect(checkComunicazioneSeal(buildComunicazioneXml(comunicazione(evento)), pki.trust, new Date())).toMatchObject({ valid: false });
  });

  it('generated events of every kind: valid against the XSD, and read back unchanged', async () => {
    // Each validation runs libxml2 in a fresh worker: a few dozen cases, not hundreds.
    await fc.assert(
      fc.asyncProperty(eventArb, async (posted) => {
        const evento = parseRegistryEvent(posted, { today: TODAY, comune: COMUNE });
        const xml = buildComunicazioneXml(comunicazione(evento));
        await expectValid(xml);
        expect(readComunicazioneXml(xml).evento).toEqual(evento);
      }),
      { numRuns: 25 },
    );
  });

  it('peeks the IdComunicazione even of an invalid Comunicazione, and nothing of other documents', () => {
    expect(
      peekIdComunicazione(
        `<Comunicazione xmlns="${INA_NS}"><Intestazione><IdComunicazione>ev-9</IdComunicazione></Intestazione></Comunicazione>`,
      ),
    ).toBe('ev-9');
    expect(
      peekIdComunicazione(
        '<Comunicazione xmlns="urn:other"><Intestazione><IdComunicazione>ev-9</IdComunicazione></Intestazione></Comunicazione>',
      ),
    ).toBeUndefined();
    expect(
      peekIdComunicazione(
        `<Comunicazione xmlns="${INA_NS}"><Intestazione><IdComunicazione>two words</IdComunicazione></Intestazione></Comunicazione>`,
      ),
    ).toBeUndefined();
    expect(peekIdComunicazione('not xml')).toBeUndefined();
  });

  it('refuses a DOCTYPE before anything reads the document', () => {
    const xml = `<!DOCTYPE x [<!ENTITY e "boom">]><Comunicazione xmlns="${INA_NS}"/>`;
    expect(() => readComunicazioneXml(xml)).toThrow(InaXmlError);
    expect(peekIdComunicazione(xml)).toBeUndefined();
  });
});

describe('INA mapping: the XSD refuses what is not a Comunicazione', () => {
  const [, mutazione] = events()[4]!;
  const valid = () => buildComunicazioneXml(comunicazione(mutazione));

  it('a malformed codice fiscale, a foreign state as the sending Comune, a missing element', async () => {
    expect(await schemaErrors(valid().replace(mutazione.soggetto.codiceFiscale, 'RSSMRA80A01H501'))).toMatch(/CodiceFiscale/);
    expect(await schemaErrors(valid().replace('<ina:CodiceComune>H501<', '<ina:CodiceComune>Z404<'))).toMatch(/CodiceComune/);
    expect(await schemaErrors(valid().replace(/<ina:CAP>[^<]*<\/ina:CAP>/, ''))).toMatch(/CAP/);
  });

  it('two events in one Comunicazione, or an element of another namespace', async () => {
    const twice = valid().replace(
      '</ina:Comunicazione>',
      `${/<ina:MutazioneIndirizzo>[\s\S]*<\/ina:MutazioneIndirizzo>/.exec(valid())![0]}</ina:Comunicazione>`,
    );
    expect(await schemaErrors(twice)).toMatch(/MutazioneIndirizzo/);
    expect(await schemaErrors(valid().replace('</ina:Comunicazione>', '<x:Extra xmlns:x="urn:x"/></ina:Comunicazione>'))).toMatch(/Extra/);
  });

  it('an iscrizione without the complete personal data', async () => {
    const [, nascita] = events()[0]!;
    expect(
      await schemaErrors(buildComunicazioneXml(comunicazione(nascita)).replace(/<ina:LuogoNascita>[^<]*<\/ina:LuogoNascita>/, '')),
    ).toMatch(/LuogoNascita|Soggetto/);
  });
});

describe('INA mapping: Esito', () => {
  const accepted: EsitoIna = {
    stato: 'ACCETTATA',
    idComunicazione: 'ev-1',
    dataOraEsito: '2026-03-15T09:00:01.000Z',
    idOperazioneIna: 'INA-000000042',
  };
  const rejected: EsitoIna = {
    stato: 'RESPINTA',
    idComunicazione: 'ev-2',
    dataOraEsito: '2026-03-15T09:00:02.000Z',
    errori: [
      { codice: 'SOGGETTO_NON_ISCRITTO', descrizione: 'the codice fiscale is not registered as resident', campo: 'soggetto.codiceFiscale' },
      { codice: 'DATI_NON_VALIDI', descrizione: 'dataEvento < birth & "so on"' },
    ],
  };

  it.each([
    ['accepted', accepted],
    ['rejected with errors', rejected],
  ])('%s: valid against the XSD, and read back as the same outcome', async (_name, esito) => {
    const xml = buildEsitoXml(esito);
    await expectValid(xml);
    expect(readEsitoXml(xml)).toEqual(esito);
  });

  it('the schema and the reader both refuse a rejection without errors, or an esito that is both', async () => {
    const empty = buildEsitoXml(rejected).replace(/<ina:Respinta>[\s\S]*<\/ina:Respinta>/, '<ina:Respinta/>');
    expect(await schemaErrors(empty)).toMatch(/Respinta/);
    expect(() => readEsitoXml(empty)).toThrow(/at least one Errore/);
    const both = buildEsitoXml(accepted).replace('</ina:Esito>', '<ina:Respinta/></ina:Esito>');
    expect(await schemaErrors(both)).toMatch(/Respinta/);
    expect(() => readEsitoXml(both)).toThrow(/exactly one of Accettata and Respinta/);
  });

  it('cuts an overlong description to what the schema allows, rather than refusing to answer', async () => {
    const xml = buildEsitoXml({ ...rejected, errori: [{ codice: 'SCHEMA_NON_VALIDO', descrizione: 'x'.repeat(2000) }] });
    await expectValid(xml);
    const read = readEsitoXml(xml);
    expect(read.stato === 'RESPINTA' && read.errori[0].descrizione.length).toBe(500);
  });

  it('a Comunicazione is no Esito, and the other way round', () => {
    expect(() => readEsitoXml(buildComunicazioneXml(comunicazione(events()[0]![1])))).toThrow(/expected \{urn:tramite:ina-saia:1\}Esito/);
    expect(() => readComunicazioneXml(buildEsitoXml(accepted))).toThrow(/expected \{urn:tramite:ina-saia:1\}Comunicazione/);
  });
});
