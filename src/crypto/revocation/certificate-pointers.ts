import type { X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';

const OID_CRL_DISTRIBUTION_POINTS = '2.5.29.31';
const OID_AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1';
const OID_AD_OCSP = '1.3.6.1.5.5.7.48.1';
/** GeneralName CHOICE tag of uniformResourceIdentifier. */
const GENERAL_NAME_URI = 6;

/** Where a certificate says its status can be asked: OCSP responders (AIA) and CRLs (CRL Distribution Points). */
export interface StatusPointers {
  readonly ocsp: readonly string[];
  readonly crl: readonly string[];
}

/**
 * The http:// addresses in a certificate's AIA (id-ad-ocsp) and CRL Distribution Points (fullName URIs).
 * Other schemes (ldap://, https://) are left out: they are not fetched.
 */
export function statusPointers(cert: X509Certificate): StatusPointers {
  const parsed = pkijs.Certificate.fromBER(cert.raw);
  const ocsp: string[] = [];
  const crl: string[] = [];
  for (const ext of parsed.extensions ?? []) {
    if (ext.extnID === OID_AUTHORITY_INFO_ACCESS && ext.parsedValue instanceof pkijs.InfoAccess) {
      for (const desc of ext.parsedValue.accessDescriptions) {
        if (desc.accessMethod === OID_AD_OCSP) pushHttp(ocsp, desc.accessLocation);
      }
    } else if (ext.extnID === OID_CRL_DISTRIBUTION_POINTS && ext.parsedValue instanceof pkijs.CRLDistributionPoints) {
      for (const point of ext.parsedValue.distributionPoints) {
        const names = point.distributionPoint;
        if (Array.isArray(names)) for (const name of names) pushHttp(crl, name);
      }
    }
  }
  return { ocsp, crl };
}

function pushHttp(into: string[], name: pkijs.GeneralName): void {
  if (name.type === GENERAL_NAME_URI && typeof name.value === 'string' && name.value.toLowerCase().startsWith('http://'))
    into.push(name.value);
}
