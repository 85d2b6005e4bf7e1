import { EnvelopeError } from '../core/errors.js';
import { partyCode } from '../core/party.js';
import type { XmlLimits } from '../crypto/hardened-xml.js';
import { describeCertificate } from '../crypto/trust-store.js';
import { readEnvelope, verifyEnvelope, type OpenedEnvelope, type ReadEnvelope } from '../../envelopes/envelope.js';
import type { Registry } from './registry.js';
import { WEAKEST_MODI_PATTERNS, type ModiSoapPattern } from '../core/modi-header.js';

export interface EnvelopeCheck {
  readonly registry: Registry;
  readonly limits: XmlLimits;
  readonly at: Date;
  readonly maxAgeSeconds: number;
  readonly skewSeconds: number;
  /** Whose trust applies and whom the signer must be; absent: the envelope's own sender. */
  readonly party?: string;
  /** ModI patterns required; default the weakest (ID_AUTH_SOAP_01): authorise() holds it to its service's. */
  readonly modiPatterns?: readonly ModiSoapPattern[];
}

/** The party an envelope claims to come from: its Mittente (e-Gov) or wsa:From (ModI). */
export function claimedSender(read: ReadEnvelope): string {
  return read.profile === 'egov' ? partyCode(read.egov!.mittente[0]!) : read.addressing!.from ?? '';
}

/**
 * Parse and verify, the CPU-heavy part of receiving an envelope (it runs in a verification worker):
 * hardened parse and header, then signature, certificate — trusted for the claimed sender and
 * bound to it — and Timestamp.
 */
export function readAndVerify(bytes: Uint8Array, check: EnvelopeCheck): OpenedEnvelope {
  return verifyRead(readEnvelope(bytes, check.limits), check);
}

/** The verification half of readAndVerify, for a caller that keeps the read envelope. */
export function verifyRead(read: ReadEnvelope, check: Omit<EnvelopeCheck, 'limits'>): OpenedEnvelope {
  const party = check.party ?? claimedSender(read);
  const reg = check.registry;
  return verifyEnvelope(
    read,
    {
      trust: reg.trustForParty(party),
      at: check.at,
      maxAgeSeconds: check.maxAgeSeconds,
      skewSeconds: check.skewSeconds,
      // Called by verification as soon as the signer is trusted, before any digest: a sender the node
      // does not know cannot be bound to anyone (refused as authorise() would), a known one must be the signer.
      bindSigner: (signer) => {
        if (!reg.isKnownParty(party)) {
          throw new EnvelopeError('EGOV_IT_101', read.profile === 'egov' ? 'IntestazioneMessaggio/Mittente' : 'Header/From', `EGOV_IT_101 - party ${party} is unknown to this node`);
        }
        if (!reg.signerIsParty(signer, party)) {
          throw new EnvelopeError('EGOV_IT_201', 'Header/Security/BinarySecurityToken', `EGOV_IT_201 - the envelope is signed by ${describeCertificate(signer)}, not by ${party}`);
        }
      },
    },
    check.modiPatterns ?? WEAKEST_MODI_PATTERNS,
  );
}
