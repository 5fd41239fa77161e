import type { KubeObject } from '../manifest/types.js';

/** kubectl's age format: 42s, 5m, 3h, 2d. */
export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 3600 * 2) return `${Math.floor(s / 60)}m`;
  if (s < 86400 * 2) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function podStatus(p: KubeObject): string {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  for (const c of p.status?.containerStatuses ?? []) if (c.state?.waiting?.reason && c.state.waiting.reason !== 'ContainerCreating') return c.state.waiting.reason;
  for (const c of p.status?.containerStatuses ?? []) if (c.state?.terminated && p.status?.phase !== 'Succeeded') return c.state.terminated.reason ?? 'Error';
  if (!p.spec?.nodeName) return 'Pending';
  if ((p.status?.containerStatuses ?? []).some((c: any) => c.state?.waiting?.reason === 'ContainerCreating') || !p.status?.phase) return 'ContainerCreating';
  return p.status.phase === 'Succeeded' ? 'Completed' : p.status.phase;
}

type Column = [header: string, value: (o: KubeObject) => string, wide?: boolean];

const ports = (s: KubeObject) => (s.spec?.ports ?? []).map((p: any) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') || '<none>';

export const columns: Record<string, Column[]> = {
  Pod: [
    ['READY', (p) => `${(p.status?.containerStatuses ?? []).filter((c: any) => c.ready).length}/${p.spec.containers.length}`],
    ['STATUS', podStatus],
    ['RESTARTS', (p) => String((p.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0))],
    ['AGE', (p) => age(p.metadata.creationTimestamp)],
    ['IP', (p) => p.status?.podIP ?? '<none>', true],
    ['NODE', (p) => p.spec?.nodeName ?? '<none>', true],
  ],
  Deployment: [
    ['READY', (d) => `${d.status?.readyReplicas ?? 0}/${d.spec.replicas}`],
    ['UP-TO-DATE', (d) => String(d.status?.updatedReplicas ?? 0)],
    ['AVAILABLE', (d) => String(d.status?.availableReplicas ?? 0)],
    ['AGE', (d) => age(d.metadata.creationTimestamp)],
    ['CONTAINERS', (d) => d.spec.template.spec.containers.map((c: any) => c.name).join(','), true],
    ['IMAGES', (d) => d.spec.template.spec.containers.map((c: any) => c.image).join(','), true],
    ['SELECTOR', (d) => Object.entries(d.spec.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(','), true],
  ],
  ReplicaSet: [
    ['DESIRED', (r) => String(r.spec.replicas)],
    ['CURRENT', (r) => String(r.status?.replicas ?? 0)],
    ['READY', (r) => String(r.status?.readyReplicas ?? 0)],
    ['AGE', (r) => age(r.metadata.creationTimestamp)],
  ],
  Service: [
    ['TYPE', (s) => s.spec.type],
    ['CLUSTER-IP', (s) => s.spec.clusterIP ?? '<none>'],
    ['EXTERNAL-IP', () => '<none>'],
    ['PORT(S)', ports],
    ['AGE', (s) => age(s.metadata.creationTimestamp)],
    ['SELECTOR', (s) => Object.entries(s.spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>', true],
  ],
  ConfigMap: [
    ['DATA', (c) => String(Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length)],
    ['AGE', (c) => age(c.metadata.creationTimestamp)],
  ],
  Secret: [
    ['TYPE', (s) => s.type ?? 'Opaque'],
    ['DATA', (s) => String(Object.keys(s.data ?? {}).length)],
    ['AGE', (s) => age(s.metadata.creationTimestamp)],
  ],
  PersistentVolumeClaim: [
    ['STATUS', (p) => p.status?.phase ?? 'Pending'],
    ['VOLUME', (p) => `gv-pvc-${p.metadata.namespace}-${p.metadata.name}`],
    ['CAPACITY', (p) => p.status?.capacity?.storage ?? ''],
    ['ACCESS MODES', (p) => (p.spec.accessModes ?? []).map((m: string) => m.replace(/[a-z]/g, '')).join(',')],
    ['AGE', (p) => age(p.metadata.creationTimestamp)],
  ],
  Namespace: [
    ['STATUS', (n) => n.status?.phase ?? 'Active'],
    ['AGE', (n) => age(n.metadata.creationTimestamp)],
  ],
  Node: [
    ['STATUS', (n) => ((n.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True') ? 'Ready' : 'NotReady')],
    ['ROLES', (n) => Object.keys(n.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.split('/')[1]).join(',') || '<none>'],
    ['AGE', (n) => age(n.metadata.creationTimestamp)],
    ['VERSION', (n) => n.status?.nodeInfo?.kubeletVersion ?? ''],
    ['CONTAINER-RUNTIME', (n) => n.status?.nodeInfo?.containerRuntimeVersion ?? '', true],
  ],
  Application: [
    ['SYNC STATUS', (a) => a.status?.sync?.status ?? 'Unknown'],
    ['HEALTH STATUS', (a) => a.status?.health?.status ?? 'Unknown'],
    ['AGE', (a) => age(a.metadata.creationTimestamp)],
  ],
};

/** A kubectl-style table: padded columns, NAMESPACE first when listing across namespaces. */
export function renderTable(objects: KubeObject[], options: { wide?: boolean; allNamespaces?: boolean }): string {
  if (objects.length === 0) return '';
  const cols = (columns[objects[0]!.kind] ?? [['AGE', (o: KubeObject) => age(o.metadata.creationTimestamp)]] as Column[]).filter((c) => options.wide || !c[2]);
  const header = [...(options.allNamespaces ? ['NAMESPACE'] : []), 'NAME', ...cols.map((c) => c[0])];
  const rows = objects.map((o) => [...(options.allNamespaces ? [o.metadata.namespace ?? ''] : []), o.metadata.name, ...cols.map((c) => c[1](o))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('')).join('\n');
}
