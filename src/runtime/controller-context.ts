import { nameSuffix, podTemplateHash, templateHash } from '../manifest/pod-template.js';

export { nameSuffix, podTemplateHash, templateHash };
import { cloneJson } from '../manifest/clone.js';
import type { KubeObject } from '../manifest/types.js';
import { deepEqual } from '../diff/deep-equal.js';

/**
 * What a workload controller (StatefulSet, DaemonSet, Job, CronJob) reads and writes through: lists
 * kept current with its own writes, writes through the API as system:kube-controller-manager, and
 * Events under its own component name.
 */
export interface ControllerContext {
  list(options: { kind: string; namespace?: string }): KubeObject[];
  create(o: KubeObject): Promise<KubeObject>;
  update(o: KubeObject): Promise<KubeObject>;
  remove(o: KubeObject): Promise<void>;
  /** Writes the status when it differs from the object's, onto the latest version of it. */
  writeStatus(o: KubeObject, status: Record<string, unknown>): Promise<void>;
  event(about: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  log(msg: string, fields?: Record<string, unknown>): void;
  now(): number;
  /** Asks for another pass at this time (a deadline, a TTL, a schedule). */
  wakeAt(at: number): void;
}

export function controllerRef(o: KubeObject) {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/**
 * Whether a ReplicaSet's Pod template is a Deployment's, as Kubernetes' EqualIgnoreHash compares
 * them: but for the pod-template-hash label, and with a null creationTimestamp (which kubectl
 * rollout undo writes back) the same as none. Pure.
 */
export function sameTemplateIgnoringHash(a: { metadata?: Record<string, any> } | undefined, b: { metadata?: Record<string, any> } | undefined): boolean {
  const plain = (t: { metadata?: Record<string, any> } | undefined) => {
    if (!t) return t;
    const { creationTimestamp, labels, ...meta } = t.metadata ?? {};
    const { 'pod-template-hash': _hash, ...rest } = (labels ?? {}) as Record<string, string>;
    return { ...t, metadata: { ...meta, ...(creationTimestamp != null ? { creationTimestamp } : {}), ...(Object.keys(rest).length ? { labels: rest } : {}) } };
  };
  return deepEqual(plain(a), plain(b));
}

export function ownedBy(o: KubeObject, parent: KubeObject): boolean {
  return (o.metadata.ownerReferences ?? []).some((r) => r.uid === parent.metadata.uid);
}

export function isPodReady(pod: KubeObject): boolean {
  return !pod.metadata.deletionTimestamp && (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/** A Pod that restarted this recently is not counted available: it may be about to crash again. */
export const restartWindowMs = 10_000;

/** When a Pod last restarted (its last container termination), or 0. */
export function lastRestart(pod: KubeObject): number {
  return Math.max(0, ...(pod.status?.containerStatuses ?? []).filter((c: { restartCount?: number }) => (c.restartCount ?? 0) > 0).map((c: { lastState?: { terminated?: { finishedAt?: string } } }) => Date.parse(c.lastState?.terminated?.finishedAt ?? '') || 0));
}

/**
 * Available, as the workload controllers count it: ready for minReadySeconds, and not restarted
 * within the last 10 s. Returns when it will be, if it is ready but not yet.
 */
export function availability(pod: KubeObject, minReadySeconds: number, now: number): { available: boolean; at?: number } {
  if (!isPodReady(pod)) return { available: false };
  const readySince = Date.parse((pod.status?.conditions ?? []).find((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime ?? '') || now;
  const at = Math.max(readySince + minReadySeconds * 1000, lastRestart(pod) + restartWindowMs);
  return now >= at ? { available: true } : { available: false, at };
}

export function isPodFinished(pod: KubeObject): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}


/** A Pod made from an owner's template, with extra labels and spec fields. */
export function podFromTemplate(owner: KubeObject, template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: unknown }, name: string, extra: { labels?: Record<string, string>; spec?: Record<string, unknown> } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: owner.metadata.namespace, labels: { ...template.metadata?.labels, ...extra.labels }, annotations: template.metadata?.annotations, ownerReferences: [controllerRef(owner)] },
    spec: { ...(cloneJson(template.spec) as Record<string, unknown>), ...extra.spec },
  };
}
