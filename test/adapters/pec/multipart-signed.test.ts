/**
 * The byte-exact split of a multipart/signed body: the first part is returned exactly as signed
 * (CRLF before the next delimiter excluded, line ends made canonical), delimiters are recognised
 * only as whole lines.
 */
import { describe, expect, it } from 'vitest';
import { canonicalCrlf, splitHeaderAndBody, splitMultipartSigned } from '../../../adapters/pec/multipart-signed.js';

const FIRST =
  'Content-Type: multipart/mixed; boundary="--abc-long"\r\n\r\n----abc-long\r\nContent-Type: text/plain\r\n\r\nciao\r\n----abc-long--\r\n';

describe('splitMultipartSigned', () => {
  it('returns the first part byte for byte and the second part, with no extra parts', () => {
    const body = Buffer.from(
      `preamble\r\n\r\n--abc\r\n${FIRST}\r\n--abc\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--abc--\r\nepilogue\r\n`,
    );
    const parts = splitMultipartSigned(body, 'abc')!;
    expect(parts.signed.toString('latin1')).toBe(FIRST);
    expect(parts.signature!.toString('latin1')).toBe('Content-Type: application/pkcs7-signature\r\n\r\nMIIB');
    expect(parts).toMatchObject({ extraParts: 0, closed: true });
  });

  it('does not take the delimiter of a longer, nested boundary for its own', () => {
    // The inner boundary "--abc-long" makes lines starting with "----abc-long"; "--" + "--abc" is a prefix of them.
    const parts = splitMultipartSigned(Buffer.from(`----abc\r\n${FIRST}\r\n----abc\r\nsig\r\n----abc--\r\n`), '--abc')!;
    expect(parts.signed.toString('latin1')).toBe(FIRST);
  });

  it('accepts transport padding after a delimiter, and a delimiter at the very start', () => {
    const parts = splitMultipartSigned(Buffer.from(`--abc \t\r\n${FIRST}\r\n--abc\r\nsig\r\n--abc-- \r\n`), 'abc')!;
    expect(parts.signed.toString('latin1')).toBe(FIRST);
    expect(parts.closed).toBe(true);
  });

  it('makes LF line ends CRLF in the signed part (a Unix mailbox stores LF)', () => {
    const lf = FIRST.replace(/\r\n/g, '\n');
    const parts = splitMultipartSigned(Buffer.from(`--abc\n${lf}\n--abc\nsig\n--abc--\n`), 'abc')!;
    expect(parts.signed.toString('latin1')).toBe(FIRST);
  });

  it('keeps 8-bit bytes untouched', () => {
    const eight = Buffer.concat([Buffer.from('--abc\r\nX: y\r\n\r\n'), Buffer.from([0xe8, 0x00, 0xff]), Buffer.from('\r\n--abc--\r\n')]);
    expect([...splitMultipartSigned(eight, 'abc')!.signed.subarray(-3)]).toEqual([0xe8, 0x00, 0xff]);
  });

  it('reports a missing signature part, a truncated body, and parts beyond the second', () => {
    expect(splitMultipartSigned(Buffer.from(`--abc\r\n${FIRST}\r\n--abc--\r\n`), 'abc')).toMatchObject({
      signature: undefined,
      closed: true,
    });
    const truncated = splitMultipartSigned(Buffer.from(`--abc\r\n${FIRST}`), 'abc')!;
    expect(truncated).toMatchObject({ signature: undefined, closed: false });
    expect(truncated.signed.toString('latin1')).toBe(FIRST);
    expect(splitMultipartSigned(Buffer.from(`--abc\r\nA\r\n--abc\r\nB\r\n--abc\r\nC\r\n--abc\r\nD\r\n--abc--\r\n`), 'abc')).toMatchObject({
      extraParts: 2,
    });
    expect(splitMultipartSigned(Buffer.from('no delimiter here\r\n'), 'abc')).toBeUndefined();
  });
});

describe('splitHeaderAndBody and canonicalCrlf', () => {
  it('splits at the first empty line, CRLF or LF', () => {
    expect(splitHeaderAndBody(Buffer.from('A: 1\r\nB: 2\r\n\r\nbody\r\n'))).toEqual({
      header: Buffer.from('A: 1\r\nB: 2\r\n\r\n'),
      body: Buffer.from('body\r\n'),
    });
    expect(splitHeaderAndBody(Buffer.from('A: 1\n\nbody'))).toEqual({ header: Buffer.from('A: 1\n\n'), body: Buffer.from('body') });
    expect(splitHeaderAndBody(Buffer.from('A: 1\r\n'))).toBeUndefined();
  });

  it('canonicalises LF and CRLF alike, leaving lone CRs', () => {
    expect(canonicalCrlf(Buffer.from('a\nb\r\nc\rd')).toString()).toBe('a\r\nb\r\nc\rd');
  });
});
