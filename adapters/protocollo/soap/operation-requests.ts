/**
 * The server's reading of each operation's request element, from the DOM that passed the hardened
 * gate (never from soap's object conversion, which (soap 1.13) turns xs:date into a JavaScript Date and
 * ignores namespaces). A refusal is a ProtocolloError: a Client Fault.
 */
import { ProtocolloError } from '../../../src/core/errors.js';
import type { XmlLimits } from '../../sdk/index.js';
import type { Identificatore } from '../segnatura/segnatura-model.js';
import { ElementReader } from '../segnatura/segnatura-reader.js';
import { MESSAGGI_SYNTAX, operationSyntax, readAnomalia, readIdentificatoreIn } from './operation-elements.js';
import {
  ANOMALIE_CONFERMA,
  PROTOCOLLO_SOAP_OPERATIONS,
  type ConfermaMessaggioInoltroRequest,
  type MessaggioInoltroRequest,
  type ProtocolloSoapFile,
  type ProtocolloSoapSide,
} from './protocollo-soap-contract.js';
import { standaloneSegnatura } from './standalone-segnatura.js';

export function readMessaggioInoltro(op: Element, text: string, limits: XmlLimits): MessaggioInoltroRequest {
  const r = new ElementReader(op, PROTOCOLLO_SOAP_OPERATIONS.MessaggioInoltro.request, MESSAGGI_SYNTAX);
  const segnatura = r.one('Segnatura').el;
  const files = r.many('File').map((f): ProtocolloSoapFile => {
    const nomeFile = f.requiredAttr('nomeFile');
    const base64 = f.text().replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) {
      throw new ProtocolloError('003_DocumentoAllegatiNonLeggibili', `File ${nomeFile} is not base64`, { where: nomeFile });
    }
    return { nomeFile, mimeType: f.requiredAttr('mimeType'), content: Buffer.from(base64, 'base64') };
  });
  if (files.length === 0) throw r.missing('File');
  return { segnatura: standaloneSegnatura(text, segnatura, limits), files };
}

export function readAnnullamento(
  op: Element,
  side: ProtocolloSoapSide,
  name: string,
): {
  identificatoreMittente: Identificatore;
  identificatoreDestinatario: Identificatore;
  riferimentoProvvedimento: string;
  note: string | undefined;
} {
  const r = new ElementReader(op, name, operationSyntax(side));
  return {
    identificatoreMittente: readIdentificatoreIn(r, 'IdentificatoreMittente'),
    identificatoreDestinatario: readIdentificatoreIn(r, 'IdentificatoreDestinatario'),
    riferimentoProvvedimento: r.requiredText('RiferimentoProvvedimento'),
    note: r.optionalText('Note'),
  };
}

export function readConferma(op: Element): ConfermaMessaggioInoltroRequest {
  const r = new ElementReader(op, PROTOCOLLO_SOAP_OPERATIONS.ConfermaMessaggioInoltro.request, operationSyntax('mittente'));
  const identificatoreMittente = readIdentificatoreIn(r, 'IdentificatoreMittente');
  return r.choice(['IdentificatoreDestinatario', 'Anomalia']) === 'Anomalia'
    ? { identificatoreMittente, anomalia: readAnomalia(r.one('Anomalia'), ANOMALIE_CONFERMA) }
    : { identificatoreMittente, identificatoreDestinatario: readIdentificatoreIn(r, 'IdentificatoreDestinatario') };
}
