import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSegnatura } from '../../../adapters/protocollo/segnatura/segnatura-reader.js';
import type { Segnatura } from '../../../adapters/protocollo/segnatura/segnatura-model.js';
import { ProtocolloError } from '../../../src/core/errors.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/protocollo/${name}`, import.meta.url), 'utf8');
const XML_2021 = fixture('segnatura-2021-valverde.xml');
const XML_2013 = fixture('segnatura-2013-valverde.xml');
const XML_2001 = fixture('segnatura-2001-valverde.xml');

const withoutForm = ({ form: _form, ...rest }: Segnatura) => rest;

/** Runs `fn`, expects a ProtocolloError and returns it. */
function refusal(fn: () => unknown): ProtocolloError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolloError);
    return err as ProtocolloError;
  }
  throw new Error('expected a ProtocolloError, nothing was thrown');
}

describe('readSegnatura: the three forms', () => {
  it('reads the 2021 form into the model, applying the schema defaults', () => {
    const { segnatura, root } = readSegnatura(XML_2021);
    expect(root.localName).toBe('SegnaturaInformatica');
    expect(segnatura.form).toBe('2021');
    expect(segnatura.identificatore).toEqual({
      codiceAmministrazione: 'c_l999',
      codiceAOO: 'AVVPG01',
      codiceRegistro: 'PG',
      numeroRegistrazione: '0004217',
      dataRegistrazione: '2024-03-14',
      oraRegistrazione: '10:42:07',
    });
    expect(segnatura.oggetto).toBe("Piano comunale di protezione civile & piano neve: trasmissione dell'aggiornamento 2024");
    expect(segnatura.classifica).toEqual({
      denominazione: 'Rapporti istituzionali',
      codice: {
        kind: 'path',
        livelli: [
          { valore: 'I', descrizione: 'Amministrazione generale' },
          { valore: '8', descrizione: 'Rapporti con altri enti' },
        ],
      },
    });
    expect(segnatura.destinatari.map((d) => [d.soggetto.tipo, d.confermaRicezione, d.perConoscenza])).toEqual([
      ['Amministrazione', true, false],
      ['PersonaFisica', false, false], // perConoscenza absent: the schema's default, false
      ['Amministrazione', false, true],
    ]);
    // Impronta@algoritmo absent: SHA-256; a base64 value wrapped over lines is kept bare.
    expect(segnatura.allegati[0]?.impronta).toEqual({ algoritmo: 'SHA-256', valore: 'iJFgTHtJB54/TpGsr1joljd0YJj/qUuQPLIhKNZ3GA8=' });
    expect(segnatura.allegati[1]?.impronta?.valore).toBe('p6410OSvP2Tnt09wvLiEuZ4NrKxSgnGOVk4yzHMMbNM=');
    // An IndirizzoTelematico without @tipo is smtp.
    const regione = segnatura.destinatari[0]?.soggetto;
    expect(regione?.tipo === 'Amministrazione' && regione.contattiAOO?.indirizziTelematici[0]?.tipo).toBe('smtp');
  });

  it('reads the 2013 and 2001 forms of the same registration into the same model, form aside', () => {
    const from2013 = readSegnatura(XML_2013).segnatura;
    const from2001 = readSegnatura(XML_2001).segnatura;
    expect(from2013.form).toBe('2013');
    expect(from2001.form).toBe('2001');
    expect(withoutForm(from2001)).toEqual(withoutForm(from2013));
  });

  it('maps the 2013 form onto what the 2021 form of the same registration says', () => {
    // Origine/IndirizzoTelematico → the AOO's contacts; Destinazione@confermaRicezione si|no; PerConoscenza;
    // OraRegistrazione; Livello@nome; TitoloDocumento; the Documento inside an Allegati/Fascicolo.
    expect(withoutForm(readSegnatura(XML_2013).segnatura)).toEqual(withoutForm(readSegnatura(XML_2021).segnatura));
  });

  it('accepts SegnaturaInformatica in the pec namespace, its content staying in the segnatura namespace', () => {
    const pec = XML_2021.replace(
      '<prot:SegnaturaInformatica xmlns:prot="http://www.agid.gov.it/protocollo/"',
      '<pec:SegnaturaInformatica xmlns:pec="http://www.agid.gov.it/protocollo/pec/" xmlns:prot="http://www.agid.gov.it/protocollo/"',
    ).replace('</prot:SegnaturaInformatica>', '</pec:SegnaturaInformatica>');
    expect(readSegnatura(pec).segnatura).toEqual(readSegnatura(XML_2021).segnatura);
  });

  it('reads bytes as well as text', () => {
    expect(readSegnatura(new TextEncoder().encode(XML_2013)).segnatura).toEqual(readSegnatura(XML_2013).segnatura);
  });
});

describe('readSegnatura: a real-world 2001 Segnatura (DOCTYPE, ISO-8859-1, no Impronta)', () => {
  const LEGACY = readFileSync(new URL('../../fixtures/protocollo/segnatura-2001-provincia-latin1.xml', import.meta.url));

  it('reads it from its bytes: the DOCTYPE tolerated, the accented letters right', () => {
    expect(LEGACY.subarray(0, 120).toString('latin1')).toMatch(/encoding="ISO-8859-1"\?>\n<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">/);
    const { segnatura } = readSegnatura(LEGACY);
    expect(segnatura.form).toBe('2001');
    expect(segnatura.oggetto).toBe(
      "S.P. n° 84 «Frentana»: lavori di messa in sicurezza del tratto in località Sant'Apollinare. Richiesta di parere di compatibilità idraulica e nulla osta dell'Autorità di bacino",
    );
    expect(segnatura.mittente).toMatchObject({
      denominazioneAmministrazione: 'Provincia di Chieti',
      codiceIPAUO: { codice: 'SVPC', descrizione: 'Settore Viabilità, Protezione civile e Attività estrattive' },
    });
    expect(segnatura.mittente.tipo === 'Amministrazione' && segnatura.mittente.personeFisiche[0]?.nome).toBe('Nicolò');
  });

  it('reads the 2001 Identificatore, which had no CodiceRegistro, with an empty one', () => {
    expect(readSegnatura(LEGACY).segnatura.identificatore).toEqual({
      codiceAmministrazione: 'p_ch',
      codiceAOO: 'AOO_PCH',
      codiceRegistro: '',
      numeroRegistrazione: '0018342',
      dataRegistrazione: '2026-11-20',
      oraRegistrazione: '11:07:52',
    });
  });

  it('reads its documents without Impronta as unchecked', () => {
    const { segnatura } = readSegnatura(LEGACY);
    expect(segnatura.documentoPrimario).toEqual({
      nomeFile: 'Nota_0018342_2026.pdf',
      mimeType: 'application/pdf',
      descrizione: 'Nota di trasmissione del Dirigente del Settore Viabilità',
      unchecked: true,
    });
    expect(segnatura.allegati.map((d) => [d.nomeFile, d.impronta, d.unchecked])).toEqual([['Relazione_idraulica.pdf', undefined, true]]);
  });

  it('reads a 2013 Documento without Impronta as unchecked too (the 2013 schema made it optional)', () => {
    const noImpronta = XML_2013.replace(/<Impronta[^>]*>yAjW[^<]*<\/Impronta>/, '');
    const { segnatura } = readSegnatura(noImpronta);
    expect(segnatura.documentoPrimario).toMatchObject({ nomeFile: 'PG0004217_nota.pdf', unchecked: true });
    expect(segnatura.documentoPrimario.impronta).toBeUndefined();
    expect(segnatura.allegati.every((d) => d.impronta && !d.unchecked)).toBe(true);
  });

  it('reads the same Segnatura written in windows-1252 the same way', () => {
    const win = Buffer.from(LEGACY.toString('latin1').replace('encoding="ISO-8859-1"', 'encoding="windows-1252"'), 'latin1');
    expect(readSegnatura(win).segnatura).toEqual(readSegnatura(LEGACY).segnatura);
  });
});

describe('readSegnatura: refusals are 000_Irricevibile and say what to fix', () => {
  it('refuses a DOCTYPE other than the 2001 one, and says to remove the line', () => {
    const other = XML_2001.replace(
      '<?xml version="1.0" encoding="UTF-8"?>\n',
      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Segnatura SYSTEM "Protocollo.dtd">\n',
    );
    const err = refusal(() => readSegnatura(other));
    expect(err.code).toBe('000_Irricevibile');
    expect(err.message).toMatch(/DOCTYPE \(line 2\)/);
    expect(err.message).toMatch(/the DTD "Protocollo.dtd" is not accepted/);
    expect(err.message).toMatch(/remove the <!DOCTYPE …> line/);
  });

  it('refuses the 2001 DOCTYPE in front of a 2013 Segnatura', () => {
    const on2013 = XML_2013.replace(
      '<?xml version="1.0" encoding="UTF-8"?>\n',
      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">\n',
    );
    expect(refusal(() => readSegnatura(on2013)).message).toMatch(
      /declares a DOCTYPE \(line 2\).*the root element is \{http:\/\/www.digitPa.gov.it\/protocollo\/\}Segnatura/,
    );
  });

  it('refuses the 2001 DOCTYPE with an internal subset, however small', () => {
    const subset = XML_2001.replace(
      '<?xml version="1.0" encoding="UTF-8"?>\n',
      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd" [<!ATTLIST Segnatura versione CDATA "x">]>\n',
    );
    expect(refusal(() => readSegnatura(subset)).message).toMatch(/internal subset/);
  });

  it('refuses an entity-bearing DOCTYPE before anything is expanded', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE Segnatura [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<Segnatura><Intestazione>&b;</Intestazione></Segnatura>`;
    expect(refusal(() => readSegnatura(bomb)).message).toMatch(/remove the <!DOCTYPE …> line/);
  });

  it('refuses ISO-8859-1 bytes that do not say so (read as UTF-8, they are not), saying what to declare', () => {
    const undeclared = Buffer.from(XML_2001.replace(' encoding="UTF-8"', '').replace('Valverde', 'Città di Valverde'), 'latin1');
    const err = refusal(() => readSegnatura(undeclared));
    expect(err.code).toBe('000_Irricevibile');
    expect(err.message).toMatch(
      /^Segnatura is not readable XML: the document declares no encoding, so it must be UTF-8, but is not valid UTF-8 .*encoding="ISO-8859-1"/,
    );
  });

  it('refuses XML that is not well formed, with the position', () => {
    const err = refusal(() =>
      readSegnatura('<prot:SegnaturaInformatica xmlns:prot="http://www.agid.gov.it/protocollo/"><prot:Intestazione>'),
    );
    expect(err.code).toBe('000_Irricevibile');
    expect(err.message).toMatch(/^Segnatura is not readable XML: .*line \d+/);
  });

  it('names the path of a missing required element', () => {
    const err = refusal(() => readSegnatura(XML_2021.replace(/<prot:Oggetto>.*<\/prot:Oggetto>/, '')));
    expect(err.code).toBe('000_Irricevibile');
    expect(err.message).toBe('required element SegnaturaInformatica/Intestazione/Oggetto is missing (2021 form)');
    expect(err.where).toBe('SegnaturaInformatica/Intestazione/Oggetto');

    const noNumero = XML_2013.replace(/<NumeroRegistrazione>.*<\/NumeroRegistrazione>/, '');
    expect(refusal(() => readSegnatura(noNumero)).message).toBe(
      'required element Segnatura/Intestazione/Identificatore/NumeroRegistrazione is missing (2013 form)',
    );
  });

  it('names a missing required attribute', () => {
    const err = refusal(() => readSegnatura(XML_2021.replace(' prot:nomeFile="PG0004217_nota.pdf"', '')));
    expect(err.message).toBe('SegnaturaInformatica/Descrizione/DocumentoPrimario/@nomeFile is missing (required) (2021 form)');
  });

  it('refuses an unqualified 2021 attribute instead of silently applying the default', () => {
    const unqualified = XML_2021.replace('prot:confermaRicezione="false">', 'confermaRicezione="false">');
    const err = refusal(() => readSegnatura(unqualified));
    expect(err.message).toMatch(/Destinatario\/@confermaRicezione must be namespace-qualified \(e\.g\. prot:confermaRicezione\)/);
  });

  it('refuses a repeated single element rather than picking one', () => {
    const twice = XML_2021.replace(/(<prot:Oggetto>.*<\/prot:Oggetto>)/, '$1$1');
    expect(refusal(() => readSegnatura(twice)).message).toMatch(/SegnaturaInformatica\/Intestazione\/Oggetto appears 2 times/);
  });

  it('refuses a root that is no Segnatura, naming what it is', () => {
    const err = refusal(() => readSegnatura('<Fattura xmlns="urn:example:fattura"/>'));
    expect(err.message).toMatch(/^the document is not a Segnatura: its root is \{urn:example:fattura\}Fattura/);
    // The 2013 namespace with a lowercase p is another namespace: URIs compare exactly.
    const wrongCase = XML_2013.replace('http://www.digitPa.gov.it/protocollo/', 'http://www.digitpa.gov.it/protocollo/');
    expect(refusal(() => readSegnatura(wrongCase)).message).toMatch(/not a Segnatura/);
  });

  it('refuses a 2021 Segnatura without Impronta: the 2021 form keeps it mandatory', () => {
    const noImpronta = XML_2021.replace(/<prot:Impronta[^>]*>yAjW[^<]*<\/prot:Impronta>/, '');
    expect(noImpronta).not.toBe(XML_2021);
    const err = refusal(() => readSegnatura(noImpronta));
    expect(err.code).toBe('000_Irricevibile');
    expect(err.message).toBe('required element SegnaturaInformatica/Descrizione/DocumentoPrimario/Impronta is missing (2021 form)');
  });

  it('refuses a message body as primary document', () => {
    const testo = XML_2013.replace(
      /<Documento nome="PG0004217_nota.pdf"[\s\S]*?<\/Documento>/,
      '<TestoDelMessaggio tipoMIME="text/plain"/>',
    );
    expect(refusal(() => readSegnatura(testo)).message).toMatch(/TestoDelMessaggio: the primary document is the message body/);
  });

  it('refuses a boolean it cannot read', () => {
    const bad = XML_2021.replace('prot:perConoscenza="true"', 'prot:perConoscenza="si"');
    expect(refusal(() => readSegnatura(bad)).message).toMatch(/@perConoscenza is "si", not a boolean/);
  });
});
