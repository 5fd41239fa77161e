import type { Schema } from '../manifest/schema.js';
import type { KubeObject } from '../manifest/types.js';
import { ApiError } from './errors.js';
import { strategicMergePatch } from './patch.js';
import { fieldSchema, itemSchema, listStrategy } from './schema-walk.js';

/**
 * Server-side apply's field ownership, as Kubernetes' managedFields: each manager owns a set of
 * field paths, written as FieldsV1 (`f:spec`, `k:{"name":"web"}` for a keyed list item,
 * `v:"x"` for a set item). An apply that changes a field another manager owns is a conflict
 * unless forced; fields an applier stops applying are removed when nobody else owns them.
 */

type Segment = string;
type FieldSet = Map<string, Segment[]>;

interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

const volatileMeta = new Set(['name', 'namespace', 'managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds']);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The leaf field paths an object sets, with the list items it names. */
export function fieldsOf(o: unknown, schema: Schema | undefined): FieldSet {
  const out: FieldSet = new Map();
  const add = (path: Segment[]) => out.set(JSON.stringify(path), path);
  const walk = (v: unknown, s: Schema | undefined, path: Segment[], top: boolean) => {
    if (isObject(v)) {
      const entries = Object.entries(v).filter(([k]) => !(top && (k === 'apiVersion' || k === 'kind' || k === 'status')) && !(path.length === 1 && path[0] === 'f:metadata' && volatileMeta.has(k)));
      if (entries.length === 0 && !top) add(path);
      for (const [k, x] of entries) {
        if (x === null || x === undefined) continue;
        const child = fieldSchema(s, k);
        const p = [...path, `f:${k}`];
        if (Array.isArray(x)) walkList(x, child, k, p);
        else walk(x, child, p, false);
      }
    } else {
      add(path);
    }
  };
  const walkList = (list: unknown[], s: Schema | undefined, field: string, path: Segment[]) => {
    const strategy = listStrategy(s, field, list);
    if (strategy.type === 'atomic') return add(path);
    for (const item of list) {
      if (strategy.type === 'set') {
        add([...path, `v:${JSON.stringify(item)}`]);
      } else {
        const seg = `k:${JSON.stringify({ [strategy.key]: (item as Record<string, unknown>)[strategy.key] })}`;
        add([...path, seg, '.']);
        walk(item, itemSchema(s), [...path, seg], false);
      }
    }
  };
  walk(o, schema, [], true);
  return out;
}

/** The value at a field path, or undefined when the object does not set it. */
function valueAt(o: unknown, path: Segment[]): unknown {
  let cur: unknown = o;
  for (const seg of path) {
    if (cur === undefined) return undefined;
    if (seg === '.') continue;
    if (seg.startsWith('f:')) cur = isObject(cur) ? cur[seg.slice(2)] : undefined;
    else if (seg.startsWith('k:')) {
      const key = JSON.parse(seg.slice(2)) as Record<string, unknown>;
      cur = Array.isArray(cur) ? cur.find((i) => isObject(i) && Object.entries(key).every(([k, v]) => JSON.stringify(i[k]) === JSON.stringify(v))) : undefined;
    } else if (seg.startsWith('v:')) {
      const want = seg.slice(2);
      cur = Array.isArray(cur) && cur.some((i) => JSON.stringify(i) === want) ? JSON.parse(want) : undefined;
    }
  }
  return cur;
}

/** Removes the field at a path; a list item goes whole. */
function removeAt(o: unknown, path: Segment[]): void {
  const trimmed = path[path.length - 1] === '.' ? path.slice(0, -1) : path;
  const parent = valueAt(o, trimmed.slice(0, -1));
  const last = trimmed[trimmed.length - 1]!;
  if (last.startsWith('f:') && isObject(parent)) delete parent[last.slice(2)];
  else if (Array.isArray(parent)) {
    const index = parent.findIndex((i) => (last.startsWith('v:') ? JSON.stringify(i) === last.slice(2) : valueAt([i], [last]) === i));
    if (index >= 0) parent.splice(index, 1);
  }
}

/** Displays a path as Kubernetes does in conflicts: `.spec.template.spec.containers[name="web"].image`. */
export function formatFieldPath(path: Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (seg === '.') continue;
    if (seg.startsWith('f:')) out += `.${seg.slice(2)}`;
    else if (seg.startsWith('k:')) out += `[${Object.entries(JSON.parse(seg.slice(2))).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    else if (seg.startsWith('v:')) out += `[${seg.slice(2)}]`;
  }
  return out;
}

function toFieldsV1(set: FieldSet): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const path of set.values()) {
    let node = tree;
    for (const seg of path) node = (node[seg] ??= {}) as Record<string, unknown>;
  }
  return tree;
}

function fromFieldsV1(tree: unknown): FieldSet {
  const out: FieldSet = new Map();
  const walk = (node: unknown, path: Segment[]) => {
    const entries = isObject(node) ? Object.entries(node) : [];
    if (entries.length === 0 && path.length > 0) out.set(JSON.stringify(path), path);
    for (const [k, v] of entries) walk(v, [...path, k]);
  };
  walk(tree, []);
  return out;
}

function entries(o: KubeObject | undefined): ManagedFieldsEntry[] {
  return (o?.metadata.managedFields as ManagedFieldsEntry[] | undefined) ?? [];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Server-side apply of `applied` by `manager` onto `live` (undefined: the object is created).
 * Returns the merged object with its managedFields; throws 409 on conflicts unless `force`.
 */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, manager: string, force: boolean, schema: Schema | undefined, now: string): KubeObject {
  const appliedSet = fieldsOf(applied, schema);
  const base = live ? structuredClone(live) : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: { name: applied.metadata.name } };
  const { status: _ignored, ...config } = applied;
  const merged = strategicMergePatch(base, config, schema) as KubeObject;
  const managers = entries(live).map((e) => ({ ...e, set: fromFieldsV1(e.fieldsV1) }));
  const conflicts: { manager: string; apiVersion: string; path: Segment[] }[] = [];
  for (const other of managers) {
    if (other.manager === manager && other.operation === 'Apply') continue;
    if (other.subresource) continue;
    for (const [key, path] of appliedSet) {
      if (!other.set.has(key)) continue;
      if (same(valueAt(live, path), valueAt(merged, path))) continue;
      if (force) other.set.delete(key);
      else conflicts.push({ manager: other.manager, apiVersion: other.apiVersion, path });
    }
  }
  if (conflicts.length > 0) {
    const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: formatFieldPath(c.path) }));
    const lines = causes.map((c) => `- ${c.message}: ${c.field}`).join('\n');
    throw new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${conflicts.length === 1 ? `${causes[0]!.message}: ${causes[0]!.field}` : `\n${lines}`}`, { name: applied.metadata.name, causes });
  }
  const previous = managers.find((m) => m.manager === manager && m.operation === 'Apply');
  if (previous) {
    const ownedByOthers = (key: string) => managers.some((m) => m !== previous && !m.subresource && m.set.has(key));
    const dropped = [...previous.set].filter(([key]) => !appliedSet.has(key) && !ownedByOthers(key)).map(([, p]) => p);
    // Deepest first, so a list item's fields go before the item.
    dropped.sort((a, b) => b.length - a.length).forEach((p) => removeAt(merged, p));
  }
  const kept = managers.filter((m) => !(m.manager === manager && m.operation === 'Apply'));
  const next: ManagedFieldsEntry[] = [
    ...kept.filter((m) => m.set.size > 0).map(({ set, ...e }) => ({ ...e, fieldsV1: toFieldsV1(set) })),
    { manager, operation: 'Apply', apiVersion: applied.apiVersion, time: previous && same(toFieldsV1(previous.set), toFieldsV1(appliedSet)) ? previous.time : now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(appliedSet) },
  ];
  merged.metadata = { ...merged.metadata, managedFields: next };
  return merged;
}

/**
 * A write that is not an apply (create, update, patch): `manager` takes the fields whose values it
 * changed, which leave every other manager's set; fields the write removed leave every set.
 */
export function recordUpdate(before: KubeObject | undefined, after: KubeObject, manager: string, schema: Schema | undefined, now: string, subresource?: string): void {
  const previous = entries(before);
  if (subresource === 'status') {
    // Status is the controllers'; its writes leave the spec's ownership as it was.
    if (previous.length) after.metadata.managedFields = previous;
    else delete after.metadata.managedFields;
    return;
  }
  const afterSet = fieldsOf(after, schema);
  const beforeSet = before ? fieldsOf(before, schema) : new Map<string, Segment[]>();
  const changed: FieldSet = new Map([...afterSet].filter(([key, path]) => !beforeSet.has(key) || !same(valueAt(before, path), valueAt(after, path))));
  const managers = previous.map((e) => ({ ...e, set: fromFieldsV1(e.fieldsV1) }));
  for (const m of managers) {
    for (const key of [...m.set.keys()]) if (!afterSet.has(key) || (changed.has(key) && !(m.manager === manager && m.operation === 'Update'))) m.set.delete(key);
  }
  let mine = managers.find((m) => m.manager === manager && m.operation === 'Update' && !m.subresource);
  if (!mine && changed.size > 0) {
    mine = { manager, operation: 'Update', apiVersion: after.apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: {}, set: new Map() };
    managers.push(mine);
  }
  if (mine && changed.size > 0) {
    for (const [key, path] of changed) mine.set.set(key, path);
    mine.time = now;
  }
  const next = managers.filter((m) => m.set.size > 0).map(({ set, ...e }) => ({ ...e, fieldsV1: toFieldsV1(set) }));
  if (next.length > 0) after.metadata.managedFields = next;
  else delete after.metadata.managedFields;
}
