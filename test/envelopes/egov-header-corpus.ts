/**
 * A corpus of e-Gov buste written for the header rules: one conforming base busta, and each case
 * changes exactly one field of it. `MALFORMED` lists what busta 1.1 (Busta.xsd and the SPCoop rules
 * on the header's content) forbids, with the code and posizione a reader must name; `CONFORMING`
 * lists variants it allows and a reader must accept. docs/errors.md has the same rules as a table.
 */
import { EGOV_ACTOR, NS } from '../../envelopes/xml/namespaces.js';

export const IM = 'Intestazione/IntestazioneMessaggio';
export const MSG = `${IM}/Messaggio`;
const LT = 'Intestazione/ListaTrasmissioni';
const LE = 'Intestazione/ListaEccezioni';
const LR = 'Intestazione/ListaRiscontri';

/** Ids of the two parties of the base busta: ComuneA sends to Regione. */
export const ID_A = 'ComuneA_ComuneASPCoopIT_0000001_2005-11-10_12:35';
export const ID_R = 'Regione_RegioneSPCoopIT_0000042_2005-11-10_12:34';

export interface BustaFields {
  mittente: string;
  destinatario: string;
  profilo: string;
  collaborazione: string;
  servizio: string;
  azione: string;
  messaggio: string;
  trasmissione: string;
  sequenza: string;
  riscontri: string;
  trasmissioni: string;
  eccezioni: string;
}

export const party = (nome: string, attrs = 'tipo="SPC"') => `<eGov_IT:IdentificativoParte ${attrs}>${nome}</eGov_IT:IdentificativoParte>`;
export const ora = (value: string, tempo = 'EGOV_IT_SPC') =>
  `<eGov_IT:OraRegistrazione tempo="${tempo}">${value}</eGov_IT:OraRegistrazione>`;
export const profilo = (value: string, attrs = '') =>
  `<eGov_IT:ProfiloCollaborazione${attrs ? ` ${attrs}` : ''}>${value}</eGov_IT:ProfiloCollaborazione>`;
export const messaggio = (m: { id?: string; ora?: string; rif?: string; scadenza?: string } = {}) =>
  '<eGov_IT:Messaggio>' +
  `<eGov_IT:Identificatore>${m.id ?? ID_A}</eGov_IT:Identificatore>` +
  (m.ora ?? ora('2005-11-10T12:35:35')) +
  (m.rif !== undefined ? `<eGov_IT:RiferimentoMessaggio>${m.rif}</eGov_IT:RiferimentoMessaggio>` : '') +
  (m.scadenza !== undefined ? `<eGov_IT:Scadenza>${m.scadenza}</eGov_IT:Scadenza>` : '') +
  '</eGov_IT:Messaggio>';
const trasmissione = (origine: string, destinazione: string, when: string) =>
  `<eGov_IT:Trasmissione><eGov_IT:Origine>${origine}</eGov_IT:Origine><eGov_IT:Destinazione>${destinazione}</eGov_IT:Destinazione>${when}</eGov_IT:Trasmissione>`;
export const trasmissioni = (...items: string[]) => `<eGov_IT:ListaTrasmissioni>${items.join('')}</eGov_IT:ListaTrasmissioni>`;
const eccezione = (attrs: string, inner = '') =>
  `<eGov_IT:ListaEccezioni><eGov_IT:Eccezione ${attrs}>${inner}</eGov_IT:Eccezione></eGov_IT:ListaEccezioni>`;
const ECC_OK = 'contestoCodifica="ErroreIntestazioneMessaggioSPCoop" codiceEccezione="EGOV_IT_105" rilevanza="GRAVE" posizione="Servizio"';

/** The base busta: oneway, at most once, with riscontro and a conversation — every optional field present. */
export const BASE: BustaFields = {
  mittente: `<eGov_IT:Mittente>${party('ComuneA')}</eGov_IT:Mittente>`,
  destinatario: `<eGov_IT:Destinatario>${party('Regione')}</eGov_IT:Destinatario>`,
  profilo: profilo('EGOV_IT_MessaggioSingoloOneWay'),
  collaborazione: `<eGov_IT:Collaborazione>${ID_A}</eGov_IT:Collaborazione>`,
  servizio: '<eGov_IT:Servizio tipo="SPC">Protocollo</eGov_IT:Servizio>',
  azione: '<eGov_IT:Azione>Invia</eGov_IT:Azione>',
  messaggio: messaggio(),
  trasmissione: '<eGov_IT:ProfiloTrasmissione inoltro="EGOV_IT_ALPIUUNAVOLTA" confermaRicezione="true"/>',
  sequenza: '<eGov_IT:Sequenza numeroProgressivo="0000001"/>',
  riscontri: `<eGov_IT:ListaRiscontri><eGov_IT:Riscontro><eGov_IT:Identificatore>${ID_R}</eGov_IT:Identificatore>${ora('2005-11-10T12:34:50')}</eGov_IT:Riscontro></eGov_IT:ListaRiscontri>`,
  trasmissioni: trasmissioni(trasmissione(party('ComuneA'), party('Regione'), ora('2005-11-10T12:35:36'))),
  eccezioni: '',
};

export function busta(over: Partial<BustaFields> = {}): string {
  const f = { ...BASE, ...over };
  return (
    `<SOAP_ENV:Envelope xmlns:SOAP_ENV="${NS.soap11}"><SOAP_ENV:Header>` +
    `<eGov_IT:Intestazione xmlns:eGov_IT="${NS.egov}" SOAP_ENV:actor="${EGOV_ACTOR}" SOAP_ENV:mustUnderstand="1">` +
    `<eGov_IT:IntestazioneMessaggio>${f.mittente}${f.destinatario}${f.profilo}${f.collaborazione}${f.servizio}${f.azione}${f.messaggio}${f.trasmissione}${f.sequenza}</eGov_IT:IntestazioneMessaggio>` +
    `${f.riscontri}${f.trasmissioni}${f.eccezioni}</eGov_IT:Intestazione>` +
    '</SOAP_ENV:Header><SOAP_ENV:Body><x:doc xmlns:x="urn:x">payload</x:doc></SOAP_ENV:Body></SOAP_ENV:Envelope>'
  );
}

/** A request/response profile without the oneway-only parts (Sequenza) of the base busta. */
const withProfile = (value: string, attrs = ''): Partial<BustaFields> => ({ profilo: profilo(value, attrs), sequenza: '' });

export interface MalformedCase {
  readonly rule: string;
  readonly fields: Partial<BustaFields>;
  readonly code: string;
  readonly posizione: string;
}

export const MALFORMED: readonly MalformedCase[] = [
  // Mittente / Destinatario
  {
    rule: 'Mittente with two IdentificativoParte (one sender per busta)',
    fields: { mittente: `<eGov_IT:Mittente>${party('ComuneA')}${party('UfficioProtocollo', 'tipo="AOO"')}</eGov_IT:Mittente>` },
    code: 'EGOV_IT_101',
    posizione: `${IM}/Mittente/IdentificativoParte[2]`,
  },
  {
    rule: 'Mittente indirizzoTelematico that is not a URL',
    fields: { mittente: `<eGov_IT:Mittente>${party('ComuneA', 'tipo="SPC" indirizzoTelematico="pdd comune a"')}</eGov_IT:Mittente>` },
    code: 'EGOV_IT_101',
    posizione: `${IM}/Mittente/IdentificativoParte[1]/@indirizzoTelematico`,
  },
  {
    rule: 'Destinatario indirizzoTelematico that is not a URL',
    fields: {
      destinatario: `<eGov_IT:Destinatario>${party('Regione', 'tipo="SPC" indirizzoTelematico="//regione/in"')}</eGov_IT:Destinatario>`,
    },
    code: 'EGOV_IT_102',
    posizione: `${IM}/Destinatario/IdentificativoParte/@indirizzoTelematico`,
  },
  {
    rule: 'Mittente tipo blank',
    fields: { mittente: `<eGov_IT:Mittente>${party('ComuneA', 'tipo=" "')}</eGov_IT:Mittente>` },
    code: 'EGOV_IT_101',
    posizione: `${IM}/Mittente/IdentificativoParte[1]/@tipo`,
  },
  {
    rule: 'Destinatario party code with a space',
    fields: { destinatario: `<eGov_IT:Destinatario>${party('Regione Abruzzo')}</eGov_IT:Destinatario>` },
    code: 'EGOV_IT_102',
    posizione: `${IM}/Destinatario/IdentificativoParte`,
  },

  // ProfiloCollaborazione
  {
    rule: 'ProfiloCollaborazione tipo outside the schema list',
    fields: withProfile('EGOV_IT_ServizioAsincronoSimmetrico', 'servizioCorrelato="Risposta" tipo="FTP"'),
    code: 'EGOV_IT_103',
    posizione: `${IM}/ProfiloCollaborazione/@tipo`,
  },
  {
    rule: 'servizioCorrelato with the oneway profile',
    fields: { profilo: profilo('EGOV_IT_MessaggioSingoloOneWay', 'servizioCorrelato="Risposta"') },
    code: 'EGOV_IT_103',
    posizione: `${IM}/ProfiloCollaborazione/@servizioCorrelato`,
  },
  {
    rule: 'servizioCorrelato with the sincrono profile',
    fields: withProfile('EGOV_IT_ServizioSincrono', 'servizioCorrelato="Risposta"'),
    code: 'EGOV_IT_103',
    posizione: `${IM}/ProfiloCollaborazione/@servizioCorrelato`,
  },
  {
    rule: 'tipo (of the correlated service) with the sincrono profile',
    fields: withProfile('EGOV_IT_ServizioSincrono', 'tipo="SPC"'),
    code: 'EGOV_IT_103',
    posizione: `${IM}/ProfiloCollaborazione/@tipo`,
  },
  {
    rule: 'ProfiloCollaborazione holding an element',
    fields: {
      profilo: '<eGov_IT:ProfiloCollaborazione><x:p xmlns:x="urn:x">EGOV_IT_MessaggioSingoloOneWay</x:p></eGov_IT:ProfiloCollaborazione>',
    },
    code: 'EGOV_IT_002',
    posizione: `${IM}/ProfiloCollaborazione`,
  },

  // Collaborazione
  {
    rule: 'Collaborazione issued by neither Mittente nor Destinatario',
    fields: { collaborazione: '<eGov_IT:Collaborazione>ComuneB_ComuneBSPCoopIT_0000001_2005-11-10_12:30</eGov_IT:Collaborazione>' },
    code: 'EGOV_IT_104',
    posizione: `${IM}/Collaborazione`,
  },
  {
    rule: 'Collaborazione whose parts hold "_" (not \\w in XSD)',
    fields: { collaborazione: '<eGov_IT:Collaborazione>ComuneA_Ufficio_ComuneASPCoopIT_0000001_2005-11-10_12:30</eGov_IT:Collaborazione>' },
    code: 'EGOV_IT_104',
    posizione: `${IM}/Collaborazione`,
  },

  // Servizio / Azione
  {
    rule: 'no Servizio with the sincrono profile',
    fields: { ...withProfile('EGOV_IT_ServizioSincrono'), servizio: '' },
    code: 'EGOV_IT_105',
    posizione: `${IM}/Servizio`,
  },
  {
    rule: 'no Servizio with the asincrono simmetrico profile',
    fields: { ...withProfile('EGOV_IT_ServizioAsincronoSimmetrico'), servizio: '' },
    code: 'EGOV_IT_105',
    posizione: `${IM}/Servizio`,
  },
  {
    rule: 'no Servizio with the asincrono asimmetrico profile',
    fields: { ...withProfile('EGOV_IT_ServizioAsincronoAsimmetrico'), servizio: '' },
    code: 'EGOV_IT_105',
    posizione: `${IM}/Servizio`,
  },
  {
    rule: 'Servizio tipo blank',
    fields: { servizio: '<eGov_IT:Servizio tipo="  ">Protocollo</eGov_IT:Servizio>' },
    code: 'EGOV_IT_105',
    posizione: `${IM}/Servizio/@tipo`,
  },
  {
    rule: 'Servizio holding an element',
    fields: { servizio: '<eGov_IT:Servizio tipo="SPC"><x:s xmlns:x="urn:x">Protocollo</x:s></eGov_IT:Servizio>' },
    code: 'EGOV_IT_002',
    posizione: `${IM}/Servizio`,
  },
  {
    rule: 'Azione holding an element',
    fields: { azione: '<eGov_IT:Azione><x:a xmlns:x="urn:x">Invia</x:a></eGov_IT:Azione>' },
    code: 'EGOV_IT_002',
    posizione: `${IM}/Azione`,
  },

  // Messaggio
  {
    rule: "Identificatore issued under another party's code (security)",
    fields: { messaggio: messaggio({ id: 'Regione_RegioneSPCoopIT_0000001_2005-11-10_12:35' }) },
    code: 'EGOV_IT_110',
    posizione: `${MSG}/Identificatore`,
  },
  {
    rule: "a riscontro (Regione → ComuneA) whose own Identificatore is issued under the requester's code",
    fields: {
      mittente: `<eGov_IT:Mittente>${party('Regione')}</eGov_IT:Mittente>`,
      destinatario: `<eGov_IT:Destinatario>${party('ComuneA')}</eGov_IT:Destinatario>`,
      messaggio: messaggio({ id: 'ComuneA_ComuneASPCoopIT_0000777_2005-11-10_12:36', rif: ID_A }),
      trasmissione: '',
      sequenza: '',
      trasmissioni: '',
      riscontri: `<eGov_IT:ListaRiscontri><eGov_IT:Riscontro><eGov_IT:Identificatore>${ID_A}</eGov_IT:Identificatore>${ora('2005-11-10T12:35:35')}</eGov_IT:Riscontro></eGov_IT:ListaRiscontri>`,
    },
    code: 'EGOV_IT_110',
    posizione: `${MSG}/Identificatore`,
  },
  {
    rule: 'Identificatore whose Soggetto part only starts like the Mittente',
    fields: { messaggio: messaggio({ id: 'ComuneAB_ComuneASPCoopIT_0000001_2005-11-10_12:35' }) },
    code: 'EGOV_IT_110',
    posizione: `${MSG}/Identificatore`,
  },
  {
    rule: 'Identificatore with "_" inside a part (not \\w in XSD)',
    fields: { messaggio: messaggio({ id: 'ComuneA_Comune_ASPCoopIT_0000001_2005-11-10_12:35' }) },
    code: 'EGOV_IT_110',
    posizione: `${MSG}/Identificatore`,
  },
  {
    rule: 'Identificatore holding an element',
    fields: {
      messaggio: `<eGov_IT:Messaggio><eGov_IT:Identificatore><x:i xmlns:x="urn:x">${ID_A}</x:i></eGov_IT:Identificatore>${ora('2005-11-10T12:35:35')}</eGov_IT:Messaggio>`,
    },
    code: 'EGOV_IT_002',
    posizione: `${MSG}/Identificatore`,
  },
  {
    rule: 'OraRegistrazione with a time zone beyond ±14:00',
    fields: { messaggio: messaggio({ ora: ora('2005-11-10T12:35:35+23:00') }) },
    code: 'EGOV_IT_108',
    posizione: `${MSG}/OraRegistrazione`,
  },
  {
    rule: 'RiferimentoMessaggio naming the message itself',
    fields: { messaggio: messaggio({ rif: ID_A }) },
    code: 'EGOV_IT_111',
    posizione: `${MSG}/RiferimentoMessaggio`,
  },
  {
    rule: 'RiferimentoMessaggio with "_" inside a part',
    fields: { messaggio: messaggio({ rif: 'Regione_Regione_SPCoopIT_0000042_2005-11-10_12:34' }) },
    code: 'EGOV_IT_111',
    posizione: `${MSG}/RiferimentoMessaggio`,
  },
  {
    rule: 'Scadenza with a time zone of minutes 60',
    fields: { messaggio: messaggio({ scadenza: '2005-11-11T12:35:35+01:60' }) },
    code: 'EGOV_IT_112',
    posizione: `${MSG}/Scadenza`,
  },

  // ProfiloTrasmissione / Sequenza
  {
    rule: 'ProfiloTrasmissione inoltro present but empty',
    fields: { trasmissione: '<eGov_IT:ProfiloTrasmissione inoltro="" confermaRicezione="true"/>', sequenza: '' },
    code: 'EGOV_IT_113',
    posizione: `${IM}/ProfiloTrasmissione/@inoltro`,
  },
  {
    rule: 'ProfiloTrasmissione confermaRicezione present but empty',
    fields: { trasmissione: '<eGov_IT:ProfiloTrasmissione inoltro="EGOV_IT_ALPIUUNAVOLTA" confermaRicezione=""/>', sequenza: '' },
    code: 'EGOV_IT_113',
    posizione: `${IM}/ProfiloTrasmissione/@confermaRicezione`,
  },
  {
    rule: 'ProfiloTrasmissione holding an element',
    fields: {
      trasmissione:
        '<eGov_IT:ProfiloTrasmissione inoltro="EGOV_IT_ALPIUUNAVOLTA" confermaRicezione="true"><x:e xmlns:x="urn:x"/></eGov_IT:ProfiloTrasmissione>',
    },
    code: 'EGOV_IT_002',
    posizione: `${IM}/ProfiloTrasmissione`,
  },
  {
    rule: 'ProfiloTrasmissione holding text',
    fields: {
      trasmissione:
        '<eGov_IT:ProfiloTrasmissione inoltro="EGOV_IT_ALPIUUNAVOLTA" confermaRicezione="true">sempre</eGov_IT:ProfiloTrasmissione>',
    },
    code: 'EGOV_IT_002',
    posizione: `${IM}/ProfiloTrasmissione`,
  },
  {
    rule: 'Sequenza without numeroProgressivo',
    fields: { sequenza: '<eGov_IT:Sequenza/>' },
    code: 'EGOV_IT_114',
    posizione: `${IM}/Sequenza/@numeroProgressivo`,
  },
  {
    rule: 'Sequenza holding text',
    fields: { sequenza: '<eGov_IT:Sequenza numeroProgressivo="0000001">1</eGov_IT:Sequenza>' },
    code: 'EGOV_IT_002',
    posizione: `${IM}/Sequenza`,
  },

  // ListaRiscontri
  {
    rule: 'Riscontro Identificatore holding an element',
    fields: {
      riscontri: `<eGov_IT:ListaRiscontri><eGov_IT:Riscontro><eGov_IT:Identificatore><x:i xmlns:x="urn:x">${ID_R}</x:i></eGov_IT:Identificatore>${ora('2005-11-10T12:34:50')}</eGov_IT:Riscontro></eGov_IT:ListaRiscontri>`,
    },
    code: 'EGOV_IT_115',
    posizione: `${LR}/Riscontro[1]/Identificatore`,
  },

  // ListaTrasmissioni
  {
    rule: 'first Trasmissione not leaving from the Mittente',
    fields: { trasmissioni: trasmissioni(trasmissione(party('Hub'), party('Regione'), ora('2005-11-10T12:35:36'))) },
    code: 'EGOV_IT_116',
    posizione: `${LT}/Trasmissione[1]/Origine`,
  },
  {
    rule: 'a Trasmissione not leaving from where the previous one arrived',
    fields: {
      trasmissioni: trasmissioni(
        trasmissione(party('ComuneA'), party('Hub'), ora('2005-11-10T12:35:36')),
        trasmissione(party('Altro'), party('Regione'), ora('2005-11-10T12:35:37')),
      ),
    },
    code: 'EGOV_IT_116',
    posizione: `${LT}/Trasmissione[2]/Origine`,
  },
  {
    rule: 'a Trasmissione registered (SPC time) before the previous one',
    fields: {
      trasmissioni: trasmissioni(
        trasmissione(party('ComuneA'), party('Hub'), ora('2005-11-10T12:35:36Z')),
        trasmissione(party('Hub'), party('Regione'), ora('2005-11-10T12:35:30Z')),
      ),
    },
    code: 'EGOV_IT_116',
    posizione: `${LT}/Trasmissione[2]/OraRegistrazione`,
  },
  {
    rule: 'Trasmissione Destinazione indirizzoTelematico that is not a URL',
    fields: {
      trasmissioni: trasmissioni(
        trasmissione(party('ComuneA'), party('Regione', 'tipo="SPC" indirizzoTelematico="regione"'), ora('2005-11-10T12:35:36')),
      ),
    },
    code: 'EGOV_IT_116',
    posizione: `${LT}/Trasmissione[1]/Destinazione/IdentificativoParte/@indirizzoTelematico`,
  },

  // ListaEccezioni
  {
    rule: 'Eccezione codiceEccezione outside codiceEccezioneType',
    fields: {
      eccezioni: eccezione(
        'contestoCodifica="ErroreIntestazioneMessaggioSPCoop" codiceEccezione="EGOV_IT_999" rilevanza="GRAVE" posizione="Servizio"',
      ),
    },
    code: 'EGOV_IT_100',
    posizione: `${LE}/Eccezione[1]`,
  },
  {
    rule: 'Eccezione holding an element',
    fields: { eccezioni: eccezione(ECC_OK, '<x:e xmlns:x="urn:x"/>') },
    code: 'EGOV_IT_100',
    posizione: `${LE}/Eccezione[1]`,
  },
];

export interface ConformingCase {
  readonly variant: string;
  readonly fields: Partial<BustaFields>;
}

export const CONFORMING: readonly ConformingCase[] = [
  { variant: 'the base busta itself (every optional field present)', fields: {} },
  {
    variant: 'the minimal busta: Mittente, Destinatario, Messaggio',
    fields: { profilo: '', collaborazione: '', servizio: '', azione: '', trasmissione: '', sequenza: '', riscontri: '', trasmissioni: '' },
  },
  {
    variant: 'a oneway busta di servizio (riscontro) without Servizio',
    fields: { servizio: '', azione: '', collaborazione: '', sequenza: '', trasmissione: '', messaggio: messaggio({ rif: ID_R }) },
  },
  {
    variant: 'a party code and ids with letters outside ASCII (\\w in XSD)',
    fields: {
      mittente: `<eGov_IT:Mittente>${party('ComuneDiCefalù')}</eGov_IT:Mittente>`,
      collaborazione: '',
      sequenza: '',
      trasmissioni: '',
      messaggio: messaggio({ id: 'ComuneDiCefalù_ComuneDiCefalùSPCoopIT_0000001_2005-11-10_12:35' }),
    },
  },
  {
    variant: 'Mittente of tipo AOO with an indirizzoTelematico',
    fields: {
      mittente: `<eGov_IT:Mittente>${party('ComuneA', 'tipo="AOO" indirizzoTelematico="http://pdd.comunea.it:8080/govway/spcoop/in"')}</eGov_IT:Mittente>`,
      trasmissioni: '',
    },
  },
  {
    variant: 'an empty indirizzoTelematico (optional, as if absent)',
    fields: { destinatario: `<eGov_IT:Destinatario>${party('Regione', 'tipo="SPC" indirizzoTelematico=""')}</eGov_IT:Destinatario>` },
  },
  {
    variant: 'asincrono simmetrico with servizioCorrelato and tipo URL',
    fields: withProfile('EGOV_IT_ServizioAsincronoSimmetrico', 'servizioCorrelato="RispostaProtocollo" tipo="URL"'),
  },
  {
    variant: 'asincrono asimmetrico with tipo ebXMLRegistry',
    fields: withProfile('EGOV_IT_ServizioAsincronoAsimmetrico', 'servizioCorrelato="Stato" tipo="ebXMLRegistry"'),
  },
  {
    variant: 'a Collaborazione issued by the Destinatario (a conversation it started)',
    fields: { collaborazione: `<eGov_IT:Collaborazione>${ID_R}</eGov_IT:Collaborazione>` },
  },
  {
    variant: "a richiesta stato (asincrono asimmetrico) referring to the Mittente's own request",
    fields: {
      ...withProfile('EGOV_IT_ServizioAsincronoAsimmetrico'),
      messaggio: messaggio({ id: 'ComuneA_ComuneASPCoopIT_0000002_2005-11-10_12:40', rif: ID_A }),
    },
  },
  {
    variant: "a sincrono answer referring to the Destinatario's request",
    fields: { ...withProfile('EGOV_IT_ServizioSincrono'), collaborazione: '', messaggio: messaggio({ rif: ID_R }) },
  },
  {
    variant: 'confermaRicezione written as 1 (xsd:boolean)',
    fields: { trasmissione: '<eGov_IT:ProfiloTrasmissione inoltro="EGOV_IT_ALPIUUNAVOLTA" confermaRicezione="1"/>' },
  },
  {
    variant: 'confermaRicezione with surrounding spaces (xsd:boolean collapses them)',
    fields: { trasmissione: '<eGov_IT:ProfiloTrasmissione inoltro="EGOV_IT_ALPIUUNAVOLTA" confermaRicezione=" true "/>' },
  },
  {
    variant: 'numeroProgressivo with surrounding spaces (xsd:positiveInteger collapses them)',
    fields: { sequenza: '<eGov_IT:Sequenza numeroProgressivo=" 0000003 "/>' },
  },
  {
    variant: 'ProfiloTrasmissione without attributes (schema defaults)',
    fields: { trasmissione: '<eGov_IT:ProfiloTrasmissione/>', sequenza: '' },
  },
  {
    variant: 'OraRegistrazione at the widest time zone (+14:00)',
    fields: { messaggio: messaggio({ ora: ora('2005-11-10T23:35:35+14:00') }) },
  },
  {
    variant: 'two chained Trasmissioni, Mittente → Hub → Destinatario',
    fields: {
      trasmissioni: trasmissioni(
        trasmissione(party('ComuneA'), party('Hub'), ora('2005-11-10T12:35:36')),
        trasmissione(party('Hub'), party('Regione'), ora('2005-11-10T12:35:36.500')),
      ),
    },
  },
  {
    variant: 'Trasmissioni in local time (EGOV_IT_Locale) are not compared across nodes',
    fields: {
      trasmissioni: trasmissioni(
        trasmissione(party('ComuneA'), party('Hub'), ora('2005-11-10T12:35:36', 'EGOV_IT_Locale')),
        trasmissione(party('Hub'), party('Regione'), ora('2005-11-10T11:35:37', 'EGOV_IT_Locale')),
      ),
    },
  },
  {
    variant: 'Eccezione with an empty contestoCodifica and posizione (xsd:string)',
    fields: { eccezioni: eccezione('contestoCodifica="" codiceEccezione="EGOV_IT_300" rilevanza="INFO" posizione=""') },
  },
  {
    variant: 'a Riscontro of a message issued by a third party (not checked against the parties)',
    fields: {
      riscontri: `<eGov_IT:ListaRiscontri><eGov_IT:Riscontro><eGov_IT:Identificatore>MinisteroFruitore_MinisteroFruitoreSPCoopIT_2411206_2005-11-10_11:35</eGov_IT:Identificatore>${ora('2005-11-10T12:35:35')}</eGov_IT:Riscontro></eGov_IT:ListaRiscontri>`,
    },
  },
];
