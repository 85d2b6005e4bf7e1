import { ProtocolloError } from '../../../src/core/errors.js';
import { childElements, DEFAULT_XML_LIMITS, parseUntrustedXml, textOf, XmlWriter, type XmlLimits } from '../../sdk/index.js';

/**
 * How a protocollo message travels in a bus envelope: its files, each named and typed, base64 in the
 * Body — the same set of files the guideline's PEC channel attaches (Segnatura.xml with the documents,
 * Conferma.xml, Eccezione.xml, Annullamento.xml). The Segnatura travels as a file, byte for byte,
 * because its enveloped XAdES seal covers that document exactly as signed.
 * Body: `<tp:Messaggio xmlns:tp="urn:tramite:protocollo:1"><tp:File nomeFile=".." mimeType="..">base64</tp:File>…`.
 */
export const FILES_NS = 'urn:tramite:protocollo:1';

/** The file names of the PEC channel (AgID guideline), used on the bus too. */
export const FILE_NAMES = {
  segnatura: 'Segnatura.xml',
  conferma: 'Conferma.xml',
  eccezione: 'Eccezione.xml',
  annullamento: 'Annullamento.xml',
  aggiornamento: 'Aggiornamento.xml',
} as const;

/** What one received protocollo message may be: its payload's bytes, its elements (one a file). */
export const PROTOCOLLO_MESSAGE_LIMITS: XmlLimits = DEFAULT_XML_LIMITS;

export interface ProtocolloFile {
  readonly nomeFile: string;
  readonly mimeType: string;
  readonly content: Buffer;
}

/** One protocollo XML message (Conferma, Eccezione, Annullamento…) as a file of the bus payload. */
export function xmlMessageFile(nomeFile: string, xml: string): ProtocolloFile {
  return { nomeFile, mimeType: 'application/xml', content: Buffer.from(xml, 'utf8') };
}

export function writeProtocolloFiles(files: readonly ProtocolloFile[]): string {
  const w = new XmlWriter({ prefix: 'tp', uri: FILES_NS }, 'Messaggio');
  for (const f of files) {
    const el = w.add(w.root, 'File', f.content.toString('base64'));
    w.attributeIn(null, el, 'nomeFile', f.nomeFile);
    w.attributeIn(null, el, 'mimeType', f.mimeType);
  }
  return w.serialize();
}

/** Reads the files of a bus payload; anything else is 000_Irricevibile. */
export function readProtocolloFiles(payload: string): ProtocolloFile[] {
  let root: Element;
  try {
    root = parseUntrustedXml(payload, PROTOCOLLO_MESSAGE_LIMITS).doc.documentElement!;
  } catch (cause) {
    throw new ProtocolloError('000_Irricevibile', `the message body is not readable XML: ${(cause as Error).message}`, { cause });
  }
  if (root.namespaceURI !== FILES_NS || root.localName !== 'Messaggio')
    throw new ProtocolloError(
      '000_Irricevibile',
      `the message body is {${root.namespaceURI ?? ''}}${root.localName}, not a protocollo message (tp:Messaggio)`,
    );
  const files = childElements(root).map((el): ProtocolloFile => {
    const nomeFile = el.getAttribute('nomeFile') ?? '';
    if (el.namespaceURI !== FILES_NS || el.localName !== 'File' || !nomeFile)
      throw new ProtocolloError('000_Irricevibile', 'each tp:File needs a nomeFile', { where: 'Messaggio/File' });
    const text = textOf(el).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text))
      throw new ProtocolloError('003_DocumentoAllegatiNonLeggibili', `file ${nomeFile} is not base64`, { where: nomeFile });
    return { nomeFile, mimeType: el.getAttribute('mimeType') ?? 'application/octet-stream', content: Buffer.from(text, 'base64') };
  });
  const names = new Set<string>();
  for (const f of files) {
    if (names.has(f.nomeFile))
      throw new ProtocolloError('000_Irricevibile', `file ${f.nomeFile} appears twice in the message`, { where: f.nomeFile });
    names.add(f.nomeFile);
  }
  return files;
}
