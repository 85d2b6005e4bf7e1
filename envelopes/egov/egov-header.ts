import type { PartyRef } from '../../src/core/party.js';
import type { CollaborationProfile, Inoltro } from '../../src/core/service-profile.js';

/** The four collaboration profiles of the e-Gov busta, with the wire value of each. */
export const PROFILO_COLLABORAZIONE = {
  oneway: 'EGOV_IT_MessaggioSingoloOneWay',
  sincrono: 'EGOV_IT_ServizioSincrono',
  asincronoSimmetrico: 'EGOV_IT_ServizioAsincronoSimmetrico',
  asincronoAsimmetrico: 'EGOV_IT_ServizioAsincronoAsimmetrico',
} as const satisfies Record<CollaborationProfile, string>;

/**
 * Values of ProfiloCollaborazione@tipo, the kind of registry describing the correlated service
 * (Busta.xsd enumeration).
 */
export const TIPI_SERVIZIO_CORRELATO = ['SPC', 'TEST', 'URL', 'WSDL', 'LDAP', 'UDDI', 'ebXMLRegistry'] as const;
export type TipoServizioCorrelato = (typeof TIPI_SERVIZIO_CORRELATO)[number];

export type Tempo = 'EGOV_IT_Locale' | 'EGOV_IT_SPC';

export interface OraRegistrazione {
  /** xsd:dateTime exactly as on the wire. */
  readonly value: string;
  readonly tempo: Tempo;
}

export interface Riscontro {
  readonly identificatore: string;
  readonly oraRegistrazione: OraRegistrazione;
}

export interface Trasmissione {
  readonly origine: PartyRef;
  readonly destinazione: PartyRef;
  readonly oraRegistrazione: OraRegistrazione;
}

export interface Eccezione {
  readonly contestoCodifica: string;
  readonly codiceEccezione: string;
  readonly rilevanza: 'INFO' | 'LIEVE' | 'GRAVE';
  readonly posizione: string;
}

/** eGov_IT:Intestazione, typed: every field of busta 1.1 (Busta.xsd), in schema order. */
export interface EgovHeader {
  /** Busta.xsd allows a list; SPCoop has one sender per busta, and its code issues the message id. */
  readonly mittente: readonly [PartyRef];
  readonly destinatario: PartyRef;
  readonly profiloCollaborazione?: {
    readonly profile: CollaborationProfile;
    /** Asincrono profiles only. */
    readonly servizioCorrelato?: string;
    readonly tipo?: TipoServizioCorrelato;
  };
  readonly collaborazione?: string;
  readonly servizio?: { readonly tipo: string; readonly nome: string };
  readonly azione?: string;
  readonly messaggio: {
    readonly identificatore: string;
    readonly oraRegistrazione: OraRegistrazione;
    readonly riferimentoMessaggio?: string;
    readonly scadenza?: string;
  };
  readonly profiloTrasmissione?: { readonly inoltro: Inoltro; readonly confermaRicezione: boolean };
  readonly sequenza?: number;
  readonly riscontri: readonly Riscontro[];
  readonly trasmissioni: readonly Trasmissione[];
  readonly eccezioni: readonly Eccezione[];
}
