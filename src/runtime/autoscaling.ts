import { parseQuantity } from '../manifest/quantity.js';
import type { KubeObject } from '../manifest/types.js';

/** A resource metric of a HorizontalPodAutoscaler (autoscaling/v2), as this controller reads it. */
export interface ResourceMetric {
  name: 'cpu' | 'memory';
  /** Only this container's usage and requests (a ContainerResource metric). */
  container?: string;
  target: { type: 'Utilization' | 'AverageValue'; averageUtilization?: number; averageValue?: string };
}

/** What one Pod requests and uses, per container (CPU in cores, memory in bytes). */
export interface PodSample {
  name: string;
  ready: boolean;
  containers: { name: string; requests: { cpu?: number; memory?: number }; usage?: { cpu: number; memory: number } }[];
}

export interface Recommendation {
  replicas: number;
  /** Each metric as status.currentMetrics shows it. */
  current: Record<string, unknown>[];
  /** Why no recommendation could be made (missing requests, no metrics yet). */
  problem?: string;
}

/** Kubernetes' tolerance: a ratio within 10% of 1 changes nothing. */
const tolerance = 0.1;

/**
 * The replicas each metric asks for, as the HPA computes them: ceil(current × usage / target),
 * the usage averaged over the ready Pods that have metrics; the largest wins. Pure.
 */
export function recommend(currentReplicas: number, metrics: ResourceMetric[], pods: PodSample[]): Recommendation {
  let replicas = 0;
  const current: Record<string, unknown>[] = [];
  for (const m of metrics) {
    const measured = pods.filter((p) => p.ready && p.containers.every((c) => c.usage));
    if (measured.length === 0) return { replicas: currentReplicas, current, problem: `no metrics yet for the ${m.name} of the Pods` };
    const of = (p: PodSample) => p.containers.filter((c) => !m.container || c.name === m.container);
    const usage = measured.reduce((n, p) => n + of(p).reduce((k, c) => k + c.usage![m.name], 0), 0);
    let ratio: number;
    if (m.target.type === 'Utilization') {
      const missing = measured.flatMap(of).find((c) => !c.requests[m.name]);
      if (missing) return { replicas: currentReplicas, current, problem: `missing request for ${m.name} in container ${missing.name}: utilization is usage over requests` };
      const requested = measured.reduce((n, p) => n + of(p).reduce((k, c) => k + c.requests[m.name]!, 0), 0);
      const utilization = Math.round((usage / requested) * 100);
      ratio = utilization / m.target.averageUtilization!;
      current.push({ type: m.container ? 'ContainerResource' : 'Resource', [m.container ? 'containerResource' : 'resource']: { name: m.name, ...(m.container ? { container: m.container } : {}), current: { averageUtilization: utilization, averageValue: quantity(m.name, usage / measured.length) } } });
    } else {
      const average = usage / measured.length;
      ratio = average / parseQuantity(m.target.averageValue!);
      current.push({ type: m.container ? 'ContainerResource' : 'Resource', [m.container ? 'containerResource' : 'resource']: { name: m.name, ...(m.container ? { container: m.container } : {}), current: { averageValue: quantity(m.name, average) } } });
    }
    const wanted = Math.abs(ratio - 1) <= tolerance ? currentReplicas : Math.ceil(measured.length * ratio);
    replicas = Math.max(replicas, wanted);
  }
  return { replicas, current };
}

function quantity(name: 'cpu' | 'memory', v: number): string {
  return name === 'cpu' ? `${Math.round(v * 1000)}m` : `${Math.round(v)}`;
}

export interface ScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: { type: 'Pods' | 'Percent'; value: number; periodSeconds: number }[];
}

/** Kubernetes' default behaviour: up at once (4 Pods or 100% per 15 s), down after 5 minutes (100% per 15 s). */
export const defaultBehavior: { scaleUp: ScalingRules; scaleDown: ScalingRules } = {
  scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] },
  scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
};

/**
 * The replicas to set, from the recommendation, as the HPA's behaviour shapes it. Pure:
 * - stabilization: scaling up takes the lowest recommendation of its window, down the highest;
 * - policies: how much may change in each period, given the changes already made;
 * - minReplicas and maxReplicas bound it.
 */
export function shape(input: {
  now: number;
  current: number;
  recommended: number;
  min: number;
  max: number;
  behavior?: { scaleUp?: ScalingRules; scaleDown?: ScalingRules };
  /** Earlier recommendations, newest last (the caller keeps them). */
  history: { at: number; replicas: number }[];
  /** Earlier scale events: when, and by how many Pods (+ up, − down). */
  events: { at: number; change: number }[];
}): number {
  const up = { ...defaultBehavior.scaleUp, ...input.behavior?.scaleUp };
  const down = { ...defaultBehavior.scaleDown, ...input.behavior?.scaleDown };
  const bounded = Math.min(input.max, Math.max(input.min, input.recommended));
  const within = (seconds: number) => [...input.history.filter((h) => input.now - h.at <= seconds * 1000).map((h) => h.replicas), bounded];
  let desired = input.current;
  if (bounded > input.current) desired = Math.min(...within(up.stabilizationWindowSeconds ?? 0));
  else if (bounded < input.current) desired = Math.max(...within(down.stabilizationWindowSeconds ?? 300));
  desired = Math.min(input.max, Math.max(input.min, desired));
  if (desired === input.current) return desired;
  const rules = desired > input.current ? up : down;
  if (rules.selectPolicy === 'Disabled') return input.current;
  const limits = (rules.policies ?? []).map((p) => {
    const changed = input.events.filter((e) => input.now - e.at < p.periodSeconds * 1000 && (desired > input.current ? e.change > 0 : e.change < 0)).reduce((n, e) => n + Math.abs(e.change), 0);
    // The replicas at the start of the period, and how far the policy lets them go from there.
    const start = desired > input.current ? input.current - changed : input.current + changed;
    const step = p.type === 'Pods' ? p.value : desired > input.current ? Math.ceil((start * p.value) / 100) : Math.floor((start * p.value) / 100);
    return desired > input.current ? start + step : start - step;
  });
  if (limits.length === 0) return desired;
  const pick = rules.selectPolicy === 'Min' ? (desired > input.current ? Math.min(...limits) : Math.max(...limits)) : desired > input.current ? Math.max(...limits) : Math.min(...limits);
  return desired > input.current ? Math.min(desired, Math.max(input.current, pick)) : Math.max(desired, Math.min(input.current, pick));
}

/** A Pod's requests and usage, from its spec and its PodMetrics. */
export function sampleOf(pod: KubeObject, metrics: KubeObject | undefined): PodSample {
  const ready = (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') && !pod.metadata.deletionTimestamp;
  return {
    name: pod.metadata.name,
    ready,
    containers: (pod.spec?.containers ?? []).map((c: { name: string; resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }) => {
      const req = { ...c.resources?.limits, ...c.resources?.requests };
      const u = (metrics?.containers as { name: string; usage: { cpu: string; memory: string } }[] | undefined)?.find((x) => x.name === c.name)?.usage;
      return {
        name: c.name,
        requests: { cpu: req.cpu !== undefined ? parseQuantity(req.cpu) : undefined, memory: req.memory !== undefined ? parseQuantity(req.memory) : undefined },
        usage: u ? { cpu: parseQuantity(u.cpu), memory: parseQuantity(u.memory) } : undefined,
      };
    }),
  };
}
