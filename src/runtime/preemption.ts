import type { KubeObject } from '../manifest/types.js';
import { priorityOf } from '../api/priority.js';

/** A node as preemption sees it: the Pods that hold its resources. */
export interface PreemptionCandidate<U> {
  node: string;
  usage: U;
  pods: KubeObject[];
}

export interface PreemptionPlan {
  /** Lower-priority Pods to stop on `node`, so that the Pod fits there. */
  preempt?: { node: string; victims: KubeObject[] };
  /** The node the Pod waits on while Pods already stopping there go. */
  nominated?: string;
}

/**
 * kube-scheduler's preemption, for a Pod that fits on no node. Where Pods already stopping would
 * make room, it waits for them (nothing more is stopped). Otherwise, on each node where stopping
 * every Pod of lower priority would make it fit, as many as still leave room are spared, the
 * highest priorities first (those a PodDisruptionBudget protects before the others); the node
 * chosen is the one whose victims break the fewest budgets, then whose highest victim priority is
 * lowest, then with the fewest victims. `fitsWithout` says whether the Pod fits on a node once
 * some of its Pods are gone; `breaks` how many budgets stopping these Pods would break. Pure.
 */
export function preemptionFor<U>(pod: KubeObject, candidates: PreemptionCandidate<U>[], fitsWithout: (usage: U, gone: KubeObject[]) => boolean, breaks: (victims: KubeObject[]) => number = () => 0): PreemptionPlan | undefined {
  for (const c of candidates) {
    const stopping = c.pods.filter((p) => p.metadata.deletionTimestamp);
    if (stopping.length > 0 && fitsWithout(c.usage, stopping)) return { nominated: c.node };
  }
  if (pod.spec?.preemptionPolicy === 'Never') return undefined;
  const priority = priorityOf(pod);
  let best: { node: string; victims: KubeObject[]; top: number; broken: number } | undefined;
  for (const c of candidates) {
    const lower = c.pods.filter((p) => !p.metadata.deletionTimestamp && priorityOf(p) < priority);
    if (lower.length === 0 || !fitsWithout(c.usage, lower)) continue;
    // Pods a budget protects are spared first, then the highest priorities, the oldest of a priority
    // before a newer one, as kube-scheduler orders them.
    const guarded = new Set(lower.filter((p) => breaks([p]) > 0));
    const spareFirst = [...lower].sort((a, b) => Number(guarded.has(b)) - Number(guarded.has(a)) || priorityOf(b) - priorityOf(a) || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    let victims = spareFirst;
    for (const p of spareFirst) {
      const spared = victims.filter((v) => v !== p);
      if (fitsWithout(c.usage, spared)) victims = spared;
    }
    const top = Math.max(...victims.map(priorityOf));
    const broken = breaks(victims);
    const better = !best || broken < best.broken || (broken === best.broken && (top < best.top || (top === best.top && victims.length < best.victims.length)));
    if (better) best = { node: c.node, victims, top, broken };
  }
  return best ? { preempt: { node: best.node, victims: best.victims } } : undefined;
}
