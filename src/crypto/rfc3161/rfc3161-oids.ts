/** The object identifiers RFC 3161 tokens and TSA certificates are read by. */

export const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
export const OID_SHA1 = '1.3.14.3.2.26';
export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
export const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
export const OID_SIGNING_CERTIFICATE = '1.2.840.113549.1.9.16.2.12';
export const OID_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';
export const OID_EXT_KEY_USAGE = '2.5.29.37';
export const OID_KEY_USAGE = '2.5.29.15';
export const OID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

/** Digest OIDs an ESS signing-certificate attribute may name → node's hash names. */
export const HASH_OIDS: Readonly<Record<string, string>> = {
  [OID_SHA1]: 'sha1',
  [OID_SHA256]: 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
