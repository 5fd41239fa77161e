import type { KubeObject } from '../manifest/types.js';
import { parseQuantity } from '../manifest/quantity.js';
import { priorityOf } from '../api/priority.js';
import { preemptionFor, type PreemptionPlan } from './preemption.js';
import { budgetsBroken } from '../api/disruption.js';
import { interPodPreference, interPodRefusal, normalised, spreadPreference, spreadRefusal, type NamespaceLabels, type PlacedPod } from './pod-affinity.js';

/**
 * The scheduler's decision, as kube-scheduler makes it: filter the nodes a Pod may run on, score
 * those left, bind to the best. Pure: the nodes and Pods come in, the choices go out.
 */

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
}

interface Requests {
  /** Millicores. */
  cpu: number;
  /** Bytes. */
  memory: number;
}

/** The annotation that pins a claim's local volume to the node it was first used on. */
export const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node';

/** The scheduler's name, as Pods name it in spec.schedulerName (the default). */
export const defaultSchedulerName = 'default-scheduler';

/** What the Pod asks for: its containers' requests summed (a limit stands for a missing request), or its largest init container's. */
export function podRequests(pod: KubeObject): Requests {
  const of = (c: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }, name: 'cpu' | 'memory') => {
    const q = c.resources?.requests?.[name] ?? c.resources?.limits?.[name];
    if (q === undefined) return 0;
    const n = parseQuantity(q);
    return Number.isFinite(n) ? (name === 'cpu' ? Math.round(n * 1000) : n) : 0;
  };
  const sum = { cpu: 0, memory: 0 };
  for (const c of pod.spec?.containers ?? []) {
    sum.cpu += of(c, 'cpu');
    sum.memory += of(c, 'memory');
  }
  for (const c of pod.spec?.initContainers ?? []) {
    sum.cpu = Math.max(sum.cpu, of(c, 'cpu'));
    sum.memory = Math.max(sum.memory, of(c, 'memory'));
  }
  return sum;
}

function hostPorts(pod: KubeObject): string[] {
  const ports: string[] = [];
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.hostPort) ports.push(`${p.protocol ?? 'TCP'}/${p.hostIP ?? '0.0.0.0'}/${p.hostPort}`);
  return ports;
}

function portsClash(a: string, b: string): boolean {
  const [pa, ia, na] = a.split('/');
  const [pb, ib, nb] = b.split('/');
  return pa === pb && na === nb && (ia === ib || ia === '0.0.0.0' || ib === '0.0.0.0');
}

export function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === 'Exists';
    if (t.key !== taint.key) return false;
    return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
  });
}

interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

function matchesRequirement(labels: Record<string, string>, r: Requirement): boolean {
  const v = labels[r.key];
  switch (r.operator) {
    case 'In':
      return v !== undefined && (r.values ?? []).includes(v);
    case 'NotIn':
      return v === undefined || !(r.values ?? []).includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    case 'Gt':
      return v !== undefined && Number(v) > Number(r.values?.[0]);
    case 'Lt':
      return v !== undefined && Number(v) < Number(r.values?.[0]);
    default:
      return false;
  }
}

interface NodeSelectorTerm {
  matchExpressions?: Requirement[];
  matchFields?: Requirement[];
}

function matchesTerm(node: KubeObject, term: NodeSelectorTerm): boolean {
  const labels = node.metadata.labels ?? {};
  const fields = { 'metadata.name': node.metadata.name };
  return (term.matchExpressions ?? []).every((r) => matchesRequirement(labels, r)) && (term.matchFields ?? []).every((r) => matchesRequirement(fields, r));
}

/** nodeSelector and required node affinity: the terms are ORed, each term's requirements ANDed. */
export function matchesNodeAffinity(pod: KubeObject, node: KubeObject): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries((pod.spec?.nodeSelector ?? {}) as Record<string, string>)) if (labels[k] !== v) return false;
  const terms: NodeSelectorTerm[] | undefined = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms?.length) return true;
  return terms.some((t) => matchesTerm(node, t));
}

export function nodeReady(node: KubeObject): boolean {
  return (node.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/** A node's allocatable CPU (millicores), memory (bytes) and Pods. */
export function allocatable(node: KubeObject): { cpu: number; memory: number; pods: number } {
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  const num = (q: string | undefined, fallback: number) => (q === undefined ? fallback : parseQuantity(q));
  return { cpu: Math.round(num(a.cpu, Infinity) * 1000), memory: num(a.memory, Infinity), pods: num(a.pods, 110) };
}

interface NodeUsage {
  node: KubeObject;
  cpu: number;
  memory: number;
  pods: number;
  ports: string[];
  /** Pods per owner uid, for spreading one owner's replicas. */
  owners: Map<string, number>;
}

export interface Decision extends PreemptionPlan {
  pod: KubeObject;
  node?: string;
  /** Why no node fits, in kube-scheduler's words. */
  message?: string;
  /** Held back by its spec.schedulingGates, until they are all removed: not placed, nothing preempted. */
  gated?: boolean;
}

function ownerUid(pod: KubeObject): string | undefined {
  return (pod.metadata.ownerReferences ?? []).find((r) => r.controller)?.uid;
}

/** A bound Pod that still holds its node's resources. */
function holdsResources(pod: KubeObject): boolean {
  return !!pod.spec?.nodeName && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export interface ScheduleInput {
  nodes: KubeObject[];
  pods: KubeObject[];
  /** A claim's node, when its local volume already lives on one. */
  claimNode?: (namespace: string, claim: string) => string | undefined;
  /** Why a claim keeps every Pod that mounts it from any node (missing, being deleted, unbound), if it does. */
  claimProblem?: (namespace: string, claim: string) => string | undefined;
  /** The namespaces, for the namespaceSelector of an inter-pod affinity term. */
  namespaces?: KubeObject[];
  /** PodDisruptionBudgets, which preemption breaks only when it must. */
  budgets?: KubeObject[];
}

/**
 * Decides a node for each unscheduled Pod in turn, the highest priority first, then the oldest;
 * each choice counts for the next. A Pod that fits nowhere may preempt Pods of lower priority.
 */
export function schedule(input: ScheduleInput): Decision[] {
  const usage = new Map<string, NodeUsage>(input.nodes.map((n) => [n.metadata.name, { node: n, cpu: 0, memory: 0, pods: 0, ports: [], owners: new Map() }]));
  const charge = (u: NodeUsage, pod: KubeObject) => {
    const r = podRequests(pod);
    u.cpu += r.cpu;
    u.memory += r.memory;
    u.pods += 1;
    u.ports.push(...hostPorts(pod));
    const owner = ownerUid(pod);
    if (owner) u.owners.set(owner, (u.owners.get(owner) ?? 0) + 1);
  };
  const podsOn = new Map<string, KubeObject[]>();
  // Every Pod that holds a node, and each one placed in this pass, for inter-pod affinity and spread.
  const placed: PlacedPod[] = [];
  const nsLabels = new Map((input.namespaces ?? []).map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
  const context: FilterContext = { claimNode: input.claimNode, placed, nodes: input.nodes, nsLabels: (ns) => nsLabels.get(ns) ?? { 'kubernetes.io/metadata.name': ns } };
  for (const p of input.pods) {
    const u = holdsResources(p) ? usage.get(p.spec.nodeName) : undefined;
    if (!u) continue;
    charge(u, p);
    placed.push({ pod: p, node: u.node });
    (podsOn.get(p.spec.nodeName) ?? podsOn.set(p.spec.nodeName, []).get(p.spec.nodeName)!).push(p);
  }
  // A Pod that names another scheduler is that scheduler's to bind (through pods/binding), as in Kubernetes.
  const pending = input.pods.filter((p) => !p.spec?.nodeName && !p.metadata.deletionTimestamp && (p.spec?.schedulerName ?? defaultSchedulerName) === defaultSchedulerName).sort((a, b) => priorityOf(b) - priorityOf(a) || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name));
  const decisions: Decision[] = [];
  for (const pod of pending) {
    if ((pod.spec?.schedulingGates ?? []).length > 0) {
      decisions.push({ pod, gated: true, message: 'Scheduling is blocked due to non-empty scheduling gates' });
      continue;
    }
    // As kube-scheduler's volume plugins before any node is tried: a claim the Pod cannot have.
    const claimProblem = (pod.spec?.volumes ?? []).map((v: { persistentVolumeClaim?: { claimName?: string } }) => v.persistentVolumeClaim?.claimName && input.claimProblem?.(pod.metadata.namespace!, v.persistentVolumeClaim.claimName)).find(Boolean);
    if (claimProblem) {
      decisions.push({ pod, message: `0/${usage.size} nodes are available: ${claimProblem}.` });
      continue;
    }
    const reasons = new Map<string, number>();
    const fits: NodeUsage[] = [];
    for (const u of usage.values()) {
      const why = filter(pod, u, context);
      if (why.length === 0) fits.push(u);
      for (const r of why) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    if (fits.length === 0) {
      const listed = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
      const candidates = [...usage.values()].map((u) => ({ node: u.node.metadata.name, usage: u, pods: podsOn.get(u.node.metadata.name) ?? [] }));
      const plan = preemptionFor(pod, candidates, (u, gone) => filter(pod, without(u, gone), context).length === 0, (victims) => budgetsBroken(input.budgets ?? [], input.pods, victims));
      decisions.push({ pod, message: `0/${usage.size} nodes are available${listed.length ? `: ${listed.join(', ')}` : ''}.`, ...plan });
      continue;
    }
    // Preferred inter-pod affinity, and ScheduleAnyway spread (weighed twice, as kube-scheduler's default profile does), each 0..100 over the nodes that fit.
    const eligible = input.nodes.filter((n) => matchesNodeAffinity(pod, n));
    const inter = normalised(fits.map((u) => interPodPreference(pod, u.node, placed, context.nsLabels)));
    const spread = normalised(fits.map((u) => spreadPreference(pod, u.node, eligible, placed)));
    const best = fits.map((u, i) => ({ u, score: score(pod, u) + inter[i]! + 2 * spread[i]! })).sort((a, b) => b.score - a.score || a.u.node.metadata.name.localeCompare(b.u.node.metadata.name))[0]!.u;
    charge(best, pod);
    placed.push({ pod, node: best.node });
    decisions.push({ pod, node: best.node.metadata.name });
  }
  return decisions;
}

/** A node's usage once some of its Pods have gone (a copy). */
function without(u: NodeUsage, gone: KubeObject[]): NodeUsage {
  const out = { ...u, ports: [...u.ports] };
  for (const p of gone) {
    const r = podRequests(p);
    out.cpu -= r.cpu;
    out.memory -= r.memory;
    out.pods -= 1;
    for (const port of hostPorts(p)) {
      const i = out.ports.indexOf(port);
      if (i >= 0) out.ports.splice(i, 1);
    }
  }
  return out;
}

interface FilterContext {
  claimNode: ScheduleInput['claimNode'];
  placed: PlacedPod[];
  nodes: KubeObject[];
  nsLabels: NamespaceLabels;
}

/** The filters, in kube-scheduler's order; a node fails at the first, some (resources) give several reasons. */
function filter(pod: KubeObject, u: NodeUsage, context: FilterContext): string[] {
  const { claimNode } = context;
  const node = u.node;
  const tolerations: Toleration[] = pod.spec?.tolerations ?? [];
  if (node.spec?.unschedulable && !tolerates(tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) return ['node(s) were unschedulable'];
  const taint = ((node.spec?.taints ?? []) as Taint[]).find((t) => t.effect !== 'PreferNoSchedule' && !tolerates(tolerations, t));
  if (taint) return [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`];
  if (!nodeReady(node)) return ['node(s) were not ready'];
  if (!matchesNodeAffinity(pod, node)) return ["node(s) didn't match Pod's node affinity/selector"];
  // spec.os: the kubelet of another system refuses such a Pod; here it is not placed there.
  const os = (pod.spec?.os as { name?: string } | undefined)?.name;
  if (os && (node.metadata.labels?.['kubernetes.io/os'] ?? 'linux') !== os) return [`node(s) didn't run the Pod's os (${os})`];
  const ports = hostPorts(pod);
  if (ports.some((p) => u.ports.some((q) => portsClash(p, q)))) return ["node(s) didn't have free ports for the requested pod ports"];
  const want = podRequests(pod);
  const free = allocatable(node);
  const short: string[] = [];
  if (u.pods + 1 > free.pods) short.push('Too many pods');
  if (want.cpu > 0 && u.cpu + want.cpu > free.cpu) short.push('Insufficient cpu');
  if (want.memory > 0 && u.memory + want.memory > free.memory) short.push('Insufficient memory');
  if (short.length) return short;
  for (const v of pod.spec?.volumes ?? []) {
    const claim = v.persistentVolumeClaim?.claimName;
    const pinned = claim ? claimNode?.(pod.metadata.namespace!, claim) : undefined;
    if (pinned && pinned !== node.metadata.name) return ["node(s) didn't match PersistentVolume's node affinity"];
  }
  const interPod = interPodRefusal(pod, node, context.placed, context.nsLabels);
  if (interPod) return [interPod];
  if (!pod.spec?.topologySpreadConstraints?.length) return [];
  const spread = spreadRefusal(pod, node, context.nodes.filter((n) => matchesNodeAffinity(pod, n)), context.placed);
  return spread ? [spread] : [];
}

/**
 * Spread first (fewer Pods of the same owner), then least requested (the most CPU and memory left
 * after this Pod, as a share of allocatable), then preferred affinity and PreferNoSchedule taints.
 */
function score(pod: KubeObject, u: NodeUsage): number {
  const owner = ownerUid(pod);
  const spread = owner ? 100 - Math.min(100, (u.owners.get(owner) ?? 0) * 10) : 100;
  const want = podRequests(pod);
  const free = allocatable(u.node);
  // Kubernetes counts a Pod without requests as 100m and 200Mi when it compares nodes.
  const cpu = u.cpu + (want.cpu || 100);
  const memory = u.memory + (want.memory || 200 * 1024 * 1024);
  const left = (used: number, total: number) => (Number.isFinite(total) && total > 0 ? Math.max(0, (total - used) / total) : 1);
  const leastRequested = ((left(cpu, free.cpu) + left(memory, free.memory)) / 2) * 10;
  let preferred = 0;
  for (const p of pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) if (matchesTerm(u.node, p.preference ?? {})) preferred += (p.weight ?? 1) / 100;
  const soft = ((u.node.spec?.taints ?? []) as Taint[]).filter((t) => t.effect === 'PreferNoSchedule' && !tolerates(pod.spec?.tolerations ?? [], t)).length;
  return spread * 1000 + preferred * 100 + leastRequested - soft * 50 - u.pods * 0.001;
}
