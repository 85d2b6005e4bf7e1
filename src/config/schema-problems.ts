import type { AnySchemaObject, ErrorObject } from 'ajv/dist/2020.js';
import { ConfigError } from '../core/errors.js';

/*
 * Turning JSON Schema (ajv) errors into refusals that name the field and the fix: shared by the node's
 * configuration and by each adapter's options, which are validated against the adapter's own schema.
 */

export interface Problem {
  readonly path: string;
  readonly what: string;
  readonly fix: string;
  /** For an unknown property: the path of the known property it most likely misspells. */
  readonly meant?: string;
}

/**
 * One ajv error as a problem a person can act on: the field (`parties[0].code`, under `prefix` when the
 * schema checks a part of a larger document), what is wrong, and the fix.
 */
export function schemaProblem(e: ErrorObject, prefix = ''): Problem {
  const inner = pointerToPath(e.instancePath);
  const at = !prefix ? inner : !inner ? prefix : inner.startsWith('[') ? `${prefix}${inner}` : `${prefix}.${inner}`;
  const parent = (e.parentSchema ?? {}) as AnySchemaObject;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const name = String(params['missingProperty']);
      const prop = (parent['properties'] as Record<string, AnySchemaObject> | undefined)?.[name];
      return {
        path: joinPath(at, name),
        what: 'is missing',
        fix: `add "${name}"${exampleOf(prop) ?? ''}${prop?.['description'] ? ` (${prop['description']})` : ''}`,
      };
    }
    case 'additionalProperties': {
      const name = String(params['additionalProperty']);
      // Properties the schema declares only to refuse them (`"not": {}`) are no one's suggestion.
      const properties = (parent['properties'] as Record<string, AnySchemaObject | boolean> | undefined) ?? {};
      const allowed = Object.keys(properties).filter((k) => !(typeof properties[k] === 'object' && 'not' in (properties[k] as object)));
      const guess = closest(name, allowed);
      return {
        path: joinPath(at, name),
        what: 'is not a known property',
        fix: `${guess ? `did you mean "${guess}"? ` : ''}remove it or use one of: ${allowed.join(', ')}`,
        ...(guess ? { meant: joinPath(at, guess) } : {}),
      };
    }
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v));
      const guess = typeof e.data === 'string' ? closest(e.data, (params['allowedValues'] as unknown[]).map(String)) : undefined;
      return {
        path: at,
        what: `${show(e.data)} is not an allowed value`,
        fix: `${guess ? `did you mean "${guess}"? ` : ''}use one of ${allowed.join(', ')}`,
      };
    }
    case 'pattern':
      return {
        path: at,
        what: `${show(e.data)} does not have the expected form ${String(params['pattern'])}`,
        fix: `write it${exampleOf(parent, 'like') ?? ' to match that pattern'}${parent['description'] ? ` (${parent['description']})` : ''}`,
      };
    case 'format':
      return {
        path: at,
        what: `${show(e.data)} is not a valid ${String(params['format'])}`,
        fix:
          params['format'] === 'date-time'
            ? `write an ISO 8601 instant with its time zone${exampleOf(parent, 'like') ?? ' like "2026-12-07T00:00:00Z"'}`
            : `write an absolute http(s) URL${exampleOf(parent, 'like') ?? ''}`,
      };
    case 'dependencies':
    case 'dependentRequired': {
      // A property that means something only with another (draft-07 `dependencies`, 2020-12 `dependentRequired`).
      const name = String(params['missingProperty']);
      return {
        path: joinPath(at, name),
        what: `is missing: ${String(params['property'])} is given, and means nothing without it`,
        fix: `add "${name}", or remove "${String(params['property'])}"`,
      };
    }
    case 'type':
      return {
        path: at,
        what: `must be ${article(String(params['type']))}, not ${jsonType(e.data)}`,
        fix: `write ${article(String(params['type']))}${exampleOf(parent) ?? ''}`,
      };
    case 'minimum':
    case 'maximum':
      return { path: at, what: `${show(e.data)} is out of range`, fix: `use a number ${rangeOf(parent)}` };
    case 'minItems':
      return {
        path: at,
        what: `must list at least ${String(params['limit'])} item${params['limit'] === 1 ? '' : 's'}`,
        fix: `list ${params['limit'] === 1 ? 'one' : String(params['limit'])}${exampleOf(parent) ?? ''}${parent['description'] ? ` (${parent['description']})` : ''}`,
      };
    case 'minLength':
      return { path: at, what: 'must not be empty', fix: `write a value${exampleOf(parent) ?? ''}` };
    case 'uniqueItems':
      return {
        path: at,
        what: `items ${String(params['j'])} and ${String(params['i'])} are the same`,
        fix: 'remove the duplicate',
      };
    case 'not': {
      // A property the schema refuses on purpose (`"not": {}`): its description says why, its $comment the fix.
      const why = String(parent['description'] ?? 'not allowed here');
      return { path: at, what: why.charAt(0).toLowerCase() + why.slice(1), fix: String(parent['$comment'] ?? 'remove it') };
    }
    default:
      return { path: at, what: e.message ?? `fails "${e.keyword}"`, fix: 'see the description in the schema' };
  }
}

/** The schema's first example as a phrase to append: `, e.g. "x"` or ` like "x"`. */
function exampleOf(schema: AnySchemaObject | undefined, style: 'e.g.' | 'like' = 'e.g.'): string | undefined {
  const examples = schema?.['examples'] as unknown[] | undefined;
  if (!examples || examples.length === 0) return undefined;
  const example = JSON.stringify(examples[0]);
  return style === 'like' ? ` like ${example}` : `, e.g. ${example}`;
}

function rangeOf(schema: AnySchemaObject): string {
  const min = schema['minimum'] as number | undefined;
  const max = schema['maximum'] as number | undefined;
  if (min !== undefined && max !== undefined) return `from ${min} to ${max}`;
  return min !== undefined ? `of at least ${min}` : `of at most ${String(max)}`;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value === 'string' ? `the string ${show(value)}` : article(typeof value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `/parties/0/certFile` → `parties[0].certFile`, the way a reader points at a field. */
function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(joinPath, '');
}

function joinPath(path: string, segment: string): string {
  if (/^\d+$/.test(segment)) return `${path}[${segment}]`;
  const key = /^[A-Za-z_$][\w$]*$/.test(segment) ? segment : JSON.stringify(segment);
  return path ? (key.startsWith('"') ? `${path}[${key}]` : `${path}.${key}`) : key;
}

/** The candidate a typo most likely meant: same letters ignoring case, or at most two edits away. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = candidate.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/** All problems as one ConfigError, one line per field: `config <field>: <what> — fix: <fix>`. */
export function invalidConfig(configPath: string | undefined, problems: readonly Problem[]): ConfigError {
  // One problem per field: a bad value often fails several keywords (pattern and format) at once, and
  // a misspelt required property is reported once, as the misspelling, not also as missing.
  const misspelt = new Set(problems.flatMap((p) => (p.meant ? [p.meant] : [])));
  const byPath = new Map<string, Problem>();
  for (const p of problems) if (!byPath.has(p.path) && !misspelt.has(p.path)) byPath.set(p.path, p);
  const lines = [...byPath.values()].map((p) => `config ${p.path || '(top level)'}: ${p.what} — fix: ${p.fix}`);
  const source = configPath ?? 'the configuration';
  return new ConfigError(
    'TRAMITE_ERR_CONFIG_INVALID',
    `${source} is invalid (${lines.length} problem${lines.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    { field: byPath.values().next().value?.path },
  );
}
