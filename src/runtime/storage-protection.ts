import { claimProtection, volumeProtection } from '../api/admission.js';
import type { Client } from '../api/client.js';
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import { PassLoop } from './pass-loop.js';


/** Whether a Pod still uses its volumes: bound to a node, and not yet let go of (force-deleted). Pure. */
function holdsVolumes(pod: KubeObject): boolean {
  if (!pod.spec?.nodeName) return false;
  return !(pod.metadata.deletionTimestamp && pod.metadata.deletionGracePeriodSeconds === 0);
}

/** The Pods that keep a claim from going: those of its namespace that mount it and hold their volumes. Pure. */
export function claimUsers(claim: KubeObject, pods: readonly KubeObject[]): KubeObject[] {
  return pods.filter((p) => p.metadata.namespace === claim.metadata.namespace && holdsVolumes(p) && (p.spec.volumes ?? []).some((v: { persistentVolumeClaim?: { claimName?: string } }) => v.persistentVolumeClaim?.claimName === claim.metadata.name));
}

/** Whether a volume is still bound: the claim it names exists (the same one, by uid). Pure. */
export function volumeBound(pv: KubeObject, claims: (namespace: string, name: string) => KubeObject | undefined): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref?.name) return false;
  const claim = claims(ref.namespace, ref.name);
  return !!claim && (!ref.uid || claim.metadata.uid === ref.uid);
}

/**
 * Kubernetes' storage object in use protection: a claim (with the kubernetes.io/pvc-protection
 * finalizer the API gives it) that is deleted while a Pod mounts it stays Terminating until the last
 * such Pod is gone; a volume (kubernetes.io/pv-protection) deleted while bound stays until its claim
 * is gone. Claims and volumes made before Gouvernail gave the finalizers get them here.
 */
export class StorageProtection {
  private readonly loop: PassLoop;

  constructor(private readonly store: ObjectStore, private readonly client: Client, private readonly log: (msg: string, f?: Record<string, unknown>) => void = () => {}) {
    this.loop = new PassLoop({ pass: () => this.pass(), onError: (err, ms) => this.log('storage protection failed; retrying', { err: err.message, retryInMs: ms }), resyncMs: 60_000, debounceMs: 20 });
  }

  start(): void {
    this.loop.start(this.store, (c) => c.object.kind === 'PersistentVolumeClaim' || c.object.kind === 'PersistentVolume' || (c.object.kind === 'Pod' && (c.type === 'DELETED' || !!c.object.metadata.deletionTimestamp)));
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  async pass(): Promise<void> {
    const claims = this.store.list({ kind: 'PersistentVolumeClaim' });
    const pods = claims.some((c) => c.metadata.deletionTimestamp) ? this.store.list({ kind: 'Pod' }) : [];
    for (const claim of claims) {
      const held = claim.metadata.finalizers?.includes(claimProtection);
      if (!claim.metadata.deletionTimestamp) {
        if (!held) await this.setFinalizer(claim, claimProtection, true);
      } else if (held && claimUsers(claim, pods).length === 0) {
        this.log('claim no longer used by a Pod; letting it go', { claim: `${claim.metadata.namespace}/${claim.metadata.name}` });
        await this.setFinalizer(claim, claimProtection, false);
      }
    }
    const claimOf = (ns: string, name: string) => this.store.get('PersistentVolumeClaim', ns, name);
    for (const pv of this.store.list({ kind: 'PersistentVolume' })) {
      const held = pv.metadata.finalizers?.includes(volumeProtection);
      if (!pv.metadata.deletionTimestamp) {
        if (!held) await this.setFinalizer(pv, volumeProtection, true);
      } else if (held && !volumeBound(pv, claimOf)) {
        await this.setFinalizer(pv, volumeProtection, false);
      }
    }
  }

  private async setFinalizer(o: KubeObject, finalizer: string, on: boolean): Promise<void> {
    const latest = this.store.get(o.kind, o.metadata.namespace, o.metadata.name);
    if (!latest) return;
    const others = (latest.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    // A write that fails (another writer in between) fails the pass, which is tried again soon.
    await this.client.update({ ...latest, metadata: { ...latest.metadata, finalizers: on ? [...others, finalizer] : others } });
  }
}
