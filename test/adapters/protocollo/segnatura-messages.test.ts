import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  anomaliaOf,
  buildAggiornamentoConfermaXml,
  buildAnnullamentoProtocollazioneXml,
  buildConfermaRicezioneXml,
  buildNotificaEccezioneXml,
  formatMotivo,
  readProtocolloMessage,
} from '../../../adapters/protocollo/segnatura/protocollo-messages.js';
import { PROTOCOLLO_NS } from '../../../adapters/protocollo/segnatura/segnatura-reader.js';
import { validateProtocolloMessageSchema } from '../../../adapters/protocollo/segnatura/segnatura-schema.js';
import type {
  AggiornamentoConferma,
  AnnullamentoProtocollazione,
  ConfermaRicezione,
  NotificaEccezione,
} from '../../../adapters/protocollo/segnatura/segnatura-model.js';
import { walkElements } from '../../../adapters/sdk/xml-security.js';
import { ProtocolloError } from '../../../src/core/errors.js';
import { IDENTIFICATORE_DESTINATARIO, IDENTIFICATORE_MITTENTE } from '../../fixtures/protocollo/sample-segnatura.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/protocollo/${name}`, import.meta.url), 'utf8');

const conferma: ConfermaRicezione = {
  form: '2021',
  identificatore: IDENTIFICATORE_DESTINATARIO,
  messaggioRicevuto: {
    kind: 'identificatore',
    identificatore: IDENTIFICATORE_MITTENTE,
    primaRegistrazione: {
      ...IDENTIFICATORE_MITTENTE,
      numeroRegistrazione: '0003990',
      dataRegistrazione: '2024-02-28',
      oraRegistrazione: undefined,
    },
  },
};
const aggiornamento: AggiornamentoConferma = {
  ...conferma,
  messaggioRicevuto: { kind: 'identificatore', identificatore: IDENTIFICATORE_MITTENTE },
};
const eccezione: NotificaEccezione = {
  form: '2021',
  identificatore: IDENTIFICATORE_DESTINATARIO,
  messaggioRicevuto: { kind: 'identificatore', identificatore: IDENTIFICATORE_MITTENTE },
  motivo: formatMotivo('002_AnomaliaImpronta', "Tavola_1.pdf: l'impronta SHA-512 non corrisponde a quella della Segnatura"),
};
/** Unreadable Segnatura: the receiver did not register it and can only describe what it got. */
const eccezioneSenzaIdentificatore: NotificaEccezione = {
  form: '2021',
  messaggioRicevuto: { kind: 'descrizione', descrizioneMessaggio: 'PEC "Prot. 4218 <Comune di Valverde>" del 15/03/2024 ore 09:07' },
  motivo: formatMotivo('000_Irricevibile', 'Segnatura.xml non conforme allo schema & non leggibile'),
};
const annullamento: AnnullamentoProtocollazione = {
  form: '2021',
  identificatore: IDENTIFICATORE_MITTENTE,
  motivo: 'Registrazione effettuata per errore: documento destinato ad altra amministrazione',
  provvedimento: 'Determinazione del Responsabile della gestione documentale n. 12 del 16/03/2024',
};

describe('2021 messages: build, validate against pec_message.xsd, read back', () => {
  const cases = [
    ['ConfermaRicezione', buildConfermaRicezioneXml(conferma), { kind: 'conferma', conferma }],
    ['AggiornamentoConferma', buildAggiornamentoConfermaXml(aggiornamento), { kind: 'aggiornamento', aggiornamento }],
    ['NotificaEccezione', buildNotificaEccezioneXml(eccezione), { kind: 'eccezione', eccezione }],
    [
      'NotificaEccezione without Identificatore',
      buildNotificaEccezioneXml(eccezioneSenzaIdentificatore),
      { kind: 'eccezione', eccezione: eccezioneSenzaIdentificatore },
    ],
    ['AnnullamentoProtocollazione', buildAnnullamentoProtocollazioneXml(annullamento), { kind: 'annullamento', annullamento }],
  ] as const;

  it.each(cases)('%s is schema-valid', async (_name, xml) => {
    expect(await validateProtocolloMessageSchema(xml)).toEqual({ valid: true });
  });

  it.each(cases)('%s round-trips', (_name, xml, expected) => {
    const { doc: _doc, root: _root, ...message } = readProtocolloMessage(xml);
    expect(message).toEqual(expected);
  });

  it('puts the message in the pec namespace and the Identificatore content in the segnatura namespace', () => {
    const xml = buildConfermaRicezioneXml(conferma);
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<pec:ConfermaRicezione xmlns:pec="http:\/\/www.agid.gov.it\/protocollo\/pec\/" xmlns:prot="http:\/\/www.agid.gov.it\/protocollo\/" pec:versione="3.0.0" pec:lang="it">/,
    );
    const { root } = readProtocolloMessage(xml);
    const byNs = [...walkElements(root)].map((e) => `${e.namespaceURI === PROTOCOLLO_NS.pec ? 'pec' : 'prot'}:${e.localName}`);
    expect(byNs.slice(0, 4)).toEqual(['pec:ConfermaRicezione', 'pec:Identificatore', 'prot:CodiceAmministrazione', 'prot:CodiceAOO']);
    expect(byNs).toContain('pec:MessaggioRicevuto');
    expect(byNs).toContain('pec:PrimaRegistrazione');
  });

  it('refuses a broken message, naming the element', async () => {
    const broken = buildConfermaRicezioneXml(conferma).replace(/<pec:MessaggioRicevuto>[\s\S]*<\/pec:MessaggioRicevuto>/, '');
    const result = await validateProtocolloMessageSchema(broken);
    expect(result).toEqual({
      valid: false,
      errors: [
        expect.stringMatching(
          /^line 2: Element 'pec:ConfermaRicezione': Missing child element\(s\)\. Expected is \( pec:MessaggioRicevuto \)\.$/,
        ),
      ],
    });
    expect(() => readProtocolloMessage(broken)).toThrow('required element ConfermaRicezione/MessaggioRicevuto is missing (2021 form)');
  });

  it('validates messages only: a Segnatura is not one of them', async () => {
    const result = await validateProtocolloMessageSchema(fixture('segnatura-2021-valverde.xml'));
    expect(result.valid).toBe(false);
    expect(result.valid === false && result.errors[0]).toMatch(
      /root element is \{http:\/\/www.agid.gov.it\/protocollo\/\}SegnaturaInformatica, expected ConfermaRicezione/,
    );
  });
});

describe('Motivo and anomaly codes', () => {
  it('formats and parses the anomaly code at the start of a Motivo', () => {
    expect(formatMotivo('007_ErroreIdentificatoreNonTrovato')).toBe('007_ErroreIdentificatoreNonTrovato');
    expect(anomaliaOf(eccezione.motivo)).toBe('002_AnomaliaImpronta');
    expect(anomaliaOf('Documento illeggibile')).toBeUndefined(); // 2013-style free text
    expect(anomaliaOf('999_Sconosciuta - x')).toBeUndefined();
  });

  it("reads the official documents' other spellings as the registry's code", () => {
    expect(anomaliaOf('002_AnomaliaImpronte')).toBe('002_AnomaliaImpronta'); // protocollo-destinatario.wsdl
    expect(anomaliaOf('000_Irricevibilita: Segnatura assente')).toBe('000_Irricevibile');
    expect(anomaliaOf('005_DocumentoAllegatiErroreVaidazioneMarcaTemporale')).toBe('005_DocumentoAllegatiErroreValidazioneMarcaTemporale');
  });

  it('refuses to write a NotificaEccezione whose Motivo does not start with a code', () => {
    const err = (() => {
      try {
        buildNotificaEccezioneXml({ ...eccezione, motivo: 'Impronta errata' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ProtocolloError);
    expect((err as ProtocolloError).message).toMatch(
      /^cannot write NotificaEccezione: Motivo must start with an anomaly code \(000_Irricevibile, 001_ValidazioneFirma/,
    );
  });
});

describe('readProtocolloMessage: every root, every form', () => {
  const IDENTIFICATORE_2013 = (numero: string) =>
    `<Identificatore><CodiceAmministrazione>r_esempio</CodiceAmministrazione><CodiceAOO>AOO_GR</CodiceAOO><CodiceRegistro>RG_GIUNTA</CodiceRegistro><NumeroRegistrazione>${numero}</NumeroRegistrazione><DataRegistrazione>2024-03-15</DataRegistrazione></Identificatore>`;
  const ricevuto = {
    kind: 'identificatore',
    identificatore: {
      codiceAmministrazione: 'r_esempio',
      codiceAOO: 'AOO_GR',
      codiceRegistro: 'RG_GIUNTA',
      numeroRegistrazione: '0000042',
      dataRegistrazione: '2024-03-15',
    },
    primaRegistrazione: {
      codiceAmministrazione: 'r_esempio',
      codiceAOO: 'AOO_GR',
      codiceRegistro: 'RG_GIUNTA',
      numeroRegistrazione: '0000007',
      dataRegistrazione: '2024-03-15',
    },
  };

  const conferma2013 =
    `<ConfermaRicezione xmlns="${PROTOCOLLO_NS.circolare2013}" versione="aaaa-mm-gg">${IDENTIFICATORE_2013('0123456')}` +
    `<MessaggioRicevuto>${IDENTIFICATORE_2013('0000042')}<PrimaRegistrazione>${IDENTIFICATORE_2013('0000007')}</PrimaRegistrazione></MessaggioRicevuto></ConfermaRicezione>`;

  it('reads a 2013 ConfermaRicezione (PrimaRegistrazione wraps its Identificatore) and validates it', async () => {
    const { kind, ...rest } = readProtocolloMessage(conferma2013);
    expect(kind).toBe('conferma');
    expect(rest).toMatchObject({
      conferma: { form: '2013', identificatore: { numeroRegistrazione: '0123456' }, messaggioRicevuto: ricevuto },
    });
    expect(await validateProtocolloMessageSchema(conferma2013)).toEqual({ valid: true });
  });

  it('reads the 2001 NotificaEccezione, AggiornamentoConferma and AnnullamentoProtocollazione', () => {
    const eccezione2001 = `<NotificaEccezione><MessaggioRicevuto><DescrizioneMessaggio>Messaggio del 15/03/2024</DescrizioneMessaggio></MessaggioRicevuto><Motivo>Segnatura non leggibile</Motivo></NotificaEccezione>`;
    expect(readProtocolloMessage(eccezione2001)).toMatchObject({
      kind: 'eccezione',
      eccezione: {
        form: '2001',
        identificatore: undefined,
        messaggioRicevuto: { kind: 'descrizione', descrizioneMessaggio: 'Messaggio del 15/03/2024' },
        motivo: 'Segnatura non leggibile',
      },
    });
    const aggiornamento2001 = conferma2013
      .replace(` xmlns="${PROTOCOLLO_NS.circolare2013}"`, '')
      .replace(/ConfermaRicezione>/g, 'AggiornamentoConferma>')
      .replace('<ConfermaRicezione ', '<AggiornamentoConferma ');
    expect(readProtocolloMessage(aggiornamento2001)).toMatchObject({
      kind: 'aggiornamento',
      aggiornamento: { form: '2001', messaggioRicevuto: ricevuto },
    });
    const annullamento2013 = `<AnnullamentoProtocollazione xmlns="${PROTOCOLLO_NS.circolare2013}">${IDENTIFICATORE_2013('0123456')}<Motivo>Errore materiale</Motivo><Provvedimento>Det. 12/2024</Provvedimento></AnnullamentoProtocollazione>`;
    expect(readProtocolloMessage(annullamento2013)).toMatchObject({
      kind: 'annullamento',
      annullamento: { form: '2013', motivo: 'Errore materiale', provvedimento: 'Det. 12/2024' },
    });
  });

  it('reads a Segnatura too, in any form', () => {
    expect(readProtocolloMessage(fixture('segnatura-2021-valverde.xml')).kind).toBe('segnatura');
    const m = readProtocolloMessage(fixture('segnatura-2001-valverde.xml'));
    expect(m.kind === 'segnatura' && m.segnatura.form).toBe('2001');
  });

  it('refuses a message in a namespace that does not declare it', () => {
    // ConfermaRicezione exists in pec_message.xsd, not in segnatura_protocollo.xsd.
    const wrong = buildConfermaRicezioneXml(conferma).replaceAll('pec:ConfermaRicezione', 'prot:ConfermaRicezione');
    expect(() => readProtocolloMessage(wrong)).toThrow(
      /no protocollo message: its root is \{http:\/\/www.agid.gov.it\/protocollo\/\}ConfermaRicezione/,
    );
  });

  it('refuses a DOCTYPE here as well', () => {
    expect(() => readProtocolloMessage(`<!DOCTYPE NotificaEccezione SYSTEM "Segnatura.dtd">\n${conferma2013}`)).toThrow(
      /remove the <!DOCTYPE …> line/,
    );
  });
});
