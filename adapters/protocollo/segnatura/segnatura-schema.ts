/**
 * XSD validation of protocollo documents with a real schema validator (libxml2's, compiled once and kept
 * warm: see the SDK's XsdSchema) against the official AgID schemas shipped in schemas/protocollo/ —
 * byte-identical copies, found at run time from the package root, so the same code works from sources
 * (vitest) and compiled (dist/).
 *
 * The schema is chosen by the root element's namespace:
 *   2021 SegnaturaInformatica (prot)         → segnatura_protocollo.xsd (+ xmldsig-core-schema.xsd)
 *   2021 pec elements (SegnaturaInformatica,
 *        ConfermaRicezione, NotificaEccezione…) → pec_message.xsd (+ the two above)
 *   2013 (digitPa)                           → previous_schemas/segnatura_circolare_60_2013.xsd
 * The 2001 form has no XML Schema (it was defined by a DTD, which the bus never reads): it is
 * reported as not validatable, and a caller that accepts it relies on readSegnatura's checks alone.
 *
 * Callers map `{ valid: false }` to 000_Irricevibile; the errors carry line numbers and element names.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../sdk/shipped-files.js';
import { withUtf8Declaration } from '../../sdk/xml-security.js';
import { lazyXsdSchema, type XsdSchema, type XsdViolation } from '../../sdk/xml-schema/xsd-schema.js';
import { ProtocolloError, TramiteError } from '../../../src/core/errors.js';
import { PROTOCOLLO_NS, describeElement, parseProtocolloXml } from './segnatura-reader.js';

export type SchemaValidation = { valid: true } | { valid: false; errors: string[] };

/** The official files, by their path under schemas/protocollo/ (imports resolve against these paths). */
const SCHEMA_FILES = {
  segnatura: 'segnatura_protocollo.xsd',
  pec: 'pec_message.xsd',
  xmldsig: 'import_schemas/xmldsig-core-schema.xsd',
  circolare2013: 'previous_schemas/segnatura_circolare_60_2013.xsd',
} as const;

type SchemaFile = keyof typeof SCHEMA_FILES;

/** Main schema first, then what it imports (libxml2 reads imports only from the texts given with the set). */
const SCHEMA_SETS: Record<string, readonly SchemaFile[]> = {
  [PROTOCOLLO_NS.segnatura]: ['segnatura', 'xmldsig'],
  [PROTOCOLLO_NS.pec]: ['pec', 'segnatura', 'xmldsig'],
  [PROTOCOLLO_NS.circolare2013]: ['circolare2013'],
};

const SEGNATURA_ROOTS = new Set([
  `{${PROTOCOLLO_NS.segnatura}}SegnaturaInformatica`,
  `{${PROTOCOLLO_NS.pec}}SegnaturaInformatica`,
  `{${PROTOCOLLO_NS.circolare2013}}Segnatura`,
]);

const MESSAGE_ROOTS = new Set(
  [PROTOCOLLO_NS.pec, PROTOCOLLO_NS.circolare2013].flatMap((ns) =>
    ['ConfermaRicezione', 'AggiornamentoConferma', 'NotificaEccezione', 'AnnullamentoProtocollazione'].map((name) => `{${ns}}${name}`),
  ),
);

/** Prefixes for the namespaces in libxml2's `{uri}Name` notation, so errors read like the documents. */
const PREFIXES: Record<string, string> = {
  [PROTOCOLLO_NS.segnatura]: 'prot',
  [PROTOCOLLO_NS.pec]: 'pec',
  [PROTOCOLLO_NS.circolare2013]: '',
  'http://www.w3.org/2000/09/xmldsig#': 'ds',
};

/** Validates a Segnatura (2021 form in either namespace, or 2013 form); bytes are decoded by their declared encoding. */
export function validateSegnaturaSchema(xml: string | Uint8Array): Promise<SchemaValidation> {
  return validateRoot(xml, SEGNATURA_ROOTS, 'a Segnatura (SegnaturaInformatica, or the 2013 Segnatura)');
}

/** Validates ConfermaRicezione, AggiornamentoConferma, NotificaEccezione or AnnullamentoProtocollazione. */
export function validateProtocolloMessageSchema(xml: string | Uint8Array): Promise<SchemaValidation> {
  return validateRoot(xml, MESSAGE_ROOTS, 'ConfermaRicezione, AggiornamentoConferma, NotificaEccezione or AnnullamentoProtocollazione');
}

async function validateRoot(xml: string | Uint8Array, accepted: ReadonlySet<string>, expected: string): Promise<SchemaValidation> {
  // The hardened parse runs first: libxml2 never sees a DOCTYPE (the 2001 one is tolerated, but the 2001
  // form is never validated here), the root tells which schema applies, and libxml2 gets the decoded
  // text — its declaration saying UTF-8 — so a windows-1252 document is not left to libxml2's encodings.
  let root: Element;
  let text: string;
  try {
    ({ root, text } = parseProtocolloXml(xml, 'document'));
  } catch (err) {
    if (err instanceof ProtocolloError) return { valid: false, errors: [err.message] };
    throw err;
  }
  const ns = root.namespaceURI ?? '';
  const key = `{${ns}}${root.localName}`;
  if (!accepted.has(key)) {
    const why = ns === '' ? ' — the 2001 form (no namespace) has no XML Schema to validate against' : '';
    return { valid: false, errors: [`line 1: the root element is ${describeElement(root)}, expected ${expected}${why}`] };
  }
  const schema = await schemaFor(ns);
  const result = schema.validate(withUtf8Declaration(text));
  return result.valid ? { valid: true } : { valid: false, errors: result.violations.map(describeViolation) };
}

function describeViolation(v: XsdViolation): string {
  const message = v.message.replace(/\{([^}]*)\}(?=\w)/g, (whole, uri: string) => {
    const prefix = PREFIXES[uri];
    return prefix === undefined ? whole : prefix ? `${prefix}:` : '';
  });
  return v.line !== undefined ? `line ${v.line}: ${message}` : message;
}

// ---------------------------------------------------------------------------------------------------
// Loading, once per process

/**
 * The official CAPType is `[0-9]{6}`, but an Italian postal code (CAP) has five digits: as published,
 * the 2021 schema refuses every real postal address. The shipped file stays byte-identical to AgID's, and
 * the pattern is corrected here, in memory, inside CAPType only (CodiceISTATComune6Type shares the
 * six-digit pattern and is right). If AgID fixes or reshapes CAPType, loading fails loudly so the patch is
 * reviewed rather than silently skipped.
 */
export function patchCapType(xsd: string): string {
  const capPattern = /(<xs:simpleType\s+name="CAPType"(?:(?!<\/xs:simpleType>)[\s\S])*?<xs:pattern\s+value=")\[0-9\]\{6\}("\s*\/>)/;
  if (!capPattern.test(xsd)) {
    throw new TramiteError(
      'TRAMITE_ERR_INTERNAL',
      `${SCHEMA_FILES.segnatura}: CAPType no longer has the pattern [0-9]{6}; review the CAP patch in segnatura-schema.ts`,
    );
  }
  return xsd.replace(capPattern, '$1[0-9]{5}$2');
}

/** One compiled schema set per namespace, compiled on first use and kept for the life of the process. */
const compiledSets = new Map<string, () => Promise<XsdSchema>>(
  Object.entries(SCHEMA_SETS).map(([ns, set]) => [
    ns,
    lazyXsdSchema(async () => {
      const [main, ...imports] = set.map((file) => SCHEMA_FILES[file]);
      const texts = await schemaTexts();
      // Paths relative to schemas/protocollo/, the folder the schemaLocations are written against.
      return { name: main!, main: main!, files: Object.fromEntries([main!, ...imports].map((path) => [path, texts(path)])) };
    }),
  ]),
);

function schemaFor(ns: string): Promise<XsdSchema> {
  const compiled = compiledSets.get(ns);
  if (!compiled) throw new TramiteError('TRAMITE_ERR_INTERNAL', `no schema configured for namespace ${ns}`);
  return compiled();
}

let reading: Promise<(path: string) => string> | undefined;

/** The schema texts, read and patched once. */
function schemaTexts(): Promise<(path: string) => string> {
  reading ??= (async () => {
    const dir = join(packageRoot(), 'schemas', 'protocollo');
    const entries = await Promise.all(
      Object.values(SCHEMA_FILES).map(async (path) => {
        const text = await readFile(join(dir, path), 'utf8');
        return [path, path === SCHEMA_FILES.segnatura ? patchCapType(text) : text] as const;
      }),
    );
    const byPath = new Map<string, string>(entries);
    return (path: string): string => {
      const contents = byPath.get(path);
      if (contents === undefined) throw new TramiteError('TRAMITE_ERR_INTERNAL', `schema ${path} is not loaded`);
      return contents;
    };
  })();
  reading.catch(() => {
    reading = undefined; // a failed read (e.g. a missing file) is retried by the next call
  });
  return reading;
}
