/**
 * XML Schema (XSD 1.0) validation with libxml2's validator (libxml2-wasm), the schema compiled once and
 * kept warm: a validation costs a parse and a walk (well under a millisecond for a Segnatura), not a
 * fresh wasm instance and a schema compilation per document.
 *
 * A schema set is the main XSD plus the files it imports or includes, given as text under their paths
 * relative to the main file; libxml2 reads them from memory (a virtual folder of this module), never from
 * the file system or the network. Instances are parsed with libxml2's defaults (no entity substitution,
 * no DTD loading) plus NONET; callers still run the hardened parser first, so libxml2 never sees a DOCTYPE.
 *
 * Validation is synchronous, on the caller's thread: it is linear in the document, and the documents
 * reaching it are bounded by the hardened parser's limits.
 */
import {
  ParseOption,
  XmlBufferInputProvider,
  XmlDocument,
  XmlLibError,
  XmlValidateError,
  XsdValidator,
  xmlRegisterInputProvider,
  type ErrorDetail,
} from 'libxml2-wasm';
import { TramiteError } from '../../../src/core/errors.js';

/** The texts of a schema set: `main` and every file it imports, by path relative to `main`'s folder. */
export interface XsdSchemaSource {
  /** Names the schema in errors and logs (e.g. "segnatura_protocollo.xsd"). */
  readonly name: string;
  /** Path of the main schema, a key of `files`. */
  readonly main: string;
  readonly files: Readonly<Record<string, string>>;
}

/** One violation, as libxml2 reports it: the instance line and the message (namespaces as `{uri}name`). */
export interface XsdViolation {
  readonly line?: number;
  readonly message: string;
}

export type XsdValidation = { readonly valid: true } | { readonly valid: false; readonly violations: readonly XsdViolation[] };

/** The virtual folder libxml2 resolves schema imports in; nothing else is ever served from it. */
const VIRTUAL_ROOT = '/tramite-xsd';
const encoder = new TextEncoder();
let provider: XmlBufferInputProvider | undefined;
let compiledSets = 0;

/** Instances: libxml2's safe defaults, and no network even if a future default allowed it. */
const INSTANCE_PARSE = { option: ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE };

export class XsdSchema {
  private constructor(
    readonly name: string,
    private readonly validator: XsdValidator,
  ) {}

  /**
   * Compiles a schema set. Throws TRAMITE_ERR_INTERNAL when the schema itself is broken (a shipped file
   * edited by hand, an import that is not in `files`): that is a bug, never the fault of a document.
   */
  static compile(source: XsdSchemaSource): XsdSchema {
    const mainText = source.files[source.main];
    if (mainText === undefined) throw new TramiteError('TRAMITE_ERR_INTERNAL', `${source.name}: ${source.main} is not among its files`);
    const folder = `${VIRTUAL_ROOT}/${++compiledSets}`;
    const files = inputProvider();
    const paths = Object.keys(source.files).map((path) => `${folder}/${path.replace(/^\.\//, '')}`);
    Object.values(source.files).forEach((text, i) => files.addBuffer(paths[i]!, encoder.encode(text)));
    let doc: XmlDocument | undefined;
    try {
      // libxml2 reads the imports while it compiles, and never again: the buffers go right after.
      doc = XmlDocument.fromString(mainText, { url: `${folder}/${source.main}`, option: ParseOption.XML_PARSE_NONET });
      return new XsdSchema(source.name, XsdValidator.fromDoc(doc));
    } catch (err) {
      throw new TramiteError('TRAMITE_ERR_INTERNAL', `${source.name} does not compile as an XML Schema: ${describeLibError(err)}`);
    } finally {
      doc?.dispose();
      for (const path of paths) files.removeBuffer(path);
    }
  }

  /** Validates a whole document given as text (its declaration, if any, must name the text's encoding: use UTF-8). */
  validate(xml: string): XsdValidation {
    let doc: XmlDocument;
    try {
      doc = XmlDocument.fromString(xml, INSTANCE_PARSE);
    } catch (err) {
      return { valid: false, violations: violationsOf(err) };
    }
    try {
      this.validator.validate(doc);
      return { valid: true };
    } catch (err) {
      if (err instanceof XmlValidateError) return { valid: false, violations: violationsOf(err) };
      throw new TramiteError('TRAMITE_ERR_INTERNAL', `${this.name}: the validator failed: ${describeLibError(err)}`);
    } finally {
      doc.dispose();
    }
  }
}

/**
 * A schema compiled on first use and then kept: `get()` reads the texts (once; a failed read is tried
 * again by the next call) and compiles them.
 */
export function lazyXsdSchema(load: () => Promise<XsdSchemaSource>): () => Promise<XsdSchema> {
  let compiling: Promise<XsdSchema> | undefined;
  return () => {
    compiling ??= load().then((source) => XsdSchema.compile(source));
    compiling.catch(() => {
      compiling = undefined;
    });
    return compiling;
  };
}

/** libxml2's input callbacks are process-wide: one provider serves every schema set's virtual folder. */
function inputProvider(): XmlBufferInputProvider {
  if (!provider) {
    provider = new XmlBufferInputProvider({});
    if (!xmlRegisterInputProvider(provider)) throw new TramiteError('TRAMITE_ERR_INTERNAL', 'cannot register the XSD input provider');
  }
  return provider;
}

function violationsOf(err: unknown): XsdViolation[] {
  const details: ErrorDetail[] = err instanceof XmlLibError ? err.details : [];
  if (details.length === 0) return [{ message: describeLibError(err) }];
  return details.map((d) => ({ ...(d.line > 0 ? { line: d.line } : {}), message: d.message.trim() }));
}

function describeLibError(err: unknown): string {
  if (err instanceof XmlLibError && err.details.length > 0) return err.details.map((d) => `line ${d.line}: ${d.message.trim()}`).join('; ');
  return err instanceof Error ? err.message : String(err);
}
