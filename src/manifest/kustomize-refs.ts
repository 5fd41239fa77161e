import { podSpecOf } from './pod-template.js';
import type { KubeObject } from './types.js';

/**
 * Rewrites the references an object makes to an object kustomize renamed (a prefix, a suffix, a
 * generated name's hash), as kustomize's name reference transformer does for the built-in kinds:
 * ConfigMaps and Secrets in Pods, claims, Services, ServiceAccounts, roles and scale targets.
 */
export function renameReferences(object: KubeObject, kind: string, from: string, to: string): void {
  const o = object as KubeObject & Record<string, any>;
  const swap = (holder: Record<string, any> | undefined, field: string) => {
    if (holder && holder[field] === from) holder[field] = to;
  };
  const spec = podSpecOf(o);
  if (spec) {
    for (const v of spec.volumes ?? []) {
      if (kind === 'ConfigMap') swap(v.configMap, 'name');
      if (kind === 'Secret') swap(v.secret, 'secretName');
      if (kind === 'PersistentVolumeClaim') swap(v.persistentVolumeClaim, 'claimName');
      for (const s of (v as { projected?: { sources?: { configMap?: { name: string }; secret?: { name: string } }[] } }).projected?.sources ?? []) {
        if (kind === 'ConfigMap') swap(s.configMap, 'name');
        if (kind === 'Secret') swap(s.secret, 'name');
      }
    }
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      for (const e of c.env ?? []) {
        if (kind === 'ConfigMap') swap(e.valueFrom?.configMapKeyRef, 'name');
        if (kind === 'Secret') swap(e.valueFrom?.secretKeyRef, 'name');
      }
      for (const e of c.envFrom ?? []) {
        if (kind === 'ConfigMap') swap(e.configMapRef, 'name');
        if (kind === 'Secret') swap(e.secretRef, 'name');
      }
    }
    if (kind === 'Secret') for (const s of spec.imagePullSecrets ?? []) swap(s, 'name');
    if (kind === 'ServiceAccount') swap(spec, 'serviceAccountName');
  }
  if (o.kind === 'StatefulSet' && kind === 'Service') swap(o.spec, 'serviceName');
  if (o.kind === 'StatefulSet' && kind === 'PersistentVolumeClaim') for (const t of o.spec?.volumeClaimTemplates ?? []) swap(t.metadata, 'name');
  if (o.kind === 'HorizontalPodAutoscaler' && o.spec?.scaleTargetRef?.kind === kind) swap(o.spec.scaleTargetRef, 'name');
  if ((o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && o.roleRef?.kind === kind) swap(o.roleRef, 'name');
  if ((o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && kind === 'ServiceAccount') for (const s of o.subjects ?? []) if (s.kind === 'ServiceAccount') swap(s, 'name');
  if (o.kind === 'ServiceAccount' && kind === 'Secret') for (const s of [...(o.secrets ?? []), ...(o.imagePullSecrets ?? [])]) swap(s, 'name');
  if (o.kind === 'Ingress' && kind === 'Service') {
    const backends = [o.spec?.defaultBackend, ...(o.spec?.rules ?? []).flatMap((r: { http?: { paths?: { backend?: unknown }[] } }) => (r.http?.paths ?? []).map((p) => p.backend))];
    for (const b of backends as { service?: { name: string } }[]) swap(b?.service, 'name');
  }
  if (o.kind === 'Ingress' && kind === 'Secret') for (const t of o.spec?.tls ?? []) swap(t, 'secretName');
}
