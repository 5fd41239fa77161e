import type { KubeObject } from '../manifest/types.js';

const scalable = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController']);

/** The objects HorizontalPodAutoscalers scale, as `Kind/namespace/name`. Pure. */
export function autoscaledKeys(hpas: readonly KubeObject[]): Set<string> {
  const out = new Set<string>();
  for (const h of hpas) {
    const ref = h.spec?.scaleTargetRef;
    if (h.kind === 'HorizontalPodAutoscaler' && ref?.kind && ref.name && !h.metadata.deletionTimestamp) out.add(`${ref.kind}/${h.metadata.namespace ?? ''}/${ref.name}`);
  }
  return out;
}

/**
 * A manifest as it is compared with and written over its live object when an autoscaler scales
 * it: the live object's replicas, which are the autoscaler's, as Argo CD and Flux users leave them
 * (a sync would otherwise put the manifest's back, and the autoscaler scale again). Pure; a copy
 * when changed.
 */
export function withAutoscaledReplicas(desired: KubeObject, live: KubeObject | undefined, autoscaled: ReadonlySet<string>): KubeObject {
  if (!live || !scalable.has(desired.kind) || live.spec?.replicas === undefined) return desired;
  if (!autoscaled.has(`${desired.kind}/${desired.metadata.namespace ?? ''}/${desired.metadata.name}`)) return desired;
  if (desired.spec?.replicas === live.spec.replicas) return desired;
  return { ...desired, spec: { ...desired.spec, replicas: live.spec.replicas } };
}

/** A scalable object's spec without its replicas, to tell an autoscaler's scaling from an edit. Pure. */
export function specBesideReplicas(o: KubeObject): string {
  const { replicas: _replicas, ...rest } = o.spec ?? {};
  return JSON.stringify(rest);
}
