/**
 * The HTTP/1.1 form a REST request or response is logged in: written and read back byte for byte
 * (header order, repeats, latin1 values, binary bodies), and refused when a header would break it.
 */
import { describe, expect, it } from 'vitest';
import { httpMessageBytes, parseHttpMessageBytes } from '../../src/log/http-message-bytes.js';

describe('logged HTTP messages', () => {
  it('a request: start line, headers in order with repeats, blank line, the exact body', () => {
    const body = Buffer.from([0x00, 0x0d, 0x0a, 0x0d, 0x0a, 0xff]);
    const headers: Array<[string, string]> = [
      ['content-type', 'application/octet-stream'],
      ['x-trace', 'a'],
      ['x-trace', 'b'],
      ['x-name', 'Citt\u00e0  '],
    ];
    const bytes = httpMessageBytes({ method: 'POST', target: '/rest/in/Anagrafe/v1/residenti?x=1', headers, body });
    expect(Buffer.from(bytes).toString('latin1')).toMatch(/^POST \/rest\/in\/Anagrafe\/v1\/residenti\?x=1 HTTP\/1\.1\r\ncontent-type: /);
    const back = parseHttpMessageBytes(bytes);
    expect(back.startLine).toBe('POST /rest/in/Anagrafe/v1/residenti?x=1 HTTP/1.1');
    expect(back.headers).toEqual(headers);
    expect(Buffer.from(back.body).equals(body)).toBe(true);
  });

  it('a response: the status line, and an empty body', () => {
    const bytes = httpMessageBytes({ status: 422, headers: [['content-type', 'application/problem+json']], body: new Uint8Array() });
    expect(Buffer.from(bytes).toString('latin1')).toBe(
      'HTTP/1.1 422 Unprocessable Entity\r\ncontent-type: application/problem+json\r\n\r\n',
    );
    expect(parseHttpMessageBytes(bytes).body).toHaveLength(0);
  });

  it('refuses a header that would pose as another, a request without method, and bytes with no head', () => {
    const body = new Uint8Array();
    expect(() => httpMessageBytes({ status: 200, headers: [['x', 'a\r\ndigest: SHA-256=forged']], body })).toThrow(/cannot be written/);
    expect(() => httpMessageBytes({ status: 200, headers: [['bad name', 'a']], body })).toThrow(/cannot be written/);
    expect(() => httpMessageBytes({ headers: [], body })).toThrow(/method and a target/);
    expect(() => httpMessageBytes({ status: 42, headers: [], body })).toThrow(/three-digit/);
    expect(() => parseHttpMessageBytes(Buffer.from('GET / HTTP/1.1\r\nhost: x\r\n'))).toThrow(/no HTTP head/);
  });
});
