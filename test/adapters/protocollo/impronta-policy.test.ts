/**
 * The policy for a 2013 or 2001 Segnatura that lists a document without Impronta: accepted unchecked by
 * default (its documents named, for the register and the back office), or refused with 002 — and the
 * options schema that carries it, shipped as a JSON Schema beside the other protocollo schemas.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { checkImpronte, improntaOf } from '../../../adapters/protocollo/impronta.js';
import { protocolloOptionsSchema } from '../../../adapters/protocollo/protocollo-options.js';
import { readSegnatura } from '../../../adapters/protocollo/segnatura/segnatura-reader.js';
import { ProtocolloError } from '../../../src/core/errors.js';

const LEGACY = readSegnatura(
  readFileSync(new URL('../../fixtures/protocollo/segnatura-2001-provincia-latin1.xml', import.meta.url)),
).segnatura;
const nota = Buffer.from('%PDF-1.4 nota\n');
const relazione = Buffer.from('%PDF-1.4 relazione\n');
const FILES = [
  { nomeFile: 'Nota_0018342_2026.pdf', mimeType: 'application/pdf', content: nota },
  { nomeFile: 'Relazione_idraulica.pdf', mimeType: 'application/pdf', content: relazione },
];

function refusal(fn: () => unknown): ProtocolloError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolloError);
    return err as ProtocolloError;
  }
  throw new Error('expected a ProtocolloError, nothing was thrown');
}

describe('checkImpronte and documents without Impronta', () => {
  it('accept: names every document it could not check', () => {
    expect(checkImpronte(LEGACY, FILES, 'accept')).toEqual({ unchecked: ['Nota_0018342_2026.pdf', 'Relazione_idraulica.pdf'] });
  });

  it('accept: checks the documents that do have an Impronta, and lists only the others', () => {
    const mixed = { ...LEGACY, documentoPrimario: { ...LEGACY.documentoPrimario, impronta: improntaOf(nota), unchecked: undefined } };
    expect(checkImpronte(mixed, FILES, 'accept')).toEqual({ unchecked: ['Relazione_idraulica.pdf'] });
    const wrong = { ...LEGACY, documentoPrimario: { ...LEGACY.documentoPrimario, impronta: improntaOf(relazione), unchecked: undefined } };
    expect(refusal(() => checkImpronte(wrong, FILES, 'accept')).code).toBe('002_AnomaliaImpronta');
  });

  it('refuse: 002_AnomaliaImpronta, naming the document', () => {
    const err = refusal(() => checkImpronte(LEGACY, FILES, 'refuse'));
    expect(err.code).toBe('002_AnomaliaImpronta');
    expect(err.message).toMatch(/^Nota_0018342_2026\.pdf: the Segnatura gives no Impronta/);
  });

  it('a document without Impronta must still have been received (003), whatever the policy', () => {
    expect(refusal(() => checkImpronte(LEGACY, FILES.slice(0, 1), 'accept')).code).toBe('003_DocumentoAllegatiNonLeggibili');
  });
});

describe('the withoutImpronta option', () => {
  const compile = () => {
    const ajv = new Ajv({ useDefaults: true, strict: true, allErrors: true });
    addFormats.default(ajv);
    return ajv.compile(protocolloOptionsSchema);
  };
  const aoo = { codiceAmministrazione: 'r_abruzz', codiceAOO: 'AOO_GIUNTA', codiceRegistro: 'RG', denominazione: 'Regione Abruzzo' };

  it('defaults to accept, takes refuse, and nothing else', () => {
    const validate = compile();
    const options: Record<string, unknown> = { aoo };
    expect(validate(options)).toBe(true);
    expect(options['withoutImpronta']).toBe('accept');
    expect(validate({ aoo, withoutImpronta: 'refuse' })).toBe(true);
    expect(validate({ aoo, withoutImpronta: 'ignore' })).toBe(false);
  });

  it('is described by the shipped JSON Schema of the adapter options, which is the one the adapter applies', () => {
    const shipped = JSON.parse(
      readFileSync(new URL('../../../schemas/protocollo/protocollo-options.schema.json', import.meta.url), 'utf8'),
    ) as Record<string, unknown>;
    const { $schema: _s, $id: _i, title: _t, $comment: _c, ...schema } = shipped;
    expect(schema).toEqual(JSON.parse(JSON.stringify(protocolloOptionsSchema)));
  });
});
