import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { XsdSchema, lazyXsdSchema, type XsdSchemaSource } from '../../../adapters/sdk/index.js';

const ORDER_NS = 'urn:test:order';
const ADDRESS_NS = 'urn:test:address';

/** A main schema in one namespace that imports a second one from a subfolder, as the AgID schemas do. */
const ADDRESS_XSD = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="${ADDRESS_NS}" elementFormDefault="qualified">
  <xs:element name="CAP"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="[0-9]{5}"/></xs:restriction></xs:simpleType></xs:element>
</xs:schema>`;

const orderXsd = (addressLocation: string) => `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:a="${ADDRESS_NS}" targetNamespace="${ORDER_NS}" elementFormDefault="qualified">
  <xs:import namespace="${ADDRESS_NS}" schemaLocation="${addressLocation}"/>
  <xs:element name="Order">
    <xs:complexType><xs:sequence>
      <xs:element name="Item" type="xs:string" maxOccurs="3"/>
      <xs:element ref="a:CAP"/>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>`;

const SOURCE: XsdSchemaSource = {
  name: 'order.xsd',
  main: 'order.xsd',
  files: { 'order.xsd': orderXsd('imports/address.xsd'), 'imports/address.xsd': ADDRESS_XSD },
};

const order = (items: string[], cap: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<o:Order xmlns:o="${ORDER_NS}" xmlns:a="${ADDRESS_NS}">\n` +
  items.map((i) => `  <o:Item>${i}</o:Item>\n`).join('') +
  `  <a:CAP>${cap}</a:CAP>\n</o:Order>\n`;

describe('XsdSchema: a compiled XML Schema kept warm', () => {
  it('validates against a main schema and the import it reads from the given texts', () => {
    const schema = XsdSchema.compile(SOURCE);
    expect(schema.validate(order(['pane'], '00186'))).toEqual({ valid: true });
    // The same compiled schema, many documents: nothing is consumed by a validation.
    for (let i = 0; i < 50; i++) expect(schema.validate(order(['a', 'b'], String(10000 + i))).valid).toBe(true);
  });

  it('names each violation with its line, the element and what the schema expected', () => {
    const result = XsdSchema.compile(SOURCE).validate(order(['a', 'b', 'c', 'd'], '1234'));
    expect(result).toEqual({
      valid: false,
      violations: [
        {
          line: 6,
          message: expect.stringMatching(
            /Element '\{urn:test:order\}Item': This element is not expected\. Expected is \( \{urn:test:address\}CAP \)/,
          ),
        },
      ],
    });
    const cap = XsdSchema.compile(SOURCE).validate(order(['a'], '1234'));
    expect(cap).toEqual({
      valid: false,
      violations: [{ line: 4, message: expect.stringMatching(/\{urn:test:address\}CAP.*\[facet 'pattern'\] The value '1234'/) }],
    });
  });

  it('reports a document that is not well-formed as invalid, with its line, instead of throwing', () => {
    const result = XsdSchema.compile(SOURCE).validate(`<o:Order xmlns:o="${ORDER_NS}">\n<o:Item>x</o:Itm>\n</o:Order>`);
    expect(result.valid).toBe(false);
    expect(!result.valid && result.violations[0]).toMatchObject({ line: 2, message: expect.stringMatching(/mismatch/i) });
  });

  it('never reads an import from the file system: a schemaLocation outside the given texts fails the compilation', () => {
    // A real, valid schema file on disk, named by absolute path: a validator that read it would compile.
    const dir = mkdtempSync(join(tmpdir(), 'tramite-xsd-'));
    const onDisk = join(dir, 'address.xsd');
    writeFileSync(onDisk, ADDRESS_XSD);
    expect(() => XsdSchema.compile({ name: 'order.xsd', main: 'order.xsd', files: { 'order.xsd': orderXsd(onDisk) } })).toThrow(
      expect.objectContaining({
        code: 'TRAMITE_ERR_INTERNAL',
        message: expect.stringContaining(`Failed to locate a schema at location '${onDisk}'`),
      }),
    );
  });

  it('keeps two schema sets with the same file names apart', () => {
    const strict = XsdSchema.compile(SOURCE);
    const loose = XsdSchema.compile({
      ...SOURCE,
      files: { ...SOURCE.files, 'imports/address.xsd': ADDRESS_XSD.replace('[0-9]{5}', '[0-9]{4,6}') },
    });
    expect(strict.validate(order(['x'], '1234')).valid).toBe(false);
    expect(loose.validate(order(['x'], '1234')).valid).toBe(true);
    expect(strict.validate(order(['x'], '1234')).valid).toBe(false);
  });

  it('ignores a schema an instance names for itself (xsi:schemaLocation)', () => {
    const schema = XsdSchema.compile(SOURCE);
    const withLocation = order(['x'], '00186').replace(
      '<o:Order ',
      `<o:Order xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="${ORDER_NS} file:///etc/passwd" `,
    );
    expect(schema.validate(withLocation)).toEqual({ valid: true });
  });

  it('refuses a broken schema as an internal error (TRAMITE_ERR_INTERNAL), naming it', () => {
    expect(() => XsdSchema.compile({ name: 'broken.xsd', main: 'broken.xsd', files: { 'broken.xsd': '<xs:schema' } })).toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_INTERNAL', message: expect.stringContaining('broken.xsd') }),
    );
    expect(() => XsdSchema.compile({ name: 'missing', main: 'nowhere.xsd', files: {} })).toThrow(
      expect.objectContaining({ code: 'TRAMITE_ERR_INTERNAL' }),
    );
  });

  it('lazyXsdSchema compiles once, and tries again after a failed load', async () => {
    let loads = 0;
    let fail = true;
    const get = lazyXsdSchema(async () => {
      loads += 1;
      if (fail) throw new Error('disk not ready');
      return SOURCE;
    });
    await expect(get()).rejects.toThrow('disk not ready');
    fail = false;
    const first = await get();
    expect(await get()).toBe(first);
    expect(loads).toBe(2);
  });
});
