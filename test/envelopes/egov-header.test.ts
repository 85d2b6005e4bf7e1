/**
 * e-Gov busta 1.1 header (eGov_IT:Intestazione) and ModI WS-Addressing headers: write → read round
 * trips, GovWay-style envelopes as other Porte di Dominio send them, and every malformation mapped to
 * the EGOV_IT code and `posizione` the protocol assigns it. No signatures here: these are the checks
 * readEnvelope makes before any signature is looked at.
 */
import { describe, expect, it } from 'vitest';
import { bodyContent, buildEgovEnvelope, buildModiEnvelope, readEnvelope } from '../../envelopes/envelope.js';
import { readEgovHeader } from '../../envelopes/egov/egov-header-reader.js';
import { writeEgovHeader } from '../../envelopes/egov/egov-header-writer.js';
import { readAddressing, writeAddressing } from '../../envelopes/modi/addressing.js';
import { formatModiAction, parseModiAction } from '../../envelopes/modi/modi-action.js';
import type { EgovHeader } from '../../envelopes/egov/egov-header.js';
import type { AddressingHeader } from '../../envelopes/modi/modi-header.js';
import { EnvelopeError } from '../../src/core/errors.js';
import { EGOV_ACTOR, NS } from '../../envelopes/xml/namespaces.js';
import { DEFAULT_XML_LIMITS, parseUntrustedXml, type XmlLimits } from '../../envelopes/xml/hardened-xml.js';

const S = NS.soap11;
const E = NS.egov;
const IM = 'Intestazione/IntestazioneMessaggio';
const MSG = `${IM}/Messaggio`;
const ID1 = 'ComuneA_ComuneASPCoopIT_0000001_2005-11-10_12:35';

function expectEnvelopeError(fn: () => unknown, code: string, posizione?: string | RegExp): EnvelopeError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected an EnvelopeError, nothing was thrown').toBeDefined();
  expect(thrown, String(thrown)).toBeInstanceOf(EnvelopeError);
  const e = thrown as EnvelopeError;
  expect(e.code, e.message).toBe(code);
  if (typeof posizione === 'string') expect(e.posizione, e.message).toBe(posizione);
  else if (posizione) expect(e.posizione, e.message).toMatch(posizione);
  expect(e.message.startsWith(code), e.message).toBe(true);
  return e;
}

// ---------------------------------------------------------------------------------------------------
// Envelope text builders: every field is an XML fragment with a valid default, so that a test changes
// exactly one thing.

interface Fields {
  mittente: string;
  destinatario: string;
  profilo: string;
  collaborazione: string;
  servizio: string;
  azione: string;
  messaggio: string;
  trasmissione: string;
  sequenza: string;
  /** Inside IntestazioneMessaggio, after everything else. */
  imTail: string;
  /** After IntestazioneMessaggio: ListaRiscontri, ListaTrasmissioni, ListaEccezioni. */
  liste: string;
  attrs: string;
  body: string;
}

const party = (nome: string, tipo = 'SPC') => `<eGov_IT:IdentificativoParte tipo="${tipo}">${nome}</eGov_IT:IdentificativoParte>`;
const ora = (value: string, tempo = 'EGOV_IT_SPC', name = 'OraRegistrazione') =>
  `<eGov_IT:${name} tempo="${tempo}">${value}</eGov_IT:${name}>`;
const messaggio = (m: { id?: string | null; ora?: string; rif?: string; scadenza?: string } = {}) =>
  '<eGov_IT:Messaggio>' +
  (m.id === null ? '' : `<eGov_IT:Identificatore>${m.id ?? ID1}</eGov_IT:Identificatore>`) +
  (m.ora ?? ora('2005-11-10T12:35:35')) +
  (m.rif !== undefined ? `<eGov_IT:RiferimentoMessaggio>${m.rif}</eGov_IT:RiferimentoMessaggio>` : '') +
  (m.scadenza !== undefined ? `<eGov_IT:Scadenza>${m.scadenza}</eGov_IT:Scadenza>` : '') +
  '</eGov_IT:Messaggio>';

const DEFAULTS: Fields = {
  mittente: `<eGov_IT:Mittente>${party('ComuneA')}</eGov_IT:Mittente>`,
  destinatario: `<eGov_IT:Destinatario>${party('Regione')}</eGov_IT:Destinatario>`,
  profilo: '<eGov_IT:ProfiloCollaborazione>EGOV_IT_MessaggioSingoloOneWay</eGov_IT:ProfiloCollaborazione>',
  collaborazione: `<eGov_IT:Collaborazione>${ID1}</eGov_IT:Collaborazione>`,
  servizio: '<eGov_IT:Servizio tipo="SPC">Protocollo</eGov_IT:Servizio>',
  azione: '<eGov_IT:Azione>Invia</eGov_IT:Azione>',
  messaggio: messaggio(),
  trasmissione: '<eGov_IT:ProfiloTrasmissione inoltro="EGOV_IT_ALPIUUNAVOLTA" confermaRicezione="true"/>',
  sequenza: '',
  imTail: '',
  liste: '',
  attrs: `SOAP_ENV:actor="${EGOV_ACTOR}" SOAP_ENV:mustUnderstand="1"`,
  body: '<x:doc xmlns:x="urn:x">payload</x:doc>',
};

function busta(over: Partial<Fields> = {}): string {
  const f = { ...DEFAULTS, ...over };
  return (
    `<SOAP_ENV:Envelope xmlns:SOAP_ENV="${S}"><SOAP_ENV:Header>` +
    `<eGov_IT:Intestazione xmlns:eGov_IT="${E}" ${f.attrs}><eGov_IT:IntestazioneMessaggio>` +
    f.mittente +
    f.destinatario +
    f.profilo +
    f.collaborazione +
    f.servizio +
    f.azione +
    f.messaggio +
    f.trasmissione +
    f.sequenza +
    f.imTail +
    `</eGov_IT:IntestazioneMessaggio>${f.liste}</eGov_IT:Intestazione>` +
    `</SOAP_ENV:Header><SOAP_ENV:Body>${f.body}</SOAP_ENV:Body></SOAP_ENV:Envelope>`
  );
}

const header = (over: Partial<Fields> = {}) => readEnvelope(busta(over)).egov!;

/** A well-formed SOAP 1.1 envelope around arbitrary header and body XML. */
const soap = (headerXml: string | undefined, bodyXml: string) =>
  `<SOAP_ENV:Envelope xmlns:SOAP_ENV="${S}">${headerXml === undefined ? '' : `<SOAP_ENV:Header>${headerXml}</SOAP_ENV:Header>`}<SOAP_ENV:Body>${bodyXml}</SOAP_ENV:Body></SOAP_ENV:Envelope>`;

// ---------------------------------------------------------------------------------------------------

describe('write → read round trip', () => {
  // One Mittente, and an Identificatore issued under its code: what busta 1.1 allows (egov-header-rules.test.ts).
  const FULL: EgovHeader = {
    mittente: [{ tipo: 'SPC', nome: 'ComuneA', indirizzoTelematico: 'https://pdd.comunea.it/tramite/in?a=1&b=<2>' }],
    destinatario: { tipo: 'SPC', nome: 'Regione', indirizzoTelematico: 'https://pdd.regione.it/in' },
    profiloCollaborazione: { profile: 'asincronoSimmetrico', servizioCorrelato: 'RispostaProtocollo', tipo: 'SPC' },
    collaborazione: ID1,
    servizio: { tipo: 'SPC', nome: 'Protocollo' },
    azione: 'Invia',
    messaggio: {
      identificatore: 'ComuneA_ComuneASPCoopIT_0000009_2005-11-10_12:36',
      oraRegistrazione: { value: '2005-11-10T12:36:01.123+01:00', tempo: 'EGOV_IT_Locale' },
      riferimentoMessaggio: ID1,
      scadenza: '2005-11-11T12:36:01Z',
    },
    profiloTrasmissione: { inoltro: 'EGOV_IT_PIUDIUNAVOLTA', confermaRicezione: false },
    riscontri: [
      { identificatore: ID1, oraRegistrazione: { value: '2005-11-10T12:35:35', tempo: 'EGOV_IT_SPC' } },
      {
        identificatore: 'ComuneA_ComuneASPCoopIT_0000002_2005-11-10_12:35',
        oraRegistrazione: { value: '2005-11-10T12:35:40Z', tempo: 'EGOV_IT_Locale' },
      },
    ],
    trasmissioni: [
      {
        origine: { tipo: 'SPC', nome: 'ComuneA' },
        destinazione: { tipo: 'SPC', nome: 'Hub' },
        oraRegistrazione: { value: '2005-11-10T12:36:02Z', tempo: 'EGOV_IT_SPC' },
      },
      {
        origine: { tipo: 'SPC', nome: 'Hub', indirizzoTelematico: 'https://hub/in' },
        destinazione: { tipo: 'SPC', nome: 'Regione' },
        oraRegistrazione: { value: '2005-11-10T12:36:03Z', tempo: 'EGOV_IT_SPC' },
      },
    ],
    eccezioni: [
      { contestoCodifica: 'ErroreIntestazioneMessaggioSPCoop', codiceEccezione: 'EGOV_IT_105', rilevanza: 'LIEVE', posizione: 'Servizio' },
    ],
  };

  it('every field of a full busta survives build → read', () => {
    const env = readEnvelope(buildEgovEnvelope(FULL, '<x:doc xmlns:x="urn:x">ok</x:doc>'));
    expect(env.profile).toBe('egov');
    expect(env.egov).toEqual(FULL);
    expect(bodyContent(env)).toBe('<x:doc xmlns:x="urn:x">ok</x:doc>');
  });

  it('a oneway busta with Sequenza and Collaborazione survives build → read', () => {
    const h: EgovHeader = {
      mittente: [{ tipo: 'SPC', nome: 'ComuneA' }],
      destinatario: { tipo: 'SPC', nome: 'Regione' },
      profiloCollaborazione: { profile: 'oneway' },
      collaborazione: ID1,
      servizio: { tipo: 'SPC', nome: 'Protocollo' },
      azione: 'Invia',
      messaggio: { identificatore: ID1, oraRegistrazione: { value: '2005-11-10T12:35:35Z', tempo: 'EGOV_IT_SPC' } },
      profiloTrasmissione: { inoltro: 'EGOV_IT_ALPIUUNAVOLTA', confermaRicezione: true },
      sequenza: 42,
      riscontri: [],
      trasmissioni: [],
      eccezioni: [],
    };
    const xml = buildEgovEnvelope(h, '');
    expect(xml).toContain('numeroProgressivo="0000042"');
    expect(readEnvelope(xml).egov).toEqual(h);
  });

  it('the minimal busta (Mittente, Destinatario, Messaggio) survives build → read, with an empty Body', () => {
    const h: EgovHeader = {
      mittente: [{ tipo: 'SPC', nome: 'ComuneA' }],
      destinatario: { tipo: 'SPC', nome: 'Regione' },
      messaggio: { identificatore: ID1, oraRegistrazione: { value: '2005-11-10T12:35:35', tempo: 'EGOV_IT_Locale' } },
      riscontri: [],
      trasmissioni: [],
      eccezioni: [],
    };
    const env = readEnvelope(buildEgovEnvelope(h, ''));
    expect(env.egov).toEqual(h);
    expect(bodyContent(env)).toBe('');
  });

  it.each(['sincrono', 'asincronoAsimmetrico'] as const)('profile %s survives build → read', (profile) => {
    const h = { ...header(), profiloCollaborazione: { profile } };
    expect(readEnvelope(buildEgovEnvelope(h, '')).egov!.profiloCollaborazione).toEqual({ profile });
  });

  it('writeEgovHeader with a wsu:Id writes it, declares its namespaces on the element, and reads back unchanged', () => {
    const h = header();
    const xml = writeEgovHeader(h, 'id-int-1');
    expect(xml).toContain('wsu:Id="id-int-1"');
    const { doc } = parseUntrustedXml(xml);
    expect(doc.documentElement!.getAttributeNS(NS.wsu, 'Id')).toBe('id-int-1');
    expect(readEgovHeader(doc.documentElement!)).toEqual(h);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('GovWay-style envelopes (indented, OraRegistrazione without time zone)', () => {
  const SINCRONO = `<?xml version="1.0" encoding="UTF-8"?>
<SOAP_ENV:Envelope xmlns:SOAP_ENV="http://schemas.xmlsoap.org/soap/envelope/">
    <SOAP_ENV:Header>
        <eGov_IT:Intestazione SOAP_ENV:actor="http://www.cnipa.it/eGov_it/portadominio"
            SOAP_ENV:mustUnderstand="1" xmlns:eGov_IT="http://www.cnipa.it/schemas/2003/eGovIT/Busta1_0/">
            <eGov_IT:IntestazioneMessaggio>
                <eGov_IT:Mittente>
                    <eGov_IT:IdentificativoParte tipo="SPC" indirizzoTelematico="http://localhost:8080/govway/spcoop/in">MinisteroFruitore</eGov_IT:IdentificativoParte>
                </eGov_IT:Mittente>
                <eGov_IT:Destinatario>
                    <eGov_IT:IdentificativoParte tipo="SPC">MinisteroErogatore</eGov_IT:IdentificativoParte>
                </eGov_IT:Destinatario>
                <eGov_IT:ProfiloCollaborazione>EGOV_IT_ServizioSincrono</eGov_IT:ProfiloCollaborazione>
                <eGov_IT:Collaborazione>MinisteroFruitore_MinisteroFruitoreSPCoopIT_0000001_2005-11-10_12:35</eGov_IT:Collaborazione>
                <eGov_IT:Servizio tipo="SPC">RichiestaStatoAvanzamento</eGov_IT:Servizio>
                <eGov_IT:Azione>richiestaStato</eGov_IT:Azione>
                <eGov_IT:Messaggio>
                    <eGov_IT:Identificatore>MinisteroFruitore_MinisteroFruitoreSPCoopIT_0000001_2005-11-10_12:35</eGov_IT:Identificatore>
                    <eGov_IT:OraRegistrazione tempo="EGOV_IT_SPC">2005-11-10T12:35:35</eGov_IT:OraRegistrazione>
                </eGov_IT:Messaggio>
            </eGov_IT:IntestazioneMessaggio>
        </eGov_IT:Intestazione>
    </SOAP_ENV:Header>
    <SOAP_ENV:Body>
        <ns1:richiestaStato xmlns:ns1="http://www.example.org/statoavanzamento">
            <ns1:pratica>1234</ns1:pratica>
        </ns1:richiestaStato>
    </SOAP_ENV:Body>
</SOAP_ENV:Envelope>
`;

  // A different SOAP prefix and CRLF line ends: only namespaces may matter.
  const ONEWAY_RISCONTRO = [
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">',
    '  <SOAP-ENV:Header>',
    '    <eGov_IT:Intestazione xmlns:eGov_IT="http://www.cnipa.it/schemas/2003/eGovIT/Busta1_0/" SOAP-ENV:actor="http://www.cnipa.it/eGov_it/portadominio" SOAP-ENV:mustUnderstand="1">',
    '      <eGov_IT:IntestazioneMessaggio>',
    '        <eGov_IT:Mittente>',
    '          <eGov_IT:IdentificativoParte tipo="SPC">MinisteroErogatore</eGov_IT:IdentificativoParte>',
    '        </eGov_IT:Mittente>',
    '        <eGov_IT:Destinatario>',
    '          <eGov_IT:IdentificativoParte tipo="SPC">MinisteroFruitore</eGov_IT:IdentificativoParte>',
    '        </eGov_IT:Destinatario>',
    '        <eGov_IT:ProfiloCollaborazione>EGOV_IT_MessaggioSingoloOneWay</eGov_IT:ProfiloCollaborazione>',
    '        <eGov_IT:Messaggio>',
    '          <eGov_IT:Identificatore>MinisteroErogatore_MinisteroErogatoreSPCoopIT_0000007_2005-11-10_12:36</eGov_IT:Identificatore>',
    '          <eGov_IT:OraRegistrazione tempo="EGOV_IT_SPC">2005-11-10T12:36:10</eGov_IT:OraRegistrazione>',
    '          <eGov_IT:RiferimentoMessaggio>MinisteroFruitore_MinisteroFruitoreSPCoopIT_0000002_2005-11-10_12:35</eGov_IT:RiferimentoMessaggio>',
    '        </eGov_IT:Messaggio>',
    '        <eGov_IT:ProfiloTrasmissione inoltro="EGOV_IT_ALPIUUNAVOLTA" confermaRicezione="false"/>',
    '      </eGov_IT:IntestazioneMessaggio>',
    '      <eGov_IT:ListaRiscontri>',
    '        <eGov_IT:Riscontro>',
    '          <eGov_IT:Identificatore>MinisteroFruitore_MinisteroFruitoreSPCoopIT_0000002_2005-11-10_12:35</eGov_IT:Identificatore>',
    '          <eGov_IT:OraRegistrazione tempo="EGOV_IT_SPC">2005-11-10T12:35:50</eGov_IT:OraRegistrazione>',
    '        </eGov_IT:Riscontro>',
    '      </eGov_IT:ListaRiscontri>',
    '    </eGov_IT:Intestazione>',
    '  </SOAP-ENV:Header>',
    '  <SOAP-ENV:Body/>',
    '</SOAP-ENV:Envelope>',
  ].join('\r\n');

  it('reads a sincrono busta with Collaborazione', () => {
    const env = readEnvelope(SINCRONO);
    expect(env.profile).toBe('egov');
    expect(env.egov).toEqual({
      mittente: [{ tipo: 'SPC', nome: 'MinisteroFruitore', indirizzoTelematico: 'http://localhost:8080/govway/spcoop/in' }],
      destinatario: { tipo: 'SPC', nome: 'MinisteroErogatore' },
      profiloCollaborazione: { profile: 'sincrono' },
      collaborazione: 'MinisteroFruitore_MinisteroFruitoreSPCoopIT_0000001_2005-11-10_12:35',
      servizio: { tipo: 'SPC', nome: 'RichiestaStatoAvanzamento' },
      azione: 'richiestaStato',
      messaggio: {
        identificatore: 'MinisteroFruitore_MinisteroFruitoreSPCoopIT_0000001_2005-11-10_12:35',
        oraRegistrazione: { value: '2005-11-10T12:35:35', tempo: 'EGOV_IT_SPC' },
      },
      riscontri: [],
      trasmissioni: [],
      eccezioni: [],
    } satisfies EgovHeader);
    expect(bodyContent(env)).toContain('<ns1:pratica>1234</ns1:pratica>');
    expect(env.security).toBeUndefined();
  });

  it('reads a oneway busta with ListaRiscontri (SOAP-ENV prefix, CRLF, empty Body)', () => {
    const env = readEnvelope(ONEWAY_RISCONTRO);
    const h = env.egov!;
    expect(h.profiloCollaborazione).toEqual({ profile: 'oneway' });
    expect(h.messaggio).toEqual({
      identificatore: 'MinisteroErogatore_MinisteroErogatoreSPCoopIT_0000007_2005-11-10_12:36',
      oraRegistrazione: { value: '2005-11-10T12:36:10', tempo: 'EGOV_IT_SPC' },
      riferimentoMessaggio: 'MinisteroFruitore_MinisteroFruitoreSPCoopIT_0000002_2005-11-10_12:35',
    });
    expect(h.profiloTrasmissione).toEqual({ inoltro: 'EGOV_IT_ALPIUUNAVOLTA', confermaRicezione: false });
    expect(h.riscontri).toEqual([
      {
        identificatore: 'MinisteroFruitore_MinisteroFruitoreSPCoopIT_0000002_2005-11-10_12:35',
        oraRegistrazione: { value: '2005-11-10T12:35:50', tempo: 'EGOV_IT_SPC' },
      },
    ]);
    expect(h.servizio).toBeUndefined();
    expect(bodyContent(env)).toBe('');
  });

  it('reads the same sample given as UTF-8 bytes', () => {
    expect(readEnvelope(new TextEncoder().encode(SINCRONO)).egov!.azione).toBe('richiestaStato');
  });

  it('trims whitespace around text values', () => {
    const h = header({
      azione: '<eGov_IT:Azione>\n   Invia\n</eGov_IT:Azione>',
      destinatario: `<eGov_IT:Destinatario>\n  ${party(' Regione ')}\n</eGov_IT:Destinatario>`,
    });
    expect(h.azione).toBe('Invia');
    expect(h.destinatario.nome).toBe('Regione');
  });
});

// ---------------------------------------------------------------------------------------------------

describe('XML-level malformations → EGOV_IT_001', () => {
  const VALID = busta();

  it('control: the default busta is valid', () => {
    expect(readEnvelope(VALID).egov!.mittente[0]!.nome).toBe('ComuneA');
  });

  it('a harmless DOCTYPE → 001, with line and column', () => {
    expectEnvelopeError(() => readEnvelope(`<!DOCTYPE SOAP_ENV:Envelope>${VALID}`), 'EGOV_IT_001', /^riga 1, colonna \d+$/);
  });

  it('a DOCTYPE after the XML declaration → 001 on line 2', () => {
    expectEnvelopeError(() => readEnvelope(`<?xml version="1.0"?>\n<!DOCTYPE x>\n${VALID}`), 'EGOV_IT_001', /^riga 2, colonna \d+$/);
  });

  it('a "billion laughs" entity expansion → 001, without expanding', () => {
    const ents = ['<!ENTITY l0 "lol">'];
    for (let i = 1; i <= 9; i++) ents.push(`<!ENTITY l${i} "${`&l${i - 1};`.repeat(10)}">`);
    const xml = `<?xml version="1.0"?><!DOCTYPE SOAP_ENV:Envelope [${ents.join('')}]>${VALID.replace('payload', '&l9;')}`;
    const started = performance.now();
    expectEnvelopeError(() => readEnvelope(xml), 'EGOV_IT_001');
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('an external entity (XXE) → 001', () => {
    const xml = `<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${VALID.replace('payload', '&xxe;')}`;
    expectEnvelopeError(() => readEnvelope(xml), 'EGOV_IT_001');
  });

  it('an undeclared entity reference (no DOCTYPE) → 001', () => {
    expectEnvelopeError(() => readEnvelope(VALID.replace('payload', '&nbsp;')), 'EGOV_IT_001');
  });

  it('a processing instruction before the root → 001', () => {
    expectEnvelopeError(() => readEnvelope(`<?xml-stylesheet href="x.xsl"?>${VALID}`), 'EGOV_IT_001', /^riga 1/);
  });

  it('a processing instruction inside the Body → 001', () => {
    expectEnvelopeError(() => readEnvelope(VALID.replace('payload', 'pay<?php echo 1 ?>load')), 'EGOV_IT_001');
  });

  it('the XML declaration itself is accepted', () => {
    expect(() => readEnvelope(`<?xml version="1.0" encoding="UTF-8"?>${VALID}`)).not.toThrow();
  });

  it.each([
    ['an unclosed element', VALID.replace('</x:doc>', '')],
    ['mismatched tags', VALID.replace('</x:doc>', '</x:dox>')],
    ['an undeclared prefix', VALID.replace('<x:doc xmlns:x="urn:x">', '<y:doc xmlns:x="urn:x">').replace('</x:doc>', '</y:doc>')],
    ['a duplicated attribute', VALID.replace('tipo="SPC">ComuneA', 'tipo="SPC" tipo="X">ComuneA')],
    ['text after the root', `${VALID}trailing`],
    ['two roots', `${VALID}${VALID}`],
    ['an empty document', ''],
    ['a bare "<"', VALID.replace('payload', 'a < b')],
  ])('not well-formed: %s → 001', (_what, xml) => {
    expectEnvelopeError(() => readEnvelope(xml), 'EGOV_IT_001');
  });

  it('invalid UTF-8 bytes → 001', () => {
    const bytes = Buffer.from(VALID, 'utf8');
    const i = bytes.indexOf('payload');
    bytes[i] = 0xc3;
    bytes[i + 1] = 0x28;
    expectEnvelopeError(() => readEnvelope(bytes), 'EGOV_IT_001', 'Envelope');
  });

  describe('limits (small XmlLimits)', () => {
    const limits = (over: Partial<XmlLimits>): XmlLimits => ({ ...DEFAULT_XML_LIMITS, ...over });

    it('too large → 001 at Envelope, before parsing', () => {
      expectEnvelopeError(() => readEnvelope(VALID, limits({ maxBytes: 200 })), 'EGOV_IT_001', 'Envelope');
    });

    it('too large counted in UTF-8 bytes, not characters', () => {
      const xml = VALID.replace('payload', 'è'.repeat(100));
      const bytes = Buffer.byteLength(xml, 'utf8');
      expect(() => readEnvelope(xml, limits({ maxBytes: bytes }))).not.toThrow();
      expectEnvelopeError(() => readEnvelope(xml, limits({ maxBytes: bytes - 1 })), 'EGOV_IT_001', 'Envelope');
    });

    it('too deep → 001 with line and column', () => {
      const deep = `${'<x:a>'.repeat(20)}${'</x:a>'.repeat(20)}`;
      const xml = busta({ body: `<x:doc xmlns:x="urn:x">${deep}</x:doc>` });
      expect(() => readEnvelope(xml)).not.toThrow();
      expectEnvelopeError(() => readEnvelope(xml, limits({ maxDepth: 10 })), 'EGOV_IT_001', /^riga 1, colonna \d+$/);
    });

    it('too many elements → 001', () => {
      const xml = busta({ body: `<x:doc xmlns:x="urn:x">${'<x:i/>'.repeat(200)}</x:doc>` });
      expectEnvelopeError(() => readEnvelope(xml, limits({ maxElements: 100 })), 'EGOV_IT_001');
    });

    it('too many attributes on one element → 001', () => {
      const attrs = Array.from({ length: 20 }, (_, i) => ` a${i}="v"`).join('');
      const xml = busta({ body: `<x:doc xmlns:x="urn:x"${attrs}/>` });
      expectEnvelopeError(() => readEnvelope(xml, limits({ maxAttributes: 10 })), 'EGOV_IT_001');
    });
  });

  describe('SOAP structure', () => {
    it('a root that is not soap:Envelope → 001 at Envelope', () => {
      expectEnvelopeError(() => readEnvelope('<x:Envelope xmlns:x="urn:x"><x:Body/></x:Envelope>'), 'EGOV_IT_001', 'Envelope');
    });

    it('a SOAP 1.2 Envelope → 001 at Envelope', () => {
      const xml = VALID.replace(`xmlns:SOAP_ENV="${S}"`, 'xmlns:SOAP_ENV="http://www.w3.org/2003/05/soap-envelope"');
      expectEnvelopeError(() => readEnvelope(xml), 'EGOV_IT_001', 'Envelope');
    });

    it('two Bodies → 001 at Envelope/Body', () => {
      expectEnvelopeError(
        () => readEnvelope(VALID.replace('</SOAP_ENV:Envelope>', '<SOAP_ENV:Body/></SOAP_ENV:Envelope>')),
        'EGOV_IT_001',
        'Envelope/Body',
      );
    });

    it('two Headers → 001 at Envelope/Header', () => {
      const xml = VALID.replace('<SOAP_ENV:Header>', '<SOAP_ENV:Header/><SOAP_ENV:Header>');
      expectEnvelopeError(() => readEnvelope(xml), 'EGOV_IT_001', 'Envelope/Header');
    });

    it('Header after Body → 001 at Envelope/Header', () => {
      const xml = soap(undefined, '<x:a xmlns:x="urn:x"/>').replace('</SOAP_ENV:Envelope>', '<SOAP_ENV:Header/></SOAP_ENV:Envelope>');
      expectEnvelopeError(() => readEnvelope(xml), 'EGOV_IT_001', 'Envelope/Header');
    });

    it('no Body → 001 at Envelope/Body', () => {
      const xml = VALID.replace(/<SOAP_ENV:Body>.*<\/SOAP_ENV:Body>/, '');
      expectEnvelopeError(() => readEnvelope(xml), 'EGOV_IT_001', 'Envelope/Body');
    });

    it('another element beside Header and Body → 001', () => {
      const xml = VALID.replace('</SOAP_ENV:Envelope>', '<x:Extra xmlns:x="urn:x"/></SOAP_ENV:Envelope>');
      expectEnvelopeError(() => readEnvelope(xml), 'EGOV_IT_001', /^Envelope\//);
    });
  });
});

// ---------------------------------------------------------------------------------------------------

describe('header-level malformations → EGOV_IT_002', () => {
  it('neither Intestazione nor WS-Addressing → 002 at Header', () => {
    expectEnvelopeError(() => readEnvelope(soap('<x:Other xmlns:x="urn:x"/>', '<x:a xmlns:x="urn:x"/>')), 'EGOV_IT_002', 'Header');
  });

  it('no Header at all → 002 at Header', () => {
    expectEnvelopeError(() => readEnvelope(soap(undefined, '<x:a xmlns:x="urn:x"/>')), 'EGOV_IT_002', 'Header');
  });

  it('an Intestazione in the wrong namespace is not an Intestazione → 002 at Header', () => {
    expectEnvelopeError(
      () => readEnvelope(busta().replace(`xmlns:eGov_IT="${E}"`, 'xmlns:eGov_IT="http://www.cnipa.it/schemas/2003/eGovIT/Busta2_0/"')),
      'EGOV_IT_002',
      'Header',
    );
  });

  it('two Intestazioni → 002 at Header/Intestazione', () => {
    const one = /<eGov_IT:Intestazione[\s\S]*<\/eGov_IT:Intestazione>/.exec(busta())![0];
    expectEnvelopeError(() => readEnvelope(busta().replace(one, one + one)), 'EGOV_IT_002', 'Header/Intestazione');
  });

  it('Destinatario before Mittente → 002 at one of the two', () => {
    expectEnvelopeError(
      () => header({ mittente: DEFAULTS.destinatario, destinatario: DEFAULTS.mittente }),
      'EGOV_IT_002',
      /^Intestazione\/IntestazioneMessaggio\/(Mittente|Destinatario)$/,
    );
  });

  it('an unknown element at the end of IntestazioneMessaggio → 002 naming it', () => {
    expectEnvelopeError(() => header({ imTail: '<eGov_IT:Priorita>alta</eGov_IT:Priorita>' }), 'EGOV_IT_002', `${IM}/Priorita`);
  });

  it('an element after ListaEccezioni in Intestazione → 002 naming it', () => {
    expectEnvelopeError(() => header({ liste: '<eGov_IT:Allegati/>' }), 'EGOV_IT_002', 'Intestazione/Allegati');
  });

  it('a repeated Azione → 002 naming it', () => {
    expectEnvelopeError(() => header({ azione: DEFAULTS.azione + DEFAULTS.azione }), 'EGOV_IT_002', `${IM}/Azione`);
  });

  it('no IntestazioneMessaggio → 002 at Intestazione/IntestazioneMessaggio', () => {
    const xml = soap(`<eGov_IT:Intestazione xmlns:eGov_IT="${E}" ${DEFAULTS.attrs}/>`, '');
    expectEnvelopeError(() => readEnvelope(xml), 'EGOV_IT_002', IM);
  });

  it('Mittente without any IdentificativoParte → 002 at Mittente/IdentificativoParte', () => {
    expectEnvelopeError(() => header({ mittente: '<eGov_IT:Mittente/>' }), 'EGOV_IT_002', `${IM}/Mittente/IdentificativoParte`);
  });

  it('text directly inside IntestazioneMessaggio → 002', () => {
    expectEnvelopeError(() => header({ imTail: 'stray text' }), 'EGOV_IT_002', IM);
  });

  it('an IdentificativoParte holding an element → 002', () => {
    expectEnvelopeError(
      () =>
        header({
          destinatario: `<eGov_IT:Destinatario><eGov_IT:IdentificativoParte tipo="SPC"><x:b xmlns:x="urn:x">Regione</x:b></eGov_IT:IdentificativoParte></eGov_IT:Destinatario>`,
        }),
      'EGOV_IT_002',
      `${IM}/Destinatario/IdentificativoParte`,
    );
  });

  it('an element of IntestazioneMessaggio in a foreign namespace → 002', () => {
    expectEnvelopeError(() => header({ imTail: '<x:Azione xmlns:x="urn:x">Invia</x:Azione>' }), 'EGOV_IT_002', `${IM}/Azione`);
  });

  it.each([
    ['actor missing', `SOAP_ENV:mustUnderstand="1"`, 'Intestazione/@actor'],
    ['actor of another node', `SOAP_ENV:actor="http://example.org/other" SOAP_ENV:mustUnderstand="1"`, 'Intestazione/@actor'],
    ['actor without the SOAP namespace', `actor="${EGOV_ACTOR}" SOAP_ENV:mustUnderstand="1"`, 'Intestazione/@actor'],
    ['mustUnderstand="0"', `SOAP_ENV:actor="${EGOV_ACTOR}" SOAP_ENV:mustUnderstand="0"`, 'Intestazione/@mustUnderstand'],
    ['mustUnderstand missing', `SOAP_ENV:actor="${EGOV_ACTOR}"`, 'Intestazione/@mustUnderstand'],
  ])('%s → 002', (_what, attrs, posizione) => {
    expectEnvelopeError(() => header({ attrs }), 'EGOV_IT_002', posizione);
  });

  // Positions of order errors: readSequence reports the next *required* slot as "missing" when an
  // unknown or out-of-order element stands before it, so posizione names an element that is present.
  it('an unknown element between Azione and Messaggio → 002 naming the unknown element', () => {
    expectEnvelopeError(
      () => header({ azione: `${DEFAULTS.azione}<eGov_IT:Priorita>alta</eGov_IT:Priorita>` }),
      'EGOV_IT_002',
      `${IM}/Priorita`,
    );
  });

  it('Azione before Servizio → 002 naming the out-of-order element, not Messaggio', () => {
    const e = expectEnvelopeError(() => header({ servizio: DEFAULTS.azione, azione: DEFAULTS.servizio }), 'EGOV_IT_002');
    expect(e.posizione).toMatch(/\/(Servizio|Azione)$/);
  });

  it('CDATA text directly inside IntestazioneMessaggio → 002 (as plain text is)', () => {
    expectEnvelopeError(() => header({ imTail: '<![CDATA[stray text]]>' }), 'EGOV_IT_002', IM);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('field-level malformations → their own codes', () => {
  it.each([
    ['an empty party code', `<eGov_IT:Mittente>${party('')}</eGov_IT:Mittente>`, `${IM}/Mittente/IdentificativoParte[1]`],
    [
      'a party code that is not a word',
      `<eGov_IT:Mittente>${party('Comune A')}</eGov_IT:Mittente>`,
      `${IM}/Mittente/IdentificativoParte[1]`,
    ],
    [
      'a second, empty party',
      `<eGov_IT:Mittente>${party('ComuneA')}${party('')}</eGov_IT:Mittente>`,
      `${IM}/Mittente/IdentificativoParte[2]`,
    ],
    [
      'no tipo',
      `<eGov_IT:Mittente><eGov_IT:IdentificativoParte>ComuneA</eGov_IT:IdentificativoParte></eGov_IT:Mittente>`,
      `${IM}/Mittente/IdentificativoParte[1]/@tipo`,
    ],
  ])('Mittente with %s → 101', (_what, mittente, posizione) => {
    expectEnvelopeError(() => header({ mittente }), 'EGOV_IT_101', posizione);
  });

  it('Destinatario without tipo → 102 at its @tipo', () => {
    expectEnvelopeError(
      () =>
        header({
          destinatario: '<eGov_IT:Destinatario><eGov_IT:IdentificativoParte>Regione</eGov_IT:IdentificativoParte></eGov_IT:Destinatario>',
        }),
      'EGOV_IT_102',
      `${IM}/Destinatario/IdentificativoParte/@tipo`,
    );
  });

  it('Destinatario with an empty tipo or party code → 102', () => {
    expectEnvelopeError(
      () => header({ destinatario: `<eGov_IT:Destinatario>${party('Regione', '')}</eGov_IT:Destinatario>` }),
      'EGOV_IT_102',
    );
    expectEnvelopeError(
      () => header({ destinatario: `<eGov_IT:Destinatario>${party('')}</eGov_IT:Destinatario>` }),
      'EGOV_IT_102',
      `${IM}/Destinatario/IdentificativoParte`,
    );
  });

  it.each(['EGOV_IT_Sincrono', 'oneway', ''])('ProfiloCollaborazione "%s" → 103', (value) => {
    expectEnvelopeError(
      () => header({ profilo: `<eGov_IT:ProfiloCollaborazione>${value}</eGov_IT:ProfiloCollaborazione>` }),
      'EGOV_IT_103',
      `${IM}/ProfiloCollaborazione`,
    );
  });

  it.each(['conversazione-1', '', 'ComuneA_PdD_001_2005-11-10_12:35'])('Collaborazione "%s" → 104', (value) => {
    expectEnvelopeError(
      () => header({ collaborazione: `<eGov_IT:Collaborazione>${value}</eGov_IT:Collaborazione>` }),
      'EGOV_IT_104',
      `${IM}/Collaborazione`,
    );
  });

  it('Servizio without tipo → 105 at its @tipo', () => {
    expectEnvelopeError(
      () => header({ servizio: '<eGov_IT:Servizio>Protocollo</eGov_IT:Servizio>' }),
      'EGOV_IT_105',
      `${IM}/Servizio/@tipo`,
    );
  });

  it('an empty Servizio → 105', () => {
    expectEnvelopeError(() => header({ servizio: '<eGov_IT:Servizio tipo="SPC"> </eGov_IT:Servizio>' }), 'EGOV_IT_105', `${IM}/Servizio`);
  });

  it('an empty Azione → 106', () => {
    expectEnvelopeError(() => header({ azione: '<eGov_IT:Azione>  </eGov_IT:Azione>' }), 'EGOV_IT_106', `${IM}/Azione`);
  });

  it('Messaggio without Identificatore → 107', () => {
    expectEnvelopeError(() => header({ messaggio: messaggio({ id: null }) }), 'EGOV_IT_107', `${MSG}/Identificatore`);
  });

  it('an empty Messaggio → 107', () => {
    expectEnvelopeError(() => header({ messaggio: '<eGov_IT:Messaggio/>' }), 'EGOV_IT_107', `${MSG}/Identificatore`);
  });

  it.each([
    ['yesterday', 'EGOV_IT_SPC', `${MSG}/OraRegistrazione`],
    ['2005-11-10 12:35:35', 'EGOV_IT_SPC', `${MSG}/OraRegistrazione`],
    ['2005-13-10T12:35:35', 'EGOV_IT_SPC', `${MSG}/OraRegistrazione`],
    ['2005-11-10T25:35:35', 'EGOV_IT_SPC', `${MSG}/OraRegistrazione`],
    ['2005-11-10T12:35:35', 'UTC', `${MSG}/OraRegistrazione/@tempo`],
  ])('OraRegistrazione "%s" tempo %s → 108', (value, tempo, posizione) => {
    expectEnvelopeError(() => header({ messaggio: messaggio({ ora: ora(value, tempo) }) }), 'EGOV_IT_108', posizione);
  });

  it('Messaggio without OraRegistrazione → 002 (a structural omission)', () => {
    const xml = busta({ messaggio: `<eGov_IT:Messaggio><eGov_IT:Identificatore>${ID1}</eGov_IT:Identificatore></eGov_IT:Messaggio>` });
    expectEnvelopeError(() => readEnvelope(xml), 'EGOV_IT_002', `${MSG}/OraRegistrazione`);
  });

  // parseXsdDateTime checks each field's range but lets Date roll 30 February over to 2 March.
  it('OraRegistrazione on a day that does not exist (30 February) → 108', () => {
    expectEnvelopeError(
      () => header({ messaggio: messaggio({ ora: ora('2005-02-30T12:35:35') }) }),
      'EGOV_IT_108',
      `${MSG}/OraRegistrazione`,
    );
  });

  it.each([
    'ComuneA-PdD-0000001-2005-11-10-12:35',
    'ComuneA_ComuneASPCoopIT_1_2005-11-10_12:35',
    'ComuneA_ComuneASPCoopIT_0000001_2005-11-10',
    'ComuneA_ComuneASPCoopIT_0000001_2005-11-10_25:99',
    '',
  ])('Identificatore "%s" → 110', (id) => {
    expectEnvelopeError(() => header({ messaggio: messaggio({ id }) }), 'EGOV_IT_110', `${MSG}/Identificatore`);
  });

  it('Identificatore dated 30 February → 110', () => {
    expectEnvelopeError(
      () => header({ messaggio: messaggio({ id: 'ComuneA_ComuneASPCoopIT_0000001_2005-02-30_12:35' }) }),
      'EGOV_IT_110',
      `${MSG}/Identificatore`,
    );
  });

  it('a bad RiferimentoMessaggio → 111', () => {
    expectEnvelopeError(() => header({ messaggio: messaggio({ rif: 'risposta-a-1' }) }), 'EGOV_IT_111', `${MSG}/RiferimentoMessaggio`);
  });

  it.each(['domani', '2005-11-10', ''])('Scadenza "%s" → 112', (scadenza) => {
    expectEnvelopeError(() => header({ messaggio: messaggio({ scadenza }) }), 'EGOV_IT_112', `${MSG}/Scadenza`);
  });

  it.each([
    ['inoltro="SEMPRE"', `${IM}/ProfiloTrasmissione/@inoltro`],
    ['inoltro="egov_it_alpiuunavolta"', `${IM}/ProfiloTrasmissione/@inoltro`],
    ['confermaRicezione="yes"', `${IM}/ProfiloTrasmissione/@confermaRicezione`],
  ])('ProfiloTrasmissione %s → 113', (attrs, posizione) => {
    expectEnvelopeError(() => header({ trasmissione: `<eGov_IT:ProfiloTrasmissione ${attrs}/>` }), 'EGOV_IT_113', posizione);
  });

  it('ProfiloTrasmissione without attributes takes the schema defaults (PIUDIUNAVOLTA, false)', () => {
    expect(header({ trasmissione: '<eGov_IT:ProfiloTrasmissione/>' }).profiloTrasmissione).toEqual({
      inoltro: 'EGOV_IT_PIUDIUNAVOLTA',
      confermaRicezione: false,
    });
  });

  describe('Sequenza → 114', () => {
    const seq = (n = '0000001') => `<eGov_IT:Sequenza numeroProgressivo="${n}"/>`;

    it('control: oneway, ALPIUUNAVOLTA, confermaRicezione, Collaborazione, numeroProgressivo 0000003 is valid', () => {
      expect(header({ sequenza: seq('0000003') }).sequenza).toBe(3);
    });

    it('without ALPIUUNAVOLTA → 114', () => {
      expectEnvelopeError(
        () =>
          header({
            sequenza: seq(),
            trasmissione: '<eGov_IT:ProfiloTrasmissione inoltro="EGOV_IT_PIUDIUNAVOLTA" confermaRicezione="true"/>',
          }),
        'EGOV_IT_114',
        `${IM}/Sequenza`,
      );
    });

    it('without ProfiloTrasmissione → 114', () => {
      expectEnvelopeError(() => header({ sequenza: seq(), trasmissione: '' }), 'EGOV_IT_114', `${IM}/Sequenza`);
    });

    it('without confermaRicezione → 114', () => {
      expectEnvelopeError(
        () =>
          header({
            sequenza: seq(),
            trasmissione: '<eGov_IT:ProfiloTrasmissione inoltro="EGOV_IT_ALPIUUNAVOLTA" confermaRicezione="false"/>',
          }),
        'EGOV_IT_114',
      );
    });

    it('without Collaborazione → 114', () => {
      expectEnvelopeError(() => header({ sequenza: seq(), collaborazione: '' }), 'EGOV_IT_114', `${IM}/Sequenza`);
    });

    it('with the sincrono profile → 114', () => {
      expectEnvelopeError(
        () =>
          header({ sequenza: seq(), profilo: '<eGov_IT:ProfiloCollaborazione>EGOV_IT_ServizioSincrono</eGov_IT:ProfiloCollaborazione>' }),
        'EGOV_IT_114',
        `${IM}/Sequenza`,
      );
    });

    it.each(['0000000', '1', '00000001', 'abcdefg', ''])('numeroProgressivo "%s" → 114', (n) => {
      expectEnvelopeError(() => header({ sequenza: seq(n) }), 'EGOV_IT_114', `${IM}/Sequenza/@numeroProgressivo`);
    });
  });

  describe('ListaRiscontri → 115', () => {
    const riscontro = (inner: string) => `<eGov_IT:ListaRiscontri><eGov_IT:Riscontro>${inner}</eGov_IT:Riscontro></eGov_IT:ListaRiscontri>`;

    it('a bad Identificatore in a Riscontro → 115', () => {
      expectEnvelopeError(
        () => header({ liste: riscontro(`<eGov_IT:Identificatore>not-an-id</eGov_IT:Identificatore>${ora('2005-11-10T12:35:35')}`) }),
        'EGOV_IT_115',
        'Intestazione/ListaRiscontri/Riscontro[1]/Identificatore',
      );
    });

    it('a Riscontro without OraRegistrazione → 115', () => {
      expectEnvelopeError(() => header({ liste: riscontro(`<eGov_IT:Identificatore>${ID1}</eGov_IT:Identificatore>`) }), 'EGOV_IT_115');
    });

    it('a Riscontro with a bad OraRegistrazione → 115', () => {
      expectEnvelopeError(
        () => header({ liste: riscontro(`<eGov_IT:Identificatore>${ID1}</eGov_IT:Identificatore>${ora('ieri')}`) }),
        'EGOV_IT_115',
      );
    });

    it('an empty ListaRiscontri → 115', () => {
      expectEnvelopeError(() => header({ liste: '<eGov_IT:ListaRiscontri/>' }), 'EGOV_IT_115', 'Intestazione/ListaRiscontri/Riscontro');
    });

    it('a foreign element in ListaRiscontri → 115', () => {
      expectEnvelopeError(
        () => header({ liste: '<eGov_IT:ListaRiscontri><eGov_IT:Trasmissione/></eGov_IT:ListaRiscontri>' }),
        'EGOV_IT_115',
      );
    });
  });

  describe('ListaTrasmissioni → 116', () => {
    const tr = (inner: string) =>
      `<eGov_IT:ListaTrasmissioni><eGov_IT:Trasmissione>${inner}</eGov_IT:Trasmissione></eGov_IT:ListaTrasmissioni>`;
    const origine = `<eGov_IT:Origine>${party('ComuneA')}</eGov_IT:Origine>`;
    const destinazione = `<eGov_IT:Destinazione>${party('Regione')}</eGov_IT:Destinazione>`;

    it('control: a complete Trasmissione is read', () => {
      expect(header({ liste: tr(origine + destinazione + ora('2005-11-10T12:35:35')) }).trasmissioni).toHaveLength(1);
    });

    it('a Trasmissione without Destinazione → 116', () => {
      expectEnvelopeError(
        () => header({ liste: tr(origine + ora('2005-11-10T12:35:35')) }),
        'EGOV_IT_116',
        /^Intestazione\/ListaTrasmissioni\/Trasmissione\[1\]\//,
      );
    });

    it('an Origine without tipo → 116', () => {
      const bad = '<eGov_IT:Origine><eGov_IT:IdentificativoParte>ComuneA</eGov_IT:IdentificativoParte></eGov_IT:Origine>';
      expectEnvelopeError(() => header({ liste: tr(bad + destinazione + ora('2005-11-10T12:35:35')) }), 'EGOV_IT_116');
    });

    it('an empty Origine → 116', () => {
      expectEnvelopeError(() => header({ liste: tr('<eGov_IT:Origine/>' + destinazione + ora('2005-11-10T12:35:35')) }), 'EGOV_IT_116');
    });

    it('a bad OraRegistrazione → 116', () => {
      expectEnvelopeError(() => header({ liste: tr(origine + destinazione + ora('2005-11-10T12:35:35', 'GMT')) }), 'EGOV_IT_116');
    });

    it('an empty ListaTrasmissioni → 116', () => {
      expectEnvelopeError(() => header({ liste: '<eGov_IT:ListaTrasmissioni/>' }), 'EGOV_IT_116');
    });
  });

  describe('ListaEccezioni → 100', () => {
    const ecc = (attrs: string) => `<eGov_IT:ListaEccezioni><eGov_IT:Eccezione ${attrs}/></eGov_IT:ListaEccezioni>`;

    it('a complete Eccezione is read', () => {
      const h = header({
        liste: ecc(
          'contestoCodifica="ErroreIntestazioneMessaggioSPCoop" codiceEccezione="EGOV_IT_101" rilevanza="GRAVE" posizione="Mittente"',
        ),
      });
      expect(h.eccezioni).toEqual([
        {
          contestoCodifica: 'ErroreIntestazioneMessaggioSPCoop',
          codiceEccezione: 'EGOV_IT_101',
          rilevanza: 'GRAVE',
          posizione: 'Mittente',
        },
      ]);
    });

    it.each([
      'codiceEccezione="EGOV_IT_101" rilevanza="GRAVE" posizione="x"',
      'contestoCodifica="c" codiceEccezione="101" rilevanza="GRAVE" posizione="x"',
      'contestoCodifica="c" codiceEccezione="EGOV_IT_101" rilevanza="FATALE" posizione="x"',
      'contestoCodifica="c" codiceEccezione="EGOV_IT_101" rilevanza="GRAVE"',
    ])('an Eccezione with %s → 100', (attrs) => {
      expectEnvelopeError(() => header({ liste: ecc(attrs) }), 'EGOV_IT_100', 'Intestazione/ListaEccezioni/Eccezione[1]');
    });
  });

  describe('Body → 003', () => {
    it('text directly in soap:Body → 003 at Body', () => {
      expectEnvelopeError(() => readEnvelope(busta({ body: 'just text' })), 'EGOV_IT_003', 'Body');
    });

    it('text beside an element in soap:Body → 003', () => {
      expectEnvelopeError(() => readEnvelope(busta({ body: `${DEFAULTS.body}tail` })), 'EGOV_IT_003', 'Body');
    });

    it('CDATA directly in soap:Body → 003', () => {
      expectEnvelopeError(() => readEnvelope(busta({ body: '<![CDATA[<x/>]]>' })), 'EGOV_IT_003', 'Body');
    });

    it('whitespace around the Body content is fine', () => {
      expect(bodyContent(readEnvelope(busta({ body: `\n  ${DEFAULTS.body}\n` })))).toBe(DEFAULTS.body);
    });
  });
});

// ---------------------------------------------------------------------------------------------------

describe('ModI WS-Addressing headers', () => {
  const A: AddressingHeader = {
    to: 'SPC/Regione',
    from: 'SPC/ComuneA',
    action: formatModiAction('SPC', 'Protocollo', 'Invia'),
    messageId: 'urn:uuid:6d3c1d5e-7a43-4f87-9f52-2f0b0f1e9a10',
    relatesTo: 'urn:uuid:0b7e2c1a-1111-4222-8333-944455556666',
    replyTo: 'http://www.w3.org/2005/08/addressing/anonymous',
  };
  const BODY = '<x:doc xmlns:x="urn:x"/>';
  const wsa = (name: string, inner: string) => `<wsa:${name} xmlns:wsa="${NS.wsa}">${inner}</wsa:${name}>`;

  it('every header survives build → read', () => {
    const env = readEnvelope(buildModiEnvelope(A, BODY));
    expect(env.profile).toBe('modi');
    expect(env.egov).toBeUndefined();
    expect(env.addressing).toEqual(A);
    expect(env.headerElements.map((e) => e.localName)).toEqual(['To', 'From', 'Action', 'MessageID', 'RelatesTo', 'ReplyTo']);
  });

  it('values needing escapes survive build → read', () => {
    const a: AddressingHeader = { messageId: 'urn:x:<1>&"2"', to: "https://h/p?a=1&b='2'" };
    expect(readEnvelope(buildModiEnvelope(a, BODY)).addressing).toEqual(a);
  });

  it('writeAddressing declares the namespace on every block (each can be signed on its own)', () => {
    const xml = writeAddressing(A);
    expect(xml.match(/xmlns:wsa="http:\/\/www\.w3\.org\/2005\/08\/addressing"/g)).toHaveLength(6);
    expect(writeAddressing({})).toBe('');
  });

  it('readAddressing ignores non-wsa blocks and WS-Addressing of another version', () => {
    const { doc } = parseUntrustedXml(
      `<h>${wsa('MessageID', 'm1')}<wsa:To xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">old</wsa:To><x:To xmlns:x="urn:x">x</x:To></h>`,
    );
    const blocks = Array.from(doc.documentElement!.childNodes).filter((n): n is Element => n.nodeType === 1);
    const { header, blocks: read } = readAddressing(blocks);
    expect(header).toEqual({ messageId: 'm1' });
    expect(read).toHaveLength(1);
  });

  it('a duplicated wsa:MessageID → 002 at Header/MessageID', () => {
    expectEnvelopeError(() => readEnvelope(soap(wsa('MessageID', 'a') + wsa('MessageID', 'b'), BODY)), 'EGOV_IT_002', 'Header/MessageID');
  });

  it('a duplicated wsa:Action → 002 at Header/Action', () => {
    expectEnvelopeError(
      () => readEnvelope(soap(wsa('MessageID', 'a') + wsa('Action', 'x') + wsa('Action', 'y'), BODY)),
      'EGOV_IT_002',
      'Header/Action',
    );
  });

  it('wsa headers without MessageID are read (ID_AUTH_SOAP_01 needs none; the node refuses them with 107, test/integration)', () => {
    expect(readEnvelope(soap(wsa('To', 'SPC/Regione') + wsa('Action', 'x'), BODY)).addressing).toEqual({ to: 'SPC/Regione', action: 'x' });
  });

  it('wsa:From without wsa:Address → 002 at Header/From/Address', () => {
    expectEnvelopeError(
      () => readEnvelope(soap(wsa('MessageID', 'a') + wsa('From', 'SPC/ComuneA'), BODY)),
      'EGOV_IT_002',
      'Header/From/Address',
    );
  });

  it('wsa:ReplyTo without wsa:Address → 002 at Header/ReplyTo/Address', () => {
    expectEnvelopeError(
      () => readEnvelope(soap(wsa('MessageID', 'a') + wsa('ReplyTo', ''), BODY)),
      'EGOV_IT_002',
      'Header/ReplyTo/Address',
    );
  });

  it('text directly in the Body of a ModI envelope → 003', () => {
    expectEnvelopeError(() => readEnvelope(buildModiEnvelope(A, 'text')), 'EGOV_IT_003', 'Body');
  });

  it('an envelope with both Intestazione and wsa headers is read as egov', () => {
    const xml = busta().replace('<SOAP_ENV:Header>', `<SOAP_ENV:Header>${wsa('MessageID', 'm')}`);
    expect(readEnvelope(xml).profile).toBe('egov');
  });

  describe('wsa:Action naming a bus service', () => {
    it('round-trips tipo, servizio and azione', () => {
      expect(parseModiAction(formatModiAction('SPC', 'Protocollo', 'Invia'))).toEqual({
        tipo: 'SPC',
        servizio: 'Protocollo',
        azione: 'Invia',
      });
      expect(parseModiAction(formatModiAction('SPC', 'Protocollo'))).toEqual({ tipo: 'SPC', servizio: 'Protocollo' });
    });

    it.each(['urn:other:SPC:Protocollo', 'urn:tramite:service:SPC', 'urn:tramite:service:SPC:P:A:extra', 'urn:tramite:service::P'])(
      'refuses %s',
      (action) => {
        expect(parseModiAction(action)).toBeUndefined();
      },
    );
  });
});
