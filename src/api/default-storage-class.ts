import { defaultClassAnnotation } from '../runtime/claim-binder.js';
import type { AdmissionPlugin } from './admission.js';

/**
 * DefaultStorageClass: a claim made without spec.storageClassName gets the default class's name (the
 * one annotated storageclass.kubernetes.io/is-default-class), as Kubernetes' admission writes it, so
 * `kubectl get pvc` shows the class it was provisioned from. An empty name asks for no class and is
 * kept. A write that leaves the name out later keeps the one the claim has.
 */
export const defaultStorageClass: AdmissionPlugin = {
  name: 'DefaultStorageClass',
  mutate(r) {
    if (r.subresource || r.object.kind !== 'PersistentVolumeClaim' || !r.object.spec || r.object.spec.storageClassName !== undefined) return;
    if (r.operation === 'UPDATE') {
      const had = r.oldObject?.spec?.storageClassName;
      if (had !== undefined) r.object.spec.storageClassName = had;
      return;
    }
    if (r.operation !== 'CREATE') return;
    // The newest default, when several are marked (as Kubernetes picks since 1.26).
    const defaults = r.store.list({ kind: 'StorageClass' }).filter((c) => c.metadata.annotations?.[defaultClassAnnotation] === 'true');
    defaults.sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name));
    if (defaults[0]) r.object.spec.storageClassName = defaults[0].metadata.name;
  },
};
