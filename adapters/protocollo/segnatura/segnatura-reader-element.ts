/**
 * How the protocollo vocabulary is spelled (namespaces, per form) and navigated: an ElementReader
 * carries an element with its path, so every refusal names where it happened. Look-ups go through the
 * SDK's strict sequence reader in its lenient mode: order and unknown elements are the XSD validator's
 * job (segnatura-schema.ts); what would make the reading ambiguous (a missing required element, a
 * repeated single one, both branches of a choice) is refused with 000_Irricevibile.
 */
import { ProtocolloError } from '../../../src/core/errors.js';
import { StrictSequenceReader } from '../../sdk/index.js';
import type { ProtocolloForm } from './segnatura-model.js';

export { describeElement } from '../../sdk/index.js';

/** Namespace URIs of the protocollo vocabulary (facts of the official schemas). */
export const PROTOCOLLO_NS = {
  /** segnatura_protocollo.xsd (2021): SegnaturaInformatica and every type it uses. */
  segnatura: 'http://www.agid.gov.it/protocollo/',
  /** pec_message.xsd (2021): ConfermaRicezione, NotificaEccezione, … and SegnaturaInformatica again. */
  pec: 'http://www.agid.gov.it/protocollo/pec/',
  /** messaggio_protocollo.xsd (2021): the SOAP MessaggioProtocollo (Segnatura + files). */
  messaggi: 'http://www.agid.gov.it/protocollo/messaggi/',
  /** Circolare 60/2013. Note the capital P: URIs compare exactly. */
  circolare2013: 'http://www.digitPa.gov.it/protocollo/',
} as const;

/** How a form spells its names: the namespace of its elements and of its attributes. */
export interface FormSyntax {
  readonly form: ProtocolloForm;
  /** Namespace of the content elements; null for the 2001 form. */
  readonly ns: string | null;
  /** 2021 qualifies attributes with the namespace of the schema declaring them; older forms do not. */
  readonly attributeNs: string | null;
}

export const SYNTAX_2021: FormSyntax = { form: '2021', ns: PROTOCOLLO_NS.segnatura, attributeNs: PROTOCOLLO_NS.segnatura };
export const SYNTAX_2013: FormSyntax = { form: '2013', ns: PROTOCOLLO_NS.circolare2013, attributeNs: null };
export const SYNTAX_2001: FormSyntax = { form: '2001', ns: null, attributeNs: null };

/** An element, its path from the root (for messages) and the syntax its children are read with. */
export class ElementReader {
  constructor(
    readonly el: Element,
    readonly path: string,
    readonly syntax: FormSyntax,
  ) {}

  /** The same element, its children read in another namespace (a pec element holding prot content). */
  withSyntax(syntax: FormSyntax): ElementReader {
    return new ElementReader(this.el, this.path, syntax);
  }

  many(name: string): ElementReader[] {
    return lookUp(this.syntax.form)
      .all(this.el, this.syntax.ns, name)
      .map((c) => new ElementReader(c, `${this.path}/${name}`, this.syntax));
  }

  optional(name: string): ElementReader | undefined {
    const found = lookUp(this.syntax.form).optional(this.el, this.path, this.syntax.ns, name);
    return found && new ElementReader(found, `${this.path}/${name}`, this.syntax);
  }

  one(name: string): ElementReader {
    const found = lookUp(this.syntax.form).one(this.el, this.path, this.syntax.ns, name);
    return new ElementReader(found, `${this.path}/${name}`, this.syntax);
  }

  /**
   * Which one of `names` (an xs:choice) is present; exactly one must be. The caller then reads it with
   * `one` or, for a repeatable alternative, `many`.
   */
  choice<N extends string>(names: readonly N[]): N {
    return lookUp(this.syntax.form).choice(this.el, this.path, this.syntax.ns, names);
  }

  /** Text content, trimmed. */
  text(): string {
    return (this.el.textContent ?? '').trim();
  }

  requiredText(name: string): string {
    return this.one(name).text();
  }

  optionalText(name: string): string | undefined {
    return this.optional(name)?.text();
  }

  /**
   * An attribute as this form spells it. In the 2021 form an attribute without its prefix is not the
   * attribute the schema declares; it is refused rather than ignored, since ignoring an unqualified
   * confermaRicezione="false" would silently apply the default (true).
   */
  attr(name: string): string | undefined {
    const ns = this.syntax.attributeNs;
    const value = findAttribute(this.el, ns, name);
    if (value === undefined && ns !== null && findAttribute(this.el, null, name) !== undefined) {
      throw this.refuse(
        `${this.path}/@${name} must be namespace-qualified (e.g. prot:${name}): the 2021 schema has attributeFormDefault="qualified"`,
        `${this.path}/@${name}`,
      );
    }
    return value;
  }

  requiredAttr(name: string): string {
    const value = this.attr(name);
    if (value === undefined) throw this.refuse(`${this.path}/@${name} is missing (required)`, `${this.path}/@${name}`);
    return value;
  }

  /** xs:boolean (`true`, `false`, `1`, `0`). */
  booleanText(): boolean {
    return parseXsBoolean(this.text(), this.path, this);
  }

  booleanAttr(name: string, fallback: boolean): boolean {
    const value = this.attr(name);
    return value === undefined ? fallback : parseXsBoolean(value, `${this.path}/@${name}`, this);
  }

  /** xs:integer, as a JavaScript number (the values in this vocabulary are small). */
  integerAttr(name: string): number | undefined {
    const value = this.attr(name)?.trim();
    if (value === undefined) return undefined;
    if (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw this.refuse(`${this.path}/@${name} is "${value}", not an integer`, `${this.path}/@${name}`);
    }
    return Number(value);
  }

  missing(name: string): ProtocolloError {
    return missingElement(this.syntax.form, this.path, name);
  }

  refuse(message: string, where: string): ProtocolloError {
    return irricevibile(this.syntax.form, message, where);
  }
}

/** Every refusal of the Segnatura reader: 000_Irricevibile, naming the form it was read as. */
function irricevibile(form: ProtocolloForm, message: string, where: string): ProtocolloError {
  return new ProtocolloError('000_Irricevibile', `${message} (${form} form)`, { where });
}

function missingElement(form: ProtocolloForm, path: string, name: string): ProtocolloError {
  return irricevibile(form, `required element ${path}/${name} is missing`, `${path}/${name}`);
}

/** The look-up refusals of one form, worded as ElementReader words its own. */
const LOOK_UPS = new Map<ProtocolloForm, StrictSequenceReader>();

function lookUp(form: ProtocolloForm): StrictSequenceReader {
  let reader = LOOK_UPS.get(form);
  if (!reader) {
    const refuse = (message: string, where: string): ProtocolloError => irricevibile(form, message, where);
    reader = new StrictSequenceReader((r) => {
      switch (r.kind) {
        case 'absent':
          return missingElement(form, r.path, r.names.join(' | '));
        case 'repeated':
          return refuse(`${r.path}/${r.name} appears ${r.count} times; the schema allows it once`, `${r.path}/${r.name}`);
        case 'ambiguous-choice':
          return refuse(`${r.path} holds both ${r.present.join(' and ')}; the schema allows one of ${r.names.join(', ')}`, r.path);
        default:
          return refuse(`${r.path} is malformed`, r.path);
      }
    });
    LOOK_UPS.set(form, reader);
  }
  return reader;
}

function findAttribute(el: Element, ns: string | null, name: string): string | undefined {
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i);
    if (a && (a.localName ?? a.name) === name && (a.namespaceURI || null) === ns && a.prefix !== 'xmlns') return a.value;
  }
  return undefined;
}

function parseXsBoolean(value: string, where: string, reader: ElementReader): boolean {
  const v = value.trim();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw reader.refuse(`${where} is "${v}", not a boolean (true, false, 1, 0)`, where);
}

export function mapOptional<T>(r: ElementReader | undefined, read: (r: ElementReader) => T): T | undefined {
  return r === undefined ? undefined : read(r);
}

export function requireSome(parent: ElementReader, name: string): ElementReader[] {
  const found = parent.many(name);
  if (found.length === 0) throw parent.missing(name);
  return found;
}
