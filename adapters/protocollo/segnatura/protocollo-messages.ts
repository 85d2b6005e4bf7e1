/**
 * The messages two AOO exchange about a Segnatura, other than the Segnatura itself:
 * ConfermaRicezione, AggiornamentoConferma, NotificaEccezione, AnnullamentoProtocollazione.
 *
 * 2021 form (pec_message.xsd): the root and its own children are in `http://www.agid.gov.it/protocollo/pec/`
 * with pec-qualified versione/lang, while the content of every Identificatore is in the segnatura namespace
 * (its type, IdentificatoreType, is declared there):
 *
 *   <pec:ConfermaRicezione pec:versione="3.0.0" pec:lang="it">
 *     <pec:Identificatore><prot:CodiceAmministrazione>…</prot:CodiceAmministrazione>…</pec:Identificatore>
 *     <pec:MessaggioRicevuto><pec:Identificatore>…</pec:Identificatore></pec:MessaggioRicevuto>
 *   </pec:ConfermaRicezione>
 *
 * 2013 and 2001 forms: everything in the Circolare 60/2013 namespace, or in none; the optional
 * Riferimenti and Descrizione a 2013 ConfermaRicezione may carry are not mapped.
 *
 * The builders write the 2021 form only; readProtocolloMessage reads every form, Segnatura included.
 */
import { ProtocolloError } from '../../../src/core/errors.js';
import { PROTOCOLLO_CODES, type ProtocolloCode, isProtocolloCode } from '../../../src/core/error-codes.js';
import type {
  AggiornamentoConferma,
  AnnullamentoProtocollazione,
  ConfermaRicezione,
  MessaggioRicevuto,
  NotificaEccezione,
  ProtocolloForm,
  ReadProtocolloMessage,
} from './segnatura-model.js';
import {
  ElementReader,
  type FormSyntax,
  PROTOCOLLO_NS,
  SYNTAX_2001,
  SYNTAX_2013,
  SYNTAX_2021,
  describeElement,
  parseProtocolloXml,
  readIdentificatore,
  readSegnaturaElement,
} from './segnatura-reader.js';
import type { XmlWriter } from '../../sdk/index.js';
import { PEC, PROT, protocolloWriter, writeIdentificatore } from './segnatura-writer.js';

// ---------------------------------------------------------------------------------------------------
// Motivo and anomaly codes

/**
 * The Motivo of a NotificaEccezione as the bus writes it: the anomaly code, then the detail, e.g.
 * `002_AnomaliaImpronta - Allegato_A.pdf: SHA-256 differs from the Segnatura`.
 */
export function formatMotivo(anomalia: ProtocolloCode, dettaglio?: string): string {
  return dettaglio ? `${anomalia} - ${dettaglio}` : anomalia;
}

/**
 * The anomaly code a Motivo starts with, or undefined (older forms carry free text). Matched by its
 * number, because the official documents spell the names inconsistently (the WSDLs say
 * `002_AnomaliaImpronte`, `000_Irricevibilita`, `005_…ErroreVaidazione…`); the result is the spelling of
 * the bus's registry.
 */
export function anomaliaOf(motivo: string): ProtocolloCode | undefined {
  const number = /^\s*(\d{3})_[A-Za-z]/.exec(motivo)?.[1];
  if (number === undefined) return undefined;
  return (Object.keys(PROTOCOLLO_CODES) as ProtocolloCode[]).find((code) => code.startsWith(`${number}_`));
}

// ---------------------------------------------------------------------------------------------------
// Reading

const MESSAGE_ROOTS = ['ConfermaRicezione', 'AggiornamentoConferma', 'NotificaEccezione', 'AnnullamentoProtocollazione'] as const;
type MessageRoot = (typeof MESSAGE_ROOTS)[number];

/** The 2021 messages' own elements: pec namespace, pec-qualified attributes. */
const SYNTAX_2021_PEC: FormSyntax = { form: '2021', ns: PROTOCOLLO_NS.pec, attributeNs: PROTOCOLLO_NS.pec };

/**
 * Reads any document of the vocabulary — Segnatura, ConfermaRicezione, AggiornamentoConferma,
 * NotificaEccezione, AnnullamentoProtocollazione — in the 2021, 2013 or 2001 form.
 */
export function readProtocolloMessage(xml: string | Uint8Array): ReadProtocolloMessage {
  const { doc, root } = parseProtocolloXml(xml, 'protocollo message');
  const segnatura = readSegnaturaElement(root);
  if (segnatura) return { kind: 'segnatura', segnatura, doc, root };

  const syntaxes = messageSyntaxes(root.namespaceURI ?? null);
  const name = MESSAGE_ROOTS.find((n) => n === root.localName);
  if (!syntaxes || !name) {
    throw new ProtocolloError(
      '000_Irricevibile',
      `the document is no protocollo message: its root is ${describeElement(root)}; expected SegnaturaInformatica, Segnatura, ` +
        `${MESSAGE_ROOTS.join(', ')} (2021: ${PROTOCOLLO_NS.pec}; 2013: ${PROTOCOLLO_NS.circolare2013}; 2001: no namespace)`,
      { where: root.localName ?? root.nodeName },
    );
  }
  const r = new ElementReader(root, name, syntaxes.message);
  return { ...readMessage(name, r, syntaxes.content), doc, root };
}

/** How a message's own elements and its Identificatore content are spelled, by the root's namespace. */
function messageSyntaxes(ns: string | null): { message: FormSyntax; content: FormSyntax } | undefined {
  if (ns === PROTOCOLLO_NS.pec) return { message: SYNTAX_2021_PEC, content: SYNTAX_2021 };
  if (ns === PROTOCOLLO_NS.circolare2013) return { message: SYNTAX_2013, content: SYNTAX_2013 };
  if (ns === null) return { message: SYNTAX_2001, content: SYNTAX_2001 };
  return undefined;
}

function readMessage(name: MessageRoot, r: ElementReader, content: FormSyntax) {
  const form: ProtocolloForm = content.form;
  const identificatore = (el: ElementReader) => readIdentificatore(el.withSyntax(content));
  switch (name) {
    case 'ConfermaRicezione':
    case 'AggiornamentoConferma': {
      const conferma = {
        form,
        identificatore: identificatore(r.one('Identificatore')),
        messaggioRicevuto: readMessaggioRicevuto(r.one('MessaggioRicevuto'), content),
      };
      return name === 'ConfermaRicezione'
        ? ({ kind: 'conferma', conferma } as const)
        : ({ kind: 'aggiornamento', aggiornamento: conferma } as const);
    }
    case 'NotificaEccezione': {
      const id = r.optional('Identificatore');
      const eccezione: NotificaEccezione = {
        form,
        identificatore: id && identificatore(id),
        messaggioRicevuto: readMessaggioRicevuto(r.one('MessaggioRicevuto'), content),
        motivo: r.requiredText('Motivo'),
      };
      return { kind: 'eccezione', eccezione } as const;
    }
    case 'AnnullamentoProtocollazione': {
      const annullamento: AnnullamentoProtocollazione = {
        form,
        identificatore: identificatore(r.one('Identificatore')),
        motivo: r.requiredText('Motivo'),
        provvedimento: r.requiredText('Provvedimento'),
      };
      return { kind: 'annullamento', annullamento } as const;
    }
  }
}

/**
 * MessaggioRicevuto: (Identificatore, PrimaRegistrazione?) or DescrizioneMessaggio. In the 2021 form
 * PrimaRegistrazione is itself an Identificatore; in the older forms it wraps one.
 */
function readMessaggioRicevuto(r: ElementReader, content: FormSyntax): MessaggioRicevuto {
  if (r.choice(['Identificatore', 'DescrizioneMessaggio'] as const) === 'DescrizioneMessaggio') {
    return { kind: 'descrizione', descrizioneMessaggio: r.requiredText('DescrizioneMessaggio') };
  }
  const prima = r.optional('PrimaRegistrazione');
  return {
    kind: 'identificatore',
    identificatore: readIdentificatore(r.one('Identificatore').withSyntax(content)),
    primaRegistrazione: prima && readIdentificatore(content.form === '2021' ? prima.withSyntax(content) : prima.one('Identificatore')),
  };
}

// ---------------------------------------------------------------------------------------------------
// Writing (2021 form)

function messageWriter(rootName: MessageRoot): XmlWriter {
  const w = protocolloWriter(PEC, rootName, PEC, [PROT]);
  w.attribute(w.root, 'versione', '3.0.0');
  w.attribute(w.root, 'lang', 'it');
  return w;
}

function writeMessaggioRicevuto(w: XmlWriter, m: MessaggioRicevuto): void {
  const el = w.add(w.root, 'MessaggioRicevuto');
  if (m.kind === 'descrizione') {
    w.add(el, 'DescrizioneMessaggio', m.descrizioneMessaggio);
    return;
  }
  writeIdentificatore(w, w.add(el, 'Identificatore'), m.identificatore);
  if (m.primaRegistrazione) writeIdentificatore(w, w.add(el, 'PrimaRegistrazione'), m.primaRegistrazione);
}

function buildConferma(rootName: 'ConfermaRicezione' | 'AggiornamentoConferma', c: ConfermaRicezione | AggiornamentoConferma): string {
  const w = messageWriter(rootName);
  writeIdentificatore(w, w.add(w.root, 'Identificatore'), c.identificatore);
  writeMessaggioRicevuto(w, c.messaggioRicevuto);
  return w.serialize();
}

/** pec:ConfermaRicezione: the receiver's Identificatore and the sender's (MessaggioRicevuto). */
export function buildConfermaRicezioneXml(c: ConfermaRicezione): string {
  return buildConferma('ConfermaRicezione', c);
}

/** pec:AggiornamentoConferma: same content as ConfermaRicezione. */
export function buildAggiornamentoConfermaXml(c: AggiornamentoConferma): string {
  return buildConferma('AggiornamentoConferma', c);
}

/** pec:NotificaEccezione. The Motivo must start with an anomaly code as the registry spells it (see formatMotivo). */
export function buildNotificaEccezioneXml(n: NotificaEccezione): string {
  const code = /^\d{3}_[A-Za-z]+/.exec(n.motivo)?.[0];
  if (code === undefined || !isProtocolloCode(code)) {
    throw new ProtocolloError(
      '000_Irricevibile',
      `cannot write NotificaEccezione: Motivo must start with an anomaly code (${Object.keys(PROTOCOLLO_CODES).join(', ')}); build it with formatMotivo`,
      { where: 'NotificaEccezione/Motivo' },
    );
  }
  const w = messageWriter('NotificaEccezione');
  if (n.identificatore) writeIdentificatore(w, w.add(w.root, 'Identificatore'), n.identificatore);
  writeMessaggioRicevuto(w, n.messaggioRicevuto);
  w.add(w.root, 'Motivo', n.motivo);
  return w.serialize();
}

/** pec:AnnullamentoProtocollazione: the cancelled registration, why, and the act that cancelled it. */
export function buildAnnullamentoProtocollazioneXml(a: AnnullamentoProtocollazione): string {
  const w = messageWriter('AnnullamentoProtocollazione');
  writeIdentificatore(w, w.add(w.root, 'Identificatore'), a.identificatore);
  w.add(w.root, 'Motivo', a.motivo);
  w.add(w.root, 'Provvedimento', a.provvedimento);
  return w.serialize();
}
