/**
 * XSD validation of the project's own INA-SAIA documents with libxml2's validator, compiled once and
 * kept warm (the SDK's XsdSchema), against schemas/ina-saia/ina-saia-comunicazione.xsd, found at run
 * time from the package root so the same code works from sources (vitest) and compiled (dist/).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../sdk/shipped-files.js';
import { lazyXsdSchema, type XsdViolation } from '../sdk/xml-schema/xsd-schema.js';

export type SchemaValidation = { readonly valid: true } | { readonly valid: false; readonly errors: readonly string[] };

/** Under schemas/: the project's own schema (see the comment at its top). */
export const INA_SCHEMA_PATH = 'ina-saia/ina-saia-comunicazione.xsd';
export const INA_NS = 'urn:tramite:ina-saia:1';

const inaSchema = lazyXsdSchema(async () => ({
  name: INA_SCHEMA_PATH,
  main: 'ina-saia-comunicazione.xsd',
  files: { 'ina-saia-comunicazione.xsd': await readFile(join(packageRoot(), 'schemas', INA_SCHEMA_PATH), 'utf8') },
}));

/** Validates a Comunicazione or an Esito. The caller parses with the hardened parser first: libxml2 must never see a DOCTYPE. */
export async function validateInaSchema(xml: string): Promise<SchemaValidation> {
  const result = (await inaSchema()).validate(xml);
  return result.valid ? { valid: true } : { valid: false, errors: result.violations.map(describeViolation) };
}

function describeViolation(v: XsdViolation): string {
  const message = v.message.replace(new RegExp(`\\{${INA_NS.replace(/[.:]/g, '\\$&')}\\}`, 'g'), '');
  return v.line !== undefined ? `line ${v.line}: ${message}` : message;
}
