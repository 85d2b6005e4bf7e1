import { LRUCache } from 'lru-cache';
import type { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/**
 * Distinguished names read as attributes, never as text: node's `cert.subject` is text in which an
 * attribute value may itself contain `, CN=…` or a line break, so a pattern over it can be fooled.
 */

/** One attribute of a name: its type (dotted OID) and its value as text. */
export interface NameAttribute {
  readonly type: string;
  readonly value: string;
}

/** A name's attributes in certificate order (usually C first, CN last), multi-valued RDNs flattened. */
export type NameAttributes = readonly NameAttribute[];

export const OID_COMMON_NAME = '2.5.4.3';

/** RFC 4514 §3 names, and the ones Italian and eIDAS certificates use. */
const TYPE_BY_NAME: Readonly<Record<string, string>> = {
  CN: OID_COMMON_NAME,
  SN: '2.5.4.4',
  SERIALNUMBER: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  STREET: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  T: '2.5.4.12',
  TITLE: '2.5.4.12',
  GIVENNAME: '2.5.4.42',
  ORGANIZATIONIDENTIFIER: '2.5.4.97',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  EMAILADDRESS: '1.2.840.113549.1.9.1',
};

/**
 * Names decoded so far, by the certificate's SHA-256 fingerprint: every inbound envelope carries its
 * signer's certificate anew, and decoding it with pkijs cost a quarter of a verification. Bounded, least
 * recently used out first; false: the names could not be decoded.
 */
const parsed = new LRUCache<string, { subject: NameAttributes; issuer: NameAttributes } | false>({ max: 4096 });

/** Subject and issuer as attributes; undefined when the certificate's names cannot be decoded. */
export function certificateNames(cert: X509Certificate): { readonly subject: NameAttributes; readonly issuer: NameAttributes } | undefined {
  const key = cert.fingerprint256;
  let names = parsed.get(key);
  if (names === undefined) {
    try {
      const c = pkijs.Certificate.fromBER(new Uint8Array(cert.raw));
      names = { subject: attributesOf(c.subject), issuer: attributesOf(c.issuer) };
    } catch {
      names = false;
    }
    parsed.set(key, names);
  }
  return names || undefined;
}

function attributesOf(name: pkijs.RelativeDistinguishedNames): NameAttributes {
  return name.typesAndValues.map((tv) => ({ type: tv.type, value: valueText(tv.value) }));
}

/** A string value as its text; any other ASN.1 value as RFC 4514's `#` + hex of its DER. */
function valueText(value: asn1js.AsnType): string {
  if (value instanceof asn1js.BaseStringBlock) return value.getValue();
  return `#${Buffer.from(value.toBER()).toString('hex')}`;
}

/** The values of every attribute of `type` in `name`. */
export function valuesOf(name: NameAttributes, type: string): string[] {
  return name.filter((a) => a.type === type).map((a) => a.value);
}

/** Whether two names have the same attributes in the same order, compared exactly. */
export function sameName(a: NameAttributes, b: NameAttributes): boolean {
  return a.length === b.length && a.every((x, i) => x.type === b[i]!.type && x.value === b[i]!.value);
}

/**
 * Parses a name written as RFC 4514 text, most specific first (`CN=ComuneA, O=Comune di A, C=IT`),
 * into attributes in certificate order, or says why it is not one. Special characters in values are
 * escaped with `\` (`\,`, `\+`, `\\`, or two hex digits of a UTF-8 byte); types are the short names
 * above or dotted OIDs. Multi-valued RDNs (`+`) are not accepted: bind such a signer by fingerprint.
 */
export function parseDistinguishedName(text: string): { readonly attributes: NameAttributes } | { readonly problem: string } {
  const attributes: NameAttribute[] = [];
  let i = 0;
  for (;;) {
    const eq = text.indexOf('=', i);
    if (eq < 0) return { problem: `"${text.slice(i).trim()}" has no "="` };
    const typeText = text.slice(i, eq).trim();
    const type = /^\d+(\.\d+)+$/.test(typeText) ? typeText : TYPE_BY_NAME[typeText.toUpperCase()];
    if (type === undefined)
      return { problem: `unknown attribute type "${typeText}" (use ${Object.keys(TYPE_BY_NAME).join(', ')} or a dotted OID)` };
    const bytes: number[] = [];
    let kept = 0; // bytes up to the last character that is not an unescaped trailing space
    for (i = eq + 1; i < text.length && text[i] !== ','; i++) {
      const c = text[i]!;
      if (c === '+')
        return { problem: `multi-valued RDN at character ${i + 1}: bind this signer by fingerprint256, or escape "+" as "\\+"` };
      if (c === '\\') {
        const hex = /^[0-9A-Fa-f]{2}/.exec(text.slice(i + 1, i + 3));
        if (hex) bytes.push(parseInt(hex[0], 16));
        else if (i + 1 < text.length) bytes.push(...Buffer.from(text[i + 1]!, 'utf8'));
        else return { problem: 'a "\\" at the end' };
        i += hex ? 2 : 1;
        kept = bytes.length;
      } else if (c !== ' ' || bytes.length > 0) {
        bytes.push(...Buffer.from(c, 'utf8'));
        if (c !== ' ') kept = bytes.length;
      }
    }
    if (kept === 0) return { problem: `attribute ${typeText} has an empty value` };
    attributes.push({ type, value: Buffer.from(bytes.slice(0, kept)).toString('utf8') });
    if (i >= text.length) return { attributes: attributes.reverse() };
    i++;
  }
}
