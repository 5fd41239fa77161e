import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import type { Client } from '../api/client.js';
import { PassLoop } from './pass-loop.js';
import type { Taint } from './scheduler.js';
import { schedulingChanged } from './workload-controllers.js';

type Recorder = { record(about: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void };

export interface NodeLifecycleOptions {
  store: ObjectStore;
  /** Writes as system:kube-controller-manager. */
  client: Client;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  events?: Recorder;
  /** A node whose heartbeat is older than this is NotReady (Kubernetes' node-monitor-grace-period, 40s). */
  monitorGraceMs?: number;
  /** How long a node stays NotReady before its Pods are replaced elsewhere (5 minutes). */
  evictionTimeoutMs?: number;
  /** The engine's last error, for the NotReady message. */
  lastError?: (node: string) => string | undefined;
  now?: () => number;
}

const unreachable = 'node.kubernetes.io/unreachable';
const notReady = 'node.kubernetes.io/not-ready';

function readyCondition(node: KubeObject): { status: string; lastHeartbeatTime?: string; lastTransitionTime?: string } | undefined {
  return (node.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
}

/**
 * What kube-controller-manager's node lifecycle controller does: a node whose heartbeat stops is
 * marked Unknown and tainted unreachable, its Pods turn NotReady; after the eviction timeout its
 * Pods are deleted so their owners make them again elsewhere. Nothing is deleted on the node itself
 * (it cannot be reached); when it comes back its agent removes what belongs to deleted Pods.
 * Pods bound to a Node that no longer exists are deleted too (the Pod garbage collector).
 */
export class NodeLifecycleController {
  private readonly loop: PassLoop;
  private readonly seen = new Map<string, string>();

  constructor(private readonly o: NodeLifecycleOptions) {
    this.loop = new PassLoop({ pass: () => this.pass(), onError: (err, ms) => o.log('node lifecycle pass failed; retrying', { err: err.message, retryInMs: ms }), resyncMs: 5000 });
  }

  start(): void {
    // A heartbeat alone is looked at by the 5-second pass; a Node added, changed or deleted at once.
    this.loop.start(this.o.store, (c) => {
      if (c.object.kind !== 'Node') return false;
      if (c.type === 'DELETED') this.orphansPossible = true;
      return schedulingChanged(this.seen, c.type, c.object);
    });
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** A Node was deleted (or this is the first pass): Pods bound to missing Nodes are looked for. */
  private orphansPossible = true;

  async pass(): Promise<void> {
    const { store } = this.o;
    const nodes = store.list({ kind: 'Node' });
    const names = new Set(nodes.map((n) => n.metadata.name));
    // The Pods are read only when a node is in trouble or a Node went: an idle pass reads Nodes alone.
    const silent = (n: KubeObject) => readyCondition(n)?.status !== 'True' || this.now() - (Date.parse(readyCondition(n)?.lastHeartbeatTime ?? '') || 0) > (this.o.monitorGraceMs ?? 40_000);
    const orphans = this.orphansPossible;
    this.orphansPossible = false;
    let pods: KubeObject[] | undefined;
    const podsOf = (name: string) => (pods ??= store.list({ kind: 'Pod' })).filter((p) => p.spec?.nodeName === name);
    for (const node of nodes) await this.check(node, silent(node) ? podsOf(node.metadata.name) : []);
    if (!orphans) return;
    for (const p of (pods ??= store.list({ kind: 'Pod' }))) {
      if (!p.spec?.nodeName || names.has(p.spec.nodeName)) continue;
      this.o.log('deleting a Pod bound to a Node that no longer exists', { pod: `${p.metadata.namespace}/${p.metadata.name}`, node: p.spec.nodeName });
      await this.o.client.delete('Pod', p.metadata.namespace, p.metadata.name).catch(() => {});
    }
  }

  private async check(node: KubeObject, pods: KubeObject[]): Promise<void> {
    const grace = this.o.monitorGraceMs ?? 40_000;
    const ready = readyCondition(node);
    const heartbeat = Date.parse(ready?.lastHeartbeatTime ?? node.metadata.creationTimestamp ?? '') || 0;
    const silent = this.now() - heartbeat > grace;
    if (ready?.status === 'True' && silent) {
      const error = this.o.lastError?.(node.metadata.name);
      const message = `the Docker engine has not answered for ${Math.round((this.now() - heartbeat) / 1000)}s${error ? `: ${error}` : ''} (Kubelet stopped posting node status)`;
      const conditions = (node.status?.conditions ?? []).map((c: { type: string }) => (c.type === 'Ready' || /Pressure$/.test(c.type) ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message, lastTransitionTime: new Date(this.now()).toISOString() } : c));
      await this.o.client.updateStatus({ ...node, metadata: { ...node.metadata, resourceVersion: undefined }, status: { ...node.status, conditions } });
      this.o.log('a node stopped answering; it is NotReady', { node: node.metadata.name });
      this.o.events?.record(node, 'Normal', 'NodeNotReady', `Node ${node.metadata.name} status is now: NodeNotReady`);
      for (const p of pods) await this.markNotReady(p);
      return;
    }
    // Taints follow the Ready condition, as TaintBasedEvictions sets them.
    const want: Taint[] = ready?.status === 'True' ? [] : ready?.status === 'False' ? [{ key: notReady, effect: 'NoSchedule' }, { key: notReady, effect: 'NoExecute' }] : [{ key: unreachable, effect: 'NoSchedule' }, { key: unreachable, effect: 'NoExecute' }];
    const taints: Array<Taint & { timeAdded?: string }> = node.spec?.taints ?? [];
    const others = taints.filter((t) => t.key !== unreachable && t.key !== notReady);
    const kept = taints.filter((t) => want.some((w) => w.key === t.key && w.effect === t.effect));
    const next = [...others, ...kept, ...want.filter((w) => !kept.some((t) => t.key === w.key && t.effect === w.effect)).map((w) => ({ ...w, ...(w.effect === 'NoExecute' ? { timeAdded: new Date(this.now()).toISOString() } : {}) }))];
    if (JSON.stringify(next) !== JSON.stringify(taints)) {
      const spec = { ...node.spec, taints: next.length ? next : undefined };
      if (!next.length) delete spec.taints;
      await this.o.client.update({ ...node, metadata: { ...node.metadata, resourceVersion: undefined }, spec });
      if (ready?.status === 'True') this.o.events?.record(node, 'Normal', 'NodeReady', `Node ${node.metadata.name} status is now: NodeReady`);
    }
    if (ready?.status === 'True' || !ready) return;
    const since = Date.parse(ready.lastTransitionTime ?? '') || this.now();
    if (this.now() - since < (this.o.evictionTimeoutMs ?? 300_000)) return;
    for (const p of pods) {
      if (p.metadata.deletionTimestamp || tolerated(p, ready.status === 'False' ? notReady : unreachable)) continue;
      this.o.log('replacing a Pod of a node that is NotReady', { pod: `${p.metadata.namespace}/${p.metadata.name}`, node: node.metadata.name });
      this.o.events?.record(p, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${p.metadata.namespace}/${p.metadata.name}`);
      await this.o.client.delete('Pod', p.metadata.namespace, p.metadata.name).catch((err: Error) => this.o.log('cannot delete a Pod of a NotReady node', { pod: p.metadata.name, err: err.message }));
    }
  }

  /** A Pod on a node that stopped answering is no longer Ready: Services and Deployments stop counting it. */
  private async markNotReady(pod: KubeObject): Promise<void> {
    const now = new Date(this.now()).toISOString();
    const conditions = (pod.status?.conditions ?? []).map((c: { type: string; status: string }) => (c.type === 'Ready' && c.status !== 'False' ? { ...c, status: 'False', reason: 'NodeNotReady', lastTransitionTime: now } : c));
    await this.o.client.updateStatus({ ...pod, metadata: { ...pod.metadata, resourceVersion: undefined }, status: { ...pod.status, conditions } }).catch(() => {});
  }
}

/** A Pod that tolerates a NoExecute taint forever stays (DaemonSet Pods, or as its spec says). */
function tolerated(pod: KubeObject, key: string): boolean {
  return (pod.spec?.tolerations ?? []).some((t: { key?: string; operator?: string; effect?: string; tolerationSeconds?: number }) => (t.key === key || (!t.key && t.operator === 'Exists')) && (!t.effect || t.effect === 'NoExecute') && t.tolerationSeconds === undefined);
}
