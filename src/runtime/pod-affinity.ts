import type { KubeObject } from '../manifest/types.js';
import { matchesSelector, type LabelSelector } from '../manifest/selector.js';

/**
 * Inter-pod affinity and topology spread, as kube-scheduler's InterPodAffinity and
 * PodTopologySpread plugins filter and score. A topology domain is a value of a node label
 * (`kubernetes.io/hostname`: each node; a zone label: each zone). Pure.
 */

/** A Pod that holds its node, with that node. */
export interface PlacedPod {
  pod: KubeObject;
  node: KubeObject;
}

interface AffinityTerm {
  labelSelector?: LabelSelector;
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  topologyKey: string;
}

interface WeightedTerm {
  weight: number;
  podAffinityTerm: AffinityTerm;
}

interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  labelSelector?: LabelSelector;
  /** Labels of the Pod whose values the Pods counted must share (pod-template-hash: the same revision). */
  matchLabelKeys?: string[];
}

/** The labels of each namespace, for a term's namespaceSelector. */
export type NamespaceLabels = (namespace: string) => Record<string, string>;

const required = (pod: KubeObject, kind: 'podAffinity' | 'podAntiAffinity'): AffinityTerm[] => pod.spec?.affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
const preferred = (pod: KubeObject, kind: 'podAffinity' | 'podAntiAffinity'): WeightedTerm[] => pod.spec?.affinity?.[kind]?.preferredDuringSchedulingIgnoredDuringExecution ?? [];

/** Whether `other` is a Pod the term of `owner` (a Pod of `ownerNamespace`) is about: its namespaces, and a selector (none matches nothing). */
function termMatches(term: AffinityTerm, ownerNamespace: string, other: KubeObject, nsLabels: NamespaceLabels): boolean {
  if (!term.labelSelector) return false;
  const ns = other.metadata.namespace!;
  // The namespaces listed and those the selector picks ({} picks all); with neither, the owner's.
  const listed = term.namespaces ?? [];
  const inNamespace = listed.length === 0 && !term.namespaceSelector ? ns === ownerNamespace : listed.includes(ns) || (!!term.namespaceSelector && matchesSelector(term.namespaceSelector, nsLabels(ns)));
  return inNamespace && matchesSelector(term.labelSelector, other.metadata.labels ?? {});
}

function sameDomain(a: KubeObject, b: KubeObject, key: string): boolean {
  const v = a.metadata.labels?.[key];
  return v !== undefined && v === b.metadata.labels?.[key];
}

/** Why `node` is refused by inter-pod affinity, or undefined. */
export function interPodRefusal(pod: KubeObject, node: KubeObject, placed: PlacedPod[], nsLabels: NamespaceLabels): string | undefined {
  const ns = pod.metadata.namespace!;
  for (const term of required(pod, 'podAffinity')) {
    const near = placed.some((p) => sameDomain(p.node, node, term.topologyKey) && termMatches(term, ns, p.pod, nsLabels));
    // The first Pod of a group that wants to be near its own kind may go anywhere, as in Kubernetes.
    const first = !placed.some((p) => termMatches(term, ns, p.pod, nsLabels)) && termMatches(term, ns, pod, nsLabels);
    if (!near && !(first && node.metadata.labels?.[term.topologyKey] !== undefined)) return "node(s) didn't match pod affinity rules";
  }
  for (const term of required(pod, 'podAntiAffinity')) {
    if (placed.some((p) => sameDomain(p.node, node, term.topologyKey) && termMatches(term, ns, p.pod, nsLabels))) return "node(s) didn't match pod anti-affinity rules";
  }
  // The anti-affinity of the Pods already there holds against this one too.
  for (const p of placed) {
    for (const term of required(p.pod, 'podAntiAffinity')) {
      if (sameDomain(p.node, node, term.topologyKey) && termMatches(term, p.pod.metadata.namespace!, pod, nsLabels)) return "node(s) didn't satisfy existing pods anti-affinity rules";
    }
  }
  return undefined;
}

/** The preferred terms' sum on `node`: each matching Pod in the term's domain adds its weight (affinity) or takes it away (anti-affinity). */
export function interPodPreference(pod: KubeObject, node: KubeObject, placed: PlacedPod[], nsLabels: NamespaceLabels): number {
  const ns = pod.metadata.namespace!;
  let sum = 0;
  for (const [kind, sign] of [['podAffinity', 1], ['podAntiAffinity', -1]] as const) {
    for (const w of preferred(pod, kind)) {
      for (const p of placed) if (sameDomain(p.node, node, w.podAffinityTerm.topologyKey) && termMatches(w.podAffinityTerm, ns, p.pod, nsLabels)) sum += sign * w.weight;
    }
  }
  return sum;
}

/** The Pod's constraints, each selector narrowed by its matchLabelKeys to the Pod's own values of them. */
function spreadConstraints(pod: KubeObject): SpreadConstraint[] {
  const labels: Record<string, string> = pod.metadata.labels ?? {};
  return ((pod.spec?.topologySpreadConstraints ?? []) as SpreadConstraint[]).map((c) => {
    const keys = (c.matchLabelKeys ?? []).filter((k) => labels[k] !== undefined);
    if (!c.labelSelector || keys.length === 0) return c;
    return { ...c, labelSelector: { ...c.labelSelector, matchExpressions: [...(c.labelSelector.matchExpressions ?? []), ...keys.map((key) => ({ key, operator: 'In' as const, values: [labels[key]!] }))] } };
  });
}

/** Matching Pods per domain of the constraint, over the nodes the Pod could go to that have the key. */
function domainCounts(pod: KubeObject, c: SpreadConstraint, eligible: KubeObject[], placed: PlacedPod[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of eligible) {
    const v = n.metadata.labels?.[c.topologyKey];
    if (v !== undefined) counts.set(v, 0);
  }
  for (const p of placed) {
    const v = p.node.metadata.labels?.[c.topologyKey];
    if (v === undefined || !counts.has(v) || p.pod.metadata.namespace !== pod.metadata.namespace) continue;
    if (c.labelSelector && matchesSelector(c.labelSelector, p.pod.metadata.labels ?? {})) counts.set(v, counts.get(v)! + 1);
  }
  return counts;
}

/** Why `node` is refused by a DoNotSchedule topology spread constraint, or undefined. `eligible`: the nodes the Pod's node selection allows. */
export function spreadRefusal(pod: KubeObject, node: KubeObject, eligible: KubeObject[], placed: PlacedPod[]): string | undefined {
  for (const c of spreadConstraints(pod)) {
    if (c.whenUnsatisfiable !== 'DoNotSchedule') continue;
    const v = node.metadata.labels?.[c.topologyKey];
    if (v === undefined) return "node(s) didn't match pod topology spread constraints (missing required label)";
    const counts = domainCounts(pod, c, eligible, placed);
    const self = c.labelSelector && matchesSelector(c.labelSelector, pod.metadata.labels ?? {}) ? 1 : 0;
    const min = Math.min(...counts.values());
    if ((counts.get(v) ?? 0) + self - min > c.maxSkew) return "node(s) didn't match pod topology spread constraints";
  }
  return undefined;
}

/** The ScheduleAnyway constraints' preference for `node`: fewer matching Pods in its domain is better (a negative count). */
export function spreadPreference(pod: KubeObject, node: KubeObject, eligible: KubeObject[], placed: PlacedPod[]): number {
  let sum = 0;
  for (const c of spreadConstraints(pod)) {
    if (c.whenUnsatisfiable !== 'ScheduleAnyway') continue;
    const v = node.metadata.labels?.[c.topologyKey];
    sum -= v === undefined ? placed.length + 1 : domainCounts(pod, c, eligible, placed).get(v) ?? 0;
  }
  return sum;
}

/** Spreads values to 0..100 over the candidates, as kube-scheduler normalises a plugin's scores (all equal: 0). */
export function normalised(values: number[]): number[] {
  const min = Math.min(...values);
  const max = Math.max(...values);
  return values.map((v) => (max === min ? 0 : ((v - min) / (max - min)) * 100));
}
