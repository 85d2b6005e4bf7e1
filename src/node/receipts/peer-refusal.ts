import type { ReadEnvelope } from '../../../envelopes/envelope.js';
import { walkElements } from '../../../envelopes/xml/dom-navigation.js';
import { NS } from '../../../envelopes/xml/namespaces.js';
import { isEgovCode } from '../../core/error-codes.js';
import { DeliveryError } from '../../core/errors.js';

/** A refusal from the peer: the precise EGOV_IT code from ListaEccezioni or the Fault detail. Final. */
export function refusalFrom(reply: Pick<ReadEnvelope, 'egov' | 'fault'>, status: number): DeliveryError {
  const fromList = reply.egov?.eccezioni.find((e) => e.rilevanza === 'GRAVE') ?? reply.egov?.eccezioni[0];
  let code = fromList?.codiceEccezione;
  const posizione = fromList?.posizione ?? '';
  let description = reply.fault?.string ?? '';
  const detail = reply.fault?.detail;
  if (detail) {
    for (const el of walkElements(detail)) {
      if (el.namespaceURI === NS.egovException && (el.localName === 'EccezioneBusta' || el.localName === 'EccezioneProcessamento')) {
        code ??= el.getAttribute('codiceEccezione') ?? undefined;
        description = el.getAttribute('descrizioneEccezione') ?? description;
      }
    }
  }
  code ??= /^(EGOV_IT_\d{3})/.exec(reply.fault?.string ?? '')?.[1];
  const finalCode = code && isEgovCode(code) ? code : 'TRAMITE_ERR_PEER_REFUSED';
  return new DeliveryError(finalCode, `peer refused the message (HTTP ${status}): ${description || finalCode}`, {
    retriable: false,
    eccezioni: [{ codiceEccezione: finalCode, posizione }],
  });
}
