import { matchesSelector, type LabelSelector } from '../manifest/selector.js';
import type { KubeObject } from '../manifest/types.js';

const ready = (p: KubeObject) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');

function resolve(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const share = (Number(value.replace('%', '')) / 100) * total;
  return roundUp ? Math.ceil(share) : Math.floor(share);
}

/** A PodDisruptionBudget's status, as the disruption controller computes it from the Pods it selects. Pure. */
export function budgetStatus(pdb: KubeObject, pods: KubeObject[]) {
  const selected = pods.filter((p) => p.metadata.namespace === pdb.metadata.namespace && matchesSelector(pdb.spec.selector as LabelSelector, p.metadata.labels ?? {}) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  const expectedPods = selected.length;
  const currentHealthy = selected.filter(ready).length;
  const desiredHealthy = pdb.spec.minAvailable !== undefined ? resolve(pdb.spec.minAvailable, expectedPods, true) : Math.max(0, expectedPods - resolve(pdb.spec.maxUnavailable ?? 0, expectedPods, true));
  const disruptionsAllowed = Math.max(0, currentHealthy - desiredHealthy);
  return {
    observedGeneration: pdb.metadata.generation,
    expectedPods,
    currentHealthy,
    desiredHealthy,
    disruptionsAllowed,
    conditions: [disruptionsAllowed > 0 ? { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '' } : { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '' }],
  };
}

/**
 * Whether evicting a Pod keeps every PodDisruptionBudget that selects it: a ready Pod may go only
 * while its budgets allow a disruption; one that is not ready may go when its budgets are met
 * (IfHealthyBudget, the default) or always (AlwaysAllow). Returns the budget it would break.
 */
export function budgetRefusing(pod: KubeObject, budgets: KubeObject[], pods: KubeObject[]): { name: string; message: string } | undefined {
  for (const pdb of budgets) {
    if (pdb.metadata.namespace !== pod.metadata.namespace || !matchesSelector(pdb.spec.selector as LabelSelector, pod.metadata.labels ?? {})) continue;
    const s = budgetStatus(pdb, pods);
    if (ready(pod)) {
      if (s.disruptionsAllowed < 1) return { name: pdb.metadata.name, message: `The disruption budget ${pdb.metadata.name} needs ${s.desiredHealthy} healthy pods and has ${s.currentHealthy} currently` };
    } else if (pdb.spec.unhealthyPodEvictionPolicy !== 'AlwaysAllow' && s.currentHealthy < s.desiredHealthy) {
      return { name: pdb.metadata.name, message: `The disruption budget ${pdb.metadata.name} needs ${s.desiredHealthy} healthy pods and has ${s.currentHealthy} currently` };
    }
  }
  return undefined;
}

/** How many budgets stopping these Pods at once would break: more of their ready Pods than a budget allows to go. Pure. */
export function budgetsBroken(budgets: KubeObject[], pods: KubeObject[], victims: KubeObject[]): number {
  let broken = 0;
  for (const pdb of budgets) {
    const taken = victims.filter((v) => v.metadata.namespace === pdb.metadata.namespace && ready(v) && matchesSelector(pdb.spec.selector as LabelSelector, v.metadata.labels ?? {})).length;
    if (taken > 0 && taken > budgetStatus(pdb, pods).disruptionsAllowed) broken++;
  }
  return broken;
}
