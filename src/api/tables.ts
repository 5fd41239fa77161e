import type { KubeObject } from '../manifest/types.js';
import { toStoredVersion } from '../manifest/older-versions.js';
import { podSpecOf } from '../manifest/pod-template.js';

/**
 * Server-side printing, as Kubernetes' Table (meta.k8s.io/v1): the columns kubectl shows for each
 * kind, priority 1 for those only `-o wide` shows. kubectl and `gouvernail get` print these rows.
 */

/**
 * How kubectl prints a length of time (apimachinery's HumanDuration): 45s up to two minutes, then
 * 3m20s, 25m, 5h10m, 20h, 3d4h, 30d, 2y40d; a time up to a second ahead of this clock is 0s.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** An object's age as kubectl prints it; `<unknown>` without a time. */
export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  return humanDuration(now - Date.parse(timestamp));
}

/** While a Pod initializes, kubectl's STATUS: Init:1/2, Init:CrashLoopBackOff, Init:Error. */
function initStatus(p: KubeObject): string | undefined {
  const specs: { name: string; restartPolicy?: string }[] = p.spec?.initContainers ?? [];
  const statuses: any[] = p.status?.initContainerStatuses ?? [];
  for (let i = 0; i < specs.length; i++) {
    const c = statuses.find((s) => s.name === specs[i]!.name);
    const terminated = c?.state?.terminated;
    if (terminated?.exitCode === 0) continue;
    if (specs[i]!.restartPolicy === 'Always' && c?.started) continue;
    if (terminated) return `Init:${terminated.reason ?? 'Error'}`;
    const waiting = c?.state?.waiting?.reason;
    if (waiting && waiting !== 'PodInitializing') return `Init:${waiting}`;
    return `Init:${i}/${specs.length}`;
  }
  return undefined;
}

export function podStatus(p: KubeObject): string {
  // A Pod being deleted is Terminating, unless it had ended already (Completed, Error stay so).
  if (p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') return 'Terminating';
  // A Pod failed as a whole (DeadlineExceeded, Evicted) says why, as kubectl prints it.
  if (p.status?.phase === 'Failed' && p.status?.reason) return p.status.reason;
  if (p.spec?.nodeName && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Running') {
    const init = initStatus(p);
    if (init) return init;
  }
  if ((p.status?.containerStatuses ?? []).some((c: any) => c.state?.waiting?.reason === 'PodInitializing')) return 'PodInitializing';
  for (const c of p.status?.containerStatuses ?? []) if (c.state?.waiting?.reason && c.state.waiting.reason !== 'ContainerCreating') return c.state.waiting.reason;
  for (const c of p.status?.containerStatuses ?? []) if (c.state?.terminated && p.status?.phase !== 'Succeeded') return c.state.terminated.reason ?? 'Error';
  if (!p.spec?.nodeName) return (p.status?.conditions ?? []).some((c: { type: string; reason?: string }) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated') ? 'SchedulingGated' : 'Pending';
  if ((p.status?.containerStatuses ?? []).some((c: any) => c.state?.waiting?.reason === 'ContainerCreating') || !p.status?.phase) return 'ContainerCreating';
  return p.status.phase === 'Succeeded' ? 'Completed' : p.status.phase;
}

/**
 * kubectl's RESTARTS: how many times the Pod's containers restarted, and how long ago the last one
 * ended (`5 (2m10s ago)`). While the Pod initializes, its init containers'; then its sidecars' and
 * containers'.
 */
function restarts(p: KubeObject, now: number): string {
  const sidecars = new Set(((p.spec?.initContainers ?? []) as { name: string; restartPolicy?: string }[]).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  const init: any[] = p.status?.initContainerStatuses ?? [];
  const counted = p.spec?.nodeName && initStatus(p) ? init : [...init.filter((c) => sidecars.has(c.name)), ...(p.status?.containerStatuses ?? [])];
  let count = 0;
  let last = 0;
  for (const c of counted) {
    count += c.restartCount ?? 0;
    const ended = Date.parse(c.lastState?.terminated?.finishedAt ?? '');
    if (ended > last) last = ended;
  }
  return count > 0 && last > 0 ? `${count} (${humanDuration(now - last)} ago)` : String(count);
}

type Cell = string | number | boolean;
interface Column {
  name: string;
  type?: 'string' | 'integer' | 'date' | 'boolean';
  wide?: boolean;
  /** The column of the object's name (kubectl's `format: name`). */
  isName?: boolean;
  description: string;
  /** `now`: the time ages are counted to. */
  cell: (o: KubeObject, now: number) => Cell;
}

const col = (name: string, description: string, cell: (o: KubeObject, now: number) => Cell, extra: Partial<Column> = {}): Column => ({ name, description, cell, ...extra });
const ageCol = col('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.', (o, now) => age(o.metadata.creationTimestamp, now));
const joinLabels = (m: Record<string, string> | undefined) => Object.entries(m ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
const selectorText = (s: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined) =>
  [joinLabels(s?.matchLabels), ...(s?.matchExpressions ?? []).map((e) => (e.operator === 'Exists' ? e.key : e.operator === 'DoesNotExist' ? `!${e.key}` : `${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(',')})`))].filter(Boolean).join(',') || '<none>';
const containersOf = (spec: any) => (spec?.containers ?? []) as { name: string; image: string }[];

/** The wide columns of the kinds that hold a Pod template: Deployment, ReplicaSet, StatefulSet... */
const templateColumns: Column[] = [
  col('Containers', 'Names of each container in the template.', (o) => containersOf(podSpecOf(o)).map((c) => c.name).join(','), { wide: true }),
  col('Images', 'Images referenced by each container in the template.', (o) => containersOf(podSpecOf(o)).map((c) => c.image).join(','), { wide: true }),
  col('Selector', 'Label selector for pods.', (o) => (o.kind === 'ReplicationController' ? joinLabels(o.spec?.selector) || '<none>' : selectorText(o.spec?.selector ?? (o.kind === 'Job' ? { matchLabels: { 'batch.kubernetes.io/controller-uid': o.metadata.uid! } } : undefined))), { wide: true }),
];

/** kubectl's READINESS GATES: how many of the Pod's gates have their condition True, of how many. */
function readinessGates(p: KubeObject): string {
  const gates = (p.spec?.readinessGates ?? []) as { conditionType: string }[];
  if (gates.length === 0) return '<none>';
  const passed = gates.filter((g) => (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === g.conditionType && c.status === 'True')).length;
  return `${passed}/${gates.length}`;
}

/** kubectl's TARGETS: `cpu: 250%/50%, memory: 12Mi/100Mi`, `<unknown>` before the first reading. */
function hpaTargets(h: KubeObject): string {
  const metrics: any[] = h.spec?.metrics ?? [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
  return metrics.map((m, i) => {
    const source = m.resource ?? m.containerResource;
    const current = ((h.status?.currentMetrics ?? [])[i]?.resource ?? (h.status?.currentMetrics ?? [])[i]?.containerResource)?.current;
    const utilization = source?.target?.type === 'Utilization';
    const now = current ? (utilization ? `${current.averageUtilization}%` : current.averageValue) : '<unknown>';
    return `${source?.name}: ${now}/${utilization ? `${source.target.averageUtilization}%` : source?.target?.averageValue}`;
  }).join(', ');
}

function jobStatus(j: KubeObject): string {
  const has = (type: string) => (j.status?.conditions ?? []).some((c: any) => c.type === type && c.status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (has('Suspended')) return 'Suspended';
  return 'Running';
}

/** kubectl's way: the first three, then how many more. */
function shortList(items: string[]): string {
  return items.length > 3 ? `${items.slice(0, 3).join(',')} + ${items.length - 3} more...` : items.join(',');
}
const endpointsShown = (e: KubeObject) => shortList(((e.subsets as { addresses?: { ip: string }[]; ports?: { port: number }[] }[] | undefined) ?? []).flatMap((s) => (s.addresses ?? []).flatMap((a) => (s.ports?.length ? s.ports.map((p) => `${a.ip}:${p.port}`) : [a.ip])))) || '<none>';
const serviceExternal = (s: KubeObject) => {
  if (s.spec?.type === 'ExternalName') return s.spec.externalName ?? '<none>';
  if (s.spec?.type !== 'LoadBalancer') return (s.spec?.externalIPs ?? []).join(',') || '<none>';
  return ((s.status?.loadBalancer?.ingress ?? []) as { ip?: string }[]).map((i) => i.ip).join(',') || '<pending>';
};
const servicePorts = (s: KubeObject) => (s.spec?.ports ?? []).map((p: any) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') || '<none>';
const ready = (n: KubeObject) => (n.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');

/** kubectl's COMPLETIONS: `2/3`; a Job without completions `0/1`, or `0/1 of 4` run in parallel. */
function jobCompletions(j: KubeObject): string {
  const succeeded = j.status?.succeeded ?? 0;
  if (j.spec?.completions != null) return `${succeeded}/${j.spec.completions}`;
  const parallelism = j.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** A binding's ROLE and, in -o wide, its USERS, GROUPS and SERVICEACCOUNTS (`namespace:name`). */
const subjectsOf = (b: KubeObject, kind: string) => ((b.subjects ?? []) as { kind: string; name: string; namespace?: string }[]).filter((s) => s.kind === kind).map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}:${s.name}` : s.name)).join(', ');
const bindingColumns: Column[] = [
  col('Role', 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.', (b: any) => `${b.roleRef?.kind ?? ''}/${b.roleRef?.name ?? ''}`),
  ageCol,
  col('Users', 'Users in the binding.', (b) => subjectsOf(b, 'User'), { wide: true }),
  col('Groups', 'Groups in the binding.', (b) => subjectsOf(b, 'Group'), { wide: true }),
  col('ServiceAccounts', 'ServiceAccounts in the binding.', (b) => subjectsOf(b, 'ServiceAccount'), { wide: true }),
];

/** A quota's REQUEST or LIMIT column: `pods: 2/20, requests.cpu: 500m/1`, by resource name; `limits.*` in LIMIT. */
function quotaUsage(q: KubeObject, limits: boolean): string {
  const hard: Record<string, string> = q.status?.hard ?? {};
  const used: Record<string, string> = q.status?.used ?? {};
  return Object.keys(hard)
    .sort()
    .filter((r) => r.startsWith('limits.') === limits)
    .map((r) => `${r}: ${used[r] ?? '0'}/${hard[r]}`)
    .join(', ');
}

/** What Kubernetes shows for a kind it has no columns for: when it was made, as a date. */
const createdAtCol = col('Created At', 'The time the object was created.', (o) => (o.metadata.creationTimestamp ? new Date(o.metadata.creationTimestamp).toISOString().replace(/\.\d+Z$/, 'Z') : ''), { type: 'date' });

const columns: Record<string, Column[]> = {
  Pod: [
    col('Ready', 'The aggregate readiness state of this pod for accepting traffic.', (p) => `${(p.status?.containerStatuses ?? []).filter((c: any) => c.ready).length}/${p.spec?.containers?.length ?? 0}`),
    col('Status', 'The aggregate status of the containers in this pod.', podStatus),
    col('Restarts', 'The number of times the containers in this pod have been restarted.', restarts, { type: 'string' }),
    ageCol,
    col('IP', 'IP address allocated to the pod.', (p) => p.status?.podIP ?? '<none>', { wide: true }),
    col('Node', 'Name of the Node the Pod is bound to.', (p) => p.spec?.nodeName ?? '<none>', { wide: true }),
    col('Nominated Node', 'Name of the node the pod is nominated for.', (p) => p.status?.nominatedNodeName ?? '<none>', { wide: true }),
    col('Readiness Gates', 'Readiness gates of the pod.', (p) => readinessGates(p), { wide: true }),
  ],
  Deployment: [
    col('Ready', 'Number of the pod with ready state.', (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`),
    col('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', (d) => d.status?.updatedReplicas ?? 0, { type: 'integer' }),
    col('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', (d) => d.status?.availableReplicas ?? 0, { type: 'integer' }),
    ageCol,
    ...templateColumns,
  ],
  ReplicaSet: [
    col('Desired', 'Number of desired pods.', (r) => r.spec?.replicas ?? 0, { type: 'integer' }),
    col('Current', 'Number of actually running pods.', (r) => r.status?.replicas ?? 0, { type: 'integer' }),
    col('Ready', 'Number of ready pods.', (r) => r.status?.readyReplicas ?? 0, { type: 'integer' }),
    ageCol,
    ...templateColumns,
  ],
  ReplicationController: [
    col('Desired', 'Number of desired pods.', (r) => r.spec?.replicas ?? 0, { type: 'integer' }),
    col('Current', 'Number of actually running pods.', (r) => r.status?.replicas ?? 0, { type: 'integer' }),
    col('Ready', 'Number of ready pods.', (r) => r.status?.readyReplicas ?? 0, { type: 'integer' }),
    ageCol,
    ...templateColumns,
  ],
  StatefulSet: [
    col('Ready', 'Number of the pod with ready state.', (s) => `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 0}`),
    ageCol,
    ...templateColumns.slice(0, 2),
  ],
  PriorityClass: [
    col('Value', 'Value of the priority class.', (c) => Number(c.value ?? 0), { type: 'integer' }),
    col('Global-Default', 'Whether this is the default priority class.', (c) => c.globalDefault === true, { type: 'boolean' }),
    ageCol,
    col('PreemptionPolicy', 'The preemption policy of the priority class.', (c) => String(c.preemptionPolicy ?? 'PreemptLowerPriority')),
  ],
  Lease: [col('Holder', 'Holder of the lease.', (l) => l.spec?.holderIdentity ?? '<none>'), ageCol],
  ControllerRevision: [
    col('Controller', 'Controller of the object.', (r) => {
      const ref = (r.metadata.ownerReferences ?? []).find((o) => o.controller);
      return ref ? `${ref.kind.toLowerCase()}.${ref.apiVersion.split('/')[0]}/${ref.name}` : '<none>';
    }),
    col('Revision', 'Revision of the ControllerRevision.', (r) => Number(r.revision ?? 0), { type: 'integer' }),
    ageCol,
  ],
  DaemonSet: [
    col('Desired', 'The desired number of pods.', (d) => d.status?.desiredNumberScheduled ?? 0, { type: 'integer' }),
    col('Current', 'The current number of pods.', (d) => d.status?.currentNumberScheduled ?? 0, { type: 'integer' }),
    col('Ready', 'The number of pods ready.', (d) => d.status?.numberReady ?? 0, { type: 'integer' }),
    col('Up-to-date', 'The number of pods updated.', (d) => d.status?.updatedNumberScheduled ?? 0, { type: 'integer' }),
    col('Available', 'The number of pods available.', (d) => d.status?.numberAvailable ?? 0, { type: 'integer' }),
    col('Node Selector', 'The node selector of the template.', (d) => joinLabels(d.spec?.template?.spec?.nodeSelector) || '<none>'),
    ageCol,
    ...templateColumns,
  ],
  Job: [
    col('Status', 'Status of the job.', jobStatus),
    col('Completions', 'The completion status of the job.', jobCompletions),
    col('Duration', 'Time required to complete the job.', (j, now) => (j.status?.startTime ? humanDuration((j.status.completionTime ? Date.parse(j.status.completionTime) : now) - Date.parse(j.status.startTime)) : '')),
    ageCol,
    ...templateColumns,
  ],
  CronJob: [
    col('Schedule', 'The schedule of the cron job.', (c) => c.spec?.schedule ?? ''),
    col('Timezone', 'The time zone of the schedule.', (c) => c.spec?.timeZone ?? '<none>'),
    col('Suspend', 'Whether the cron job is suspended.', (c) => (c.spec?.suspend ? 'True' : 'False')),
    col('Active', 'The number of active jobs.', (c) => (c.status?.active ?? []).length, { type: 'integer' }),
    col('Last Schedule', 'When the last job was scheduled.', (c, now) => (c.status?.lastScheduleTime ? age(c.status.lastScheduleTime, now) : '<none>')),
    ageCol,
    ...templateColumns.slice(0, 2),
    col('Selector', 'Label selector for pods.', (c) => selectorText(c.spec?.jobTemplate?.spec?.selector), { wide: true }),
  ],
  PersistentVolume: [
    col('Capacity', 'The capacity of the volume.', (p) => p.spec?.capacity?.storage ?? ''),
    col('Access Modes', 'The access modes of the volume.', (p) => (p.spec?.accessModes ?? []).map((m: string) => ({ ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' })[m] ?? m).join(',')),
    col('Reclaim Policy', 'What happens to the volume when its claim goes.', (p) => p.spec?.persistentVolumeReclaimPolicy ?? 'Retain'),
    col('Status', 'The phase of the volume.', (p) => (p.metadata.deletionTimestamp ? 'Terminating' : (p.status?.phase ?? 'Available'))),
    col('Claim', 'The claim bound to the volume.', (p) => (p.spec?.claimRef?.name ? `${p.spec.claimRef.namespace}/${p.spec.claimRef.name}` : '')),
    col('StorageClass', 'The storage class of the volume.', (p) => p.spec?.storageClassName ?? ''),
    col('VolumeAttributesClass', 'The volume attributes class.', () => '<unset>'),
    col('Reason', 'Why the volume is in its phase.', (p) => p.status?.reason ?? ''),
    ageCol,
  ],
  StorageClass: [
    col('Provisioner', 'The provisioner of the class.', (c) => String(c.provisioner ?? '')),
    col('ReclaimPolicy', 'What happens to a volume when its claim goes.', (c) => (c.reclaimPolicy as string) ?? 'Delete'),
    col('VolumeBindingMode', 'When a claim is bound: when a Pod first uses it.', (c) => (c.volumeBindingMode as string) ?? 'WaitForFirstConsumer'),
    col('AllowVolumeExpansion', 'Whether a claim may grow.', (c) => String(c.allowVolumeExpansion ?? false)),
    ageCol,
  ],
  PodDisruptionBudget: [
    col('Min Available', 'The minimum number of pods that must be available.', (p) => (p.spec?.minAvailable !== undefined ? String(p.spec.minAvailable) : 'N/A')),
    col('Max Unavailable', 'The maximum number of pods that may be unavailable.', (p) => (p.spec?.maxUnavailable !== undefined ? String(p.spec.maxUnavailable) : 'N/A')),
    col('Allowed Disruptions', 'Calculated number of pods that may be disrupted at this time.', (p) => p.status?.disruptionsAllowed ?? 0, { type: 'integer' }),
    ageCol,
  ],
  HorizontalPodAutoscaler: [
    col('Reference', 'The target of the autoscaler.', (h) => `${h.spec?.scaleTargetRef?.kind}/${h.spec?.scaleTargetRef?.name}`),
    col('Targets', 'Each metric: its current value over its target.', hpaTargets),
    col('MinPods', 'The lower limit of replicas.', (h) => h.spec?.minReplicas ?? 1, { type: 'integer' }),
    col('MaxPods', 'The upper limit of replicas.', (h) => h.spec?.maxReplicas ?? 0, { type: 'integer' }),
    col('Replicas', 'The current replicas.', (h) => h.status?.currentReplicas ?? 0, { type: 'integer' }),
    ageCol,
  ],
  Service: [
    col('Type', 'The type of the service.', (s) => s.spec?.type ?? 'ClusterIP'),
    col('Cluster-IP', 'The IP address of the service.', (s) => s.spec?.clusterIP || '<none>'),
    col('External-IP', 'The external IP address of the service.', serviceExternal),
    col('Port(s)', 'The ports exposed by the service.', servicePorts),
    ageCol,
    col('Selector', 'The label selector of the service.', (s) => joinLabels(s.spec?.selector) || '<none>', { wide: true }),
  ],
  Ingress: [
    col('Class', 'The IngressClass of the Ingress.', (i) => i.spec?.ingressClassName ?? '<none>'),
    col('Hosts', 'The hosts the Ingress routes.', (i) => [...new Set((i.spec?.rules ?? []).map((r: { host?: string }) => r.host ?? '*'))].join(',') || '*'),
    col('Address', 'The nodes that serve the Ingress.', (i) => ((i.status?.loadBalancer?.ingress ?? []) as { ip?: string }[]).map((x) => x.ip).join(',')),
    col('Ports', 'The ports the Ingress is served on.', (i) => (i.spec?.tls?.length ? '80, 443' : '80')),
    ageCol,
  ],
  IngressClass: [col('Controller', 'The controller of the class.', (c) => c.spec?.controller ?? ''), col('Parameters', 'The parameters of the class.', () => '<none>'), ageCol],
  NetworkPolicy: [col('Pod-Selector', 'The Pods the policy selects.', (p) => joinLabels(p.spec?.podSelector?.matchLabels) || '<none>'), ageCol],
  Endpoints: [col('Endpoints', 'The endpoints of the service.', endpointsShown), ageCol],
  EndpointSlice: [
    col('AddressType', 'The type of address of the endpoints.', (e) => (e.addressType as string) ?? 'IPv4'),
    col('Ports', 'The ports of the endpoints.', (e) => ((e.ports as { port?: number }[] | undefined) ?? []).map((p) => p.port).join(',') || '<unset>'),
    col('Endpoints', 'The addresses of the endpoints.', (e) => shortList(((e.endpoints as { addresses: string[] }[] | undefined) ?? []).flatMap((x) => x.addresses)) || '<unset>'),
    ageCol,
  ],
  ConfigMap: [col('Data', 'Number of data entries.', (c) => Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length, { type: 'integer' }), ageCol],
  Secret: [col('Type', 'The type of the secret.', (s) => s.type ?? 'Opaque'), col('Data', 'Number of data entries.', (s) => Object.keys(s.data ?? {}).length, { type: 'integer' }), ageCol],
  PersistentVolumeClaim: [
    col('Status', 'The phase of the claim.', (p) => (p.metadata.deletionTimestamp ? 'Terminating' : (p.status?.phase ?? 'Pending'))),
    col('Volume', 'The PersistentVolume the claim is bound to.', (p) => p.spec?.volumeName ?? ''),
    col('Capacity', 'The capacity of the claim.', (p) => p.status?.capacity?.storage ?? ''),
    col('Access Modes', 'The access modes of the claim.', (p) => (p.spec?.accessModes ?? []).map((m: string) => ({ ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' })[m] ?? m).join(',')),
    col('StorageClass', 'The storage class of the claim.', (p) => p.spec?.storageClassName ?? '<unset>'),
    col('VolumeAttributesClass', 'The volume attributes class of the claim.', () => '<unset>'),
    ageCol,
    col('VolumeMode', 'The volume mode of the claim.', (p) => p.spec?.volumeMode ?? 'Filesystem', { wide: true }),
  ],
  Namespace: [col('Status', 'The status of the namespace.', (n) => n.status?.phase ?? 'Active'), ageCol],
  Node: [
    col('Status', 'The status of the node.', (n) => `${ready(n) ? 'Ready' : 'NotReady'}${n.spec?.unschedulable ? ',SchedulingDisabled' : ''}`),
    col('Roles', 'The roles of the node.', (n) => Object.keys(n.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.split('/')[1]).join(',') || '<none>'),
    ageCol,
    col('Version', 'Kubelet version of the node.', (n) => n.status?.nodeInfo?.kubeletVersion ?? ''),
    col('Internal-IP', 'The internal IP of the node.', (n) => (n.status?.addresses ?? []).find((a: any) => a.type === 'InternalIP')?.address ?? '<none>', { wide: true }),
    col('External-IP', 'The external IP of the node.', (n) => (n.status?.addresses ?? []).find((a: any) => a.type === 'ExternalIP')?.address ?? '<none>', { wide: true }),
    col('OS-Image', 'The OS image of the node.', (n) => n.status?.nodeInfo?.osImage ?? '<unknown>', { wide: true }),
    col('Kernel-Version', 'The kernel version of the node.', (n) => n.status?.nodeInfo?.kernelVersion ?? '<unknown>', { wide: true }),
    col('Container-Runtime', 'The container runtime of the node.', (n) => n.status?.nodeInfo?.containerRuntimeVersion ?? '', { wide: true }),
  ],
  ServiceAccount: [col('Secrets', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.', (a: any) => (a.secrets ?? []).length, { type: 'integer' }), ageCol],
  RoleBinding: bindingColumns,
  ClusterRoleBinding: bindingColumns,
  ResourceQuota: [
    ageCol,
    col('Request', 'Request represents a minimum amount of cpu/memory that a container may consume.', (q) => quotaUsage(q, false)),
    col('Limit', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.', (q) => quotaUsage(q, true)),
  ],
  // As Kubernetes prints an Event: no name column but in -o wide, and there last.
  Event: [
    col('Last Seen', 'When the event was last seen.', (e: any, now) => age(e.series?.lastObservedTime ?? e.lastTimestamp ?? e.firstTimestamp ?? e.eventTime, now)),
    col('Type', 'Normal or Warning.', (e) => (e.type as string) ?? 'Normal'),
    col('Reason', 'Why the event happened.', (e) => (e.reason as string) ?? ''),
    col('Object', 'The object the event is about.', (e: any) => (e.involvedObject?.name ? `${String(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject.name}` : String(e.involvedObject?.kind ?? '').toLowerCase())),
    col('Subobject', 'The part of the object the event is about.', (e: any) => e.involvedObject?.fieldPath ?? '', { wide: true }),
    col('Source', 'The component that reported the event.', (e: any) => eventSource(e), { wide: true }),
    col('Message', 'What happened.', (e) => String(e.message ?? '').trim()),
    col('First Seen', 'When the event was first seen.', (e: any, now) => age(e.firstTimestamp ?? e.eventTime, now), { wide: true }),
    col('Count', 'How many times the event happened.', (e: any) => e.series?.count ?? (e.count || 1), { type: 'integer', wide: true }),
    col('Name', 'Name must be unique within a namespace.', (e) => e.metadata.name, { wide: true, isName: true }),
  ],
  Application: [
    col('Sync Status', 'Whether the live objects match the source.', (a) => a.status?.sync?.status ?? 'Unknown'),
    col('Health Status', 'The health rolled up from the objects.', (a) => a.status?.health?.status ?? 'Unknown'),
    ageCol,
    col('Revision', 'The last applied revision.', (a) => a.status?.lastAppliedRevision ?? '', { wide: true }),
  ],
};

// A default class or ingress class is named with "(default)" after it, as kubectl shows it.
const defaultMarks: Record<string, string> = { StorageClass: 'storageclass.kubernetes.io/is-default-class', IngressClass: 'ingressclass.kubernetes.io/is-default-class' };
const nameColumn: Column = col('Name', 'Name must be unique within a namespace.', (o) => {
  const mark = defaultMarks[o.kind];
  return mark && o.metadata.annotations?.[mark] === 'true' ? `${o.metadata.name} (default)` : o.metadata.name;
}, { isName: true });

/** Who reported an Event, as kubectl prints it: `kubelet, node-1`, or the component alone. */
function eventSource(e: any): string {
  const component = e.source?.component || e.reportingComponent || '';
  const instance = e.source?.host || e.reportingInstance || '';
  return instance ? `${component}, ${instance}` : component;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** A Table of objects of one kind, as the API answers `Accept: application/json;as=Table;g=meta.k8s.io;v=v1`. */
export function toTable(kind: string, objects: KubeObject[], options: { includeObject?: IncludeObject; resourceVersion?: string; continue?: string; now?: number } = {}) {
  const own = columns[kind] ?? [createdAtCol];
  // A kind's columns start with its name unless they place the name themselves (Event).
  const cols = own.some((c) => c.isName) ? own : [nameColumn, ...own];
  const include = options.includeObject ?? 'Metadata';
  const now = options.now ?? Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: options.resourceVersion ?? '', ...(options.continue ? { continue: options.continue } : {}) },
    columnDefinitions: cols.map((c) => ({ name: c.name, type: c.type ?? 'string', format: c.isName ? 'name' : '', description: c.description, priority: c.wide ? 1 : 0 })),
    rows: objects.map((o) => {
      // The cells read the version stored (an object of an older version, as a v1 HPA, is converted).
      const stored = toStoredVersion(o);
      return {
        cells: cols.map((c) => c.cell(stored, now)),
        ...(include === 'None' ? {} : { object: include === 'Object' ? o : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata } }),
      };
    }),
  };
}

/** Prints a Table as kubectl does: upper-case headers, padded columns, NAMESPACE first across namespaces. */
export function renderTable(table: ReturnType<typeof toTable>, options: { wide?: boolean; allNamespaces?: boolean; noHeaders?: boolean }): string {
  if (table.rows.length === 0) return '';
  const shown = table.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => options.wide || c.priority === 0);
  const header = [...(options.allNamespaces ? ['NAMESPACE'] : []), ...shown.map(({ c }) => c.name.toUpperCase())];
  const rows = table.rows.map((r) => [...(options.allNamespaces ? [String((r.object as KubeObject | undefined)?.metadata?.namespace ?? '')] : []), ...shown.map(({ i }) => String(r.cells[i]))]);
  const all = options.noHeaders ? rows : [header, ...rows];
  const widths = header.map((_h, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('')).join('\n');
}
