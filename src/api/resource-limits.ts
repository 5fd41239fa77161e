import { parseQuantity } from '../manifest/quantity.js';
import type { KubeObject } from '../manifest/types.js';

/**
 * LimitRange and ResourceQuota, pure: the defaults a LimitRange gives containers, the bounds it
 * sets, and what a new object would add to a namespace's quota usage.
 */

type Resources = Record<string, string | number>;
interface Container {
  name: string;
  resources?: { limits?: Resources; requests?: Resources };
}

/** Fills in each container's limits and requests from the namespace's Container LimitRanges; returns the bound violations. */
export function applyLimitRanges(spec: { containers?: Container[]; initContainers?: Container[] } | undefined, ranges: KubeObject[]): string[] {
  const problems: string[] = [];
  const items = ranges.flatMap((r) => (r.spec?.limits ?? []) as { type: string; default?: Resources; defaultRequest?: Resources; max?: Resources; min?: Resources }[]).filter((l) => l.type === 'Container');
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
    for (const l of items) {
      c.resources ??= {};
      for (const [k, v] of Object.entries(l.default ?? {})) if (c.resources.limits?.[k] === undefined) (c.resources.limits ??= {})[k] = v;
      for (const [k, v] of Object.entries(l.defaultRequest ?? l.default ?? {})) if (c.resources.requests?.[k] === undefined) (c.resources.requests ??= {})[k] = c.resources.limits?.[k] ?? v;
      for (const [k, max] of Object.entries(l.max ?? {})) {
        const limit = c.resources.limits?.[k];
        if (limit === undefined) problems.push(`maximum ${k} usage per Container is ${max}; container "${c.name}" sets no ${k} limit`);
        else if (parseQuantity(limit) > parseQuantity(max)) problems.push(`maximum ${k} usage per Container is ${max}, but container "${c.name}" has limit ${limit}`);
      }
      for (const [k, min] of Object.entries(l.min ?? {})) {
        const request = c.resources.requests?.[k];
        if (request !== undefined && parseQuantity(request) < parseQuantity(min)) problems.push(`minimum ${k} usage per Container is ${min}, but container "${c.name}" requests ${request}`);
      }
    }
  }
  return problems;
}

const countable: Record<string, string> = { Pod: 'pods', Service: 'services', ConfigMap: 'configmaps', Secret: 'secrets', PersistentVolumeClaim: 'persistentvolumeclaims', Deployment: 'count/deployments.apps', ReplicaSet: 'count/replicasets.apps', StatefulSet: 'count/statefulsets.apps', DaemonSet: 'count/daemonsets.apps', Job: 'count/jobs.batch', CronJob: 'count/cronjobs.batch', ReplicationController: 'replicationcontrollers' };

/** What an object counts for in a quota: `pods: 1`, and for a Pod its containers' requests and limits. */
export function usageOf(o: KubeObject): Record<string, number> {
  const out: Record<string, number> = {};
  const count = countable[o.kind];
  if (count) {
    out[count] = 1;
    if (!count.startsWith('count/')) out[`count/${count}`] = 1;
  }
  if (o.kind === 'Pod') {
    for (const c of (o.spec?.containers ?? []) as Container[]) {
      for (const [kind, list] of [['requests', c.resources?.requests], ['limits', c.resources?.limits]] as const) {
        for (const [k, v] of Object.entries(list ?? {})) {
          const key = `${kind}.${k}`;
          out[key] = (out[key] ?? 0) + parseQuantity(v);
          if (kind === 'requests') out[k] = (out[k] ?? 0) + parseQuantity(v);
        }
      }
    }
  }
  return out;
}

/** The namespace's usage of each resource a quota names. */
export function quotaUsage(quota: KubeObject, objects: KubeObject[]): Record<string, number> {
  const used: Record<string, number> = Object.fromEntries(Object.keys(quota.spec?.hard ?? {}).map((k) => [k, 0]));
  for (const o of objects) {
    if (o.metadata.deletionTimestamp) continue;
    for (const [k, v] of Object.entries(usageOf(o))) if (k in used) used[k] = used[k]! + v;
  }
  return used;
}

/** The resources a new object would take past a quota's hard limits, worded as Kubernetes does. */
export function exceeds(quota: KubeObject, used: Record<string, number>, adding: Record<string, number>): string | undefined {
  const over = Object.entries(quota.spec?.hard ?? {}).filter(([k, hard]) => adding[k] && used[k]! + adding[k]! > parseQuantity(hard as string));
  if (over.length === 0) return undefined;
  const show = (k: string, n: number) => (k.includes('memory') ? `${k}=${Math.round(n / 2 ** 20)}Mi` : k.includes('cpu') ? `${k}=${Math.round(n * 1000)}m` : `${k}=${n}`);
  return `exceeded quota: ${quota.metadata.name}, requested: ${over.map(([k]) => show(k, adding[k]!)).join(',')}, used: ${over.map(([k]) => show(k, used[k]!)).join(',')}, limited: ${over.map(([k, h]) => `${k}=${h}`).join(',')}`;
}
