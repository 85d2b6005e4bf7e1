import { parseUntrustedXml, type XmlLimits } from '../../../envelopes/xml/hardened-xml.js';
import { TramiteError } from '../../core/errors.js';
import { checkExpiry, type AcceptedRequest } from './authorise.js';
import type { ReceptionDeps } from './reception-deps.js';

/**
 * A sincrono request goes to the back office (or its adapter) inline, within the HTTP exchange: its
 * answer, well-formed XML content, becomes the Body of the signed reply. Its Scadenza, checked on
 * reception, is checked again at the hand-over: logging it may have outlasted it, and a back office
 * must not act on a request its sender has given up on (SIATEL would count it on the next day).
 */
export async function answerSincrono(deps: ReceptionDeps, req: AcceptedRequest, payload: string): Promise<string> {
  const registry = deps.registry.current(); // the reception's own snapshot (Reception.process)
  if (!deps.dispatch.hasReceiver(req.to.code, req.service.name, registry))
    throw new TramiteError('TRAMITE_ERR_NO_ROUTE', `party ${req.to.code} has no back office to answer a sincrono request`);
  checkExpiry(req, deps.clock.now());
  const handed = await deps.dispatch.handOver(
    {
      id: req.id,
      from: req.from,
      to: req.to.code,
      service: req.service.name,
      profile: req.profile,
      payload,
      ...(req.action !== undefined ? { action: req.action } : {}),
      ...(req.refId !== undefined ? { refId: req.refId } : {}),
      ...(req.conversationId !== undefined ? { conversationId: req.conversationId } : {}),
    },
    registry,
  );
  // A back office or adapter often answers with a whole document: its XML declaration cannot be Body content.
  const answer = handed?.replace(/^\s*<\?xml[^>]*\?>\s*/, '');
  if (answer === undefined || !isWellFormedContent(answer, deps.limits)) {
    throw new TramiteError('TRAMITE_ERR_PEER_REFUSED', `the back office of ${req.to.code} gave no well-formed XML answer`);
  }
  return answer;
}

/** The back office's answer becomes a signed Body: it must be well-formed XML content. */
function isWellFormedContent(xml: string, limits: XmlLimits): boolean {
  try {
    parseUntrustedXml(`<answer>${xml}</answer>`, limits);
    return true;
  } catch {
    return false;
  }
}
