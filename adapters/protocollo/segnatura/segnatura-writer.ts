/**
 * Writes a Segnatura in the 2021 form (segnatura_protocollo.xsd): root `prot:SegnaturaInformatica`,
 * prot:versione="3.0.0", prot:lang="it", children in the exact order of the schema's sequences, every
 * attribute qualified with the prefix (attributeFormDefault="qualified"), defaults written out.
 *
 * The ds:Signature the schema requires as the last child is NOT written here: the XAdES signer appends it
 * to the root, so the output is schema-valid only once signed. Registering the number, building the
 * Segnatura and signing it are one atomic step for the caller.
 *
 * Documents are built with the SDK's XmlWriter: every text and attribute value goes through the
 * serializer's escaping, never through string concatenation.
 */
import { ProtocolloError } from '../../../src/core/errors.js';
import type {
  Amministrazione,
  Apposizione,
  Classifica,
  CodiceIPA,
  Contatti,
  Documento,
  Identificatore,
  IndirizzoPostale,
  PersonaFisica,
  Riferimenti,
  Segnatura,
  Soggetto,
} from './segnatura-model.js';
import { PROTOCOLLO_NS } from './segnatura-reader.js';
import { XmlWriter, type UnwritableValueFactory, type XmlNamespace } from '../../sdk/index.js';

export type { XmlNamespace } from '../../sdk/index.js';

export const PROT: XmlNamespace = { prefix: 'prot', uri: PROTOCOLLO_NS.segnatura };
export const PEC: XmlNamespace = { prefix: 'pec', uri: PROTOCOLLO_NS.pec };

/** A value XML cannot carry is the sender's data being unwritable: 000_Irricevibile, naming the field. */
export const unwritableProtocollo: UnwritableValueFactory = (field, char) =>
  new ProtocolloError('000_Irricevibile', `cannot write ${field}: it contains ${char.label}, a character XML cannot carry`, {
    where: field,
  });

/**
 * A protocollo document under construction (the SDK's XmlWriter): elements and attributes in a
 * namespace with its fixed prefix, declared once on the root; serialized with an XML declaration and
 * indented for the people who read Segnature in logs and for line-numbered schema errors (only
 * element-only content is indented, so no text value changes).
 */
export function protocolloWriter(
  rootNs: XmlNamespace,
  rootName: string,
  contentNs: XmlNamespace,
  alsoUsed: readonly XmlNamespace[] = [],
): XmlWriter {
  return new XmlWriter(rootNs, rootName, { contentNs, alsoUsed, declaration: true, indent: true, unwritable: unwritableProtocollo });
}

// ---------------------------------------------------------------------------------------------------

/** The 2021 form of `s`, whatever form it was read from, unsigned. */
export function buildSegnaturaXml(s: Segnatura): string {
  const w = protocolloWriter(PROT, 'SegnaturaInformatica', PROT);
  w.attribute(w.root, 'versione', '3.0.0');
  w.attribute(w.root, 'lang', 'it');

  const intestazione = w.add(w.root, 'Intestazione');
  writeIdentificatore(w, w.add(intestazione, 'Identificatore'), s.identificatore);
  if (s.primaRegistrazione) writeIdentificatore(w, w.add(intestazione, 'PrimaRegistrazione'), s.primaRegistrazione);
  w.add(intestazione, 'Oggetto', s.oggetto);
  writeClassifica(w, intestazione, required(s.classifica, 'Intestazione/Classifica'));
  if (s.fascicolo) writeFascicolo(w, intestazione, s.fascicolo);
  if (s.riservato) w.attribute(w.add(intestazione, 'Riservato', String(s.riservato.riservato)), 'note', s.riservato.note);

  if (s.riferimenti) writeRiferimenti(w, w.add(w.root, 'Riferimenti'), s.riferimenti);

  const descrizione = w.add(w.root, 'Descrizione');
  writeSoggetto(w, w.add(descrizione, 'Mittente'), s.mittente);
  if (s.destinatari.length === 0) throw cannotWrite('Descrizione/Destinatario', 'at least one Destinatario is required');
  for (const d of s.destinatari) {
    const el = w.add(descrizione, 'Destinatario');
    writeSoggetto(w, el, d.soggetto);
    w.attribute(el, 'confermaRicezione', d.confermaRicezione);
    w.attribute(el, 'perConoscenza', d.perConoscenza);
  }
  writeDocumento(w, w.add(descrizione, 'DocumentoPrimario'), s.documentoPrimario);
  for (const a of s.allegati) writeDocumento(w, w.add(descrizione, 'Allegato'), a);

  return w.serialize();
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw cannotWrite(field, 'the 2021 schema requires it');
  return value;
}

function cannotWrite(field: string, why: string): ProtocolloError {
  return new ProtocolloError('000_Irricevibile', `cannot write the 2021 Segnatura: ${field} — ${why}`, { where: field });
}

/** The Identificatore children (always in the segnatura namespace, whatever element holds them). */
export function writeIdentificatore(w: XmlWriter, parent: Element, id: Identificatore): void {
  w.addIn(PROT, parent, 'CodiceAmministrazione', id.codiceAmministrazione);
  w.addIn(PROT, parent, 'CodiceAOO', id.codiceAOO);
  w.addIn(PROT, parent, 'CodiceRegistro', id.codiceRegistro);
  w.addIn(PROT, parent, 'NumeroRegistrazione', id.numeroRegistrazione);
  w.addIn(PROT, parent, 'DataRegistrazione', id.dataRegistrazione);
  if (id.oraRegistrazione !== undefined) w.addIn(PROT, parent, 'OraRegistrazione', id.oraRegistrazione);
}

function writeRiferimenti(w: XmlWriter, el: Element, r: Riferimenti): void {
  writeIdentificatore(w, w.add(el, 'Identificatore'), r.identificatore);
  if (r.primaRegistrazione) writeIdentificatore(w, w.add(el, 'PrimaRegistrazione'), r.primaRegistrazione);
  w.add(el, 'Oggetto', r.oggetto);
  writeClassifica(w, el, r.classifica);
  if (r.fascicolo) writeFascicolo(w, el, r.fascicolo);
}

function writeClassifica(w: XmlWriter, parent: Element, c: Classifica): void {
  const el = w.add(parent, 'Classifica');
  w.add(el, 'Denominazione', c.denominazione);
  if (c.codice.kind === 'flat') {
    w.add(el, 'CodiceFlat', c.codice.codice);
    return;
  }
  if (c.codice.livelli.length === 0) throw cannotWrite('Classifica/CodicePath', 'it needs at least one Livello');
  // The model lists the levels; the schema nests each next one in the previous one's SubLivello.
  let holder = w.add(el, 'CodicePath');
  c.codice.livelli.forEach((livello, i) => {
    if (i > 0) holder = w.add(holder, 'SubLivello');
    w.attribute(w.add(holder, 'Livello', livello.valore), 'descrizione', livello.descrizione);
  });
}

function writeFascicolo(w: XmlWriter, parent: Element, f: { denominazione: string; codiceFascicolo: string }): void {
  const el = w.add(parent, 'Fascicolo');
  w.add(el, 'Denominazione', f.denominazione);
  w.add(el, 'CodiceFascicolo', f.codiceFascicolo);
}

function writeSoggetto(w: XmlWriter, parent: Element, s: Soggetto): void {
  switch (s.tipo) {
    case 'Amministrazione':
      writeAmministrazione(w, w.add(parent, 'Amministrazione'), s);
      return;
    case 'PersonaGiuridica': {
      const el = w.add(parent, 'PersonaGiuridica');
      w.add(el, 'Denominazione', s.denominazione);
      w.addOptional(el, 'PIVAoCF', s.pivaOCF);
      writeContatti(w, el, 'ContattiPersonaGiuridica', s.contattiPersonaGiuridica);
      for (const p of s.personeFisiche) writePersonaFisica(w, el, p);
      return;
    }
    case 'PersonaFisica':
      writePersonaFisica(w, parent, s);
      return;
    case 'AmministrazioneEstera': {
      const el = w.add(parent, 'AmministrazioneEstera');
      w.add(el, 'DenominazioneAmministrazione', s.denominazioneAmministrazione);
      w.addOptional(el, 'DenominazioneUfficio', s.denominazioneUfficio);
      writeContatti(w, el, 'ContattiAmministrazione', s.contattiAmministrazione);
      return;
    }
  }
}

function writeAmministrazione(w: XmlWriter, el: Element, a: Amministrazione): void {
  w.add(el, 'DenominazioneAmministrazione', a.denominazioneAmministrazione);
  w.addOptional(el, 'CFAmministrazione', a.cfAmministrazione);
  writeCodiceIPA(w, el, 'CodiceIPAAmministrazione', a.codiceIPAAmministrazione);
  writeContatti(w, el, 'ContattiAmministrazione', a.contattiAmministrazione);
  writeCodiceIPA(w, el, 'CodiceIPAAOO', a.codiceIPAAOO);
  writeContatti(w, el, 'ContattiAOO', a.contattiAOO);
  writeCodiceIPA(w, el, 'CodiceIPAUO', a.codiceIPAUO);
  writeContatti(w, el, 'ContattiUO', a.contattiUO);
  for (const p of a.personeFisiche) writePersonaFisica(w, el, p);
}

function writeCodiceIPA(w: XmlWriter, parent: Element, name: string, c: CodiceIPA | undefined): void {
  if (c) w.attribute(w.add(parent, name, c.codice), 'descrizione', c.descrizione);
}

function writePersonaFisica(w: XmlWriter, parent: Element, p: PersonaFisica): void {
  const el = w.add(parent, 'PersonaFisica');
  w.add(el, 'Nome', p.nome);
  w.add(el, 'Cognome', p.cognome);
  w.addOptional(el, 'Titolo', p.titolo);
  w.addOptional(el, 'CodiceFiscale', p.codiceFiscale);
  writeContatti(w, el, 'Contatti', p.contatti);
}

function writeContatti(w: XmlWriter, parent: Element, name: string, c: Contatti | undefined): void {
  if (!c) return;
  const el = w.add(parent, name);
  for (const p of c.indirizziPostali) writeIndirizzoPostale(w, el, p);
  for (const t of c.indirizziTelematici) {
    const ind = w.add(el, 'IndirizzoTelematico', t.indirizzo);
    w.attribute(ind, 'tipo', t.tipo);
    w.attribute(ind, 'note', t.note);
  }
  for (const t of c.telefoni) w.add(el, 'Telefono', t);
}

function writeIndirizzoPostale(w: XmlWriter, parent: Element, p: IndirizzoPostale): void {
  const el = w.add(parent, 'IndirizzoPostale');
  const toponimo = w.add(el, 'Toponimo');
  w.add(toponimo, 'dug', p.toponimo.dug);
  w.add(toponimo, 'duf', p.toponimo.duf);
  w.add(el, 'Civico', p.civico);
  w.add(el, 'CAP', p.cap);
  w.attribute(w.add(el, 'Comune', p.comune.denominazione), 'CodiceISTAT', p.comune.codiceISTAT);
  w.attribute(w.add(el, 'Nazione', p.nazione.denominazione), 'codice3166', p.nazione.codice3166);
}

function writeDocumento(w: XmlWriter, el: Element, d: Documento): void {
  w.attribute(el, 'nomeFile', d.nomeFile);
  w.attribute(el, 'mimeType', d.mimeType);
  w.addOptional(el, 'Descrizione', d.descrizione);
  if (!d.impronta) {
    // The 2021 form requires it: a document read from an older Segnatura without one cannot be written.
    throw new ProtocolloError('000_Irricevibile', `cannot write document ${d.nomeFile}: it has no Impronta, which the 2021 form requires`, {
      where: d.nomeFile,
    });
  }
  w.attribute(w.add(el, 'Impronta', d.impronta.valore), 'algoritmo', d.impronta.algoritmo);
  if (d.collocazioneTelematica) {
    const c = d.collocazioneTelematica;
    const ct = w.add(el, 'CollocazioneTelematica');
    w.add(ct, 'HostValue', c.hostValue);
    w.add(ct, 'PathValue', c.pathValue);
    w.attribute(ct, 'timeToLive', c.timeToLive);
    w.attribute(ct, 'userId', c.userId);
    w.attribute(ct, 'password', c.password);
  }
  writeApposizione(w, el, 'firmatoDigitalmente', d.firmatoDigitalmente);
  writeApposizione(w, el, 'sigillatoElettronicamente', d.sigillatoElettronicamente);
  writeApposizione(w, el, 'marcaturaTemporale', d.marcaturaTemporale);
}

function writeApposizione(w: XmlWriter, parent: Element, name: string, a: Apposizione | undefined): void {
  if (!a) return;
  const el = w.add(parent, name);
  if (a.kind === 'UnDetached') {
    w.add(el, 'UnDetached', 'true');
    return;
  }
  if (a.detached.length === 0) throw cannotWrite(`${name}/Detached`, 'a detached signature, seal or time stamp names at least one file');
  for (const f of a.detached) {
    const d = w.add(el, 'Detached', 'true');
    w.attribute(d, 'nomeFile', f.nomeFile);
    w.attribute(d, 'mimeType', f.mimeType);
    w.attribute(d, 'order', f.order);
  }
}
