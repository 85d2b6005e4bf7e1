import type { ModiRestPatternName } from '../../core/service-profile.js';
import type { AuditRestPattern, IdAuthRestPattern, IntegrityRestPattern } from '../../../envelopes/modi-rest/modi-rest-patterns.js';
import type { EmptyBodyRule } from '../../../envelopes/modi-rest/rest-message-verify.js';
import type { RestServiceConfig } from '../../config/config-types.js';

/** An API's declared patterns, one slot each (the config loader made sure there is one ID_AUTH and at most one of the others). */
export interface DeclaredPatterns {
  readonly idAuth: IdAuthRestPattern;
  readonly integrity?: IntegrityRestPattern;
  readonly audit?: AuditRestPattern;
  /** Authorization carries a PDND voucher instead of our own ID_AUTH token. */
  readonly voucher: boolean;
  /**
   * What an empty request body carries. With a voucher, ID_AUTH_REST_02's single-use jti lives in the
   * integrity token, so every request is signed, empty or not.
   */
  readonly emptyRequestBody: EmptyBodyRule;
}

export function declaredPatterns(api: RestServiceConfig['api']): DeclaredPatterns {
  const find = <P extends ModiRestPatternName>(prefix: string) => api.profiles.find((p) => p.startsWith(prefix)) as P | undefined;
  const idAuth = find<IdAuthRestPattern>('ID_AUTH_')!;
  const integrity = find<IntegrityRestPattern>('INTEGRITY_');
  const audit = find<AuditRestPattern>('AUDIT_');
  const voucher = api.pdnd !== undefined;
  return {
    idAuth,
    ...(integrity ? { integrity } : {}),
    ...(audit ? { audit } : {}),
    voucher,
    emptyRequestBody: voucher && idAuth === 'ID_AUTH_REST_02' ? 'require' : api.emptyBody,
  };
}
