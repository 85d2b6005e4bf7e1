import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { patchCapType, validateSegnaturaSchema, type SchemaValidation } from '../../../adapters/protocollo/segnatura/segnatura-schema.js';
import { buildSegnaturaXml } from '../../../adapters/protocollo/segnatura/segnatura-writer.js';
import type { IndirizzoPostale, Segnatura } from '../../../adapters/protocollo/segnatura/segnatura-model.js';
import { richSegnatura } from '../../fixtures/protocollo/sample-segnatura.js';
import { signEnveloped } from '../../fixtures/protocollo/enveloped-signature.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/protocollo/${name}`, import.meta.url), 'utf8');
const shipped = (path: string) => readFileSync(new URL(`../../../schemas/protocollo/${path}`, import.meta.url));

/** A Segnatura as the bus sends it: built, then sealed (the schema requires the ds:Signature). */
const sealed = (s: Segnatura) => signEnveloped(buildSegnaturaXml(s));

function errorsOf(result: SchemaValidation): string[] {
  expect(result.valid).toBe(false);
  return result.valid ? [] : result.errors;
}

function lineOf(xml: string, needle: string): number {
  return xml.slice(0, xml.indexOf(needle)).split('\n').length;
}

function withAddress(cap: string, codiceISTAT = '037999'): Segnatura {
  const s = richSegnatura();
  if (s.mittente.tipo !== 'Amministrazione') throw new Error('fixture changed: the mittente is an Amministrazione');
  const address: IndirizzoPostale = {
    toponimo: { dug: 'Via', duf: 'Roma' },
    civico: '3',
    cap,
    comune: { denominazione: 'Valverde', codiceISTAT },
    nazione: { denominazione: 'Italia', codice3166: 'ITA' },
  };
  return {
    ...s,
    mittente: { ...s.mittente, contattiAmministrazione: { indirizziPostali: [address], indirizziTelematici: [], telefoni: [] } },
  };
}

describe('validateSegnaturaSchema: the 2021 form against the official schema', () => {
  it('accepts a well-built, sealed Segnatura that uses every part of the model', async () => {
    expect(await validateSegnaturaSchema(sealed(richSegnatura()))).toEqual({ valid: true });
  });

  it('accepts the sealed 2021 fixture, and the same in the pec namespace', async () => {
    const xml = signEnveloped(fixture('segnatura-2021-valverde.xml'));
    expect(await validateSegnaturaSchema(xml)).toEqual({ valid: true });
    // Renaming the root breaks the signature's digest, which is no business of the schema.
    const pec = xml
      .replace('<prot:SegnaturaInformatica ', '<pec:SegnaturaInformatica xmlns:pec="http://www.agid.gov.it/protocollo/pec/" ')
      .replace('</prot:SegnaturaInformatica>', '</pec:SegnaturaInformatica>');
    expect(await validateSegnaturaSchema(pec)).toEqual({ valid: true });
  });

  it('refuses an unsigned Segnatura: the schema requires ds:Signature as the last child', async () => {
    expect(errorsOf(await validateSegnaturaSchema(buildSegnaturaXml(richSegnatura())))).toEqual([
      "line 2: Element 'prot:SegnaturaInformatica': Missing child element(s). Expected is ( ds:Signature ).",
    ]);
  });

  it('refuses a NumeroRegistrazione of 6 digits, naming the element, the value and its line', async () => {
    const xml = sealed({ ...richSegnatura(), identificatore: { ...richSegnatura().identificatore, numeroRegistrazione: '004218' } });
    const line = lineOf(xml, '<prot:NumeroRegistrazione>004218');
    expect(errorsOf(await validateSegnaturaSchema(xml))).toEqual([
      `line ${line}: Element 'prot:NumeroRegistrazione': [facet 'pattern'] The value '004218' is not accepted by the pattern '[0-9]{7,}'.`,
    ]);
  });

  it('refuses a Segnatura without Oggetto, saying Oggetto was expected', async () => {
    const xml = sealed(richSegnatura()).replace(/<prot:Oggetto>Richiesta di parere.*<\/prot:Oggetto>/, '');
    const [error, ...rest] = errorsOf(await validateSegnaturaSchema(xml));
    expect(rest).toEqual([]);
    expect(error).toMatch(/^line \d+: Element 'prot:Classifica': This element is not expected\. Expected is .*prot:Oggetto/);
  });

  it('refuses an unqualified attribute (attributeFormDefault="qualified")', async () => {
    const xml = sealed(richSegnatura()).replace('prot:nomeFile="Tavola_1.pdf"', 'nomeFile="Tavola_1.pdf"');
    const errors = errorsOf(await validateSegnaturaSchema(xml));
    expect(errors.join('\n')).toMatch(/Element 'prot:Allegato', attribute 'nomeFile': The attribute 'nomeFile' is not allowed/);
    expect(errors.join('\n')).toMatch(/Element 'prot:Allegato': The attribute 'prot:nomeFile' is required but missing/);
  });

  it('refuses a root that is not a Segnatura, before consulting any schema', async () => {
    const conferma = '<pec:ConfermaRicezione xmlns:pec="http://www.agid.gov.it/protocollo/pec/"/>';
    expect(errorsOf(await validateSegnaturaSchema(conferma))).toEqual([
      'line 1: the root element is {http://www.agid.gov.it/protocollo/pec/}ConfermaRicezione, expected a Segnatura (SegnaturaInformatica, or the 2013 Segnatura)',
    ]);
  });

  it('refuses a DOCTYPE with the same advice the reader gives', async () => {
    const xml = fixture('segnatura-2021-valverde.xml').replace(
      '<?xml version="1.0" encoding="UTF-8"?>\n',
      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x>\n',
    );
    const [error] = errorsOf(await validateSegnaturaSchema(xml));
    expect(error).toMatch(/declares a DOCTYPE \(line 2\).*remove the <!DOCTYPE …> line/);
  });
});

describe('the CAP patch: the official CAPType is [0-9]{6}, Italian postal codes have 5 digits', () => {
  it('accepts a 5-digit CAP', async () => {
    expect(await validateSegnaturaSchema(sealed(withAddress('40069')))).toEqual({ valid: true });
  });

  it('refuses a 6-digit CAP, naming the element', async () => {
    const errors = errorsOf(await validateSegnaturaSchema(sealed(withAddress('400690'))));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Element 'prot:CAP': \[facet 'pattern'\] The value '400690' is not accepted by the pattern '\[0-9\]\{5\}'/);
  });

  it('leaves the six-digit CodiceISTAT pattern alone', async () => {
    const errors = errorsOf(await validateSegnaturaSchema(sealed(withAddress('40069', '37999'))));
    expect(errors.join('\n')).toMatch(
      /attribute 'prot:CodiceISTAT': \[facet 'pattern'\] The value '37999' is not accepted by the pattern '\[0-9\]\{6\}'/,
    );
  });

  it('patches in memory only: the shipped schema is the official file, byte for byte', () => {
    const official = shipped('segnatura_protocollo.xsd');
    // SHA-256 of AgID's segnatura_protocollo.xsd (Linee guida 2021, Allegato 6) as published.
    expect(createHash('sha256').update(official).digest('hex')).toBe('51802d91be605e29c94c6736566487971b82ba14baa3cf3d8e367dffe3ed4667');
    const text = official.toString('utf8');
    const patched = patchCapType(text);
    expect(patched).not.toBe(text);
    expect(patched.replace('[0-9]{5}', '[0-9]{6}')).toBe(text); // one change, nothing else
  });

  it('fails loudly when the official CAPType changes, so the patch gets reviewed', () => {
    const fixedUpstream = shipped('segnatura_protocollo.xsd')
      .toString('utf8')
      .replace(/(name="CAPType"[\s\S]*?value=")\[0-9\]\{6\}/, '$1[0-9]{5}');
    expect(() => patchCapType(fixedUpstream)).toThrow(/CAPType no longer has the pattern \[0-9\]\{6\}; review the CAP patch/);
  });
});

describe('validateSegnaturaSchema: the older forms', () => {
  it('validates the 2013 form against the Circolare 60/2013 schema', async () => {
    expect(await validateSegnaturaSchema(fixture('segnatura-2013-valverde.xml'))).toEqual({ valid: true });
    const noOrigine = fixture('segnatura-2013-valverde.xml').replace(/<Origine>[\s\S]*<\/Origine>/, '');
    expect(errorsOf(await validateSegnaturaSchema(noOrigine)).join('\n')).toMatch(
      /Element 'Destinazione': This element is not expected\. Expected is .*Origine/,
    );
  });

  it('says the 2001 form has no schema to validate against', async () => {
    expect(errorsOf(await validateSegnaturaSchema(fixture('segnatura-2001-valverde.xml')))).toEqual([
      'line 1: the root element is Segnatura (no namespace), expected a Segnatura (SegnaturaInformatica, or the 2013 Segnatura) — the 2001 form (no namespace) has no XML Schema to validate against',
    ]);
  });
});
