/**
 * The one DOCTYPE a caller may opt into — an external identifier naming a known DTD, no internal subset —
 * is accepted only for that caller, never resolved, and every other DOCTYPE stays refused.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_XML_LIMITS, isDoctypeRefusal, parseUntrustedXml, type KnownExternalDtd } from '../../../envelopes/xml/hardened-xml.js';
import { EnvelopeError } from '../../../src/core/errors.js';
import { readEnvelope } from '../../../envelopes/envelope.js';

const SEGNATURA_DTD: KnownExternalDtd = { roots: ['Segnatura', 'ConfermaRicezione'], systemFile: 'Segnatura.dtd' };
const BODY = '<Segnatura versione="2001-05-07" xml:lang="it"><Intestazione/></Segnatura>';
const withDoctype = (doctype: string, body = BODY) => `<?xml version="1.0" encoding="UTF-8"?>\n${doctype}\n${body}`;

const accepted = (xml: string) =>
  parseUntrustedXml(xml, DEFAULT_XML_LIMITS, { acceptDoctype: SEGNATURA_DTD }).doc.documentElement!.localName;

function refusal(fn: () => unknown): EnvelopeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EnvelopeError);
    expect((err as EnvelopeError).code).toBe('EGOV_IT_001');
    expect(isDoctypeRefusal(err)).toBe(true);
    return err as EnvelopeError;
  }
  throw new Error('expected EGOV_IT_001, the document was accepted');
}
const refusedWithOptIn = (xml: string) => refusal(() => parseUntrustedXml(xml, DEFAULT_XML_LIMITS, { acceptDoctype: SEGNATURA_DTD }));

describe('the opted-in DOCTYPE: accepted', () => {
  it('the classic 2001 line, <!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">', () => {
    expect(accepted(withDoctype('<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">'))).toBe('Segnatura');
  });

  it('its variants seen in the field: lower-case file name, a path or URL ending in it, single quotes, a PUBLIC identifier', () => {
    expect(accepted(withDoctype("<!DOCTYPE Segnatura SYSTEM 'segnatura.dtd'>"))).toBe('Segnatura');
    expect(accepted(withDoctype('<!DOCTYPE Segnatura SYSTEM "http://www.protocollo.gov.it/Segnatura.dtd">'))).toBe('Segnatura');
    expect(accepted(withDoctype('<!DOCTYPE Segnatura PUBLIC "-//AIPA//DTD Segnatura 2001-05-07//IT" "Segnatura.dtd">'))).toBe('Segnatura');
    expect(accepted(withDoctype('<!DOCTYPE ConfermaRicezione SYSTEM "Segnatura.dtd">', '<ConfermaRicezione/>'))).toBe('ConfermaRicezione');
  });

  it('is never resolved: a system identifier pointing at a live server is not fetched', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.end('<!ENTITY x "fetched">');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dtd/Segnatura.dtd`;
      expect(accepted(withDoctype(`<!DOCTYPE Segnatura SYSTEM "${url}">`))).toBe('Segnatura');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(requests).toBe(0);
    } finally {
      server.close();
    }
  });
});

describe('every other DOCTYPE: refused', () => {
  it('any DOCTYPE without the opt-in (an envelope, any other document), even the Segnatura one', () => {
    const err = refusal(() => parseUntrustedXml(withDoctype('<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">')));
    expect(err.message).toMatch(/a DOCTYPE is not accepted \(line 2/);
  });

  it('the 2001 Segnatura line in front of a SOAP envelope, as bytes or text: EGOV_IT_001', () => {
    const envelope = withDoctype(
      '<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">',
      '<SOAP_ENV:Envelope xmlns:SOAP_ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP_ENV:Header/><SOAP_ENV:Body/></SOAP_ENV:Envelope>',
    );
    expect(refusal(() => readEnvelope(envelope)).message).toMatch(/a DOCTYPE is not accepted/);
    expect(refusal(() => readEnvelope(Buffer.from(envelope))).message).toMatch(/a DOCTYPE is not accepted/);
  });

  it('an internal subset, even an empty one', () => {
    expect(refusedWithOptIn(withDoctype('<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd" []>')).message).toMatch(/internal subset/);
  });

  it('an ENTITY declaration (entity expansion)', () => {
    const bomb = withDoctype(
      '<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd" [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
      '<Segnatura>&b;</Segnatura>',
    );
    expect(refusedWithOptIn(bomb).message).toMatch(/internal subset \(entity or other declarations\)/);
  });

  it('an external parameter entity (XXE) in the internal subset', () => {
    const xxe = withDoctype('<!DOCTYPE Segnatura [<!ENTITY % x SYSTEM "file:///etc/passwd"> %x;]>');
    expect(refusedWithOptIn(xxe).message).toMatch(/internal subset/);
  });

  it('another DTD, or a file that only resembles the name', () => {
    expect(refusedWithOptIn(withDoctype('<!DOCTYPE Segnatura SYSTEM "Fattura.dtd">')).message).toMatch(
      /the DTD "Fattura.dtd" is not accepted; only Segnatura.dtd/,
    );
    expect(refusedWithOptIn(withDoctype('<!DOCTYPE Segnatura SYSTEM "file:///etc/passwd">')).message).toMatch(/is not accepted/);
    expect(refusedWithOptIn(withDoctype('<!DOCTYPE Segnatura SYSTEM "NotSegnatura.dtd">')).message).toMatch(/is not accepted/);
  });

  it('a PUBLIC identifier that names another DTD', () => {
    expect(refusedWithOptIn(withDoctype('<!DOCTYPE Segnatura PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "Segnatura.dtd">')).message).toMatch(
      /public identifier/,
    );
  });

  it('a DOCTYPE with no external identifier', () => {
    expect(refusedWithOptIn(withDoctype('<!DOCTYPE Segnatura>')).message).toMatch(
      /accepted only as <!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">/,
    );
  });

  it('a DOCTYPE for a root the DTD does not define', () => {
    expect(refusedWithOptIn(withDoctype('<!DOCTYPE Fattura SYSTEM "Segnatura.dtd">', '<Fattura/>')).message).toMatch(
      /for the element Fattura is not accepted/,
    );
  });

  it('a DOCTYPE naming another root than the document has', () => {
    expect(refusedWithOptIn(withDoctype('<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">', '<ConfermaRicezione/>')).message).toMatch(
      /names Segnatura but the root element is ConfermaRicezione/,
    );
  });

  it('a DOCTYPE in front of a namespaced root (the 2013 and 2021 forms never had one)', () => {
    const namespaced = withDoctype(
      '<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">',
      '<Segnatura xmlns="http://www.digitPa.gov.it/protocollo/"/>',
    );
    expect(refusedWithOptIn(namespaced).message).toMatch(/root element is \{http:\/\/www.digitPa.gov.it\/protocollo\/\}Segnatura/);
  });

  it('two DOCTYPEs (a well-formedness error)', () => {
    const twice = withDoctype('<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">\n<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">');
    expect(() => parseUntrustedXml(twice, DEFAULT_XML_LIMITS, { acceptDoctype: SEGNATURA_DTD })).toThrow(
      /EGOV_IT_001 - XML not well formed: .*inappropriately located doctype/,
    );
  });
});
