/**
 * The human-readable part of each provider message, in Italian as providers write it (modelled on
 * the examples of RFC 6109 §3). Only people read it: programs read daticert.xml, which says the same.
 */
import type { DaticertData, DaticertDestinatario } from '../../adapters/pec/daticert.js';

export interface ReceiptTextFacts {
  readonly data: DaticertData;
  readonly oggetto: string;
  readonly mittente: string;
  readonly destinatari: readonly DaticertDestinatario[];
  readonly identificativo: string;
  /** The recipient a per-recipient receipt is about. */
  readonly consegna?: string;
}

const when = (f: ReceiptTextFacts) => `Il giorno ${f.data.giorno} alle ore ${f.data.ora} (${f.data.zona})`;
const destinatariList = (f: ReceiptTextFacts) =>
  f.destinatari.map((d) => `${d.indirizzo} ("${d.tipo === 'certificato' ? 'posta certificata' : 'posta ordinaria'}")`).join('\n');
const identificativo = (f: ReceiptTextFacts) => `Identificativo messaggio: ${f.identificativo}`;

export function acceptanceText(f: ReceiptTextFacts): string {
  return [
    'Ricevuta di accettazione',
    `${when(f)} il messaggio\n"${f.oggetto}" proveniente da "${f.mittente}"\ned indirizzato a:\n${destinatariList(f)}\nè stato accettato dal sistema ed inoltrato.`,
    identificativo(f),
  ].join('\n\n');
}

export function nonAcceptanceText(f: ReceiptTextFacts, problems: readonly string[]): string {
  return [
    'Avviso di non accettazione',
    `${when(f)} nel messaggio\n"${f.oggetto}" proveniente da "${f.mittente}"\ned indirizzato a:\n${destinatariList(f)}\nsono stati rilevati problemi che ne impediscono l'accettazione:\n${problems.map((p) => `- ${p}`).join('\n')}`,
    'Il messaggio non è stato accettato.',
    identificativo(f),
  ].join('\n\n');
}

export function transportEnvelopeText(f: ReceiptTextFacts): string {
  return [
    'Messaggio di posta certificata',
    `${when(f)} il messaggio\n"${f.oggetto}" è stato inviato da "${f.mittente}"\nindirizzato a:\n${destinatariList(f)}`,
    'Il messaggio originale è incluso in allegato.',
    identificativo(f),
  ].join('\n\n');
}

export function deliveryText(f: ReceiptTextFacts): string {
  return [
    'Ricevuta di avvenuta consegna',
    `${when(f)} il messaggio\n"${f.oggetto}" proveniente da "${f.mittente}"\ned indirizzato a "${f.consegna ?? ''}"\nè stato consegnato nella casella di destinazione.`,
    identificativo(f),
  ].join('\n\n');
}

export function deliveryErrorText(f: ReceiptTextFacts, erroreEsteso: string): string {
  return [
    'Avviso di mancata consegna',
    `${when(f)} nel messaggio\n"${f.oggetto}" proveniente da "${f.mittente}"\ned indirizzato a "${f.consegna ?? ''}"\nè stato rilevato un errore: ${erroreEsteso}`,
    'Il messaggio non è stato consegnato.',
    identificativo(f),
  ].join('\n\n');
}

/** The 12-hour warning (`final` false) or the 24-hour failure (`final` true) for a recipient never reached. */
export function deliveryTimeoutText(f: ReceiptTextFacts, waited: string, final: boolean): string {
  return [
    final
      ? 'Avviso di mancata consegna per superamento del tempo massimo'
      : 'Preavviso di mancata consegna per superamento del tempo massimo',
    `${when(f)} il messaggio\n"${f.oggetto}" proveniente da "${f.mittente}"\ned indirizzato a "${f.consegna ?? ''}"\n` +
      (final
        ? `non è stato consegnato entro ${waited} dall'invio: il gestore del destinatario non ne ha confermato la consegna.`
        : `non risulta ancora consegnato dopo ${waited} dall'invio. Se la consegna non verrà confermata, seguirà un avviso di mancata consegna.`),
    identificativo(f),
  ].join('\n\n');
}

/** A duration in Italian words for the texts: `12 ore`, `1 ora`, `30 secondi`, `1500 millisecondi`. */
export function italianDuration(ms: number): string {
  const units: Array<[number, string, string]> = [
    [86_400_000, 'giorno', 'giorni'],
    [3_600_000, 'ora', 'ore'],
    [60_000, 'minuto', 'minuti'],
    [1000, 'secondo', 'secondi'],
  ];
  for (const [size, one, many] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${ms === size ? one : many}`;
  }
  return `${ms} millisecondi`;
}
