import { displayKey, keyOf, makeKey, type ObjectKey } from '../manifest/keys.js';
import { isNamespaced, kindInfo } from '../manifest/kinds.js';
import type { Problem } from '../manifest/problems.js';
import { formatPath, type FieldPath, type KubeObject, type Manifest } from '../manifest/types.js';
import { referencesOf } from './references.js';
import { inferredNeeds, ServiceIndex, type UnservedHost } from './infer.js';
import { podSpecPath } from '../manifest/pod-template.js';

export const dependsOnAnnotation = 'gouvernail.io/depends-on';
export const syncWaveAnnotation = 'gouvernail.io/sync-wave';
export const argoSyncWaveAnnotation = 'argocd.argoproj.io/sync-wave';

/** Written in this order inside a wave; objects are not gated on each other by kind alone. */
export const kindOrder = ['Namespace', 'PriorityClass', 'StorageClass', 'PersistentVolume', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ServiceAccount', 'Secret', 'ConfigMap', 'PersistentVolumeClaim', 'Service', 'StatefulSet', 'Deployment', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Pod', 'Job', 'CronJob', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Application'];

/** The kinds `kubectl expose` makes a Service for. */
const exposable = new Set(['Deployment', 'ReplicaSet', 'ReplicationController', 'Pod']);

export type EdgeReason = 'depends-on' | 'sync-wave' | 'namespace' | 'reference' | 'inferred';

export interface Wait {
  /** The object waited for, or `sync-wave N` for every object of an earlier sync wave. */
  on: string;
  /** The key of the object waited for; none for a sync wave. */
  key?: ObjectKey;
  reason: EdgeReason;
  /** For references: the field that makes it (`spec.template.spec.volumes[data]`). */
  detail?: string;
  /** True when the object is not in this set but already exists. */
  external?: boolean;
}

export interface Step {
  key: ObjectKey;
  object: KubeObject;
  syncWave: number;
  waitsFor: Wait[];
}

export interface Wave {
  /** 1-based. */
  number: number;
  steps: Step[];
}

export interface Plan {
  waves: Wave[];
  problems: Problem[];
}

export interface PlanOptions {
  /** Objects that exist already (in the store), so an edge to one of them is not an error. */
  existing?: ReadonlySet<ObjectKey>;
}

interface Node {
  id: number;
  key: string;
  manifest?: Manifest;
  syncWave: number;
  /** The sync wave written on the object (or undefined: it may be pulled earlier). */
  annotatedWave?: number;
  deps: { node: number; wait: Wait }[];
}

/**
 * Orders objects into waves. A wave starts only when everything its objects wait for is healthy.
 * Pure. Problems (cycle, missing dependency, bad annotation) mean the plan must not be applied.
 */
export function plan(manifests: Manifest[], options: PlanOptions = {}): Plan {
  const problems: Problem[] = [];
  const nodes: Node[] = [];
  const byKey = new Map<ObjectKey, number>();
  for (let i = 0; i < manifests.length; i++) {
    const m = manifests[i]!;
    const id = nodes.length;
    const key = keyOf(m.object);
    const annotatedWave = readSyncWave(m, problems);
    nodes.push({ id, key, manifest: m, syncWave: annotatedWave ?? 0, annotatedWave, deps: [] });
    byKey.set(key, id);
  }
  const problemAt = (m: Manifest, field: FieldPath, message: string, code: Problem['code'] = 'PlanMissingDependency', severity: Problem['severity'] = 'error') => {
    const at = m.locate(field);
    problems.push({ severity, code, file: m.source.file, line: at.line, column: at.column, object: `${m.object.kind}/${m.object.metadata.name}`, field: formatPath(field), message });
  };

  const services: KubeObject[] = [];
  const workloads: KubeObject[] = [];
  for (let i = 0; i < manifests.length; i++) {
    const o = manifests[i]!.object;
    if (o.kind === 'Service') services.push(o);
    else if (podSpecPath(o.kind) !== undefined) workloads.push(o);
  }
  const index = new ServiceIndex(services, workloads);
  const unserved: UnservedHost[] = [];
  const objects = nodes.length;
  const existing = options.existing;
  const namespaces = new Map<string, { id: number; key: ObjectKey; on: string }>();
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    const o = n.manifest!.object;
    if (o.kind === 'Namespace') namespaces.set(o.metadata.name, { id: n.id, key: n.key, on: `Namespace/${o.metadata.name}` });
  }
  for (let id = 0; id < objects; id++) {
    const node = nodes[id]!;
    const m = node.manifest!;
    const o = m.object;
    const ns = o.metadata.namespace;

    const raw = o.metadata.annotations?.[dependsOnAnnotation];
    if (raw !== undefined && raw.trim() !== 'none') {
      const written = raw.split(',');
      for (let i = 0; i < written.length; i++) {
        const ref = written[i]!.trim();
        if (ref === '') continue;
        const parts = ref.split('/');
        const field = ['metadata', 'annotations', dependsOnAnnotation];
        if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
          problemAt(m, field, `${JSON.stringify(ref)} is not a reference; write Kind/name or Kind/namespace/name`, 'ManifestInvalid');
          continue;
        }
        const kind = parts[0]!;
        if (!kindInfo(kind)) {
          problemAt(m, field, `${JSON.stringify(ref)} names an unknown kind ${JSON.stringify(kind)}`, 'ManifestInvalid');
          continue;
        }
        const key = parts.length === 3 ? makeKey(kind, parts[1], parts[2]!) : makeKey(kind, ns, parts[1]!);
        if (!addEdgeTo(node, key, 'depends-on', undefined, ns, byKey, existing)) {
          problemAt(m, field, `${o.kind}/${o.metadata.name} depends on ${displayKey(key, ns)}, which is in no manifest and does not exist`);
        }
      }
    }
    if (isNamespaced(o.kind)) {
      // Every object of a namespace waits for the same Namespace: its key and name made once.
      const namespace = ns !== undefined ? namespaces.get(ns) : undefined;
      if (namespace) addDep(node, namespace.id, namespace.key, 'namespace', undefined, namespace.on);
      else addEdgeTo(node, `Namespace//${ns}`, 'namespace', undefined, ns, byKey, existing, `Namespace/${ns}`);
    }
    const refs = referencesOf(o);
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      const cluster = ref.kind === 'PriorityClass';
      const key = makeKey(ref.kind, cluster ? undefined : ns, ref.name);
      if (!addEdgeTo(node, key, 'reference', ref.field, ns, byKey, existing, ns !== undefined || cluster ? `${ref.kind}/${ref.name}` : undefined) && !ref.optional) {
        problemAt(m, [], `${ref.field} refers to ${ref.kind}/${ref.name}, which is in no manifest and does not exist yet; ${cluster ? 'its Pods are refused until it does' : 'its Pods will wait for it'}`, 'PlanMissingDependency', 'warning');
      }
    }
    const needs = inferredNeeds(o, index, unserved);
    for (let i = 0; i < needs.length; i++) addEdgeTo(node, needs[i]!.key, 'inferred', needs[i]!.reason, ns, byKey, existing);
    for (let i = 0; i < unserved.length; i++) {
      const u = unserved[i]!;
      if (existing?.has(makeKey('Service', ns, u.host))) continue;
      problemAt(m, u.field, `${u.where} names ${u.host}, and no Service is named so: a Pod reaches another by a Service's name, not by its workload's (${u.workload.kind}/${u.workload.metadata.name}) as in Docker Compose; add a Service ${u.host} that selects its Pods${exposable.has(u.workload.kind) ? ` (kubectl expose ${u.workload.kind.toLowerCase()} ${u.workload.metadata.name} --port=${u.port ?? 'PORT'})` : ''}`, 'PlanMissingDependency', 'warning');
    }
    unserved.length = 0;
  }

  pullStructuralNeedsForward(nodes);
  addSyncWaveBarriers(nodes);
  let order = topologicalOrder(nodes);
  while (!order.ok) {
    const m = nodes[order.cycle[0]!]!.manifest!;
    const cycle = describeCycle(nodes, order.cycle, m.object.metadata.namespace);
    // An inferred edge is a guess: one in a cycle is dropped, with a warning; a cycle of explicit
    // edges only (annotations that contradict each other) is an error.
    const ids = order.cycle;
    const inferred = ids.slice(0, -1).map((id, i) => [id, ids[i + 1]!] as const).find(([from, to]) => nodes[from]!.deps.some((d) => d.node === to && d.wait.reason === 'inferred'));
    if (inferred) {
      const [from, to] = inferred;
      const source = nodes[from]!.manifest!;
      nodes[from]!.deps = nodes[from]!.deps.filter((d) => !(d.node === to && d.wait.reason === 'inferred'));
      problemAt(source, ['metadata'], `inferred dependencies make a cycle (${cycle}); the inferred edge to ${label(nodes[to]!, source.object.metadata.namespace)} is ignored (write gouvernail.io/depends-on to say which comes first, or depends-on: none)`, 'PlanCycle', 'warning');
      order = topologicalOrder(nodes);
      continue;
    }
    const field = m.object.metadata.annotations?.[dependsOnAnnotation] !== undefined ? ['metadata', 'annotations', dependsOnAnnotation] : ['metadata'];
    problemAt(m, field, `dependency cycle: ${cycle}`, 'PlanCycle');
    return { waves: [], problems };
  }

  const layer = new Array<number>(nodes.length).fill(0);
  const ids = order.ids;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const deps = nodes[id]!.deps;
    for (let j = 0; j < deps.length; j++) {
      const d = deps[j]!;
      if (d.node < 0) continue;
      const dep = nodes[d.node]!;
      layer[id] = Math.max(layer[id]!, layer[d.node]! + (dep.manifest ? 1 : 0));
    }
  }
  const waves: Wave[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (!n.manifest) continue;
    const w = layer[n.id]!;
    while (waves.length <= w) waves.push({ number: waves.length + 1, steps: [] });
    const waitsFor = new Array<Wait>(n.deps.length);
    for (let j = 0; j < waitsFor.length; j++) waitsFor[j] = n.deps[j]!.wait;
    waves[w]!.steps.push({ key: n.key, object: n.manifest.object, syncWave: n.syncWave, waitsFor });
  }
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.line ?? 0) - (b.line ?? 0)));
  const nonEmpty = waves.filter((w) => w.steps.length > 0);
  nonEmpty.forEach((w, i) => {
    w.number = i + 1;
    w.steps = sortSteps(w.steps);
  });
  return { waves: nonEmpty, problems };
}

/**
 * Makes `node` wait for the object `key` (`on`: how a person writes it from namespace `ns`, when
 * the caller knows): false when that is in no manifest and does not exist.
 */
function addEdgeTo(node: Node, key: ObjectKey, reason: EdgeReason, detail: string | undefined, ns: string | undefined, byKey: Map<ObjectKey, number>, existing: ReadonlySet<ObjectKey> | undefined, on?: string): boolean {
  const target = byKey.get(key);
  if (target !== undefined) {
    addDep(node, target, key, reason, detail, on ?? displayKey(key, ns));
    return true;
  }
  if (existing?.has(key)) {
    const wait: Wait = detail === undefined ? { on: displayKey(key, ns), key, reason, external: true } : { on: displayKey(key, ns), key, reason, detail, external: true };
    node.deps.push({ node: -1, wait });
    return true;
  }
  return false;
}

/** Makes `node` wait for the node `target` of the set, once. */
function addDep(node: Node, target: number, key: ObjectKey, reason: EdgeReason, detail: string | undefined, on: string): void {
  if (target === node.id) return;
  const deps = node.deps;
  for (let i = 0; i < deps.length; i++) if (deps[i]!.node === target) return;
  node.deps.push({ node: target, wait: detail === undefined ? { on, key, reason } : { on, key, reason, detail } });
}

function label(n: Node, namespace?: string): string {
  return n.manifest ? displayKey(n.key, namespace) : n.key;
}

/** A cycle for people, each edge with what makes it: `Deployment/a -(depends-on)-> Deployment/b`. */
function describeCycle(nodes: Node[], cycle: number[], namespace?: string): string {
  let out = label(nodes[cycle[0]!]!, namespace);
  for (let i = 1; i < cycle.length; i++) {
    const from = nodes[cycle[i - 1]!]!;
    const to = nodes[cycle[i]!]!;
    const edge = from.deps.find((d) => d.node === to.id);
    out += ` -(${edge ? edgeLabel(from, edge.wait) : '?'})-> ${label(to, namespace)}`;
  }
  return out;
}

function edgeLabel(from: Node, w: Wait): string {
  const annotations = from.manifest?.object.metadata.annotations ?? {};
  switch (w.reason) {
    case 'depends-on':
      return `${dependsOnAnnotation}: "${annotations[dependsOnAnnotation]}"`;
    case 'sync-wave': {
      const field = annotations[syncWaveAnnotation] !== undefined ? syncWaveAnnotation : argoSyncWaveAnnotation;
      return from.manifest ? `${field}: "${annotations[field]}"` : 'an earlier sync wave';
    }
    case 'namespace':
      return 'its namespace';
    case 'reference':
      return w.detail ?? 'a reference';
    case 'inferred':
      return `inferred: ${w.detail}`;
  }
}

/**
 * Waves and structural needs agree: an unannotated Namespace, ConfigMap, Secret, PVC or
 * ServiceAccount that an object of an earlier sync wave needs is pulled into that wave (or before),
 * as a user would expect, rather than made a cycle.
 */
function pullStructuralNeedsForward(nodes: Node[]): void {
  // Without a sync wave written on any object, every object is in wave 0: nothing to pull.
  let annotated = false;
  for (let i = 0; i < nodes.length && !annotated; i++) annotated = nodes[i]!.annotatedWave !== undefined;
  if (!annotated) return;
  const pullable = new Set(['Namespace', 'ConfigMap', 'Secret', 'PersistentVolumeClaim', 'ServiceAccount']);
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      for (let j = 0; j < n.deps.length; j++) {
        const d = n.deps[j]!;
        if (d.node < 0 || (d.wait.reason !== 'namespace' && d.wait.reason !== 'reference')) continue;
        const dep = nodes[d.node]!;
        if (dep.annotatedWave !== undefined || !pullable.has(dep.manifest?.object.kind ?? '')) continue;
        if (n.syncWave < dep.syncWave) {
          dep.syncWave = n.syncWave;
          changed = true;
        }
      }
    }
  }
}

function readSyncWave(m: Manifest, problems: Problem[]): number | undefined {
  const a = m.object.metadata.annotations ?? {};
  const raw = a[syncWaveAnnotation] ?? a[argoSyncWaveAnnotation];
  if (raw === undefined) return undefined;
  const field = a[syncWaveAnnotation] !== undefined ? syncWaveAnnotation : argoSyncWaveAnnotation;
  if (!/^-?\d+$/.test(raw.trim())) {
    const at = m.locate(['metadata', 'annotations', field]);
    problems.push({ severity: 'error', code: 'ManifestInvalid', file: m.source.file, line: at.line, column: at.column, object: `${m.object.kind}/${m.object.metadata.name}`, field: `metadata.annotations.${field}`, message: 'must be an integer such as "-1", "0" or "5"' });
    return 0;
  }
  return Number(raw);
}

/**
 * Every object of sync wave N waits for every object of the waves before it. One barrier node per
 * wave keeps that linear in size: barrier(N) depends on the objects of the previous wave and on the
 * previous barrier; the objects of wave N depend on barrier(N).
 */
function addSyncWaveBarriers(nodes: Node[]): void {
  const distinct = new Set<number>();
  for (let i = 0; i < nodes.length; i++) distinct.add(nodes[i]!.syncWave);
  const waves = [...distinct].sort((a, b) => a - b);
  if (waves.length < 2) return;
  const objects = nodes.slice();
  let previous: number | undefined;
  for (let i = 1; i < waves.length; i++) {
    const id = nodes.length;
    const before = waves[i - 1]!;
    const barrier: Node = { id, key: `sync-wave ${before}`, syncWave: waves[i]!, deps: [] };
    for (let j = 0; j < objects.length; j++) {
      const n = objects[j]!;
      if (n.syncWave === before) barrier.deps.push({ node: n.id, wait: { on: displayKey(n.key), reason: 'sync-wave' } });
    }
    if (previous !== undefined) barrier.deps.push({ node: previous, wait: { on: nodes[previous]!.key, reason: 'sync-wave' } });
    nodes.push(barrier);
    for (let j = 0; j < objects.length; j++) if (objects[j]!.syncWave === waves[i]) objects[j]!.deps.push({ node: id, wait: { on: `sync-wave ${before}`, reason: 'sync-wave' } });
    previous = id;
  }
}

function topologicalOrder(nodes: Node[]): { ok: true; ids: Int32Array } | { ok: false; cycle: number[] } {
  const count = nodes.length;
  // Each node's dependents, in one array (first[i] to first[i + 1]), in the order of the nodes.
  const indegree = new Int32Array(count);
  const first = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) {
    const deps = nodes[i]!.deps;
    for (let j = 0; j < deps.length; j++) {
      const d = deps[j]!;
      if (d.node < 0) continue;
      indegree[i]!++;
      first[d.node + 1]!++;
    }
  }
  for (let i = 0; i < count; i++) first[i + 1]! += first[i]!;
  const dependents = new Int32Array(first[count]!);
  const filled = first.slice(0, count);
  for (let i = 0; i < count; i++) {
    const deps = nodes[i]!.deps;
    for (let j = 0; j < deps.length; j++) if (deps[j]!.node >= 0) dependents[filled[deps[j]!.node]!++] = i;
  }
  const ids = new Int32Array(count);
  let tail = 0;
  for (let id = 0; id < count; id++) if (indegree[id] === 0) ids[tail++] = id;
  for (let head = 0; head < tail; head++) {
    const id = ids[head]!;
    for (let e = first[id]!; e < first[id + 1]!; e++) {
      const next = dependents[e]!;
      if (--indegree[next]! === 0) ids[tail++] = next;
    }
  }
  if (tail === count) return { ok: true, ids };
  // Walk "depends on" edges among the nodes left over until one repeats: that is a cycle.
  const left = new Set(nodes.filter((n) => indegree[n.id]! > 0).map((n) => n.id));
  let current = Math.min(...[...left].filter((id) => nodes[id]!.manifest));
  const path: number[] = [];
  const at = new Map<number, number>();
  while (!at.has(current)) {
    at.set(current, path.length);
    path.push(current);
    current = nodes[current]!.deps.find((d) => left.has(d.node))!.node;
  }
  const cycle = path.slice(at.get(current));
  // Start the printed cycle at an object, not at a sync-wave barrier.
  const start = cycle.findIndex((id) => nodes[id]!.manifest);
  const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
  return { ok: false, cycle: [...rotated, rotated[0]!] };
}

const kindRank = new Map(kindOrder.map((k, i) => [k, i]));

/**
 * In kind order, then by key. Steps are put in one bucket per kind and each bucket's keys sorted by
 * the native sort, with no comparison written in JavaScript: a plan sorts every object once.
 */
function sortSteps(steps: Step[]): Step[] {
  const buckets = new Map<number, Step[]>();
  for (let i = 0; i < steps.length; i++) {
    const rank = kindRank.get(steps[i]!.object.kind) ?? -1;
    const bucket = buckets.get(rank);
    if (bucket) bucket.push(steps[i]!);
    else buckets.set(rank, [steps[i]!]);
  }
  const ranks = [...buckets.keys()].sort((a, b) => a - b);
  const out: Step[] = [];
  for (let r = 0; r < ranks.length; r++) {
    const bucket = buckets.get(ranks[r]!)!;
    const byKey = new Map<ObjectKey, Step[]>();
    const keys: ObjectKey[] = [];
    for (let i = 0; i < bucket.length; i++) {
      const same = byKey.get(bucket[i]!.key);
      if (same) same.push(bucket[i]!);
      else {
        byKey.set(bucket[i]!.key, [bucket[i]!]);
        keys.push(bucket[i]!.key);
      }
    }
    // Strings sort by UTF-16 code units, as < compares them.
    keys.sort();
    for (let i = 0; i < keys.length; i++) out.push(...byKey.get(keys[i]!)!);
  }
  return out;
}

/** Deletion order: the reverse of the order the objects would be applied in. */
export function pruneOrder(objects: KubeObject[]): KubeObject[] {
  const manifests: Manifest[] = objects.map((object) => ({ object, source: { file: '(live)', document: 0, line: 1, column: 1 }, locate: () => ({ line: 1, column: 1 }) }));
  const p = plan(manifests, { existing: new Set(objects.map(keyOf)) });
  if (p.waves.length === 0) {
    return [...objects].sort((a, b) => kindOrder.indexOf(b.kind) - kindOrder.indexOf(a.kind));
  }
  return p.waves.flatMap((w) => w.steps.map((s) => s.object)).reverse();
}

/** "after Deployment/mysql is healthy" and friends, for people. */
export function describeWait(w: Wait): string {
  switch (w.reason) {
    case 'depends-on':
      return `after ${w.on} is healthy (depends-on)${w.external ? ', already exists' : ''}`;
    case 'sync-wave':
      return w.key ? `after ${w.on} is healthy (an earlier sync wave)` : `after every object of ${w.on} is healthy`;
    case 'namespace':
      return `after ${w.on} exists (its namespace)`;
    case 'reference':
      return `after ${w.on} exists (${w.detail})`;
    case 'inferred':
      return w.key?.startsWith('Service/') ? `after ${w.on} has a ready endpoint (inferred: ${w.detail})` : `after ${w.on} is healthy (inferred: ${w.detail})`;
  }
}
