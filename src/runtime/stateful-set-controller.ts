import type { KubeObject } from '../manifest/types.js';
import { availability, type ControllerContext, isPodReady, ownedBy, podFromTemplate, templateHash } from './controller-context.js';
import { recordRevision, revisionLabel } from './controller-revisions.js';

/** The claim a StatefulSet's Pod gets from a volumeClaimTemplate: TEMPLATE-STATEFULSET-ORDINAL. */
export function claimName(template: string, sts: string, ordinal: number): string {
  return `${template}-${sts}-${ordinal}`;
}

function ordinalOf(sts: KubeObject, pod: KubeObject): number {
  const m = new RegExp(`^${sts.metadata.name}-(\\d+)$`).exec(pod.metadata.name);
  return m ? Number(m[1]) : -1;
}

/**
 * The StatefulSet controller, as Kubernetes': Pods NAME-0 to NAME-(n-1) (from ordinals.start), each
 * with hostname NAME-i and subdomain serviceName (so it answers to NAME-i.SERVICE), and one claim
 * per volumeClaimTemplate that outlives the Pod and, unless whenScaled is Delete, a scale-down.
 * OrderedReady makes Pods one at a time in order, each once the ones before are Running and Ready,
 * and removes them from the highest ordinal down; Parallel does all at once. A RollingUpdate replaces
 * Pods from the highest ordinal down to the partition, one at a time, each once all are Ready.
 * Each template is kept as a ControllerRevision, for kubectl rollout history and undo.
 */
export async function reconcileStatefulSet(sts: KubeObject, ctx: ControllerContext): Promise<void> {
  if (sts.metadata.deletionTimestamp) return;
  const spec = sts.spec;
  const ns = sts.metadata.namespace!;
  const start: number = spec.ordinals?.start ?? 0;
  const replicas: number = spec.replicas;
  const ordered = spec.podManagementPolicy !== 'Parallel';
  const revision = `${sts.metadata.name}-${templateHash(spec.template)}`;
  const pods = ctx.list({ kind: 'Pod', namespace: ns }).filter((p) => ownedBy(p, sts));
  const byOrdinal = new Map(pods.map((p) => [ordinalOf(sts, p), p]));
  const wanted = (i: number) => i >= start && i < start + replicas;
  const healthy = (p: KubeObject | undefined) => !!p && isPodReady(p) && p.status?.phase === 'Running';
  const inUse = new Set([...pods.map((p) => p.metadata.labels?.[revisionLabel] ?? ''), sts.status?.currentRevision ?? '']);
  await recordRevision(sts, revision, inUse, ctx);

  // Pods that failed, or are past the replicas, go; in order, the highest ordinal first.
  let blocked = false;
  const condemned = pods.filter((p) => !wanted(ordinalOf(sts, p)) && !p.metadata.deletionTimestamp).sort((a, b) => ordinalOf(sts, b) - ordinalOf(sts, a));
  if (ordered && pods.some((p) => p.metadata.deletionTimestamp)) blocked = true;
  for (const p of condemned) {
    if (blocked) break;
    if (ordered && pods.some((q) => wanted(ordinalOf(sts, q)) && !healthy(q))) break;
    await ctx.remove(p);
    ctx.event(sts, 'Normal', 'SuccessfulDelete', `delete Pod ${p.metadata.name} in StatefulSet ${sts.metadata.name} successful`);
    if (spec.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') await removeClaims(sts, ordinalOf(sts, p), ctx);
    if (ordered) blocked = true;
  }

  // Missing Pods are made, each with its claims; in order, each once those before it are ready.
  for (let i = start; i < start + replicas && !blocked; i++) {
    const p = byOrdinal.get(i);
    if (p) {
      // As Kubernetes' controller: a Pending Pod gets back a claim that went (deleted while it waited).
      if ((p.status?.phase ?? 'Pending') === 'Pending' && !p.metadata.deletionTimestamp) await ensureClaims(sts, i, ctx);
      if (ordered && !healthy(p)) blocked = true;
      continue;
    }
    await ensureClaims(sts, i, ctx);
    const pod = statefulPod(sts, i, revision);
    await ctx.create(pod);
    ctx.event(sts, 'Normal', 'SuccessfulCreate', `create Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`);
    if (ordered) blocked = true;
  }

  // RollingUpdate: one outdated Pod at a time, from the highest ordinal to the partition, once all are ready.
  const current = ctx.list({ kind: 'Pod', namespace: ns }).filter((p) => ownedBy(p, sts) && wanted(ordinalOf(sts, p)));
  if (spec.updateStrategy?.type !== 'OnDelete' && !blocked && current.length === replicas && current.every(healthy)) {
    const partition: number = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    const outdated = current.filter((p) => p.metadata.labels?.[revisionLabel] !== revision && ordinalOf(sts, p) - start >= partition).sort((a, b) => ordinalOf(sts, b) - ordinalOf(sts, a));
    const next = outdated[0];
    if (next) {
      ctx.log('updating a StatefulSet Pod to the new revision', { statefulSet: `${ns}/${sts.metadata.name}`, pod: next.metadata.name, revision });
      await ctx.remove(next);
      ctx.event(sts, 'Normal', 'SuccessfulDelete', `delete Pod ${next.metadata.name} in StatefulSet ${sts.metadata.name} successful`);
    }
  }

  const now = ctx.list({ kind: 'Pod', namespace: ns }).filter((p) => ownedBy(p, sts) && !p.metadata.deletionTimestamp);
  const updated = now.filter((p) => p.metadata.labels?.[revisionLabel] === revision);
  const ready = now.filter(healthy).length;
  const states = now.map((p) => availability(p, spec.minReadySeconds ?? 0, ctx.now()));
  for (const a of states) if (a.at) ctx.wakeAt(a.at);
  const currentRevision = updated.length === now.length ? revision : (sts.status?.currentRevision ?? revision);
  await ctx.writeStatus(sts, {
    observedGeneration: sts.metadata.generation,
    replicas: now.length,
    readyReplicas: ready,
    currentReplicas: now.filter((p) => p.metadata.labels?.[revisionLabel] === currentRevision).length,
    updatedReplicas: updated.length,
    availableReplicas: states.filter((a) => a.available).length,
    currentRevision,
    updateRevision: revision,
    collisionCount: 0,
  });
}

function statefulPod(sts: KubeObject, ordinal: number, revision: string): KubeObject {
  const name = `${sts.metadata.name}-${ordinal}`;
  const labels = { [revisionLabel]: revision, 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(ordinal) };
  const pod = podFromTemplate(sts, sts.spec.template, name, { labels, spec: { hostname: name, ...(sts.spec.serviceName ? { subdomain: sts.spec.serviceName } : {}) } });
  const claims = (sts.spec.volumeClaimTemplates ?? []).map((t: KubeObject) => ({ name: t.metadata.name, persistentVolumeClaim: { claimName: claimName(t.metadata.name, sts.metadata.name, ordinal) } }));
  pod.spec.volumes = [...(pod.spec.volumes ?? []), ...claims];
  return pod;
}

async function ensureClaims(sts: KubeObject, ordinal: number, ctx: ControllerContext): Promise<void> {
  const ns = sts.metadata.namespace!;
  const have = new Set(ctx.list({ kind: 'PersistentVolumeClaim', namespace: ns }).map((c) => c.metadata.name));
  for (const t of sts.spec.volumeClaimTemplates ?? []) {
    const name = claimName(t.metadata.name, sts.metadata.name, ordinal);
    if (have.has(name)) continue;
    // whenDeleted: Delete makes the claim the StatefulSet's, so it goes with it.
    const owned = sts.spec.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete';
    await ctx.create({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: ns, labels: { ...t.metadata.labels, ...sts.spec.selector.matchLabels }, annotations: t.metadata.annotations, ...(owned ? { ownerReferences: [{ apiVersion: sts.apiVersion, kind: sts.kind, name: sts.metadata.name, uid: sts.metadata.uid!, blockOwnerDeletion: true }] } : {}) },
      spec: structuredClone(t.spec),
    });
    ctx.event(sts, 'Normal', 'SuccessfulCreate', `create Claim ${name} Pod ${sts.metadata.name}-${ordinal} in StatefulSet ${sts.metadata.name} success`);
  }
}

async function removeClaims(sts: KubeObject, ordinal: number, ctx: ControllerContext): Promise<void> {
  const names = new Set((sts.spec.volumeClaimTemplates ?? []).map((t: KubeObject) => claimName(t.metadata.name, sts.metadata.name, ordinal)));
  for (const c of ctx.list({ kind: 'PersistentVolumeClaim', namespace: sts.metadata.namespace })) if (names.has(c.metadata.name)) await ctx.remove(c);
}
