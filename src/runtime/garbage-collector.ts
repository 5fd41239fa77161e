import type { Client } from '../api/client.js';
import type { KubeObject, OwnerReference } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import { PassLoop } from './pass-loop.js';

/**
 * Kubernetes' garbage collector and namespace controller, as one level-triggered pass:
 * - an object whose owners (by ownerReferences) are all gone is deleted (Background propagation);
 * - an owner deleted with Foreground propagation waits, holding the foregroundDeletion finalizer,
 *   until its dependents are gone, then goes;
 * - a Terminating Namespace is emptied, then its finalizer is removed and it goes.
 * Reads come from the store; every delete goes through the API as system:kube-controller-manager.
 */
export class GarbageCollector {
  private readonly loop: PassLoop;

  constructor(private readonly store: ObjectStore, private readonly client: Client, private readonly log: (msg: string, f?: Record<string, unknown>) => void = () => {}) {
    this.loop = new PassLoop({ pass: () => this.pass(), onError: (err, ms) => this.log('garbage collection failed; retrying', { err: err.message, retryInMs: ms }), resyncMs: 60_000, debounceMs: 20 });
  }

  start(): void {
    this.loop.start(this.store, (c) => c.type === 'DELETED' || !!c.object.metadata.deletionTimestamp);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  async pass(): Promise<void> {
    const all = this.store.list();
    const byUid = new Map(all.map((o) => [o.metadata.uid!, o]));
    const live = (ref: OwnerReference) => byUid.get(ref.uid);
    const dependents = new Map<string, KubeObject[]>();
    for (const o of all) for (const ref of o.metadata.ownerReferences ?? []) (dependents.get(ref.uid) ?? dependents.set(ref.uid, []).get(ref.uid)!).push(o);

    for (const o of all) {
      const refs = o.metadata.ownerReferences ?? [];
      if (refs.length === 0 || o.metadata.deletionTimestamp) continue;
      const owners = refs.map(live);
      const foreground = owners.some((owner) => owner?.metadata.deletionTimestamp && owner.metadata.finalizers?.includes('foregroundDeletion'));
      if (owners.every((owner) => !owner) || foreground) {
        this.log('deleting an object whose owner is gone', { kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace });
        await this.client.delete(o.kind, o.metadata.namespace, o.metadata.name, { propagationPolicy: foreground ? 'Foreground' : 'Background' });
      }
    }
    for (const owner of all) {
      if (!owner.metadata.deletionTimestamp || !owner.metadata.finalizers?.includes('foregroundDeletion')) continue;
      const waiting = (dependents.get(owner.metadata.uid!) ?? []).filter((d) => byUid.has(d.metadata.uid!));
      if (waiting.length > 0) continue;
      const latest = this.store.get(owner.kind, owner.metadata.namespace, owner.metadata.name);
      if (latest) await this.client.update({ ...latest, metadata: { ...latest.metadata, resourceVersion: undefined, finalizers: latest.metadata.finalizers!.filter((f) => f !== 'foregroundDeletion') } });
    }
    for (const ns of all.filter((o) => o.kind === 'Namespace' && o.metadata.deletionTimestamp)) await this.finalizeNamespace(ns);
  }

  private async finalizeNamespace(ns: KubeObject): Promise<void> {
    const contents = this.store.list({ namespace: ns.metadata.name });
    for (const o of contents) {
      if (o.metadata.deletionTimestamp) continue;
      await this.client.delete(o.kind, o.metadata.namespace, o.metadata.name).catch((err) => this.log('cannot delete an object of a terminating namespace', { kind: o.kind, name: o.metadata.name, err: (err as Error).message }));
    }
    if (this.store.list({ namespace: ns.metadata.name }).length > 0) return;
    const latest = this.store.get('Namespace', undefined, ns.metadata.name);
    if (!latest) return;
    this.log('namespace emptied; removing it', { namespace: ns.metadata.name });
    await this.client.update({ ...latest, metadata: { ...latest.metadata, resourceVersion: undefined }, spec: { ...latest.spec, finalizers: [] } });
  }
}
