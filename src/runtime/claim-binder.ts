import { parseQuantity } from '../manifest/quantity.js';
import type { KubeObject } from '../manifest/types.js';

export const localProvisioner = 'gouvernail.io/local-volume';
export const defaultClassAnnotation = 'storageclass.kubernetes.io/is-default-class';

/** The StorageClass serve keeps: claims without a class get a Docker volume, kept when the claim goes. */
export function defaultStorageClass(): KubeObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'local-path', annotations: { [defaultClassAnnotation]: 'true' } },
    provisioner: localProvisioner,
    // Retain, unlike k3s: a deleted claim never takes its data with it unless a class says Delete.
    reclaimPolicy: 'Retain',
  } as KubeObject;
}

export type Binding =
  | { kind: 'static'; volume: KubeObject }
  | { kind: 'dynamic'; className: string; reclaimPolicy: 'Retain' | 'Delete' }
  | { kind: 'pending'; message: string };

/**
 * How a claim is bound, as the PersistentVolume controller decides: to the volume it names, else
 * to an available volume of its class with room and the access modes, else - when its class (or
 * the default class) is provisioned by Gouvernail - to a new Docker volume. Pure.
 */
export function bindingFor(claim: KubeObject, volumes: KubeObject[], classes: KubeObject[]): Binding {
  const wanted = claim.spec?.storageClassName as string | undefined;
  const defaultClass = classes.find((c) => c.metadata.annotations?.[defaultClassAnnotation] === 'true');
  const className = wanted ?? defaultClass?.metadata.name ?? '';
  const request = parseQuantity(String(claim.spec?.resources?.requests?.storage ?? '0'));
  const modes: string[] = claim.spec?.accessModes ?? [];
  const free = (pv: KubeObject) => !pv.spec.claimRef?.name || (pv.spec.claimRef.name === claim.metadata.name && pv.spec.claimRef.namespace === claim.metadata.namespace);
  if (claim.spec?.volumeName) {
    const pv = volumes.find((v) => v.metadata.name === claim.spec.volumeName);
    if (!pv) return { kind: 'pending', message: `volume "${claim.spec.volumeName}" not found` };
    if (!free(pv)) return { kind: 'pending', message: `volume "${pv.metadata.name}" is bound to another claim` };
    return { kind: 'static', volume: pv };
  }
  const fits = volumes.filter((pv) => free(pv) && !pv.metadata.deletionTimestamp && pv.status?.phase !== 'Released' && (pv.spec.storageClassName ?? '') === className && parseQuantity(String(pv.spec.capacity?.storage ?? '0')) >= request && modes.every((m) => (pv.spec.accessModes ?? []).includes(m)));
  // The smallest that fits, as Kubernetes picks.
  fits.sort((a, b) => parseQuantity(String(a.spec.capacity.storage)) - parseQuantity(String(b.spec.capacity.storage)));
  if (fits[0]) return { kind: 'static', volume: fits[0] };
  const cls = classes.find((c) => c.metadata.name === className);
  if (cls && (cls as { provisioner?: string }).provisioner === localProvisioner) return { kind: 'dynamic', className, reclaimPolicy: ((cls as { reclaimPolicy?: string }).reclaimPolicy as 'Retain' | 'Delete') ?? 'Delete' };
  if (!cls && className === '' && !defaultClass) return { kind: 'dynamic', className: '', reclaimPolicy: 'Retain' };
  if (!cls) return { kind: 'pending', message: `storageclass.storage.k8s.io "${className}" not found` };
  return { kind: 'pending', message: `waiting for a volume to be created by the external provisioner "${(cls as { provisioner?: string }).provisioner}", which does not run on Docker` };
}

/** The node a volume's required node affinity names (by metadata.name or kubernetes.io/hostname), if one. */
export function volumeNode(pv: KubeObject): string | undefined {
  const terms: { matchFields?: { key: string; operator: string; values?: string[] }[]; matchExpressions?: { key: string; operator: string; values?: string[] }[] }[] = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    const r = [...(t.matchFields ?? []).filter((x) => x.key === 'metadata.name'), ...(t.matchExpressions ?? []).filter((x) => x.key === 'kubernetes.io/hostname')].find((x) => x.operator === 'In' && x.values?.length === 1);
    if (r) return r.values![0];
  }
  return undefined;
}

/** The folder a claim bound to a written volume (hostPath, local) mounts, if it is one. */
export function claimFolder(claim: KubeObject | undefined, volumes: (name: string) => KubeObject | undefined): string | undefined {
  const pv = claim?.spec?.volumeName ? volumes(claim.spec.volumeName) : undefined;
  return pv?.spec?.hostPath?.path ?? pv?.spec?.local?.path;
}
