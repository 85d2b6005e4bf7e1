/**
 * The Comune's seal on each communication to INA: an enveloped XAdES baseline B signature with the
 * party's key, the same seal protocollo puts on a Segnatura (adapters/protocollo/xades). The bus
 * envelope is signed too, but only for the hop between nodes; the seal stays with the document, so
 * INA can show what the Comune communicated long after the message was delivered.
 */
import { ProtocolloError } from '../../src/core/errors.js';
import { describeCertificate, type Signer, type TrustStore } from '../sdk/index.js';
import { signXades, verifyXades } from '../sdk/index.js';

/** The Comune's seal: the party's Signer (RSA, as for the Segnatura). */
export type InaSealer = Signer;

export function sealComunicazione(xml: string, sealer: InaSealer, at: Date): Promise<string> {
  return signXades(xml, sealer, { signingTime: at });
}

export type SealCheck = { readonly valid: true; readonly signer: string } | { readonly valid: false; readonly reason: string };

/** Whether the communication carries a valid seal by a certificate `trust` accepts at `at`. */
export function checkComunicazioneSeal(xml: string, trust: TrustStore, at: Date): SealCheck {
  try {
    const verified = verifyXades(xml, { trust, at });
    return { valid: true, signer: describeCertificate(verified.signer) };
  } catch (err) {
    // The verifier speaks protocollo's codes; here only its verdict and reason matter.
    if (err instanceof ProtocolloError) return { valid: false, reason: err.message };
    throw err;
  }
}
