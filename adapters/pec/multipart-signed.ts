/**
 * The exact bytes of a multipart/signed message (RFC 1847), cut by hand from the raw message.
 *
 * Why not the MIME parser: a detached S/MIME signature covers the first body part byte for byte —
 * its MIME headers, blank line and body exactly as sent — and a parser hands back decoded,
 * re-assembled content instead. So the parts are located here by their boundary delimiter lines
 * (RFC 2046 §5.1.1), and everything the adapter then reads is parsed from these same bytes, so
 * that what is read is what was signed. Strings are handled as latin1, which maps every byte to one
 * character and back, so offsets are byte offsets and 8-bit content survives untouched.
 */

export interface MultipartSignedParts {
  /**
   * The first body part as signed: headers, blank line and body, with every line end made CRLF —
   * the canonical form the signature is computed over (RFC 5751 §3.1.1), which a mailbox stored with
   * Unix line ends no longer has byte for byte.
   */
  readonly signed: Buffer;
  /** The second body part (its headers and body) as it appears, or undefined when there is none. */
  readonly signature: Buffer | undefined;
  /** How many body parts follow the second: multipart/signed has exactly two. */
  readonly extraParts: number;
  /** Whether the closing delimiter (`--boundary--`) was found; without it the message is truncated. */
  readonly closed: boolean;
}

/** Header block (up to and including the blank line) and body, or undefined when there is no blank line. */
export function splitHeaderAndBody(raw: Buffer): { readonly header: Buffer; readonly body: Buffer } | undefined {
  const text = raw.toString('latin1');
  for (const line of lines(text)) {
    if (line.content === '') return { header: raw.subarray(0, line.next), body: raw.subarray(line.next) };
  }
  return undefined;
}

/**
 * The parts of a multipart/signed body with `boundary`, or undefined when the body has no delimiter
 * line for it at all. The CRLF before a delimiter line belongs to the delimiter, not to the part.
 */
export function splitMultipartSigned(body: Buffer, boundary: string): MultipartSignedParts | undefined {
  const text = body.toString('latin1');
  const delimiters = findDelimiters(text, boundary);
  const first = delimiters[0];
  if (!first || first.close) return undefined;
  const second = delimiters[1];
  const partEnd = (delimiter: Delimiter | undefined) => (delimiter ? endBefore(text, delimiter.start) : text.length);
  const signed = canonicalCrlf(body.subarray(first.next, Math.max(first.next, partEnd(second))));
  if (!second || second.close) return { signed, signature: undefined, extraParts: 0, closed: !!second };
  const third = delimiters[2];
  const signature = body.subarray(second.next, Math.max(second.next, partEnd(third)));
  const extraParts = delimiters.slice(2).filter((d) => !d.close).length;
  return { signed, signature, extraParts, closed: delimiters.some((d) => d.close) };
}

/** Every line end made CRLF; lone CRs are left alone. */
export function canonicalCrlf(bytes: Buffer): Buffer {
  return Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

interface Line {
  readonly start: number;
  /** The line without its line end (CRLF or LF). */
  readonly content: string;
  /** Offset just after the line end. */
  readonly next: number;
}

function* lines(text: string): Generator<Line> {
  let start = 0;
  while (start < text.length) {
    const lf = text.indexOf('\n', start);
    const end = lf === -1 ? text.length : lf;
    const content = text.slice(start, end > start && text[end - 1] === '\r' ? end - 1 : end);
    const next = lf === -1 ? text.length : lf + 1;
    yield { start, content, next };
    start = next;
  }
}

interface Delimiter {
  readonly start: number;
  readonly next: number;
  readonly close: boolean;
}

/**
 * Delimiter lines up to and including the closing one: `--boundary`, optionally `--`, then only
 * linear whitespace (transport padding). A line that merely starts with `--boundary` and goes on
 * (a longer boundary of a nested part) is not one.
 */
function findDelimiters(text: string, boundary: string): Delimiter[] {
  const dash = `--${boundary}`;
  const found: Delimiter[] = [];
  for (const line of lines(text)) {
    if (!line.content.startsWith(dash)) continue;
    let rest = line.content.slice(dash.length);
    const close = rest.startsWith('--');
    if (close) rest = rest.slice(2);
    if (!/^[ \t]*$/.test(rest)) continue;
    found.push({ start: line.start, next: line.next, close });
    if (close) break;
  }
  return found;
}

/** Offset of the line end just before `offset` (the end of the previous part). */
function endBefore(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset > 1 && text[offset - 2] === '\r' ? offset - 2 : offset - 1;
  return offset;
}
