import type { EgovHeader } from '../egov/egov-header.js';
import type { CollaborationProfile, Inoltro, ModiSoapPattern } from '../../src/core/service-profile.js';
import { TramiteError } from '../../src/core/errors.js';
import { parsePartyCode, type PartyRef } from '../../src/core/party.js';
import { formatXsdDateTime } from '../../src/core/xsd-datetime.js';
import type { Signer } from '../../src/core/signer.js';
import { buildEgovEnvelope, buildModiEnvelope, sealEnvelope } from '../envelope.js';
import { formatModiAction } from '../modi/modi-action.js';
import { TIMESTAMP_TTL_SECONDS } from './timestamp-lifetime.js';

/** What sealing a request needs to know of its service (the registry's service definitions fit). */
export interface SealedService {
  readonly envelope: 'egov' | 'modi';
  readonly tipo: string;
  readonly name: string;
  readonly profile: CollaborationProfile;
  readonly correlatedService?: string;
  readonly inoltro: Inoltro;
  readonly confermaRicezione: boolean;
  readonly modiPatterns?: readonly ModiSoapPattern[];
}

export interface OutboundRequest {
  readonly id: string;
  /** OraRegistrazione: when the message was registered (stays the same on every retry). */
  readonly now: Date;
  /** When this copy is signed (wsu:Timestamp); defaults to `now`. A retry signs again, later. */
  readonly sealedAt?: Date;
  readonly from: string;
  readonly to: string;
  readonly service: SealedService;
  readonly action?: string;
  readonly payload: string;
  readonly refId?: string;
  readonly conversationId?: string;
  readonly expiresAt?: Date;
}

function party(code: string): PartyRef {
  const p = parsePartyCode(code);
  if (!p) throw new TramiteError('TRAMITE_ERR_BAD_REQUEST', `"${code}" is not a party code (tipo/nome)`);
  return p;
}

/** Builds and signs the envelope of an outbound request, in the service's envelope profile. */
export async function sealRequest(req: OutboundRequest, signer: Signer): Promise<string> {
  const s = req.service;
  let xml: string;
  if (s.envelope === 'modi') {
    xml = buildModiEnvelope(
      {
        to: req.to,
        from: req.from,
        action: formatModiAction(s.tipo, s.name, req.action),
        messageId: req.id,
        ...(req.refId ? { relatesTo: req.refId } : {}),
      },
      req.payload,
    );
  } else {
    const header: EgovHeader = {
      mittente: [party(req.from)],
      destinatario: party(req.to),
      profiloCollaborazione: {
        profile: s.profile,
        ...(s.correlatedService !== undefined ? { servizioCorrelato: s.correlatedService } : {}),
      },
      ...(req.conversationId ? { collaborazione: req.conversationId } : {}),
      servizio: { tipo: s.tipo, nome: s.name },
      ...(req.action ? { azione: req.action } : {}),
      messaggio: {
        identificatore: req.id,
        oraRegistrazione: { value: formatXsdDateTime(req.now), tempo: 'EGOV_IT_SPC' },
        ...(req.refId ? { riferimentoMessaggio: req.refId } : {}),
        ...(req.expiresAt ? { scadenza: formatXsdDateTime(req.expiresAt) } : {}),
      },
      profiloTrasmissione: { inoltro: s.inoltro, confermaRicezione: s.confermaRicezione },
      riscontri: [],
      trasmissioni: [],
      eccezioni: [],
    };
    xml = buildEgovEnvelope(header, req.payload);
  }
  return await sealEnvelope(xml, s.envelope, signer, {
    now: req.sealedAt ?? req.now,
    ttlSeconds: TIMESTAMP_TTL_SECONDS,
    ...(s.modiPatterns ? { modiPatterns: s.modiPatterns } : {}),
  });
}
