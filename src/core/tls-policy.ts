/**
 * The node's TLS policy, one place for the listener and for every peer connection: TLS 1.2 at least;
 * for TLS 1.2 Mozilla's "intermediate" ECDHE suites with AEAD ciphers only (forward secrecy, no CBC,
 * no RSA key exchange; the DHE ones are left out, as they would need DH parameters), and every
 * TLS 1.3 suite. docs/operators.md says the same for operators.
 */
export const TLS_MIN_VERSION = 'TLSv1.2';

export const TLS_CIPHERS = [
  // TLS 1.3 (all of them)
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  // TLS 1.2, Mozilla intermediate (ECDHE)
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The options every TLS context of the node starts from. */
export const TLS_POLICY = { minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS } as const;
