/**
 * XSD validation of the project's own INA-SAIA documents with libxml2's validator (xmllint-wasm),
 * against schemas/ina-saia/ina-saia-comunicazione.xsd, found at run time from the package root so
 * the same code works from sources (vitest) and compiled (dist/). The schema text is read once per
 * process (xmllint-wasm compiles it afresh in a worker for each validation, so the text is what can
 * be cached).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateXML, type XMLValidationError } from 'xmllint-wasm';

export type SchemaValidation = { readonly valid: true } | { readonly valid: false; readonly errors: readonly string[] };

/** Under schemas/: the project's own schema (see the comment at its top). */
export const INA_SCHEMA_PATH = 'ina-saia/ina-saia-comunicazione.xsd';
export const INA_NS = 'urn:tramite:ina-saia:1';

let loading: Promise<string> | undefined;

/** Validates a Comunicazione or an Esito. The caller parses with the hardened parser first: xmllint must never see a DOCTYPE. */
export async function validateInaSchema(xml: string): Promise<SchemaValidation> {
  const schema = await loadSchema();
  const result = await validateXML({ xml: [{ fileName: 'ina.xml', contents: xml }], schema: [{ fileName: INA_SCHEMA_PATH, contents: schema }] });
  return result.valid ? { valid: true } : { valid: false, errors: result.errors.map(describeError) };
}

function describeError(e: XMLValidationError): string {
  const message = e.message.replace(/^.*?Schemas validity error : /, '').replace(new RegExp(`\\{${INA_NS.replace(/[.:]/g, '\\$&')}\\}`, 'g'), '');
  return e.loc ? `line ${e.loc.lineNumber}: ${message.trim()}` : message.trim();
}

function loadSchema(): Promise<string> {
  loading ??= readFile(join(packageRoot(), 'schemas', INA_SCHEMA_PATH), 'utf8');
  loading.catch(() => {
    loading = undefined; // a failed read is retried by the next call
  });
  return loading;
}

/** The folder of Tramite's package.json, walking up from this module (src or dist alike). */
function packageRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tramite') return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the tramite package root above ${start}`);
  }
}
