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
  const bad = (message: string): void => void issues.push({ path, message });
  const shown = (v: unknown) => (revealValues ? ` (got ${JSON.stringify(v)})` : '');
  switch (schema.t) {
    case 'any':
      return;
    case 'string': {
      if (typeof value !== 'string') return bad(`must be a string, not ${typeName(value)}`);
      if (schema.enum && !schema.enum.includes(value)) return bad(`must be one of ${schema.enum.join(', ')}${shown(value)}`);
      const m = schema.check?.(value);
      if (m) bad(m + (schema.quiet ? '' : shown(value)));
      return;
    }
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return bad(`must be an integer, not ${typeName(value)}`);
      if (schema.min !== undefined && value < schema.min) return bad(`must be at least ${schema.min}${shown(value)}`);
      if (schema.max !== undefined && value > schema.max) return bad(`must be at most ${schema.max}${shown(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') bad(`must be a number, not ${typeName(value)}`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') bad(`must be true or false, not ${typeName(value)}`);
      return;
    case 'intOrString': {
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) {
        return bad(`must be an integer or a string, not ${typeName(value)}`);
      }
      const m = schema.check?.(value);
      if (m) bad(m + shown(value));
      return;
    }
    case 'quantity':
      if (!isQuantity(value)) bad(`must be a quantity such as 128Mi, 500m or 2${shown(value)}`);
      return;
    case 'array':
      if (!Array.isArray(value)) return bad(`must be a list, not ${typeName(value)}`);
      value.forEach((item, i) => check(schema.items, item, [...path, i], issues, revealValues));
      return;
    case 'map': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad(`must be a mapping, not ${typeName(value)}`);
      for (const [k, v] of Object.entries(value)) {
        const m = schema.keyCheck?.(k);
        if (m) issues.push({ path: [...path, k], message: `key ${JSON.stringify(k)}: ${m}` });
        check(schema.values, v, [...path, k], issues, revealValues);
      }
      return;
    }
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad(`must be a mapping, not ${typeName(value)}`);
      const record = value as Record<string, unknown>;
      for (const [name, field] of Object.entries(schema.fields)) {
        const v = record[name];
        if (v === undefined || v === null) {
          if (field.required) issues.push({ path: [...path, name], message: 'is required' });
          continue;
        }
        check(field.schema, v, [...path, name], issues, revealValues);
      }
      if (!schema.open) {
        for (const name of Object.keys(record)) {
          if (name in schema.fields) continue;
          if (schema.known && !schema.known.includes(name)) issues.push({ path: [...path, name], message: 'is not a field Kubernetes defines here (kept as written, not acted on)', warning: true, unknownField: true });
          else issues.push({ path: [...path, name], message: 'is not acted on by Gouvernail yet (kept as written)', warning: true });
        }
      }
      return;
    }
  }
}
