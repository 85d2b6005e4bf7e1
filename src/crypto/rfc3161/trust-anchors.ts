/** The trust anchors a token is verified against, as pkijs wants them. */
import { X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';
import { errorText, tsaError } from './tsa-error.js';

/** X509Certificate objects and PEM texts (single certificates or bundles) → pkijs certificates. */
export function trustAnchors(trusted: ReadonlyArray<X509Certificate | string>): pkijs.Certificate[] {
  if (!Array.isArray(trusted) || trusted.length === 0) {
    throw tsaError('no trusted certificates were given to verify the time-stamp token against');
  }
  const out: pkijs.Certificate[] = [];
  trusted.forEach((item, i) => {
    if (item instanceof X509Certificate) {
      out.push(pkijs.Certificate.fromBER(new Uint8Array(item.raw)));
      return;
    }
    if (typeof item !== 'string') throw tsaError(`trusted certificate #${i + 1} is neither an X509Certificate nor a PEM string`);
    const blocks = item.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw tsaError(`trusted certificate #${i + 1} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    for (const block of blocks) {
      try {
        out.push(pkijs.Certificate.fromBER(new Uint8Array(new X509Certificate(block).raw)));
      } catch (cause) {
        throw tsaError(`trusted certificate #${i + 1} cannot be parsed: ${errorText(cause)}`, cause);
      }
    }
  });
  return out;
}
