import { keyOf, type ObjectKey } from '../manifest/keys.js';
import type { KubeObject } from '../manifest/types.js';
import { normalize, plainlySame } from './normalize.js';
import { deepEqual, isRecord } from './deep-equal.js';

export interface FieldChange {
  /** `spec.template.spec.containers[web].image`; list items with a unique name are shown by name. */
  path: string;
  op: 'add' | 'remove' | 'change';
  before?: unknown;
  after?: unknown;
}

export type Action = 'create' | 'update' | 'unchanged' | 'prune';

export interface ObjectChange {
  key: ObjectKey;
  kind: string;
  namespace?: string;
  name: string;
  action: Action;
  fields: FieldChange[];
}

export interface DiffResult {
  changes: ObjectChange[];
  counts: Record<Action, number>;
}

export const hidden = '*** (hidden)';

/**
 * Compares desired objects with live ones. `prunable` holds the keys that were applied from the same
 * source before (the inventory): of the live objects, only those can be pruned. Pure.
 */
export function diff(desired: KubeObject[], live: KubeObject[], prunable: ReadonlySet<ObjectKey> = new Set()): DiffResult {
  const liveByKey = new Map<ObjectKey, KubeObject>();
  // Indexed loops: a diff walks every object, mostly in a fresh process (see apply/references.ts).
  for (let i = 0; i < live.length; i++) liveByKey.set(keyOf(live[i]!), live[i]!);
  const changes: ObjectChange[] = [];
  const desiredKeys = new Set<ObjectKey>();
  for (let i = 0; i < desired.length; i++) {
    const d = desired[i]!;
    const key = keyOf(d);
    desiredKeys.add(key);
    const l = liveByKey.get(key);
    const { kind, metadata } = d;
    if (!l) changes.push({ key, kind, namespace: metadata.namespace, name: metadata.name, action: 'create', fields: [] });
    else if (knownSame(l, d)) changes.push({ key, kind, namespace: metadata.namespace, name: metadata.name, action: 'unchanged', fields: [] });
    else {
      const fields = compareObjects(normalize(l), withAssigned(normalize(d), l));
      changes.push({ key, kind, namespace: metadata.namespace, name: metadata.name, action: fields.length > 0 ? 'update' : 'unchanged', fields: kind === 'Secret' ? fields.map(maskSecret) : fields });
    }
  }
  const gone: ObjectKey[] = [];
  prunable.forEach((key) => {
    if (!desiredKeys.has(key) && liveByKey.has(key)) gone.push(key);
  });
  for (const key of gone.sort()) {
    const l = liveByKey.get(key)!;
    changes.push({ key, kind: l.kind, namespace: l.metadata.namespace, name: l.metadata.name, action: 'prune', fields: [] });
  }
  const counts: Record<Action, number> = { create: 0, update: 0, unchanged: 0, prune: 0 };
  for (let i = 0; i < changes.length; i++) counts[changes[i]!.action]++;
  return { changes, counts };
}

/**
 * A frozen desired object (serve's cached documents, the same object on every read of an
 * unchanged file) found the same as a live object, by that object's uid and resourceVersion: a
 * live object whose resourceVersion has not moved has not changed, so the next diff of the two
 * needs no walk.
 */
const sameAsLive = new WeakMap<KubeObject, { uid: string; resourceVersion: string }>();

function knownSame(live: KubeObject, desired: KubeObject): boolean {
  const { uid, resourceVersion } = live.metadata;
  const known = sameAsLive.get(desired);
  if (known && uid !== undefined && known.uid === uid && known.resourceVersion === resourceVersion) return true;
  if (!plainlySame(live, desired)) return false;
  if (uid !== undefined && resourceVersion !== undefined && Object.isFrozen(desired)) sameAsLive.set(desired, { uid, resourceVersion });
  return true;
}

/** What the server writes into a Pod that its manifest leaves out: the scheduler's node, admission's priority, kubectl debug's containers. */
const assignedToPods = ['nodeName', 'priority', 'priorityClassName', 'preemptionPolicy', 'ephemeralContainers'];

/**
 * What the server assigns when a manifest leaves it out is not drift: a Service's cluster IP and
 * node ports, a Pod's node and priority, a claim's default class, are taken from the live object
 * where the manifest names none.
 */
function withAssigned(desired: KubeObject, live: KubeObject): KubeObject {
  if (!desired.spec || !live.spec) return desired;
  if (desired.kind === 'Pod') {
    for (const f of assignedToPods) if (desired.spec[f] === undefined && live.spec[f] !== undefined) desired.spec[f] = live.spec[f];
    return desired;
  }
  // The default class admission named for a claim that names none.
  if (desired.kind === 'PersistentVolumeClaim') {
    if (desired.spec.storageClassName === undefined && live.spec.storageClassName !== undefined) desired.spec.storageClassName = live.spec.storageClassName;
    return desired;
  }
  if (desired.kind !== 'Service') return desired;
  const spec = desired.spec;
  if (spec.clusterIP === undefined && live.spec.clusterIP !== undefined) spec.clusterIP = live.spec.clusterIP;
  if (spec.clusterIPs === undefined && live.spec.clusterIPs !== undefined) spec.clusterIPs = live.spec.clusterIPs;
  for (const p of spec.ports ?? []) {
    const had = (live.spec.ports ?? []).find((x: { port: number; protocol?: string }) => x.port === p.port && (x.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
    if (p.nodePort === undefined && had?.nodePort !== undefined) p.nodePort = had.nodePort;
  }
  return desired;
}

function maskSecret(f: FieldChange): FieldChange {
  if (!/^(data|stringData)(\.|$)/.test(f.path)) return f;
  return { path: f.path, op: f.op, ...(f.before !== undefined ? { before: hidden } : {}), ...(f.after !== undefined ? { after: hidden } : {}) };
}

/** Field-level differences between two normalised objects. */
export function compareObjects(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (deepEqual(before, after)) return [];
  if (before === undefined) return [{ path, op: 'add', after }];
  if (after === undefined) return [{ path, op: 'remove', before }];
  if (isRecord(before) && isRecord(after)) {
    const out: FieldChange[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const k of keys) out.push(...compareObjects(before[k], after[k], path ? `${path}.${k}` : k));
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const named = byName(before) && byName(after);
    if (named) {
      const b = new Map(before.map((x) => [x.name as string, x]));
      const a = new Map(after.map((x) => [x.name as string, x]));
      const out: FieldChange[] = [];
      for (const name of [...new Set([...b.keys(), ...a.keys()])]) out.push(...compareObjects(b.get(name), a.get(name), `${path}[${name}]`));
      const orderB = before.map((x) => x.name).filter((n) => a.has(n));
      const orderA = after.map((x) => x.name).filter((n) => b.has(n));
      if (out.length === 0 && !deepEqual(orderB, orderA)) out.push({ path, op: 'change', before: orderB, after: orderA });
      return out;
    }
    if (before.length === after.length) {
      const out: FieldChange[] = [];
      before.forEach((x, i) => out.push(...compareObjects(x, after[i], `${path}[${i}]`)));
      return out;
    }
  }
  return [{ path, op: 'change', before, after }];
}

function byName(list: unknown[]): list is { name: string }[] {
  const names = new Set<string>();
  for (const x of list) {
    if (!isRecord(x) || typeof x.name !== 'string' || names.has(x.name)) return false;
    names.add(x.name);
  }
  return list.length > 0;
}


/** A readable, kubectl-diff-like rendering. Secret values are already masked in the result. */
export function renderDiff(result: DiffResult): string {
  const lines: string[] = [];
  const sign: Record<Action, string> = { create: '+', update: '~', unchanged: '=', prune: '-' };
  for (const c of result.changes) {
    if (c.action === 'unchanged') continue;
    lines.push(`${sign[c.action]} ${c.kind}/${c.namespace ? `${c.namespace}/` : ''}${c.name}${c.action === 'prune' ? ' (prune)' : c.action === 'create' ? ' (create)' : ''}`);
    for (const f of c.fields) {
      if (f.op === 'add') lines.push(`    + ${f.path}: ${show(f.after)}`);
      else if (f.op === 'remove') lines.push(`    - ${f.path}: ${show(f.before)}`);
      else lines.push(`    ~ ${f.path}: ${show(f.before)} -> ${show(f.after)}`);
    }
  }
  const { create, update, prune, unchanged } = result.counts;
  lines.push(`${create} to create, ${update} to update, ${prune} to prune, ${unchanged} unchanged`);
  return lines.join('\n');
}

function show(v: unknown): string {
  if (v === hidden) return hidden;
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}
