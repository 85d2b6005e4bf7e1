import { describeCertificate } from '../../core/certificate-description.js';
import { EnvelopeError, SecurityError } from '../../core/errors.js';
import { partyCode } from '../../core/party.js';
import { DEFAULT_MODI_PATTERNS, type CollaborationProfile } from '../../core/service-profile.js';
import { parseXsdDateTime } from '../../core/xsd-datetime.js';
import type { OpenedEnvelope } from '../../../envelopes/envelope.js';
import { parseModiAction } from '../../../envelopes/modi/modi-action.js';
import { requireModiPatterns } from '../../../envelopes/modi/modi-patterns.js';
import type { HostedParty, Registry, ServiceDef } from '../registry/registry.js';
import { bindSignerToParty } from './inbound-verification.js';
import type { TransportIdentity } from './transport-identity.js';

/** A request that passed verification and authorisation: who, to whom, what, and how. */
export interface AcceptedRequest {
  readonly env: OpenedEnvelope;
  readonly id: string;
  readonly from: string;
  readonly to: HostedParty;
  readonly service: ServiceDef;
  readonly action?: string;
  readonly profile: CollaborationProfile;
  readonly confermaRicezione: boolean;
  readonly refId?: string;
  readonly conversationId?: string;
  readonly expiresAt?: string;
}

/**
 * Authorise a verified envelope: routed to a party hosted here, its sender known and bound to the
 * signer, a service the recipient offers (with its ModI patterns), the action, the consumers allowed,
 * the collaboration profile the service has.
 */
export function authorise(reg: Registry, env: OpenedEnvelope, transport?: TransportIdentity): AcceptedRequest {
  let id: string, from: string, to: string, tipo: string, servizio: string;
  let action: string | undefined, profile: CollaborationProfile | undefined, refId: string | undefined, conversationId: string | undefined;
  let confermaRicezione = false;
  let expiresAt: string | undefined;
  if (env.profile === 'egov') {
    const h = env.egov!;
    ({ identificatore: id } = h.messaggio);
    from = partyCode(h.mittente[0]!);
    to = partyCode(h.destinatario);
    if (!h.servizio)
      throw new EnvelopeError(
        'EGOV_IT_105',
        'IntestazioneMessaggio/Servizio',
        'EGOV_IT_105 - a busta without Servizio (busta di servizio) is not routed to a back office',
      );
    ({ tipo, nome: servizio } = h.servizio);
    action = h.azione;
    profile = h.profiloCollaborazione?.profile;
    refId = h.messaggio.riferimentoMessaggio;
    conversationId = h.collaborazione;
    confermaRicezione = h.profiloTrasmissione?.confermaRicezione ?? false;
    expiresAt = h.messaggio.scadenza;
  } else {
    const a = env.addressing!;
    // The node's message id and duplicate-filter key: required whatever the service's ID_AUTH pattern.
    if (!a.messageId)
      throw new EnvelopeError(
        'EGOV_IT_107',
        'Header/MessageID',
        'EGOV_IT_107 - wsa:MessageID missing: the node identifies every ModI message by it',
      );
    id = a.messageId;
    from = a.from ?? '';
    to = a.to ?? '';
    const svc = parseModiAction(a.action ?? '');
    if (!svc) throw new EnvelopeError('EGOV_IT_105', 'Header/Action', `EGOV_IT_105 - wsa:Action "${a.action ?? ''}" names no bus service`);
    ({ tipo, servizio, azione: action } = svc);
    refId = a.relatesTo;
  }
  const hosted = reg.hostedParty(to);
  if (!hosted)
    throw new EnvelopeError(
      'EGOV_IT_102',
      env.profile === 'egov' ? 'IntestazioneMessaggio/Destinatario' : 'Header/To',
      `EGOV_IT_102 - party ${to} is not hosted by this node`,
    );
  // Checked in the verification worker already; again here, on the values this stage goes on with.
  bindSignerToParty(reg, env.profile, env.signature.signer, from);
  // Over an authenticated connection the sender must be one of the connected peer's parties, whoever signed.
  if (transport && !transport.parties.has(from))
    throw new SecurityError(
      'TRAMITE_ERR_TLS_PEER_NOT_SENDER',
      `${from} is not hosted by peer "${transport.peer}", connected with TLS client certificate ${transport.certificate}`,
      { posizione: env.profile === 'egov' ? 'IntestazioneMessaggio/Mittente' : 'Header/From' },
    );
  const service = reg.service(to, servizio, tipo);
  if (!service)
    throw new EnvelopeError('EGOV_IT_105', 'IntestazioneMessaggio/Servizio', `EGOV_IT_105 - ${to} offers no service ${tipo}/${servizio}`);
  if (env.profile === 'modi') {
    // What the service declares, and no weaker: e.g. a Body-unsigned envelope on an INTEGRITY_SOAP_01 service.
    requireModiPatterns(env.modi!, service.modiPatterns ?? DEFAULT_MODI_PATTERNS, describeCertificate(env.signature.signer));
  }
  if (action !== undefined && service.actions && !service.actions.includes(action)) {
    throw new EnvelopeError('EGOV_IT_106', 'IntestazioneMessaggio/Azione', `EGOV_IT_106 - service ${servizio} has no action ${action}`);
  }
  if (service.consumers && !service.consumers.includes(from)) {
    throw new EnvelopeError('EGOV_IT_201', 'IntestazioneMessaggio/Mittente', `EGOV_IT_201 - ${from} may not use service ${servizio}`);
  }
  if (env.profile === 'modi') {
    profile = service.profile;
    confermaRicezione = service.confermaRicezione;
  } else if (profile !== service.profile) {
    throw new EnvelopeError(
      'EGOV_IT_103',
      'IntestazioneMessaggio/ProfiloCollaborazione',
      `EGOV_IT_103 - service ${servizio} is ${service.profile}, the busta says ${profile ?? 'nothing'}`,
    );
  } else {
    const correlato = env.egov!.profiloCollaborazione?.servizioCorrelato;
    if (correlato !== undefined && correlato !== service.correlatedService) {
      throw new EnvelopeError(
        'EGOV_IT_103',
        'IntestazioneMessaggio/ProfiloCollaborazione',
        `EGOV_IT_103 - servizioCorrelato "${correlato}" is not the correlated service of ${servizio} (${service.correlatedService ?? 'none'})`,
      );
    }
  }
  return {
    env,
    id,
    from,
    to: hosted,
    service,
    profile: profile!,
    confermaRicezione,
    ...(action !== undefined ? { action } : {}),
    ...(refId !== undefined ? { refId } : {}),
    ...(conversationId !== undefined ? { conversationId } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  };
}

/** A message whose Scadenza has passed is refused (EGOV_IT_301). */
export function checkExpiry(req: AcceptedRequest, now: Date): void {
  if (req.expiresAt === undefined) return;
  const at = parseXsdDateTime(req.expiresAt)!;
  if (at.getTime() < now.getTime()) {
    throw new EnvelopeError(
      'EGOV_IT_301',
      'IntestazioneMessaggio/Messaggio/Scadenza',
      `EGOV_IT_301 - the message expired at ${req.expiresAt}`,
      { contesto: 'processamento' },
    );
  }
}
