/**
 * Signing side of PEC's S/MIME (RFC 5751 §3.5.3, RFC 1847): wraps a MIME entity in a
 * `multipart/signed` whose second part, smime.p7s, is a detached CMS SignedData over the entity's
 * canonical (CRLF) bytes. This is how a provider signs every receipt and busta; smime-signature.ts
 * verifies the result.
 *
 * The multipart/signed body is concatenated by hand on purpose: the signature covers the first part
 * byte for byte, so no MIME library may re-fold, re-encode or re-wrap it after signing.
 */
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { TramiteError } from '../../src/core/errors.js';
import { canonicalCrlf } from './multipart-signed.js';

export interface SmimeSigner {
  /** Unencrypted RSA private key, PKCS#8 or PKCS#1 PEM (node-forge signs with RSA only). */
  readonly keyPem: string;
  readonly certPem: string;
  /** Intermediate CA certificates to carry in smime.p7s so a verifier can build the chain. */
  readonly chainPem?: readonly string[];
}

export interface SignMultipartOptions {
  /** The CMS signingTime attribute (default: now). A provider sets it to the receipt's instant. */
  readonly signingTime?: Date;
  /** The outer boundary (default: random). Must not occur in `innerMime`. */
  readonly boundary?: string;
}

export interface MultipartSigned {
  /** The value of the message's Content-Type header, boundary included. */
  readonly contentType: string;
  /** The message body: preamble, the signed entity as signed, smime.p7s, closing delimiter. CRLF line ends. */
  readonly body: Buffer;
}

const PREAMBLE = 'This is an S/MIME signed message\r\n';
/** RFC 2045 §6.8: base64 lines of at most 76 characters. */
const BASE64_LINE = 76;

/**
 * Signs `innerMime` — one MIME entity: its headers (at least Content-Type), blank line and body —
 * with SHA-256 and RSA. Bare LF line ends are made CRLF first (the canonical form the signature
 * covers), so what is signed and what is sent are the same bytes.
 */
export function signMultipartSigned(innerMime: Buffer, signer: SmimeSigner, opts: SignMultipartOptions = {}): MultipartSigned {
  const signed = canonicalCrlf(innerMime);
  const boundary = opts.boundary ?? `----=_smime_${randomBytes(12).toString('hex')}`;
  if (!/^[A-Za-z0-9'()+_,./:=?-]{1,70}$/.test(boundary))
    throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', `signMultipartSigned: "${boundary}" is not a valid MIME boundary`);
  if (signed.includes(`--${boundary}`, 0, 'latin1'))
    throw new TramiteError('TRAMITE_ERR_INVALID_ARGUMENT', 'signMultipartSigned: the boundary occurs in the content to sign');

  const p7s = detachedSignature(signed, signer, opts.signingTime ?? new Date());
  const base64Lines = p7s.toString('base64').match(new RegExp(`.{1,${BASE64_LINE}}`, 'g')) ?? [];
  const body = Buffer.concat([
    Buffer.from(`${PREAMBLE}\r\n--${boundary}\r\n`, 'latin1'),
    signed,
    Buffer.from(
      [
        '',
        `--${boundary}`,
        'Content-Type: application/pkcs7-signature; name="smime.p7s"',
        'Content-Transfer-Encoding: base64',
        'Content-Disposition: attachment; filename="smime.p7s"',
        'Content-Description: S/MIME Cryptographic Signature',
        '',
        ...base64Lines,
        `--${boundary}--`,
        '',
      ].join('\r\n'),
      'latin1',
    ),
  ]);
  return { contentType: `multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="${boundary}"`, body };
}

/** DER CMS SignedData, content detached, signer certificate (and chain) carried, signed attributes. */
function detachedSignature(content: Buffer, signer: SmimeSigner, signingTime: Date): Buffer {
  const certificate = forge.pki.certificateFromPem(signer.certPem);
  const key = forge.pki.privateKeyFromPem(signer.keyPem);
  const p7 = forge.pkcs7.createSignedData();
  p7.content = forge.util.createBuffer(content.toString('latin1'));
  p7.addCertificate(certificate);
  for (const pem of signer.chainPem ?? []) p7.addCertificate(forge.pki.certificateFromPem(pem));
  p7.addSigner({
    key,
    certificate,
    digestAlgorithm: forge.pki.oids.sha256!,
    authenticatedAttributes: [
      { type: forge.pki.oids.contentType!, value: forge.pki.oids.data! },
      { type: forge.pki.oids.messageDigest! },
      // forge takes a Date here (its typings say string).
      { type: forge.pki.oids.signingTime!, value: signingTime as unknown as string },
    ],
  });
  p7.sign({ detached: true });
  return Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'latin1');
}
