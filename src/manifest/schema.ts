import type { FieldPath } from './types.js';

/**
 * A small declarative schema: it checks types and required fields, and tells which fields
 * Gouvernail acts on. Anything outside the schema is kept and reported as a warning.
 */
export type Schema =
  | { t: 'string'; check?: (v: string) => string | undefined; enum?: readonly string[]; /** never quoted in a message (it may hold a credential) */ quiet?: boolean }
  | { t: 'int'; min?: number; max?: number }
  | { t: 'number' }
  | { t: 'bool' }
  | { t: 'intOrString'; check?: (v: number | string) => string | undefined }
  | { t: 'quantity' }
  | { t: 'object'; fields: Record<string, Field>; open?: boolean; known?: readonly string[] }
  | { t: 'map'; values: Schema; keyCheck?: (k: string) => string | undefined }
  | { t: 'array'; items: Schema; mergeKey?: string }
  | { t: 'any' };

/** What `kubectl explain` shows for a field; kept beside the schema, not inside it. */
export const descriptions = new WeakMap<Schema, string>();

export function describe<S extends Schema>(schema: S, text: string): S {
  descriptions.set(schema, text);
  return schema;
}

export interface Field {
  schema: Schema;
  required?: boolean;
}

export interface Issue {
  path: FieldPath;
  message: string;
  warning?: boolean;
  /** A field Kubernetes does not define either (a typo): fieldValidation=Strict refuses it. */
  unknownField?: boolean;
}

export const str = (check?: (v: string) => string | undefined): Schema => ({ t: 'string', check });
/** A string whose value a message never quotes: a URL may carry a password. */
export const quietStr = (check: (v: string) => string | undefined): Schema => ({ t: 'string', check, quiet: true });
export const oneOf = (...values: string[]): Schema => ({ t: 'string', enum: values });
export const int = (min?: number, max?: number): Schema => ({ t: 'int', min, max });
export const bool: Schema = { t: 'bool' };
export const quantity: Schema = { t: 'quantity' };
export const any: Schema = { t: 'any' };
export const intOrString = (check?: (v: number | string) => string | undefined): Schema => ({ t: 'intOrString', check });
/** A list; with `mergeKey` its items are matched by that field (strategic merge patch, server-side apply). */
export const arr = (items: Schema, mergeKey?: string): Schema => ({ t: 'array', items, ...(mergeKey ? { mergeKey } : {}) });
export const map = (values: Schema, keyCheck?: (k: string) => string | undefined): Schema => ({ t: 'map', values, keyCheck });
export const req = (schema: Schema): Field => ({ schema, required: true });

/**
 * An object schema: values that are Schemas are optional fields, `req(...)` marks required ones.
 * `known` names the fields Kubernetes defines there that Gouvernail does not act on: those are
 * warned about; any other field is unknown (a typo).
 */
export function obj(fields: Record<string, Schema | Field>, open = false, known?: readonly string[]): Schema {
  const out: Record<string, Field> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = 'schema' in v ? v : { schema: v };
  return { t: 'object', fields: out, open, ...(known ? { known } : {}) };
}

/**
 * An object schema that names every field Kubernetes defines there: any other field is a typo
 * (an unknown field, which kubectl's strict field validation refuses).
 */
export function closed(fields: Record<string, Schema | Field>): Schema {
  return obj(fields, false, []);
}

const quantityPattern = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;

export function isQuantity(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  return typeof v === 'string' && quantityPattern.test(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

/**
 * Checks `value` against `schema`. `revealValues` is false for Secrets: messages then never quote
 * a value.
 */
export function check(schema: Schema, value: unknown, path: FieldPath, issues: Issue[], revealValues: boolean): void {
  // One path, written at its depth as the walk goes and copied only for an issue: a walk over
  // thousands of objects makes no array per field (and push and pop would resize it).
  walk(schema, value, [...path], path.length, issues, revealValues);
}

/** An object schema's fields by name and its required ones, made once per schema. */
interface CompiledObject {
  fields: Map<string, Field>;
  required: string[];
}

/** Kept on the schema object itself: read for every object walked, where a WeakMap read costs more. */
const compiledKey = Symbol('compiled object schema');

function compiled(schema: Extract<Schema, { t: 'object' }>): CompiledObject {
  const held = schema as { [compiledKey]?: CompiledObject };
  let c = held[compiledKey];
  if (!c) {
    const entries = Object.entries(schema.fields);
    c = { fields: new Map(entries), required: entries.filter(([, f]) => f.required).map(([name]) => name) };
    Object.defineProperty(schema, compiledKey, { value: c, enumerable: false });
  }
  return c;
}

function walk(schema: Schema, value: unknown, path: FieldPath, depth: number, issues: Issue[], revealValues: boolean): void {
  switch (schema.t) {
    case 'any':
      return;
    case 'string': {
      if (typeof value !== 'string') return bad(issues, path, depth, `must be a string, not ${typeName(value)}`);
      if (schema.enum && !schema.enum.includes(value)) return bad(issues, path, depth, `must be one of ${schema.enum.join(', ')}${shown(revealValues, value)}`);
      if (!schema.check) return;
      const m = schema.check(value);
      if (m) bad(issues, path, depth, m + (schema.quiet ? '' : shown(revealValues, value)));
      return;
    }
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return bad(issues, path, depth, `must be an integer, not ${typeName(value)}`);
      if (schema.min !== undefined && value < schema.min) return bad(issues, path, depth, `must be at least ${schema.min}${shown(revealValues, value)}`);
      if (schema.max !== undefined && value > schema.max) return bad(issues, path, depth, `must be at most ${schema.max}${shown(revealValues, value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') bad(issues, path, depth, `must be a number, not ${typeName(value)}`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') bad(issues, path, depth, `must be true or false, not ${typeName(value)}`);
      return;
    case 'intOrString': {
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) {
        return bad(issues, path, depth, `must be an integer or a string, not ${typeName(value)}`);
      }
      const m = schema.check?.(value);
      if (m) bad(issues, path, depth, m + shown(revealValues, value));
      return;
    }
    case 'quantity':
      if (!isQuantity(value)) bad(issues, path, depth, `must be a quantity such as 128Mi, 500m or 2${shown(revealValues, value)}`);
      return;
    case 'array':
      if (!Array.isArray(value)) return bad(issues, path, depth, `must be a list, not ${typeName(value)}`);
      for (let i = 0; i < value.length; i++) {
        path[depth] = i;
        walk(schema.items, value[i], path, depth + 1, issues, revealValues);
      }
      return;
    case 'map': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad(issues, path, depth, `must be a mapping, not ${typeName(value)}`);
      const record = value as Record<string, unknown>;
      for (const k in record) {
        const m = schema.keyCheck?.(k);
        if (m) at(issues, path, depth, k, `key ${JSON.stringify(k)}: ${m}`);
        path[depth] = k;
        walk(schema.values, record[k], path, depth + 1, issues, revealValues);
      }
      return;
    }
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad(issues, path, depth, `must be a mapping, not ${typeName(value)}`);
      const record = value as Record<string, unknown>;
      const { fields, required } = compiled(schema);
      // The object's own fields, usually a few of the many its schema knows, in the order written.
      for (const name in record) {
        const field = fields.get(name);
        if (field) {
          const v = record[name];
          if (v === undefined || v === null) continue;
          path[depth] = name;
          walk(field.schema, v, path, depth + 1, issues, revealValues);
        } else if (!schema.open) {
          if (schema.known && !schema.known.includes(name)) {
            const near = nearestName(name, [...fields.keys(), ...schema.known]);
            at(issues, path, depth, name, `is not a field Kubernetes defines here (kept as written, not acted on)${near ? `; did you mean ${JSON.stringify(near)}?` : ''}`, { warning: true, unknownField: true });
          }
          else at(issues, path, depth, name, 'is not acted on by Gouvernail yet (kept as written)', { warning: true });
        }
      }
      for (let i = 0; i < required.length; i++) {
        const v = record[required[i]!];
        if (v === undefined || v === null) at(issues, path, depth, required[i]!, 'is required');
      }
      return;
    }
  }
}

/**
 * The field a misspelt name most likely meant: the same but for case, or one or two letters off
 * (one for a short name), a swap of two neighbours counting one. None when two are as near.
 */
export function nearestName(name: string, names: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const sameButCase = names.filter((n) => n.toLowerCase() === lower);
  if (sameButCase.length === 1) return sameButCase[0];
  const allowed = name.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = allowed + 1;
  let tie = false;
  for (const n of names) {
    const d = editDistance(lower, n.toLowerCase(), allowed + 1);
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
      tie = false;
    } else if (d === bestDistance && d <= allowed && n !== best) tie = true;
  }
  return tie ? undefined : best;
}

/** Optimal string alignment distance of two strings, or `bound` once it is that or more. */
function editDistance(a: string, b: string, bound: number): number {
  if (Math.abs(a.length - b.length) >= bound) return bound;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let lowest = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row.push(d);
      if (d < lowest) lowest = d;
    }
    if (lowest >= bound) return bound;
    before = previous;
    previous = row;
  }
  return Math.min(previous[b.length]!, bound);
}

function at(issues: Issue[], path: FieldPath, depth: number, key: string | number, message: string, extra?: Partial<Issue>): void {
  const where = path.slice(0, depth);
  where.push(key);
  issues.push({ path: where, message, ...extra });
}

function bad(issues: Issue[], path: FieldPath, depth: number, message: string): void {
  issues.push({ path: path.slice(0, depth), message });
}

/** The value a message quotes, unless values are not to be revealed (a Secret's). */
function shown(revealValues: boolean, v: unknown): string {
  return revealValues ? ` (got ${JSON.stringify(v)})` : '';
}
