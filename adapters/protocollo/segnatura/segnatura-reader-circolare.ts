/**
 * 2013 and 2001 forms (Circolare 60/2013 content model). A mapping into the 2021-shaped model:
 *
 * - Intestazione/OraRegistrazione → identificatore.oraRegistrazione.
 * - Origine: Mittente/Amministrazione + AOO → an Amministrazione; the AOO's Denominazione becomes the
 *   description of its code; Origine/IndirizzoTelematico (the address the message came from) goes to the
 *   AOO's contacts.
 * - Each Destinazione (and PerConoscenza, perConoscenza=true) gives one Destinatario per Destinatario child,
 *   with @confermaRicezione si|no (default no); its IndirizzoTelematico goes to the AOO's contacts (or the
 *   Amministrazione's when no AOO is named). A Destinazione naming only an address becomes a
 *   PersonaGiuridica whose denominazione is that address: it is all the sender said.
 * - An Amministrazione's UnitaOrganizzativa → codiceIPAUO (Identificativo, Denominazione as description)
 *   and its contacts; nested units, Ruolo, Fax and free-text postal addresses have no place in the model.
 * - Persona → PersonaFisica; a Persona given only by Denominazione keeps it as cognome.
 * - Classifica: the first one; Livello@nome → descrizione.
 * - Riservato: present and not `no`/`false`/`0` → riservato.
 * - Descrizione/Documento → documentoPrimario; Allegati (Documento, and the Documento inside each Fascicolo,
 *   depth first) → allegati. TitoloDocumento → descrizione. @nome, @tipoMIME → nomeFile, mimeType.
 * - Not mapped: Riferimenti (its Messaggio/ContestoProcedurale/Procedimento differ from the 2021
 *   Riferimenti), Risposta, InterventoOperatore, Note, PiuInfo, the free-text CollocazioneTelematica.
 *
 * - A Documento without Impronta (both forms allow it) is read with no impronta and `unchecked: true`;
 *   whether to accept it is the receiver's policy, not the reader's (impronta.ts, checkImpronte).
 *
 * Refused (000_Irricevibile): a message body (TestoDelMessaggio) instead of a Documento: it is no file.
 */
import type {
  Amministrazione,
  Classifica,
  Contatti,
  Destinatario,
  Documento,
  IndirizzoPostale,
  IndirizzoTelematico,
  PersonaFisica,
  Segnatura,
  Soggetto,
} from './segnatura-model.js';
import { childElements } from '../../sdk/index.js';
import { ElementReader, mapOptional, requireSome } from './segnatura-reader-element.js';
import { readImpronta } from './segnatura-reader-documento.js';
import { readIdentificatore } from './segnatura-reader-identificatore.js';

export function readSegnaturaCircolare(root: ElementReader): Segnatura {
  const intestazione = root.one('Intestazione');
  const descrizione = root.one('Descrizione');
  const identificatore = readIdentificatore(intestazione.one('Identificatore'));
  const oraRegistrazione = intestazione.optionalText('OraRegistrazione');
  const destinazioni = requireSome(intestazione, 'Destinazione');
  return {
    form: root.syntax.form,
    identificatore: { ...identificatore, oraRegistrazione },
    primaRegistrazione: mapOptional(intestazione.optional('PrimaRegistrazione'), (p) => readIdentificatore(p.one('Identificatore'))),
    oggetto: intestazione.requiredText('Oggetto'),
    classifica: mapOptional(intestazione.many('Classifica')[0], readClassificaCircolare),
    riservato: mapOptional(intestazione.optional('Riservato'), (r) => ({ riservato: !/^(no|false|0)$/i.test(r.text()) })),
    mittente: readMittenteCircolare(intestazione.one('Origine')),
    destinatari: [
      ...destinazioni.flatMap((d) => readDestinazioneCircolare(d, false)),
      ...intestazione.many('PerConoscenza').flatMap((d) => readDestinazioneCircolare(d, true)),
    ],
    documentoPrimario: readDocumentoPrimarioCircolare(descrizione),
    allegati: mapOptional(descrizione.optional('Allegati'), readDocumentiCircolare) ?? [],
  };
}

function readClassificaCircolare(r: ElementReader): Classifica {
  const livelli = r.many('Livello');
  if (livelli.length === 0) throw r.missing('Livello');
  return {
    denominazione: r.optionalText('Denominazione') ?? '',
    codice: { kind: 'path', livelli: livelli.map((l) => ({ valore: l.text(), descrizione: l.attr('nome') })) },
  };
}

function readMittenteCircolare(origine: ElementReader): Soggetto {
  const recapito = readIndirizzoTelematicoCircolare(origine.one('IndirizzoTelematico'));
  const mittente = origine.one('Mittente');
  return readAmministrazioneCircolare(mittente.one('Amministrazione'), mittente.one('AOO'), contattiOf([recapito]));
}

function readDestinazioneCircolare(d: ElementReader, perConoscenza: boolean): Destinatario[] {
  const confermaRicezione = readSiNo(d);
  const recapito = readIndirizzoTelematicoCircolare(d.one('IndirizzoTelematico'));
  const destinatari = d.many('Destinatario');
  const soggetti: Soggetto[] =
    destinatari.length === 0
      ? [
          {
            tipo: 'PersonaGiuridica',
            denominazione: recapito.indirizzo,
            contattiPersonaGiuridica: contattiOf([recapito]),
            personeFisiche: [],
          },
        ]
      : destinatari.flatMap((x) => readSoggettiDestinatarioCircolare(x, recapito));
  return soggetti.map((soggetto) => ({ soggetto, confermaRicezione, perConoscenza }));
}

function readSiNo(d: ElementReader): boolean {
  const value = (d.attr('confermaRicezione') ?? 'no').trim();
  if (value === 'si') return true;
  if (value === 'no') return false;
  throw d.refuse(`${d.path}/@confermaRicezione is "${value}"; the schema allows si, no`, `${d.path}/@confermaRicezione`);
}

/** One 2013 Destinatario: an Amministrazione (+AOO), a Denominazione with Persone, or Persone. */
function readSoggettiDestinatarioCircolare(x: ElementReader, recapito: IndirizzoTelematico): Soggetto[] {
  // The address the message was sent to comes first, then whatever the Destinatario lists itself.
  const contatti = mergeContatti(contattiOf([recapito]), readContattiCircolare(x));
  const amministrazione = x.optional('Amministrazione');
  if (amministrazione) return [readAmministrazioneCircolare(amministrazione, x.optional('AOO'), contatti)];
  const denominazione = x.optional('Denominazione');
  const persone = x.many('Persona').map(readPersonaCircolare);
  if (denominazione) {
    return [{ tipo: 'PersonaGiuridica', denominazione: denominazione.text(), contattiPersonaGiuridica: contatti, personeFisiche: persone }];
  }
  if (persone.length === 0) throw x.missing('Amministrazione | Denominazione | Persona');
  return persone.map((p) => ({ ...p, contatti }));
}

/**
 * A 2013 Amministrazione. `recapito` holds the addresses the message was sent from or to: they belong to
 * the AOO when one is named (that is the AOO's protocol mailbox), else to the Amministrazione.
 */
function readAmministrazioneCircolare(amm: ElementReader, aoo: ElementReader | undefined, recapito: Contatti | undefined): Amministrazione {
  const uo = amm.optional('UnitaOrganizzativa');
  const own = readContattiCircolare(amm);
  return {
    tipo: 'Amministrazione',
    denominazioneAmministrazione: amm.requiredText('Denominazione'),
    codiceIPAAmministrazione: { codice: amm.optionalText('CodiceAmministrazione') ?? '' },
    contattiAmministrazione: aoo ? own : mergeContatti(recapito, own),
    codiceIPAAOO: aoo && { codice: aoo.optionalText('CodiceAOO') ?? '', descrizione: aoo.requiredText('Denominazione') },
    contattiAOO: aoo ? recapito : undefined,
    codiceIPAUO: uo && { codice: uo.optionalText('Identificativo') ?? '', descrizione: uo.requiredText('Denominazione') },
    contattiUO: uo && readContattiCircolare(uo),
    personeFisiche: (uo ?? amm).many('Persona').map(readPersonaCircolare),
  };
}

function readPersonaCircolare(r: ElementReader): PersonaFisica {
  const denominazione = r.optionalText('Denominazione');
  return {
    tipo: 'PersonaFisica',
    nome: r.optionalText('Nome') ?? '',
    cognome: denominazione ?? r.requiredText('Cognome'),
    titolo: r.optionalText('Titolo'),
    codiceFiscale: r.optionalText('CodiceFiscale'),
  };
}

/** IndirizzoPostale (structured ones only), IndirizzoTelematico, Telefono of a 2013 element; undefined if none. */
function readContattiCircolare(r: ElementReader): Contatti | undefined {
  const contatti: Contatti = {
    indirizziPostali: r.many('IndirizzoPostale').flatMap((p) => mapOptional(p.optional('Indirizzo'), readIndirizzoCircolare) ?? []),
    indirizziTelematici: r.many('IndirizzoTelematico').map(readIndirizzoTelematicoCircolare),
    telefoni: r.many('Telefono').map((t) => t.text()),
  };
  return isEmpty(contatti) ? undefined : contatti;
}

function contattiOf(indirizziTelematici: IndirizzoTelematico[]): Contatti {
  return { indirizziPostali: [], indirizziTelematici, telefoni: [] };
}

function mergeContatti(a: Contatti | undefined, b: Contatti | undefined): Contatti | undefined {
  if (!a || !b) return a ?? b;
  const telematici = [...a.indirizziTelematici];
  for (const t of b.indirizziTelematici) if (!telematici.some((x) => x.indirizzo === t.indirizzo)) telematici.push(t);
  return {
    indirizziPostali: [...a.indirizziPostali, ...b.indirizziPostali],
    indirizziTelematici: telematici,
    telefoni: [...new Set([...a.telefoni, ...b.telefoni])],
  };
}

function isEmpty(c: Contatti): boolean {
  return c.indirizziPostali.length === 0 && c.indirizziTelematici.length === 0 && c.telefoni.length === 0;
}

/** 2013 @tipo is uri | smtp | NMTOKEN (sic: the literal word), default smtp. */
function readIndirizzoTelematicoCircolare(r: ElementReader): IndirizzoTelematico {
  const tipo = (r.attr('tipo') ?? 'smtp').trim();
  return { indirizzo: r.text(), tipo: tipo === 'smtp' ? 'smtp' : tipo === 'uri' ? 'url' : 'other', note: r.attr('note') };
}

function readIndirizzoCircolare(r: ElementReader): IndirizzoPostale {
  const toponimo = r.one('Toponimo');
  const comune = r.one('Comune');
  const nazione = r.optionalText('Nazione');
  const italia = nazione === undefined || /^ital(ia|y)$/i.test(nazione);
  return {
    toponimo: { dug: toponimo.attr('dug') ?? '', duf: toponimo.text() },
    civico: r.requiredText('Civico'),
    cap: r.requiredText('CAP'),
    comune: { denominazione: comune.text(), codiceISTAT: comune.attr('codiceISTAT') ?? '' },
    nazione: italia ? { denominazione: nazione ?? 'Italia', codice3166: 'ITA' } : { denominazione: nazione },
  };
}

function readDocumentoPrimarioCircolare(descrizione: ElementReader): Documento {
  const name = descrizione.choice(['Documento', 'TestoDelMessaggio'] as const);
  const reader = descrizione.one(name);
  if (name === 'TestoDelMessaggio') {
    throw reader.refuse(
      `${reader.path}: the primary document is the message body, which the bus cannot check against an Impronta; send it as a Documento with nome, tipoMIME and Impronta`,
      reader.path,
    );
  }
  return readDocumentoCircolare(reader);
}

/** Allegati and Fascicolo: Documento and Fascicolo children in document order, Fascicolo flattened. */
function readDocumentiCircolare(r: ElementReader): Documento[] {
  return childElements(r.el).flatMap((child) => {
    if ((child.namespaceURI ?? null) !== r.syntax.ns) return [];
    if (child.localName === 'Documento') return [readDocumentoCircolare(new ElementReader(child, `${r.path}/Documento`, r.syntax))];
    if (child.localName === 'Fascicolo') return readDocumentiCircolare(new ElementReader(child, `${r.path}/Fascicolo`, r.syntax));
    return [];
  });
}

function readDocumentoCircolare(r: ElementReader): Documento {
  const impronta = r.optional('Impronta');
  return {
    nomeFile: r.attr('nome') ?? '',
    mimeType: r.attr('tipoMIME') ?? '',
    descrizione: r.optionalText('TitoloDocumento'),
    ...(impronta ? { impronta: readImpronta(impronta, 'SHA-256') } : { unchecked: true as const }),
  };
}
