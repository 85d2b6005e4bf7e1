/**
 * The same registry events in ANPR form. ANPR (DPCM 194/2014) superseded INA-SAIA; its services
 * group operations in families — 1000 iscrizione, 2000 cancellazione, 3000 consultazione, 4000
 * estrazione, 5000 mutazione (residenza, famiglia, rettifica dati), 6001 certificazione, 7001 scarico
 * tabelle, A000 AIRE — and every request opens with a header (testataRichiesta) whose fields are
 * named below as ANPR names them.
 *
 * What is ANPR's: the family codes and the header field names. What is not (the reference the
 * project works from gives neither): the numbered services inside each family, the coded values of
 * tipoOperazione and tipoInvio (passed through from configuration) and the body's exact schema. The
 * body here is the event's data under ANPR-style names (generalita, residenza, famiglia); replace
 * this module when the official specification is at hand, as ina-mapping.ts is for INA.
 */
import { kindOf, type Famiglia, type Indirizzo, type Luogo, type RegistryEvent, type RegistryEventKind } from './registry-event.js';

/** The ANPR operation families registry events belong to (the others are reads, certificates, tables, AIRE). */
export const ANPR_FAMILIES = { iscrizione: '1000', cancellazione: '2000', mutazione: '5000' } as const;
export type AnprFamily = (typeof ANPR_FAMILIES)[keyof typeof ANPR_FAMILIES];

/** Each event kind: its family, and the reason inside it (5000 covers residenza, famiglia and rettifica dati). */
export const ANPR_OPERATIONS: Readonly<Record<RegistryEventKind, { readonly operazioneRichiesta: AnprFamily; readonly motivo: string }>> = {
  'iscrizione.nascita': { operazioneRichiesta: ANPR_FAMILIES.iscrizione, motivo: 'nascita' },
  'iscrizione.immigrazione': { operazioneRichiesta: ANPR_FAMILIES.iscrizione, motivo: 'immigrazione' },
  'cancellazione.morte': { operazioneRichiesta: ANPR_FAMILIES.cancellazione, motivo: 'morte' },
  'cancellazione.emigrazione': { operazioneRichiesta: ANPR_FAMILIES.cancellazione, motivo: 'emigrazione' },
  'mutazione.indirizzo': { operazioneRichiesta: ANPR_FAMILIES.mutazione, motivo: 'residenza' },
  'mutazione.famiglia': { operazioneRichiesta: ANPR_FAMILIES.mutazione, motivo: 'famiglia' },
  // A change of name, citizenship or civil status updates the person's data: ANPR's "dati" mutazione.
  'mutazione.datiPersonali': { operazioneRichiesta: ANPR_FAMILIES.mutazione, motivo: 'datiPersonali' },
  rettifica: { operazioneRichiesta: ANPR_FAMILIES.mutazione, motivo: 'rettificaDati' },
};

/** What the header needs beyond the event: who sends, when, and which software. */
export interface AnprContext {
  /** The Comune's code as ANPR knows it (codMittente). */
  readonly codMittente: string;
  /** Default "ANPR". */
  readonly codDestinatario?: string;
  /** The Comune's id of this operation (idOperazioneComune): Tramite uses the event id. */
  readonly idOperazioneComune: string;
  /** xsd:dateTime of the request. */
  readonly dataOraRichiesta: string;
  /** YYYY-MM-DD the Comune defined the practice; default: the request's date. */
  readonly dataDefinizionePratica?: string;
  /** ANPR-coded values, passed through as configured. */
  readonly tipoOperazione: string;
  readonly tipoInvio: string;
  readonly applicativo: { readonly nome: string; readonly versione: string; readonly fornitore: string };
}

/** ANPR's request header, field for field. */
export interface AnprTestataRichiesta {
  readonly idOperazioneComune: string;
  readonly codMittente: string;
  readonly codDestinatario: string;
  readonly operazioneRichiesta: AnprFamily;
  readonly dataOraRichiesta: string;
  readonly tipoOperazione: string;
  readonly protocolloComune?: string;
  readonly dataProtocolloComune?: string;
  readonly tipoInvio: string;
  /** The date the event takes effect. */
  readonly dataDecorrenza: string;
  readonly dataDefinizionePratica: string;
  readonly nomeApplicativo: string;
  readonly versioneApplicativo: string;
  readonly fornitoreApplicativo: string;
}

export interface AnprGeneralita {
  readonly codiceFiscale: string;
  readonly cognome: string;
  readonly nome: string;
  readonly sesso?: string;
  readonly dataNascita?: string;
  /** Belfiore code of the Comune or foreign state of birth. */
  readonly luogoNascita?: string;
}

export interface AnprLuogo {
  readonly codiceCatastaleComune?: string;
  readonly codiceCatastaleStato?: string;
}

export interface AnprRichiesta {
  readonly testataRichiesta: AnprTestataRichiesta;
  /** The reason inside the family (see ANPR_OPERATIONS). */
  readonly motivo: string;
  readonly generalita: AnprGeneralita;
  readonly residenza?: { readonly toponimo: string; readonly civico: string; readonly interno?: string; readonly cap: string };
  readonly famiglia?: { readonly idFamiglia: string; readonly relazioneParentela: string };
  readonly provenienza?: AnprLuogo;
  readonly destinazione?: AnprLuogo;
  readonly luogoEvento?: AnprLuogo;
  readonly datiVariati?: Readonly<Record<string, string>>;
  readonly motivazione?: string;
}

export function toAnprRichiesta(event: RegistryEvent, ctx: AnprContext): AnprRichiesta {
  const operation = ANPR_OPERATIONS[kindOf(event)];
  const testataRichiesta: AnprTestataRichiesta = {
    idOperazioneComune: ctx.idOperazioneComune,
    codMittente: ctx.codMittente,
    codDestinatario: ctx.codDestinatario ?? 'ANPR',
    operazioneRichiesta: operation.operazioneRichiesta,
    dataOraRichiesta: ctx.dataOraRichiesta,
    tipoOperazione: ctx.tipoOperazione,
    ...(event.protocollo ? { protocolloComune: event.protocollo.numero, dataProtocolloComune: event.protocollo.data } : {}),
    tipoInvio: ctx.tipoInvio,
    dataDecorrenza: event.dataEvento,
    dataDefinizionePratica: ctx.dataDefinizionePratica ?? ctx.dataOraRichiesta.slice(0, 10),
    nomeApplicativo: ctx.applicativo.nome,
    versioneApplicativo: ctx.applicativo.versione,
    fornitoreApplicativo: ctx.applicativo.fornitore,
  };
  const { soggetto } = event;
  const generalita: AnprGeneralita = { ...soggetto };
  const base = { testataRichiesta, motivo: operation.motivo, generalita };
  switch (event.tipo) {
    case 'iscrizione':
      return {
        ...base,
        residenza: residenzaOf(event.indirizzo),
        famiglia: famigliaOf(event.famiglia),
        ...(event.motivo === 'immigrazione' ? { provenienza: luogoOf(event.provenienza) } : {}),
      };
    case 'cancellazione':
      if (event.motivo === 'emigrazione') return { ...base, destinazione: luogoOf(event.destinazione) };
      return { ...base, ...(event.luogoMorte ? { luogoEvento: luogoOf(event.luogoMorte) } : {}) };
    case 'mutazione':
      if (event.motivo === 'indirizzo') return { ...base, residenza: residenzaOf(event.indirizzo) };
      if (event.motivo === 'famiglia') return { ...base, famiglia: famigliaOf(event.famiglia) };
      return { ...base, datiVariati: { ...event.datiPersonali } };
    case 'rettifica':
      return { ...base, datiVariati: { ...event.rettifiche }, motivazione: event.motivazione };
  }
}

function residenzaOf(i: Indirizzo): NonNullable<AnprRichiesta['residenza']> {
  return { ...i };
}

function famigliaOf(f: Famiglia): NonNullable<AnprRichiesta['famiglia']> {
  return { idFamiglia: f.idFamiglia, relazioneParentela: f.relazione };
}

function luogoOf(l: Luogo): AnprLuogo {
  return 'comune' in l ? { codiceCatastaleComune: l.comune } : { codiceCatastaleStato: l.statoEstero };
}
