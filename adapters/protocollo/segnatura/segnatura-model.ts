/**
 * The typed model of the protocollo informatico interoperabile: the Segnatura and the messages two AOO
 * exchange about it. One model serves the three forms the bus reads — 2021 (segnatura_protocollo.xsd,
 * AgID Linee guida 2021 Allegato 6), 2013 (Circolare AgID 60/2013) and 2001 (the 2013 content without a
 * namespace) — and its shape follows the 2021 schema, the form the bus writes: a field is optional
 * exactly where that schema makes it optional, and nothing the schema lacks is invented.
 *
 * Where the 2021 schema gives a default (Destinatario@confermaRicezione, Impronta@algoritmo,
 * IndirizzoTelematico@tipo, Nazione), the readers apply it, so the model always holds the value in force.
 *
 * Reading an older form is a mapping, and a lossy one where the forms differ: each reader documents what
 * it maps and what it leaves out. Text the 2021 schema requires but an older form may omit (a Persona's
 * Nome, a Classifica's Denominazione, a Comune's CodiceISTAT, a Documento's tipoMIME) is read as ''.
 *
 * Types only: no code lives here.
 */

/** Which official form a document was written in. */
export type ProtocolloForm = '2021' | '2013' | '2001';

/** The identifier of one registration (art. 55 DPR 445/2000): who registered it, in which register, when. */
export interface Identificatore {
  /** IPA code of the administration. */
  readonly codiceAmministrazione: string;
  /** IPA code of the AOO. */
  readonly codiceAOO: string;
  /** `[A-Za-z0-9_.-]{1,16}` in the 2021 schema. */
  readonly codiceRegistro: string;
  /** Progressive number, zero-padded to at least 7 digits (`[0-9]{7,}`): a string, never a number. */
  readonly numeroRegistrazione: string;
  /** xs:date, `YYYY-MM-DD`. */
  readonly dataRegistrazione: string;
  /** xs:time. In the 2013 and 2001 forms it is Intestazione/OraRegistrazione, read into here. */
  readonly oraRegistrazione?: string;
}

/** An IPA code (CodiceIPA type) and the optional description the 2021 schema lets it carry. */
export interface CodiceIPA {
  readonly codice: string;
  readonly descrizione?: string;
}

/** A Titolario category: Denominazione plus the code, either in one string or level by level. */
export interface Classifica {
  readonly denominazione: string;
  readonly codice: CodiceClassifica;
}

export type CodiceClassifica =
  /** CodiceFlat: category, class and subclass in one string, e.g. `Titolo I.Classe 1`. */
  | { readonly kind: 'flat'; readonly codice: string }
  /**
   * CodicePath: Livello, then each SubLivello's Livello, outermost first (the schema nests them; the
   * model lists them). Never empty.
   */
  | { readonly kind: 'path'; readonly livelli: readonly LivelloClassifica[] };

export interface LivelloClassifica {
  readonly valore: string;
  /** Livello@descrizione (2021); Livello@nome in the 2013 and 2001 forms. */
  readonly descrizione?: string;
}

export interface Fascicolo {
  readonly denominazione: string;
  readonly codiceFascicolo: string;
}

/** Riservato: whether the message is confidential, and an optional note. */
export interface Riservato {
  readonly riservato: boolean;
  readonly note?: string;
}

/** The registration that gave rise to this one (2021 Riferimenti). */
export interface Riferimenti {
  readonly identificatore: Identificatore;
  readonly primaRegistrazione?: Identificatore;
  readonly oggetto: string;
  readonly classifica: Classifica;
  readonly fascicolo?: Fascicolo;
}

// ---------------------------------------------------------------------------------------------------
// Parties (SoggettoType): exactly one of the four the schema offers.

export type Soggetto = Amministrazione | PersonaGiuridica | PersonaFisica | AmministrazioneEstera;

/** An Italian public administration, optionally narrowed to an AOO and a UO, with internal people. */
export interface Amministrazione {
  readonly tipo: 'Amministrazione';
  readonly denominazioneAmministrazione: string;
  /** CFAmministrazione: 11 digits (the schema's PartitaIVA type). */
  readonly cfAmministrazione?: string;
  readonly codiceIPAAmministrazione: CodiceIPA;
  readonly contattiAmministrazione?: Contatti;
  readonly codiceIPAAOO?: CodiceIPA;
  /** Where the AOO's PEC (its protocol mailbox) belongs. */
  readonly contattiAOO?: Contatti;
  readonly codiceIPAUO?: CodiceIPA;
  readonly contattiUO?: Contatti;
  readonly personeFisiche: readonly PersonaFisica[];
}

/** What names an AOO in a Segnatura: its administration's IPA code, its own, and the administration's name. */
export interface AooCodes {
  readonly denominazione: string;
  readonly codiceAmministrazione: string;
  readonly codiceAOO: string;
}

/** The Amministrazione of an AOO, as a Segnatura's Mittente or Destinatario names it (no UO, no people). */
export function amministrazioneOfAoo(aoo: AooCodes): Amministrazione {
  return {
    tipo: 'Amministrazione',
    denominazioneAmministrazione: aoo.denominazione,
    codiceIPAAmministrazione: { codice: aoo.codiceAmministrazione },
    codiceIPAAOO: { codice: aoo.codiceAOO },
    personeFisiche: [],
  };
}

export interface PersonaGiuridica {
  readonly tipo: 'PersonaGiuridica';
  readonly denominazione: string;
  /** PIVAoCF: 11 digits. */
  readonly pivaOCF?: string;
  readonly contattiPersonaGiuridica?: Contatti;
  readonly personeFisiche: readonly PersonaFisica[];
}

export interface PersonaFisica {
  readonly tipo: 'PersonaFisica';
  readonly nome: string;
  readonly cognome: string;
  /** E.g. `Dott.`, `Sig.ra`. */
  readonly titolo?: string;
  /** The 16-character Italian codice fiscale. */
  readonly codiceFiscale?: string;
  readonly contatti?: Contatti;
}

export interface AmministrazioneEstera {
  readonly tipo: 'AmministrazioneEstera';
  readonly denominazioneAmministrazione: string;
  readonly denominazioneUfficio?: string;
  readonly contattiAmministrazione?: Contatti;
}

export interface Contatti {
  readonly indirizziPostali: readonly IndirizzoPostale[];
  readonly indirizziTelematici: readonly IndirizzoTelematico[];
  readonly telefoni: readonly string[];
}

export interface IndirizzoTelematico {
  readonly indirizzo: string;
  /** `smtp` (e-mail or PEC, the schema's default), `url` (a REST or SOAP endpoint), `other`. */
  readonly tipo: 'smtp' | 'url' | 'other';
  readonly note?: string;
}

export interface IndirizzoPostale {
  /** dug: generic urban designation (via, piazza…); duf: the official street name. */
  readonly toponimo: { readonly dug: string; readonly duf: string };
  readonly civico: string;
  /** Five digits; see segnatura-schema.ts for the official schema's six-digit defect. */
  readonly cap: string;
  readonly comune: { readonly denominazione: string; readonly codiceISTAT: string };
  /** Defaults `Italia`, code `ITA` (2021); an older form names the nation without a code. */
  readonly nazione: { readonly denominazione: string; readonly codice3166?: string };
}

/** A recipient: a Soggetto plus what the sender asks of it. */
export interface Destinatario {
  readonly soggetto: Soggetto;
  /** Whether the sender asks for a ConfermaRicezione (2021 default true; 2013 `si`/`no`, default no). */
  readonly confermaRicezione: boolean;
  /** Sent for information only (2021 @perConoscenza; a 2013 PerConoscenza instead of a Destinazione). */
  readonly perConoscenza: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Documents

export interface Documento {
  readonly nomeFile: string;
  /** RFC 6838 media type. */
  readonly mimeType: string;
  readonly descrizione?: string;
  /**
   * The digest the receiver checks the file against. Required by the 2021 form; the 2013 and 2001 forms
   * made it optional, and a document read without one has none here and `unchecked` set.
   */
  readonly impronta?: Impronta;
  /**
   * Set on a document of a 2013 or 2001 Segnatura that gives no Impronta: nothing ties the file received
   * to the Segnatura, so it cannot be checked. Whether such a Segnatura is accepted is the receiver's
   * policy (the protocollo adapter's `withoutImpronta` option).
   */
  readonly unchecked?: true;
  readonly collocazioneTelematica?: CollocazioneTelematica;
  /** Signed (eIDAS section 4): inside the file, or in detached files. */
  readonly firmatoDigitalmente?: Apposizione;
  /** Sealed (eIDAS section 5). */
  readonly sigillatoElettronicamente?: Apposizione;
  /** Time-stamped (eIDAS section 6). */
  readonly marcaturaTemporale?: Apposizione;
}

/** The digest of a document. The schema types the algorithm as any string, defaulting to SHA-256. */
export interface Impronta {
  readonly algoritmo: 'SHA-256' | 'SHA-384' | 'SHA-512' | (string & {});
  /** Base64 of the digest, whitespace removed. */
  readonly valore: string;
}

/** Where the receiver fetches the file with an HTTP GET (Basic authentication, over TLS). */
export interface CollocazioneTelematica {
  readonly hostValue: string;
  readonly pathValue: string;
  /** Milliseconds the resource stays available. */
  readonly timeToLive?: number;
  readonly userId?: string;
  readonly password?: string;
}

/** A signature, seal or time stamp (the schema's SignType): inside the document, or in detached files. */
export type Apposizione = { readonly kind: 'UnDetached' } | { readonly kind: 'Detached'; readonly detached: readonly DetachedFile[] };

export interface DetachedFile {
  readonly nomeFile: string;
  readonly mimeType?: string;
  readonly order: number;
}

// ---------------------------------------------------------------------------------------------------
// The Segnatura

export interface Segnatura {
  /** The form the document was read from; the writer always writes the 2021 form. */
  readonly form: ProtocolloForm;
  readonly identificatore: Identificatore;
  /** The first registration, when the document was registered before and is being passed on. */
  readonly primaRegistrazione?: Identificatore;
  readonly oggetto: string;
  /**
   * Required by the 2021 schema (the writer refuses a Segnatura without it); the 2013 and 2001 forms may
   * omit it, and when they give several the model keeps the first.
   */
  readonly classifica?: Classifica;
  readonly fascicolo?: Fascicolo;
  readonly riservato?: Riservato;
  readonly riferimenti?: Riferimenti;
  readonly mittente: Soggetto;
  /** At least one. */
  readonly destinatari: readonly Destinatario[];
  readonly documentoPrimario: Documento;
  readonly allegati: readonly Documento[];
}

/** A Segnatura read from XML, with the DOM it came from (the signature verifier needs the same tree). */
export interface ReadSegnatura {
  readonly segnatura: Segnatura;
  readonly doc: Document;
  readonly root: Element;
}

// ---------------------------------------------------------------------------------------------------
// The other messages (2021: pec_message.xsd; 2013 and 2001: the Circolare 60/2013 schema)

/** The message a reply is about: its identifier, or (when it could not be read) a description. */
export type MessaggioRicevuto =
  | { readonly kind: 'identificatore'; readonly identificatore: Identificatore; readonly primaRegistrazione?: Identificatore }
  | { readonly kind: 'descrizione'; readonly descrizioneMessaggio: string };

/** Receiver → sender: "registered as `identificatore`" (sent only when the Destinatario asked for it). */
export interface ConfermaRicezione {
  readonly form: ProtocolloForm;
  /** The receiver's own registration. */
  readonly identificatore: Identificatore;
  /** The sender's registration it confirms. */
  readonly messaggioRicevuto: MessaggioRicevuto;
}

/** Receiver → sender: a ConfermaRicezione updated (same content). */
export interface AggiornamentoConferma {
  readonly form: ProtocolloForm;
  readonly identificatore: Identificatore;
  readonly messaggioRicevuto: MessaggioRicevuto;
}

/** Receiver → sender: the message was refused or is anomalous. */
export interface NotificaEccezione {
  readonly form: ProtocolloForm;
  /** The receiver's registration, if it registered the message at all. */
  readonly identificatore?: Identificatore;
  readonly messaggioRicevuto: MessaggioRicevuto;
  /**
   * Starts with the anomaly code (e.g. `002_AnomaliaImpronta - …`) in the 2021 form; free text in the
   * older forms. See `anomaliaOf` and `formatMotivo` in protocollo-messages.ts.
   */
  readonly motivo: string;
}

/** Either side: the registration `identificatore` was cancelled, by act `provvedimento`. */
export interface AnnullamentoProtocollazione {
  readonly form: ProtocolloForm;
  readonly identificatore: Identificatore;
  readonly motivo: string;
  readonly provvedimento: string;
}

/** Any document of the vocabulary, as readProtocolloMessage returns it. */
export type ProtocolloMessage =
  | { readonly kind: 'segnatura'; readonly segnatura: Segnatura }
  | { readonly kind: 'conferma'; readonly conferma: ConfermaRicezione }
  | { readonly kind: 'aggiornamento'; readonly aggiornamento: AggiornamentoConferma }
  | { readonly kind: 'eccezione'; readonly eccezione: NotificaEccezione }
  | { readonly kind: 'annullamento'; readonly annullamento: AnnullamentoProtocollazione };

export type ReadProtocolloMessage = ProtocolloMessage & { readonly doc: Document; readonly root: Element };
