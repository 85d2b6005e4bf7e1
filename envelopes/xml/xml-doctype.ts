/**
 * The one kind of DOCTYPE a caller of the hardened parser may opt into: a declaration that only names a
 * known DTD by its external identifier — `<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">` — with no
 * internal subset. Such a line asks for nothing: the DTD is never resolved (neither saxes nor xmldom
 * fetches or reads an external identifier, and nothing here passes it on), and without an internal
 * subset there is no entity to declare, so none can be expanded. Everything else about a DOCTYPE stays
 * refused.
 */

/** A DTD a caller knows its documents may name, and the root elements it defines. */
export interface KnownExternalDtd {
  /** Root element names the DTD defines; the DOCTYPE must name the document's root, which has no namespace. */
  readonly roots: readonly string[];
  /**
   * The DTD's file name, e.g. `Segnatura.dtd`: the system identifier must be that name, alone or at the
   * end of a path or URL, compared case-insensitively (senders write `segnatura.dtd` too). With the
   * PUBLIC form the public identifier must mention the name without `.dtd`.
   */
  readonly systemFile: string;
}

/** A DOCTYPE accepted under a KnownExternalDtd: the root element it names. */
export interface AcceptedDoctype {
  readonly rootName: string;
}

const NAME = '[A-Za-z_][A-Za-z0-9._-]*';
const QUOTED = `"[^"]*"|'[^']*'`;
/** saxes hands over what lies between `<!DOCTYPE` and the closing `>`: name, external id, nothing more. */
const EXTERNAL_ONLY = new RegExp(`^\\s+(${NAME})\\s+(?:SYSTEM\\s+(${QUOTED})|PUBLIC\\s+(${QUOTED})\\s+(${QUOTED}))\\s*$`);
/** XML 1.0 PubidChar, without the quote that delimits the literal. */
const PUBID_CHARS = /^[ \r\na-zA-Z0-9\-'()+,./:=?;!*#@$_%]*$/;

/**
 * Checks the text saxes reports for a DOCTYPE (after `<!DOCTYPE`, up to `>`) against what the caller
 * accepts. Returns the root name it declares, or why it is refused.
 */
export function checkDoctype(declaration: string, accepted: KnownExternalDtd | undefined): AcceptedDoctype | { refused: string } {
  if (!accepted) return { refused: 'a DOCTYPE is not accepted' };
  if (declaration.includes('[')) return { refused: 'a DOCTYPE with an internal subset (entity or other declarations) is not accepted' };
  const m = EXTERNAL_ONLY.exec(declaration);
  if (!m)
    return {
      refused: `a DOCTYPE is accepted only as <!DOCTYPE ${accepted.roots[0] ?? 'root'} SYSTEM "${accepted.systemFile}"> (or its PUBLIC form)`,
    };
  const [, rootName, system1, publicId, system2] = m;
  const system = unquote((system1 ?? system2)!);
  if (!namesFile(system, accepted.systemFile))
    return { refused: `a DOCTYPE naming the DTD "${system}" is not accepted; only ${accepted.systemFile}` };
  if (publicId !== undefined) {
    const pub = unquote(publicId);
    const base = accepted.systemFile.replace(/\.dtd$/i, '').toLowerCase();
    if (!PUBID_CHARS.test(pub) || !pub.toLowerCase().includes(base))
      return { refused: `a DOCTYPE with the public identifier "${pub}" is not accepted` };
  }
  if (!accepted.roots.includes(rootName!))
    return {
      refused: `a DOCTYPE for the element ${rootName} is not accepted; ${accepted.systemFile} defines ${accepted.roots.join(', ')}`,
    };
  return { rootName: rootName! };
}

function unquote(literal: string): string {
  return literal.slice(1, -1);
}

function namesFile(system: string, file: string): boolean {
  if (/\s/.test(system)) return false;
  const name = system.slice(system.lastIndexOf('/') + 1);
  return name.toLowerCase() === file.toLowerCase();
}
