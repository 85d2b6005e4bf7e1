/**
 * The TSA's own certificate, as its token carries it: what the node's certificate inventory watches
 * once the first checkpoint is time-stamped (the configuration names only the TSA's trust anchor).
 */
import { X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';
import { parseToken } from './timestamp-token.js';

const TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

/**
 * The certificate of the token's signer — by the SignerInfo's issuer and serial number, or else the
 * one certificate for time-stamping — or undefined when the token carries none or cannot be read.
 * Reading it vouches for nothing: verifyTimestampToken judges the token.
 */
export function tsaCertificateOfToken(token: Uint8Array): X509Certificate | undefined {
  let certificates: X509Certificate[];
  let sid: unknown;
  try {
    const parsed = parseToken(token);
    certificates = parsed.rawCertificates.map((der) => new X509Certificate(der));
    sid = parsed.signedData.signerInfos[0]?.sid;
  } catch {
    return undefined;
  }
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    const serial = sid.serialNumber.toBigInt();
    const bySerial = certificates.filter((c) => BigInt(`0x${c.serialNumber}`) === serial);
    if (bySerial.length === 1) return bySerial[0];
  }
  const stamping = certificates.filter((c) => (c.keyUsage ?? []).includes(TIME_STAMPING));
  return stamping.length === 1 ? stamping[0] : undefined;
}
