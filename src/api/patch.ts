import type { Schema } from '../manifest/schema.js';
import { ApiError } from './errors.js';
import { fieldSchema, itemSchema, listStrategy } from './schema-walk.js';

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export const patchContentTypes: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
  'application/apply-patch+yaml': 'apply',
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

function invalid(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** RFC 6902 JSON patch: add, remove, replace, move, copy and test, with JSON pointers. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new ApiError(400, 'BadRequest', 'a JSON patch must be a list of operations');
  let doc = clone(target) as Json;
  operations.forEach((op, i) => {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') throw new ApiError(400, 'BadRequest', `JSON patch operation ${i} needs op and path`);
    const where = `JSON patch operation ${i} (${op.op} ${op.path})`;
    const value = () => {
      if (!('value' in op)) throw invalid(`${where}: value is required`);
      return clone(op.value);
    };
    const from = () => {
      if (typeof op.from !== 'string') throw invalid(`${where}: from is required`);
      return op.from;
    };
    switch (op.op) {
      case 'add':
        doc = pointerSet(doc, op.path, value(), 'add', where);
        break;
      case 'replace':
        pointerGet(doc, op.path, where);
        doc = pointerSet(doc, op.path, value(), 'replace', where);
        break;
      case 'remove':
        doc = pointerRemove(doc, op.path, where);
        break;
      case 'move': {
        const v = pointerGet(doc, from(), where);
        doc = pointerRemove(doc, from(), where);
        doc = pointerSet(doc, op.path, v, 'add', where);
        break;
      }
      case 'copy':
        doc = pointerSet(doc, op.path, clone(pointerGet(doc, from(), where)), 'add', where);
        break;
      case 'test':
        if (JSON.stringify(pointerGet(doc, op.path, where)) !== JSON.stringify(value())) throw invalid(`${where}: the test failed`);
        break;
      default:
        throw new ApiError(400, 'BadRequest', `${where}: unknown op ${JSON.stringify(op.op)}`);
    }
  });
  return doc;
}

function tokens(pointer: string, where: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw invalid(`${where}: ${JSON.stringify(pointer)} is not a JSON pointer`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function encodePointer(path: string[]): string {
  return path.map((t) => `/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function pointerGet(doc: Json, pointer: string, where: string): Json {
  let cur: Json = doc;
  for (const t of tokens(pointer, where)) {
    if (Array.isArray(cur) && /^\d+$/.test(t) && Number(t) < cur.length) cur = cur[Number(t)]!;
    else if (isObject(cur) && t in cur) cur = cur[t]!;
    else throw invalid(`${where}: ${pointer} does not exist`);
  }
  return cur;
}

function pointerSet(doc: Json, pointer: string, value: Json, mode: 'add' | 'replace', where: string): Json {
  const path = tokens(pointer, where);
  if (path.length === 0) return value;
  const parent = pointerGet(doc, encodePointer(path.slice(0, -1)), where);
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!/^\d+$/.test(last) && last !== '-') throw invalid(`${where}: ${last} is not a list index`);
    if (index > parent.length || (mode === 'replace' && index >= parent.length)) throw invalid(`${where}: index ${index} is out of range`);
    if (mode === 'add') parent.splice(index, 0, value);
    else parent[index] = value;
  } else if (isObject(parent)) {
    parent[last] = value;
  } else {
    throw invalid(`${where}: the parent of ${pointer} is not an object or a list`);
  }
  return doc;
}

function pointerRemove(doc: Json, pointer: string, where: string): Json {
  const path = tokens(pointer, where);
  if (path.length === 0) throw invalid(`${where}: cannot remove the whole document`);
  pointerGet(doc, pointer, where);
  const parent = pointerGet(doc, encodePointer(path.slice(0, -1)), where);
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (isObject(parent)) delete parent[last];
  return doc;
}

/**
 * Kubernetes' strategic merge patch: lists with a merge key (containers by name, ports by
 * containerPort, env by name, volumeMounts by mountPath) merge item by item; the directives
 * `$patch` (replace, delete, merge), `$retainKeys`, `$setElementOrder/FIELD` and
 * `$deleteFromPrimitiveList/FIELD` are honoured; null deletes a field.
 */
export function strategicMergePatch(original: unknown, patch: unknown, schema: Schema | undefined): unknown {
  if (!isObject(patch)) throw new ApiError(400, 'BadRequest', 'a strategic merge patch must be a JSON object');
  return mergeMap(isObject(original) ? clone(original) : {}, patch, schema);
}

function mergeMap(original: JsonObject, patch: JsonObject, schema: Schema | undefined): JsonObject | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest) as JsonObject;
  }
  const out = original;
  const orders: [string, Json[]][] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue;
    if (key.startsWith('$setElementOrder/')) {
      if (Array.isArray(value)) orders.push([key.slice('$setElementOrder/'.length), value]);
      continue;
    }
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((Array.isArray(value) ? value : []).map((v) => JSON.stringify(v)));
      if (Array.isArray(out[field])) out[field] = (out[field] as Json[]).filter((v) => !drop.has(JSON.stringify(v)));
      continue;
    }
    const child = fieldSchema(schema, key);
    if (value === null) {
      delete out[key];
    } else if (isObject(value)) {
      const merged = mergeMap(isObject(out[key]) ? (out[key] as JsonObject) : {}, value, child);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value)) {
      out[key] = mergeList(Array.isArray(out[key]) ? (out[key] as Json[]) : [], value, child, key);
    } else {
      out[key] = value;
    }
  }
  for (const [field, order] of orders) if (Array.isArray(out[field])) out[field] = reorder(out[field] as Json[], order, listStrategy(fieldSchema(schema, field), field, out[field] as Json[]));
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.map(String));
    for (const key of Object.keys(out)) if (!keep.has(key)) delete out[key];
  }
  return out;
}

function mergeList(original: Json[], patch: Json[], schema: Schema | undefined, field: string): Json[] {
  const strategy = listStrategy(schema, field, [...original, ...patch.filter((p) => !(isObject(p) && p.$patch))]);
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) return stripDirectives(patch.filter((p) => !(isObject(p) && p.$patch === 'replace'))) as Json[];
  if (strategy.type === 'atomic') return stripDirectives(patch) as Json[];
  if (strategy.type === 'set') {
    const out = [...original];
    for (const v of patch) if (!out.some((o) => JSON.stringify(o) === JSON.stringify(v))) out.push(v);
    return out;
  }
  const key = strategy.key;
  const items = itemSchema(schema);
  const out = [...original];
  for (const p of patch) {
    if (!isObject(p)) continue;
    const index = out.findIndex((o) => isObject(o) && JSON.stringify(o[key]) === JSON.stringify(p[key]));
    if (p.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) {
      const merged = mergeMap(clone(out[index] as JsonObject), p, items);
      if (merged === undefined) out.splice(index, 1);
      else out[index] = merged;
    } else {
      out.push(stripDirectives(p) as Json);
    }
  }
  return out;
}

function reorder(list: Json[], order: Json[], strategy: ReturnType<typeof listStrategy>): Json[] {
  const id = (v: Json) => JSON.stringify(strategy.type === 'map' && isObject(v) ? v[strategy.key] : v);
  const rank = new Map(order.map((v, i) => [id(v), i]));
  return list
    .map((v, i) => ({ v, i, r: rank.get(id(v)) ?? Number.MAX_SAFE_INTEGER }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.v);
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}
