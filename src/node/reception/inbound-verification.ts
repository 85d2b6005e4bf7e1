import { EnvelopeError } from '../../core/errors.js';
import { partyCode } from '../../core/party.js';
import { describeCertificate } from '../../core/certificate-description.js';
import type { X509Certificate } from 'node:crypto';
import { verifyEnvelope, type OpenedEnvelope, type ReadEnvelope } from '../../../envelopes/envelope.js';
import type { Registry } from '../registry/registry.js';
import { WEAKEST_MODI_PATTERNS, type ModiSoapPattern } from '../../core/service-profile.js';

export interface EnvelopeCheck {
  readonly registry: Registry;
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
  return read.profile === 'egov' ? partyCode(read.egov!.mittente[0]!) : (read.addressing!.from ?? '');
}

/**
 * Verification, the CPU-heavy part of receiving an envelope (it runs in a verification worker):
 * signature, certificate — trusted for the claimed sender and bound to it — and Timestamp.
 */
export function verifyRead(read: ReadEnvelope, check: EnvelopeCheck): OpenedEnvelope {
  const party = check.party ?? claimedSender(read);
  const reg = check.registry;
  return verifyEnvelope(
    read,
    {
      trust: reg.trustForParty(party),
      at: check.at,
      maxAgeSeconds: check.maxAgeSeconds,
      skewSeconds: check.skewSeconds,
      // Called by verification as soon as the signer is trusted, before any digest.
      bindSigner: (signer) => bindSignerToParty(reg, read.profile, signer, party),
    },
    check.modiPatterns ?? WEAKEST_MODI_PATTERNS,
  );
}

/**
 * The one rule binding a signer to the party an envelope claims to come from: a party the node does
 * not know cannot be bound to anyone (EGOV_IT_101), a known one must be the signer (EGOV_IT_201).
 */
export function bindSignerToParty(reg: Registry, profile: ReadEnvelope['profile'], signer: X509Certificate, party: string): void {
  if (!reg.isKnownParty(party)) {
    throw new EnvelopeError(
      'EGOV_IT_101',
      profile === 'egov' ? 'IntestazioneMessaggio/Mittente' : 'Header/From',
      `EGOV_IT_101 - party ${party} is unknown to this node`,
    );
  }
  if (!reg.signerIsParty(signer, party)) {
    throw new EnvelopeError(
      'EGOV_IT_201',
      'Header/Security/BinarySecurityToken',
      `EGOV_IT_201 - the envelope is signed by ${describeCertificate(signer)}, not by ${party}`,
    );
  }
}
