import type Docker from 'dockerode';
import type { Client } from '../api/client.js';
import type { KubeObject } from '../manifest/types.js';
import { dockerVolumeAnnotation } from '../manifest/validate.js';
import type { DockerRecords } from '../store/docker-records.js';
import type { ObjectStore } from '../store/object-store.js';
import { bindingFor, localProvisioner, volumeNode } from './claim-binder.js';
import { ignore409 } from './docker-status.js';
import { claimVolumeName, label } from './labels.js';
import { selectedNodeAnnotation } from './scheduler.js';

export interface NodeVolumesOptions {
  store: ObjectStore;
  client: Client;
  docker: Docker;
  records: DockerRecords;
  nodeName: string;
  installation: string;
  /** Binds the claims no Pod has used yet (one node does: the control plane's). */
  bindsUnpinnedClaims?: boolean;
}

/**
 * A node's volumes: the Docker volumes its Pods need (claims' and emptyDirs'), the binding of
 * claims to volumes (provisioned or written by hand), and their release. Only volumes Gouvernail
 * recorded are ever removed.
 */
export class NodeVolumes {
  constructor(
    private readonly o: NodeVolumesOptions,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** Volumes of claims deleted with gouvernail.io/delete-volume: "true", removed once unused. */
  async releaseClaimVolumes(): Promise<void> {
    const { records, store, docker } = this.o;
    for (const v of records.list('volume')) {
      if (!v.deleteWhenReleased) continue;
      const [namespace, claim] = v.owner.split('/');
      if (!claim || store.get('PersistentVolumeClaim', namespace, claim)) continue;
      await docker.getVolume(v.name).remove().then(
        () => {
          records.remove('volume', v.name);
          this.log('removed the volume of a deleted claim', { volume: v.name });
        },
        (err: { statusCode?: number }) => {
          if (err.statusCode === 404) records.remove('volume', v.name);
        },
      );
    }
  }

  /** A claim is Bound once its volume exists: Gouvernail creates it when the first Pod uses it. */
  async bindClaims(): Promise<void> {
    for (const pvc of this.o.store.list({ kind: 'PersistentVolumeClaim' })) {
      if (pvc.metadata.annotations?.['gouvernail.io/delete-volume'] === 'true') {
        // Level-triggered and kept in the store: a claim deleted while serve is down still frees it.
        const volume = this.o.records.get('volume', claimVolumeName(pvc.metadata.namespace!, pvc.metadata.name));
        if (volume && !volume.deleteWhenReleased) this.o.records.markDeleteWhenReleased(volume.name);
      }
      if (pvc.status?.phase === 'Bound' || pvc.metadata.deletionTimestamp) continue;
      // A claim is bound by the node its volume lives on; one no Pod has used yet, by the control plane's.
      const selected = pvc.metadata.annotations?.[selectedNodeAnnotation];
      if (selected ? selected !== this.o.nodeName : !this.o.bindsUnpinnedClaims) continue;
      await this.bindClaim(pvc).catch((err) => this.log('cannot bind a claim', { claim: `${pvc.metadata.namespace}/${pvc.metadata.name}`, err: (err as Error).message }));
    }
    await this.releaseVolumes();
  }

  /** Binds a claim to a written volume, or to a Docker volume provisioned for it (with its PersistentVolume). */
  private async bindClaim(pvc: KubeObject): Promise<void> {
    const { store, client } = this.o;
    const binding = bindingFor(pvc, store.list({ kind: 'PersistentVolume' }), store.list({ kind: 'StorageClass' }));
    if (binding.kind === 'pending') {
      if (pvc.status?.phase !== 'Pending' || pvc.status?.message !== binding.message) await client.updateStatus({ ...pvc, metadata: { ...pvc.metadata, resourceVersion: undefined }, status: { phase: 'Pending', message: binding.message } });
      return;
    }
    const ns = pvc.metadata.namespace!;
    const claimRef = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: pvc.metadata.name, uid: pvc.metadata.uid };
    let pv: KubeObject;
    if (binding.kind === 'static') {
      pv = binding.volume;
      if (pv.spec.claimRef?.uid !== pvc.metadata.uid) pv = await client.update({ ...pv, metadata: { ...pv.metadata, resourceVersion: undefined }, spec: { ...pv.spec, claimRef } });
      // A volume on one node (local, or a hostPath with node affinity) pins the claim's Pods there.
      const node = volumeNode(pv);
      if (node && pvc.metadata.annotations?.[selectedNodeAnnotation] !== node) await client.patch('PersistentVolumeClaim', ns, pvc.metadata.name, 'merge', { metadata: { annotations: { [selectedNodeAnnotation]: node } } });
    } else {
      const name = `pvc-${pvc.metadata.uid}`;
      pv = store.get('PersistentVolume', undefined, name) ?? (await client.create({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name, annotations: { [dockerVolumeAnnotation]: claimVolumeName(ns, pvc.metadata.name), 'pv.kubernetes.io/provisioned-by': localProvisioner } },
        spec: {
          capacity: { storage: pvc.spec.resources.requests.storage },
          accessModes: pvc.spec.accessModes,
          persistentVolumeReclaimPolicy: binding.reclaimPolicy,
          storageClassName: binding.className,
          volumeMode: 'Filesystem',
          claimRef,
          // The node its Docker volume is on, once a Pod has used the claim (the scheduler pins it).
          ...(pvc.metadata.annotations?.[selectedNodeAnnotation] ? { nodeAffinity: { required: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [pvc.metadata.annotations[selectedNodeAnnotation]] }] }] } } } : {}),
        },
      }));
      // Delete: the Docker volume goes with the claim.
      if (binding.reclaimPolicy === 'Delete') await client.patch('PersistentVolumeClaim', ns, pvc.metadata.name, 'merge', { metadata: { annotations: { 'gouvernail.io/delete-volume': 'true' } } });
    }
    await client.updateStatus({ ...pv, metadata: { ...pv.metadata, resourceVersion: undefined }, status: { phase: 'Bound' } }).catch(() => {});
    const latest = store.get('PersistentVolumeClaim', ns, pvc.metadata.name);
    if (!latest) return;
    const named = latest.spec.volumeName === pv.metadata.name ? latest : await client.update({ ...latest, metadata: { ...latest.metadata, resourceVersion: undefined }, spec: { ...latest.spec, volumeName: pv.metadata.name } });
    await client.updateStatus({ ...named, metadata: { ...named.metadata, resourceVersion: undefined }, status: { phase: 'Bound', accessModes: pv.spec.accessModes, capacity: { storage: pv.spec.capacity.storage } } });
  }

  /** A volume whose claim is gone: deleted when its policy says Delete and it was provisioned, else Released. */
  private async releaseVolumes(): Promise<void> {
    if (!this.o.bindsUnpinnedClaims) return;
    const { store, client } = this.o;
    for (const pv of store.list({ kind: 'PersistentVolume' })) {
      const ref = pv.spec?.claimRef;
      if (!ref?.name || pv.metadata.deletionTimestamp) continue;
      const claim = store.get('PersistentVolumeClaim', ref.namespace, ref.name);
      if (claim && (!ref.uid || claim.metadata.uid === ref.uid)) continue;
      if (pv.spec.persistentVolumeReclaimPolicy === 'Delete' && pv.metadata.annotations?.[dockerVolumeAnnotation]) await client.delete('PersistentVolume', undefined, pv.metadata.name).catch(() => false);
      else if (pv.status?.phase !== 'Released') await client.updateStatus({ ...pv, metadata: { ...pv.metadata, resourceVersion: undefined }, status: { phase: 'Released' } }).catch(() => {});
    }
  }

  async removeEmptyDirs(uid: string): Promise<void> {
    const { Volumes } = await this.o.docker.listVolumes({ filters: { label: [`${label.uid}=${uid}`, `${label.managedBy}=${this.o.installation}`] } });
    for (const v of Volumes ?? []) {
      if (!this.o.records.owns('volume', v.Name)) continue;
      await this.o.docker.getVolume(v.Name).remove().then(() => this.o.records.remove('volume', v.Name), () => {});
    }
  }

  /**
   * A volume the Pod needs. Gouvernail records it before creating it; one that exists without a
   * record (made by hand, say to import data) is used and never removed. True when it was made
   * now (its root is then opened by the first container made to mount it).
   */
  async ensure(name: string, labels: Record<string, string>, driverOpts?: Record<string, string>): Promise<boolean> {
    const { docker, records } = this.o;
    const owner = labels[label.claim] ? `${labels[label.namespace]}/${labels[label.claim]}` : labels[label.uid] ?? '';
    const found = await docker.getVolume(name).inspect().catch(() => undefined);
    if (!records.owns('volume', name)) {
      // Adopted only when it is exactly what Gouvernail makes (an earlier version made it).
      const ours = found && Object.entries(labels).every(([k, v]) => found.Labels?.[k] === v);
      if (found && !ours) return false;
      records.put('volume', name, 'ready', owner);
    }
    if (found) return false;
    await docker.createVolume({ Name: name, Labels: labels, ...(driverOpts ? { DriverOpts: driverOpts } : {}) }).catch(ignore409);
    return true;
  }
}
