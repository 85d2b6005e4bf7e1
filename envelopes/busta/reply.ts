import { randomUUID } from 'node:crypto';
import type { EgovHeader, Eccezione } from '../egov/egov-header.js';
import type { ModiSoapPattern } from '../../src/core/service-profile.js';
import { formatXsdDateTime } from '../../src/core/xsd-datetime.js';
import type { Signer } from '../../src/core/signer.js';
import { buildEgovEnvelope, buildModiEnvelope, sealEnvelope, type ReadEnvelope } from '../envelope.js';
import { TIMESTAMP_TTL_SECONDS } from './timestamp-lifetime.js';

export interface ReplyParts {
  /** Id of the reply itself (an e-Gov id of the replying party, or a UUID for modi). */
  readonly id: string;
  readonly now: Date;
  /** Body content: the sincrono answer, or empty for a riscontro / ricevuta. */
  readonly payload?: string;
  readonly riscontro?: boolean;
  readonly eccezioni?: readonly Eccezione[];
  /**
   * modi: the patterns of the request's service, which its replies follow too (a service without
   * INTEGRITY_SOAP_01 gets riscontri and answers with the Body unsigned). Default: the Body is signed.
   */
  readonly modiPatterns?: readonly ModiSoapPattern[];
}

/**
 * The signed answer to a verified request, from the party it was addressed to: Mittente and
 * Destinatario swapped, RiferimentoMessaggio = request id (egov), or wsa:RelatesTo (modi).
 */
export async function sealReply(request: ReadEnvelope, parts: ReplyParts, signer: Signer, bodyOverride?: string): Promise<string> {
  const body = bodyOverride ?? parts.payload ?? '';
  if (request.profile === 'modi') {
    const a = request.addressing!;
    return await sealEnvelope(
      buildModiEnvelope(
        {
          ...(a.from ? { to: a.from } : {}),
          ...(a.to ? { from: a.to } : {}),
          ...(a.action ? { action: a.action } : {}),
          messageId: parts.id,
          ...(a.messageId ? { relatesTo: a.messageId } : {}),
        },
        body,
      ),
      'modi',
      signer,
      { now: parts.now, ttlSeconds: TIMESTAMP_TTL_SECONDS, ...(parts.modiPatterns ? { modiPatterns: parts.modiPatterns } : {}) },
    );
  }
  const h = request.egov!;
  const reply: EgovHeader = {
    mittente: [h.destinatario],
    destinatario: h.mittente[0]!,
    ...(h.profiloCollaborazione ? { profiloCollaborazione: { profile: h.profiloCollaborazione.profile } } : {}),
    ...(h.collaborazione ? { collaborazione: h.collaborazione } : {}),
    ...(h.servizio ? { servizio: h.servizio } : {}),
    ...(h.azione ? { azione: h.azione } : {}),
    messaggio: {
      identificatore: parts.id,
      oraRegistrazione: { value: formatXsdDateTime(parts.now), tempo: 'EGOV_IT_SPC' },
      riferimentoMessaggio: h.messaggio.identificatore,
    },
    riscontri: parts.riscontro ? [{ identificatore: h.messaggio.identificatore, oraRegistrazione: h.messaggio.oraRegistrazione }] : [],
    trasmissioni: [],
    eccezioni: parts.eccezioni ?? [],
  };
  return await sealEnvelope(buildEgovEnvelope(reply, body), 'egov', signer, { now: parts.now, ttlSeconds: TIMESTAMP_TTL_SECONDS });
}

/** A new ModI message id. */
export function newModiMessageId(): string {
  return randomUUID();
}
