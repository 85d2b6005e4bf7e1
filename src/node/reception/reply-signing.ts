import { newModiMessageId } from '../../../envelopes/busta/reply.js';
import type { ModiSoapPattern } from '../../core/service-profile.js';
import type { AcceptedRequest } from './authorise.js';
import type { ReceptionDeps } from './reception-deps.js';

/** A reply's own id: a new UUID for modi, an e-Gov id of the replying party for egov. */
export function replyId(deps: ReceptionDeps, profile: 'egov' | 'modi', replier: string): Promise<string> {
  return profile === 'modi' ? Promise.resolve(newModiMessageId()) : deps.ids.next(replier.split('/')[1]!);
}

/**
 * A ModI reply follows its request's service: without INTEGRITY_SOAP_01, riscontro and answer go with
 * the Body unsigned, as the consumer's side of the same agreement expects. (Refusals keep the default
 * and sign their Fault: the service may not be known yet.)
 */
export function replyPatterns(req: AcceptedRequest): { modiPatterns?: readonly ModiSoapPattern[] } {
  return req.env.profile === 'modi' && req.service.modiPatterns ? { modiPatterns: req.service.modiPatterns } : {};
}
