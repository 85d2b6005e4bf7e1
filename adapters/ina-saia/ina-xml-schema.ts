/**
 * XSD validation of the project's own INA-SAIA documents with libxml2's validator (xmllint-wasm),
 * against schemas/ina-saia/ina-saia-comunicazione.xsd, found at run time from the package root so
 * the same code works from sources (vitest) and compiled (dist/). The schema text is read once per
 * process (xmllint-wasm compiles it afresh in a worker for each validation, so the text is what can
 * be cached).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../sdk/shipped-files.js';
import { validateXML, type XMLValidationError } from 'xmllint-wasm';

export type SchemaValidation = { readonly valid: true } | { readonly valid: false; readonly errors: readonly string[] };

/** Under schemas/: the project's own schema (see the comment at its top). */
export const INA_SCHEMA_PATH = 'ina-saia/ina-saia-comunicazione.xsd';
export const INA_NS = 'urn:tramite:ina-saia:1';

let loading: Promise<string> | undefined;

/** Validates a Comunicazione or an Esito. The caller parses with the hardened parser first: xmllint must never see a DOCTYPE. */
export async function validateInaSchema(xml: string): Promise<SchemaValidation> {
  const schema = await loadSchema();
  const result = await validateXML({
    xml: [{ fileName: 'ina.xml', contents: xml }],
    schema: [{ fileName: INA_SCHEMA_PATH, contents: schema }],
  });
  return result.valid ? { valid: true } : { valid: false, errors: result.errors.map(describeError) };
}

function describeError(e: XMLValidationError): string {
  const message = e.message
    .replace(/^.*?Schemas validity error : /, '')
    .replace(new RegExp(`\\{${INA_NS.replace(/[.:]/g, '\\$&')}\\}`, 'g'), '');
  return e.loc ? `line ${e.loc.lineNumber}: ${message.trim()}` : message.trim();
}

function loadSchema(): Promise<string> {
  loading ??= readFile(join(packageRoot(), 'schemas', INA_SCHEMA_PATH), 'utf8');
  loading.catch(() => {
    loading = undefined; // a failed read is retried by the next call
  });
  return loading;
}
