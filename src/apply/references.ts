import type { Container, KubeObject } from '../manifest/types.js';
import { podSpecField, podSpecOf } from '../manifest/pod-template.js';

export { podSpecOf };

export interface Reference {
  /** A PriorityClass is the cluster's; the others are of the object's namespace. */
  kind: 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim' | 'PriorityClass';
  name: string;
  /** Where the reference is written, for messages. */
  field: string;
  optional: boolean;
}


/**
 * The ConfigMaps, Secrets and PVCs an object's Pods read (env, envFrom, volumes, imagePullSecrets),
 * and the PriorityClass they name (the system's classes always exist).
 */
export function referencesOf(o: KubeObject): Reference[] {
  const spec = podSpecOf(o);
  if (!spec) return [];
  const refs: Reference[] = [];
  const base = podSpecField(o.kind)!;
  containerReferences(refs, `${base}.initContainers`, spec.initContainers);
  containerReferences(refs, `${base}.containers`, spec.containers);
  const volumes = spec.volumes ?? [];
  for (let i = 0; i < volumes.length; i++) {
    const v = volumes[i]!;
    if (v.secret) refs.push({ kind: 'Secret', name: v.secret.secretName, field: `${base}.volumes[${v.name}]`, optional: !!v.secret.optional });
    if (v.configMap) refs.push({ kind: 'ConfigMap', name: v.configMap.name, field: `${base}.volumes[${v.name}]`, optional: !!v.configMap.optional });
    if (v.persistentVolumeClaim) refs.push({ kind: 'PersistentVolumeClaim', name: v.persistentVolumeClaim.claimName, field: `${base}.volumes[${v.name}]`, optional: false });
  }
  const pullSecrets = spec.imagePullSecrets ?? [];
  for (let i = 0; i < pullSecrets.length; i++) refs.push({ kind: 'Secret', name: pullSecrets[i]!.name, field: `${base}.imagePullSecrets`, optional: true });
  const priorityClass = spec.priorityClassName;
  if (priorityClass && !priorityClass.startsWith('system-')) refs.push({ kind: 'PriorityClass', name: priorityClass, field: `${base}.priorityClassName`, optional: false });
  return refs;
}

// Indexed loops here and in the plan: this runs for every object, mostly in a fresh process, where
// for-of and array callbacks cost ten times as much until the code is optimised.
function containerReferences(refs: Reference[], field: string, list: Container[] | undefined): void {
  if (!list) return;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const env = c.env ?? [];
    for (let j = 0; j < env.length; j++) {
      const e = env[j]!;
      const s = e.valueFrom?.secretKeyRef;
      if (s) refs.push({ kind: 'Secret', name: s.name, field: `${field}[${c.name}].env[${e.name}]`, optional: !!s.optional });
      const m = e.valueFrom?.configMapKeyRef;
      if (m) refs.push({ kind: 'ConfigMap', name: m.name, field: `${field}[${c.name}].env[${e.name}]`, optional: !!m.optional });
    }
    const envFrom = c.envFrom ?? [];
    for (let j = 0; j < envFrom.length; j++) {
      const e = envFrom[j]!;
      if (e.secretRef) refs.push({ kind: 'Secret', name: e.secretRef.name, field: `${field}[${c.name}].envFrom`, optional: !!e.secretRef.optional });
      if (e.configMapRef) refs.push({ kind: 'ConfigMap', name: e.configMapRef.name, field: `${field}[${c.name}].envFrom`, optional: !!e.configMapRef.optional });
    }
  }
}
