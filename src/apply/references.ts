import type { KubeObject } from '../manifest/types.js';
import { podSpecOf, podSpecPath } from '../manifest/pod-template.js';

export { podSpecOf };

export interface Reference {
  kind: 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim';
  name: string;
  /** Where the reference is written, for messages. */
  field: string;
  optional: boolean;
}


/** The ConfigMaps, Secrets and PVCs an object's Pods read: env, envFrom, volumes, imagePullSecrets. */
export function referencesOf(o: KubeObject): Reference[] {
  const spec = podSpecOf(o);
  if (!spec) return [];
  const refs: Reference[] = [];
  const base = podSpecPath(o.kind)!.join('.');
  for (const [field, list] of [['initContainers', spec.initContainers], ['containers', spec.containers]] as const) for (const c of list ?? []) {
    for (const e of c.env ?? []) {
      const s = e.valueFrom?.secretKeyRef;
      if (s) refs.push({ kind: 'Secret', name: s.name, field: `${base}.${field}[${c.name}].env[${e.name}]`, optional: !!s.optional });
      const m = e.valueFrom?.configMapKeyRef;
      if (m) refs.push({ kind: 'ConfigMap', name: m.name, field: `${base}.${field}[${c.name}].env[${e.name}]`, optional: !!m.optional });
    }
    for (const e of c.envFrom ?? []) {
      if (e.secretRef) refs.push({ kind: 'Secret', name: e.secretRef.name, field: `${base}.${field}[${c.name}].envFrom`, optional: !!e.secretRef.optional });
      if (e.configMapRef) refs.push({ kind: 'ConfigMap', name: e.configMapRef.name, field: `${base}.${field}[${c.name}].envFrom`, optional: !!e.configMapRef.optional });
    }
  }
  for (const v of spec.volumes ?? []) {
    if (v.secret) refs.push({ kind: 'Secret', name: v.secret.secretName, field: `${base}.volumes[${v.name}]`, optional: !!v.secret.optional });
    if (v.configMap) refs.push({ kind: 'ConfigMap', name: v.configMap.name, field: `${base}.volumes[${v.name}]`, optional: !!v.configMap.optional });
    if (v.persistentVolumeClaim) refs.push({ kind: 'PersistentVolumeClaim', name: v.persistentVolumeClaim.claimName, field: `${base}.volumes[${v.name}]`, optional: false });
  }
  for (const s of spec.imagePullSecrets ?? []) refs.push({ kind: 'Secret', name: s.name, field: `${base}.imagePullSecrets`, optional: true });
  return refs;
}
