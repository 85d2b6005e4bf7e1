/**
 * The e-Gov header rules, field by field, over the corpus in egov-header-corpus.ts: every malformed
 * busta is refused with the code and posizione the protocol names, every conforming variant is read.
 */
import { describe, expect, it } from 'vitest';
import { readEnvelope } from '../../envelopes/envelope.js';
import { EnvelopeError } from '../../src/core/errors.js';
import { BASE, busta, CONFORMING, MALFORMED, MSG } from './egov-header-corpus.js';

function refusal(xml: string): EnvelopeError | undefined {
  try {
    readEnvelope(xml);
    return undefined;
  } catch (err) {
    if (err instanceof EnvelopeError) return err;
    throw err;
  }
}

describe('malformed buste are refused with the code and posizione the protocol names', () => {
  it.each(MALFORMED.map((c) => [c.rule, c] as const))('%s', (_rule, c) => {
    const err = refusal(busta(c.fields));
    expect(err, 'expected a refusal, the busta was read').toBeDefined();
    expect({ code: err!.code, posizione: err!.posizione }, err!.message).toEqual({ code: c.code, posizione: c.posizione });
    expect(err!.message.startsWith(`${c.code} - `)).toBe(true);
  });
});

describe('conforming buste are read', () => {
  it.each(CONFORMING.map((c) => [c.variant, c] as const))('%s', (_variant, c) => {
    const err = refusal(busta(c.fields));
    expect(err?.message).toBeUndefined();
  });
});

describe('what the conforming variants read as', () => {
  const header = (fields: Parameters<typeof busta>[0]) => readEnvelope(busta(fields)).egov!;

  it('the base busta: one Mittente, its own id, the conversation, the sequence and the hop', () => {
    const h = header({});
    expect(h.mittente).toEqual([{ tipo: 'SPC', nome: 'ComuneA' }]);
    expect(h.messaggio.identificatore).toBe('ComuneA_ComuneASPCoopIT_0000001_2005-11-10_12:35');
    expect(h.sequenza).toBe(1);
    expect(h.trasmissioni.map((t) => `${t.origine.nome}→${t.destinazione.nome}`)).toEqual(['ComuneA→Regione']);
  });

  it('xsd:boolean and xsd:positiveInteger values are read after collapsing their spaces', () => {
    expect(
      header({ trasmissione: '<eGov_IT:ProfiloTrasmissione inoltro="EGOV_IT_ALPIUUNAVOLTA" confermaRicezione=" true "/>' })
        .profiloTrasmissione,
    ).toEqual({
      inoltro: 'EGOV_IT_ALPIUUNAVOLTA',
      confermaRicezione: true,
    });
    expect(header({ sequenza: '<eGov_IT:Sequenza numeroProgressivo=" 0000003 "/>' }).sequenza).toBe(3);
  });

  it('an empty indirizzoTelematico reads as absent', () => {
    const h = header({ destinatario: BASE.destinatario.replace('tipo="SPC"', 'tipo="SPC" indirizzoTelematico=""') });
    expect(h.destinatario).toEqual({ tipo: 'SPC', nome: 'Regione' });
  });

  it('the correlated service and its tipo of an asincrono profile are kept', () => {
    const h = header({
      profilo:
        '<eGov_IT:ProfiloCollaborazione servizioCorrelato="Esito" tipo="WSDL">EGOV_IT_ServizioAsincronoSimmetrico</eGov_IT:ProfiloCollaborazione>',
      sequenza: '',
    });
    expect(h.profiloCollaborazione).toEqual({ profile: 'asincronoSimmetrico', servizioCorrelato: 'Esito', tipo: 'WSDL' });
  });

  it('a refusal for a foreign Identificatore says whose code it carries', () => {
    const err = refusal(busta({ messaggio: BASE.messaggio.replace('ComuneA_ComuneASPCoopIT', 'Regione_RegioneSPCoopIT') }))!;
    expect(err.posizione).toBe(`${MSG}/Identificatore`);
    expect(err.message).toMatch(/Regione.*ComuneA/);
  });
});
