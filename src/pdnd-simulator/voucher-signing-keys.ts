/**
 * The simulator's voucher signing keys, as PDND rotates them: one is current (signs new vouchers);
 * `rotate()` makes a new one current and keeps the previous ones in the JWKS for `retainSeconds`, so
 * vouchers already issued still verify while verifiers learn the new kid.
 */
import { type KeyObject, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import type { Clock } from '../core/clock.js';

export interface VoucherSigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export class VoucherSigningKeys {
  private currentKey: VoucherSigningKey;
  private readonly retired: { key: VoucherSigningKey; until: number }[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly retainSeconds: number,
  ) {
    this.currentKey = VoucherSigningKeys.generate();
  }

  private static generate(): VoucherSigningKey {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { kid: randomUUID(), privateKey, publicKey };
  }

  get current(): VoucherSigningKey {
    return this.currentKey;
  }

  /** A new current key; the old one stays published for retainSeconds. Returns the new kid. */
  rotate(): string {
    this.retired.push({ key: this.currentKey, until: this.clock.now().getTime() + this.retainSeconds * 1000 });
    this.currentKey = VoucherSigningKeys.generate();
    return this.currentKey.kid;
  }

  /** The JWKS document: the current key and the retired ones still within their retention. */
  jwks(): { keys: JWK[] } {
    const now = this.clock.now().getTime();
    const live = [this.currentKey, ...this.retired.filter((r) => r.until > now).map((r) => r.key)];
    return {
      keys: live.map((k) => ({ ...(k.publicKey.export({ format: 'jwk' }) as JWK), kid: k.kid, alg: 'RS256', use: 'sig', kty: 'RSA' })),
    };
  }
}
