import { EnvelopeError } from '../core/errors.js';
import { partyCode } from '../core/party.js';
import type { XmlLimits } from '../crypto/hardened-xml.js';
import { describeCertificate } from '../crypto/trust-store.js';
import { readEnvelope, verifyEnvelope, type OpenedEnvelope, type ReadEnvelope } from '../../envelopes/envelope.js';
import type { Registry } from './registry.js';

export interface EnvelopeCheck {
  readonly registry: Registry;
  readonly limits: XmlLimits;
  readonly at: Date;
  readonly maxAgeSeconds: number;
  readonly skewSeconds: number;
  /** Whose trust applies and whom the signer must be; absent: the envelope's own sender. */
  readonly party?: string;
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
  return verifyEnvelope(read, {
    trust: check.registry.trustForParty(party),
    at: check.at,
    maxAgeSeconds: check.maxAgeSeconds,
    skewSeconds: check.skewSeconds,
    // Called by verification as soon as the signer is trusted, before any digest. An unknown sender
    // is authorise()'s EGOV_IT_101; only a known one can be checked for its signer.
    bindSigner: (signer) => {
      if (check.registry.isKnownParty(party) && !check.registry.signerIsParty(signer, party)) {
        throw new EnvelopeError('EGOV_IT_201', 'Header/Security/BinarySecurityToken', `EGOV_IT_201 - the envelope is signed by ${describeCertificate(signer)}, not by ${party}`);
      }
    },
  });
}
