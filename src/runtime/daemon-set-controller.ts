import type { KubeObject } from '../manifest/types.js';
import { availability, type ControllerContext, isPodReady, nameSuffix, ownedBy, podFromTemplate, templateHash } from './controller-context.js';
import { recordRevision, revisionLabel } from './controller-revisions.js';
import { matchesNodeAffinity, type Taint, tolerates, type Toleration } from './scheduler.js';

/** The tolerations Kubernetes gives every DaemonSet Pod: it stays through a node's trouble. */
const daemonTolerations: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** Whether a DaemonSet runs on a node: its nodeSelector and affinity match, and it tolerates the node's taints. */
export function daemonRunsOn(ds: KubeObject, node: KubeObject): boolean {
  if (node.metadata.deletionTimestamp) return false;
  const spec = ds.spec.template.spec;
  if (!matchesNodeAffinity({ apiVersion: 'v1', kind: 'Pod', metadata: { name: '' }, spec }, node)) return false;
  const tolerations = [...(spec.tolerations ?? []), ...daemonTolerations];
  return ((node.spec?.taints ?? []) as Taint[]).every((t) => t.effect === 'PreferNoSchedule' || tolerates(tolerations, t));
}

/** The node a DaemonSet Pod is for: its binding, else the node its affinity pins it to. */
function targetNode(pod: KubeObject): string | undefined {
  if (pod.spec.nodeName) return pod.spec.nodeName;
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  return terms.flatMap((t: { matchFields?: { key: string; values?: string[] }[] }) => t.matchFields ?? []).find((f: { key: string }) => f.key === 'metadata.name')?.values?.[0];
}

/**
 * The DaemonSet controller, as Kubernetes': one Pod on each node the template fits (nodeSelector,
 * required node affinity, taints, with the daemon tolerations), pinned there by node affinity and
 * bound by the scheduler. A Pod on a node that no longer fits, a duplicate or a failed Pod goes.
 * A RollingUpdate replaces outdated Pods at most maxUnavailable at a time. Each template is kept as
 * a ControllerRevision, for kubectl rollout history and undo.
 */
export async function reconcileDaemonSet(ds: KubeObject, ctx: ControllerContext): Promise<void> {
  if (ds.metadata.deletionTimestamp) return;
  const ns = ds.metadata.namespace!;
  const revision = `${ds.metadata.name}-${templateHash(ds.spec.template)}`;
  const nodes = ctx.list({ kind: 'Node' }).filter((n) => daemonRunsOn(ds, n));
  const eligible = new Set(nodes.map((n) => n.metadata.name));
  const pods = ctx.list({ kind: 'Pod', namespace: ns }).filter((p) => ownedBy(p, ds) && !p.metadata.deletionTimestamp);
  await recordRevision(ds, revision, new Set(pods.map((p) => p.metadata.labels?.[revisionLabel] ?? '')), ctx);
  const byNode = new Map<string, KubeObject[]>();
  for (const p of pods) {
    const node = targetNode(p) ?? '';
    (byNode.get(node) ?? byNode.set(node, []).get(node)!).push(p);
  }

  let misscheduled = 0;
  for (const [node, list] of byNode) {
    const keep = eligible.has(node) ? list.filter((p) => p.status?.phase !== 'Failed').sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '')).slice(0, 1) : [];
    if (!eligible.has(node)) misscheduled += list.length;
    for (const p of list.filter((p) => !keep.includes(p))) {
      await ctx.remove(p);
      ctx.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
    }
    byNode.set(node, keep);
  }

  for (const node of eligible) {
    if (byNode.get(node)?.length) continue;
    const pod = podFromTemplate(ds, ds.spec.template, `${ds.metadata.name}-${nameSuffix()}`, { labels: { [revisionLabel]: revision } });
    pod.spec.affinity = { ...pod.spec.affinity, nodeAffinity: { ...pod.spec.affinity?.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] } } };
    pod.spec.tolerations = [...(pod.spec.tolerations ?? []), ...daemonTolerations];
    const made = await ctx.create(pod);
    byNode.set(node, [made]);
    ctx.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
  }

  const placed = [...eligible].flatMap((n) => byNode.get(n) ?? []);
  if (ds.spec.updateStrategy?.type === 'RollingUpdate') {
    const max = ds.spec.updateStrategy.rollingUpdate?.maxUnavailable ?? 1;
    const allowed = typeof max === 'string' ? Math.max(1, Math.floor((Number(max.replace('%', '')) / 100) * eligible.size)) : Math.max(1, max);
    let unavailable = placed.filter((p) => !isPodReady(p)).length;
    // Outdated Pods that are not ready go first: replacing them costs no availability.
    const outdated = placed.filter((p) => p.metadata.labels?.[revisionLabel] !== revision).sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)));
    for (const p of outdated) {
      if (isPodReady(p) && unavailable >= allowed) break;
      await ctx.remove(p);
      ctx.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      if (isPodReady(p)) unavailable++;
    }
  }

  const ready = placed.filter(isPodReady).length;
  const states = placed.map((p) => availability(p, ds.spec.minReadySeconds ?? 0, ctx.now()));
  for (const a of states) if (a.at) ctx.wakeAt(a.at);
  const available = states.filter((a) => a.available).length;
  await ctx.writeStatus(ds, {
    currentNumberScheduled: placed.length,
    desiredNumberScheduled: eligible.size,
    numberMisscheduled: misscheduled,
    numberReady: ready,
    updatedNumberScheduled: placed.filter((p) => p.metadata.labels?.[revisionLabel] === revision).length,
    numberAvailable: available,
    ...(eligible.size - available > 0 ? { numberUnavailable: eligible.size - available } : {}),
    observedGeneration: ds.metadata.generation,
  });
}
