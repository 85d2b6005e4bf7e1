import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSegnaturaXml } from '../../../adapters/protocollo/segnatura/segnatura-writer.js';
import { PROTOCOLLO_NS, readSegnatura } from '../../../adapters/protocollo/segnatura/segnatura-reader.js';
import type { Segnatura } from '../../../adapters/protocollo/segnatura/segnatura-model.js';
import { ProtocolloError } from '../../../src/core/errors.js';
import { childElements, walkElements } from '../../../adapters/sdk/xml-security.js';
import { richSegnatura } from '../../fixtures/protocollo/sample-segnatura.js';
import { signEnveloped } from '../../fixtures/protocollo/enveloped-signature.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/protocollo/${name}`, import.meta.url), 'utf8');
const names = (el: Element) => childElements(el).map((c) => c.localName);

function writeError(s: Segnatura): ProtocolloError {
  try {
    buildSegnaturaXml(s);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolloError);
    return err as ProtocolloError;
  }
  throw new Error('expected buildSegnaturaXml to refuse');
}

describe('buildSegnaturaXml: model → 2021 XML → model', () => {
  it('round-trips a Segnatura that uses every part of the model', () => {
    const s = richSegnatura();
    expect(readSegnatura(buildSegnaturaXml(s)).segnatura).toEqual(s);
  });

  it('round-trips the 2021 fixture, and reads the same once signed (the reader ignores ds:Signature)', () => {
    const model = readSegnatura(fixture('segnatura-2021-valverde.xml')).segnatura;
    const xml = buildSegnaturaXml(model);
    expect(readSegnatura(xml).segnatura).toEqual(model);
    expect(readSegnatura(signEnveloped(xml)).segnatura).toEqual(model);
  });

  it('re-emits a Segnatura read from the 2013 form in the 2021 form', () => {
    const { form: _f, ...from2013 } = readSegnatura(fixture('segnatura-2013-valverde.xml')).segnatura;
    const { form, ...rewritten } = readSegnatura(buildSegnaturaXml({ ...from2013, form: '2013' })).segnatura;
    expect(form).toBe('2021');
    expect(rewritten).toEqual(from2013);
  });
});

describe('buildSegnaturaXml: the document it writes', () => {
  const xml = buildSegnaturaXml(richSegnatura());
  const { root } = readSegnatura(xml);

  it('is the 2021 root with qualified versione and lang, and no signature yet', () => {
    expect(
      xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<prot:SegnaturaInformatica xmlns:prot="http://www.agid.gov.it/protocollo/"'),
    ).toBe(true);
    expect(root.getAttributeNS(PROTOCOLLO_NS.segnatura, 'versione')).toBe('3.0.0');
    expect(root.getAttributeNS(PROTOCOLLO_NS.segnatura, 'lang')).toBe('it');
    expect(xml).not.toContain('Signature');
  });

  it('qualifies every attribute and puts every element in the segnatura namespace', () => {
    for (const el of walkElements(root)) {
      expect(el.namespaceURI).toBe(PROTOCOLLO_NS.segnatura);
      for (let i = 0; i < el.attributes.length; i++) {
        const a = el.attributes.item(i)!;
        if (a.prefix === 'xmlns') continue;
        expect(`${el.localName}/@${a.localName}: ${a.namespaceURI}`).toBe(`${el.localName}/@${a.localName}: ${PROTOCOLLO_NS.segnatura}`);
      }
    }
  });

  it('orders elements exactly as the schema sequences do', () => {
    expect(names(root)).toEqual(['Intestazione', 'Riferimenti', 'Descrizione']);
    const [intestazione, riferimenti, descrizione] = childElements(root);
    expect(names(intestazione!)).toEqual(['Identificatore', 'PrimaRegistrazione', 'Oggetto', 'Classifica', 'Fascicolo', 'Riservato']);
    expect(names(childElements(intestazione!)[0]!)).toEqual([
      'CodiceAmministrazione',
      'CodiceAOO',
      'CodiceRegistro',
      'NumeroRegistrazione',
      'DataRegistrazione',
      'OraRegistrazione',
    ]);
    expect(names(riferimenti!)).toEqual(['Identificatore', 'Oggetto', 'Classifica', 'Fascicolo']);
    expect(names(descrizione!)).toEqual([
      'Mittente',
      'Destinatario',
      'Destinatario',
      'Destinatario',
      'Destinatario',
      'DocumentoPrimario',
      'Allegato',
      'Allegato',
    ]);
    const amministrazione = childElements(childElements(descrizione!)[0]!)[0]!;
    expect(names(amministrazione)).toEqual([
      'DenominazioneAmministrazione',
      'CFAmministrazione',
      'CodiceIPAAmministrazione',
      'ContattiAmministrazione',
      'CodiceIPAAOO',
      'ContattiAOO',
      'CodiceIPAUO',
      'ContattiUO',
      'PersonaFisica',
    ]);
    const primario = childElements(descrizione!).find((e) => e.localName === 'DocumentoPrimario')!;
    expect(names(primario)).toEqual([
      'Descrizione',
      'Impronta',
      'CollocazioneTelematica',
      'firmatoDigitalmente',
      'sigillatoElettronicamente',
    ]);
  });

  it('nests a CodicePath level by level in SubLivello', () => {
    const path = xml.slice(xml.indexOf('<prot:CodicePath>'), xml.indexOf('</prot:CodicePath>')).replace(/>\s+</g, '><').trim();
    expect(path).toBe(
      '<prot:CodicePath><prot:Livello prot:descrizione="Pianificazione e gestione del territorio">VI</prot:Livello>' +
        '<prot:SubLivello><prot:Livello prot:descrizione="Urbanistica">2</prot:Livello>' +
        '<prot:SubLivello><prot:Livello>1</prot:Livello></prot:SubLivello></prot:SubLivello>',
    );
  });

  it('escapes text and attribute values: markup in user text stays text', () => {
    expect(xml).toContain('Richiesta di parere &lt;urgente&gt; sulla "variante" n. 3 &amp; relativi allegati');
    expect(xml).toContain('prot:password="p&amp;ss&lt;word&gt;&quot;1&quot;"');
    const hostile = { ...richSegnatura(), oggetto: '</prot:Oggetto><prot:Classifica/><!-- x --><![CDATA[y]]>' };
    const read = readSegnatura(buildSegnaturaXml(hostile));
    expect(read.segnatura.oggetto).toBe(hostile.oggetto);
    expect([...walkElements(read.root)].filter((e) => e.localName === 'Classifica')).toHaveLength(2); // Intestazione's + Riferimenti'
  });
});

describe('buildSegnaturaXml: what it refuses to write', () => {
  it('refuses a character XML cannot carry, naming the field', () => {
    const err = writeError({ ...richSegnatura(), oggetto: 'bell\u0007' });
    expect(err.code).toBe('000_Irricevibile');
    expect(err.message).toBe('cannot write Oggetto: it contains U+0007, a character XML cannot carry');
  });

  it('refuses a Segnatura without Classifica (optional in the 2013 form, required in 2021)', () => {
    const { classifica: _c, ...noClassifica } = richSegnatura();
    expect(writeError(noClassifica).message).toBe('cannot write the 2021 Segnatura: Intestazione/Classifica — the 2021 schema requires it');
  });

  it('refuses a Segnatura without Destinatario', () => {
    expect(writeError({ ...richSegnatura(), destinatari: [] }).message).toMatch(
      /Descrizione\/Destinatario — at least one Destinatario is required/,
    );
  });
});
