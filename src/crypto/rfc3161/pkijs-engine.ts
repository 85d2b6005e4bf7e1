import { webcrypto } from 'node:crypto';
import * as pkijs from 'pkijs';

let engine: pkijs.ICryptoEngine | undefined;

/**
 * The pkijs crypto engine over Node's WebCrypto, made once. It is passed explicitly to every pkijs call
 * that takes one, and also installed as pkijs's global engine if none is set yet, for the few internal
 * paths that read the global.
 */
export function cryptoEngine(): pkijs.ICryptoEngine {
  if (!engine) {
    engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });
    let current: pkijs.ICryptoEngine | null;
    try {
      current = pkijs.getCrypto();
    } catch {
      current = null;
    }
    if (!current) pkijs.setEngine('node', engine);
  }
  return engine;
}
