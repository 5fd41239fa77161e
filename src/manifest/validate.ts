import { check, type Issue } from './schema.js';
import { unknownKindMessage } from './unknown-kinds.js';
import { isManifestKind, kindInfo, manifestKinds } from './kinds.js';
import { ConversionError, olderVersion, olderVersions } from './older-versions.js';
import { matchesSelector, type LabelSelector } from './selector.js';
import { parseQuantity } from './quantity.js';
import { cronScheduleProblem, isTimeZone } from './cron-schedule.js';
import { isHook } from './hook-phases.js';

/** The Docker volume a provisioned PersistentVolume stands for. */
export const dockerVolumeAnnotation = 'gouvernail.io/docker-volume';
import type { Container, FieldPath, KubeObject, PodSpec } from './types.js';

/**
 * Checks one object against its kind. Pure: returns the issues, each with a field path. The kinds
 * only Gouvernail's components write (Node, ReplicaSet, Event) are known only with `systemKinds`.
 */
export function validateObject(o: KubeObject, systemKinds = false): Issue[] {
  const issues: Issue[] = [];
  const found = kindInfo(String(o.kind));
  const info = found && (systemKinds || isManifestKind(found.kind)) ? found : undefined;
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') {
    if (typeof o.apiVersion !== 'string') issues.push({ path: ['apiVersion'], message: 'is required' });
    if (typeof o.kind !== 'string') issues.push({ path: ['kind'], message: 'is required' });
    return issues;
  }
  if (!info) {
    const known = manifestKinds.map((k) => `${k.apiVersion} ${k.kind}`).join(', ');
    issues.push({ path: ['kind'], message: unknownKindMessage(o.apiVersion, o.kind, known) });
    return issues;
  }
  const older = o.apiVersion !== info.apiVersion ? olderVersion(o.apiVersion, info.kind) : undefined;
  if (o.apiVersion !== info.apiVersion && !older) {
    const served = [info.apiVersion, ...olderVersions.filter((v) => v.info.kind === info.kind).map((v) => v.info.apiVersion)];
    issues.push({ path: ['apiVersion'], message: `${info.kind} is served as ${served.join(' and ')}, not ${JSON.stringify(o.apiVersion)}` });
    return issues;
  }
  const reveal = info.kind !== 'Secret';
  check(older?.info.schema ?? info.schema, o, [], issues, reveal);
  if (older) {
    for (let i = 0; i < issues.length; i++) if (!issues[i]!.warning) return issues;
    // The checks below read the stored version; what the older one's annotations held is
    // checked there too (with the stored version's paths: those fields exist only there).
    try {
      o = older.toStored(o);
    } catch (err) {
      if (!(err instanceof ConversionError)) throw err;
      issues.push({ path: err.path, message: err.message });
      return issues;
    }
    const stored: Issue[] = [];
    check(info.schema, o, [], stored, reveal);
    for (const issue of stored) if (!issue.warning) issues.push(issue);
  }
  // A hook may be named by generateName alone: each sync makes a new one, as Argo CD does.
  if (o.metadata?.generateName && !o.metadata.name && isHook(o)) {
    const i = issues.findIndex((x) => x.path.join('.') === 'metadata.name' && x.message === 'is required');
    if (i >= 0) issues.splice(i, 1);
  }
  if (!info.namespaced && o.metadata && typeof o.metadata === 'object' && 'namespace' in o.metadata) {
    issues.push({ path: ['metadata', 'namespace'], message: `${info.kind} is cluster-scoped and takes no namespace` });
  }
  for (let i = 0; i < issues.length; i++) if (!issues[i]!.warning) return issues;

  switch (info.kind) {
    case 'Pod':
      checkPodSpec(o.spec as PodSpec, ['spec'], issues);
      // Made by kubectl debug on a running Pod (through its ephemeralcontainers subresource), never written.
      if (!systemKinds && (o.spec as { ephemeralContainers?: unknown[] }).ephemeralContainers?.length) issues.push({ path: ['spec', 'ephemeralContainers'], message: 'cannot be set in a manifest: kubectl debug adds an ephemeral container to a running Pod' });
      break;
    case 'Deployment':
      checkDeployment(o, issues);
      break;
    case 'ReplicaSet':
    case 'DaemonSet':
      checkSelectedTemplate(o, issues);
      break;
    case 'StatefulSet':
      checkStatefulSet(o, issues);
      break;
    case 'ReplicationController':
      checkReplicationController(o, issues);
      break;
    case 'Job':
      checkJobSpec(o.spec, ['spec'], issues);
      break;
    case 'CronJob':
      checkCronJob(o, issues);
      break;
    case 'HorizontalPodAutoscaler':
      checkAutoscaler(o, issues);
      break;
    case 'PersistentVolume': {
      const generated = o.metadata.annotations?.[dockerVolumeAnnotation] !== undefined;
      if (!generated && !o.spec.hostPath && !o.spec.local) issues.push({ path: ['spec'], message: 'needs hostPath or local: a folder of a node is what Gouvernail can mount (other sources need their own storage drivers, which Docker hosts lack)' });
      if (o.spec.local && !o.spec.nodeAffinity) issues.push({ path: ['spec', 'nodeAffinity'], message: 'is required for a local volume: it names the node the folder is on' });
      break;
    }
    case 'PodDisruptionBudget':
      if ((o.spec.minAvailable === undefined) === (o.spec.maxUnavailable === undefined)) issues.push({ path: ['spec'], message: 'needs one of minAvailable and maxUnavailable' });
      break;
    case 'Service':
      checkService(o, issues);
      break;
    case 'Secret':
      checkSecret(o, issues);
      break;
    case 'ConfigMap':
      for (const key of Object.keys(o.binaryData ?? {})) if (o.data && key in o.data) issues.push({ path: ['binaryData', key], message: 'key is also in data; a key may appear once' });
      for (const [key, v] of Object.entries(o.binaryData ?? {})) if (!isBase64(String(v))) issues.push({ path: ['binaryData', key], message: 'is not valid base64; put text under data instead' });
      break;
    case 'PersistentVolumeClaim':
      if (Array.isArray(o.spec.accessModes) && o.spec.accessModes.length === 0) issues.push({ path: ['spec', 'accessModes'], message: 'must list at least one access mode, such as ReadWriteOnce' });
      negativeQuantities(o.spec.resources, ['spec', 'resources'], issues);
      break;
    case 'ResourceQuota':
      negativeQuantities({ hard: o.spec.hard }, ['spec'], issues);
      break;
    case 'Application':
      checkApplication(o, issues);
      break;
  }
  return issues;
}

function checkPodSpec(spec: PodSpec, at: FieldPath, issues: Issue[], claimTemplates: string[] = []): void {
  if (at.length > 1 && (spec as { ephemeralContainers?: unknown[] }).ephemeralContainers?.length) issues.push({ path: [...at, 'ephemeralContainers'], message: 'is not allowed in a Pod template: kubectl debug adds an ephemeral container to a running Pod' });
  // Loops rather than callbacks: this runs for every Pod template of a folder, and one function
  // is compiled (and optimised) sooner than a dozen small ones.
  const containers = spec.containers;
  const initContainers = spec.initContainers ?? [];
  if (containers.length === 0) issues.push({ path: [...at, 'containers'], message: 'must list at least one container' });
  // Accepted by the schema (so they are checked), but not run yet: said where they are written.
  for (let i = 0; i < containers.length; i++) {
    if ((containers[i] as { restartPolicy?: string }).restartPolicy !== undefined) issues.push({ path: [...at, 'containers', i, 'restartPolicy'], message: 'may only be set on an init container (Always makes it a sidecar); the Pod\'s restartPolicy applies to its containers' });
  }
  const scheduler = (spec as { schedulerName?: string }).schedulerName;
  if (scheduler !== undefined && scheduler !== 'default-scheduler') {
    issues.push({ path: [...at, 'schedulerName'], message: `names a scheduler other than Gouvernail's (default-scheduler): the Pod stays Pending until ${JSON.stringify(scheduler)} binds it through the API`, warning: true });
  }
  // The parts of securityContext Docker does only in part are said where they are written.
  const sc = spec.securityContext as { fsGroup?: number; seccompProfile?: { type?: string } } | undefined;
  if (sc?.fsGroup !== undefined) issues.push({ path: [...at, 'securityContext', 'fsGroup'], message: "is added to the containers' groups, and a volume Gouvernail makes for the Pod (an emptyDir, a claim's) is given to the group; files already in a volume are not", warning: true });
  const localhostProfile = (where: FieldPath) => issues.push({ path: [...at, ...where, 'securityContext', 'seccompProfile', 'type'], message: 'Localhost profiles are not loaded on Docker; the runtime default profile applies', warning: true });
  if (sc?.seccompProfile?.type === 'Localhost') localhostProfile([]);
  for (let i = 0; i < containers.length + initContainers.length; i++) {
    const init = i >= containers.length;
    const c = (init ? initContainers[i - containers.length] : containers[i]) as { securityContext?: { seccompProfile?: { type?: string } } };
    if (c.securityContext?.seccompProfile?.type === 'Localhost') localhostProfile(init ? ['initContainers', i - containers.length] : ['containers', i]);
  }
  const volumes = new Map<string, number>();
  for (let i = 0; i < claimTemplates.length; i++) volumes.set(claimTemplates[i]!, -1);
  const specVolumes = spec.volumes ?? [];
  for (let i = 0; i < specVolumes.length; i++) {
    const v = specVolumes[i]!;
    if (volumes.has(v.name)) issues.push({ path: [...at, 'volumes', i, 'name'], message: `duplicate volume name ${JSON.stringify(v.name)} (also volumes[${volumes.get(v.name)}])` });
    volumes.set(v.name, i);
    const hostPathType = (v as { hostPath?: { type?: string } }).hostPath?.type;
    if (hostPathType && hostPathType !== 'DirectoryOrCreate') {
      // Docker's bind mount creates a missing path as a folder and checks nothing else.
      issues.push({ path: [...at, 'volumes', i, 'hostPath', 'type'], message: `${hostPathType} is not checked on Docker: the path is bind-mounted as it is, and created as a folder when missing (as DirectoryOrCreate)`, warning: true });
    }
    const emptyDir = v.emptyDir;
    if (emptyDir?.sizeLimit !== undefined && emptyDir.medium !== 'Memory') {
      issues.push({ path: [...at, 'volumes', i, 'emptyDir', 'sizeLimit'], message: 'is not enforced on a disk emptyDir (a Docker volume has no size); with medium: Memory, it is the size of its tmpfs', warning: true });
    }
    const sources: string[] = [];
    for (let s = 0; s < volumeSources.length; s++) if ((v as unknown as Record<string, unknown>)[volumeSources[s]!] !== undefined) sources.push(volumeSources[s]!);
    if (sources.length !== 1) {
      issues.push({ path: [...at, 'volumes', i], message: sources.length === 0 ? 'needs one source: emptyDir, persistentVolumeClaim, configMap, secret, hostPath, downwardAPI or projected' : `has several sources (${sources.join(', ')}); give one` });
    }
    // A file of a container's resources names the container, as Kubernetes requires in a volume.
    const downward: [FieldPath, { resourceFieldRef?: { containerName?: string } }[]][] = [];
    const dv = (v as { downwardAPI?: { items?: [] } }).downwardAPI;
    if (dv?.items) downward.push([[...at, 'volumes', i, 'downwardAPI', 'items'], dv.items]);
    ((v as { projected?: { sources?: { downwardAPI?: { items?: [] } }[] } }).projected?.sources ?? []).forEach((src, j) => {
      if (src.downwardAPI?.items) downward.push([[...at, 'volumes', i, 'projected', 'sources', j, 'downwardAPI', 'items'], src.downwardAPI.items]);
    });
    for (const [where, items] of downward) {
      items.forEach((item, k) => {
        const ref = item.resourceFieldRef;
        if (!ref) return;
        if (ref.containerName === undefined) issues.push({ path: [...where, k, 'resourceFieldRef', 'containerName'], message: 'is required in a volume: name the container whose resources the file holds' });
        else if (!containers.some((x) => x.name === ref.containerName) && !initContainers.some((x) => x.name === ref.containerName)) issues.push({ path: [...where, k, 'resourceFieldRef', 'containerName'], message: `names no container of the Pod (${JSON.stringify(ref.containerName)})` });
      });
    }
  }
  const names = new Map<string, string>();
  for (let k = 0; k < containers.length + initContainers.length; k++) {
    const init = k >= containers.length;
    const field = init ? 'initContainers' : 'containers';
    const i = init ? k - containers.length : k;
    const c = init ? initContainers[i]! : containers[i]!;
    const cat: FieldPath = [...at, field, i];
    const seen = names.get(c.name);
    if (seen) issues.push({ path: [...cat, 'name'], message: `duplicate container name ${JSON.stringify(c.name)} (also ${seen})` });
    names.set(c.name, `${field}[${i}]`);
    const mounts = c.volumeMounts ?? [];
    const mountPaths = new Map<string, number>();
    for (let j = 0; j < mounts.length; j++) {
      const m = mounts[j]!;
      if (mountPaths.has(m.mountPath)) issues.push({ path: [...cat, 'volumeMounts', j, 'mountPath'], message: `duplicate mountPath ${JSON.stringify(m.mountPath)} (also volumeMounts[${mountPaths.get(m.mountPath)}])` });
      mountPaths.set(m.mountPath, j);
      if (!volumes.has(m.name)) issues.push({ path: [...cat, 'volumeMounts', j, 'name'], message: `refers to volume ${JSON.stringify(m.name)}, which spec.volumes does not define` });
    }
    const portNames = new Set<string>();
    const ports = c.ports ?? [];
    for (let j = 0; j < ports.length; j++) {
      const name = ports[j]!.name;
      if (name && portNames.has(name)) issues.push({ path: [...cat, 'ports', j, 'name'], message: `duplicate port name ${JSON.stringify(name)}` });
      if (name) portNames.add(name);
      if (ports[j]!.hostPort !== undefined && ports[j]!.protocol === 'SCTP') issues.push({ path: [...cat, 'ports', j, 'protocol'], message: 'an SCTP hostPort is not published: only TCP and UDP hostPorts are', warning: true });
    }
    const env = c.env ?? [];
    for (let j = 0; j < env.length; j++) {
      const e = env[j]!;
      const vf = e.valueFrom as Record<string, unknown> | undefined;
      if (!vf) continue;
      const n = (vf.secretKeyRef !== undefined ? 1 : 0) + (vf.configMapKeyRef !== undefined ? 1 : 0) + (vf.fieldRef !== undefined ? 1 : 0) + (vf.resourceFieldRef !== undefined ? 1 : 0);
      if (n !== 1) issues.push({ path: [...cat, 'env', j, 'valueFrom'], message: 'needs exactly one of secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef' });
      const named = (vf.resourceFieldRef as { containerName?: string } | undefined)?.containerName;
      if (named !== undefined && !containers.some((x) => x.name === named) && !initContainers.some((x) => x.name === named)) issues.push({ path: [...cat, 'env', j, 'valueFrom', 'resourceFieldRef', 'containerName'], message: `names no container of the Pod (${JSON.stringify(named)})` });
      if (e.value !== undefined) issues.push({ path: [...cat, 'env', j], message: 'takes value or valueFrom, not both' });
    }
    const resources = (c as { resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> } }).resources;
    negativeQuantities(resources as never, [...cat, 'resources'], issues);
    const requests = resources?.requests;
    if (requests) {
      for (const name in requests) {
        const request = requests[name];
        const limit = resources?.limits?.[name];
        if (limit !== undefined && parseQuantity(String(request)) > parseQuantity(String(limit))) {
          issues.push({ path: [...cat, 'resources', 'requests', name], message: `must be less than or equal to the ${name} limit of ${String(limit)} (got ${String(request)})` });
        }
      }
    }
    const envFrom = c.envFrom ?? [];
    for (let j = 0; j < envFrom.length; j++) {
      if (!envFrom[j]!.configMapRef === !envFrom[j]!.secretRef) issues.push({ path: [...cat, 'envFrom', j], message: 'needs exactly one of configMapRef, secretRef' });
    }
    for (let pn = 0; pn < probeNames.length; pn++) {
      const probeName = probeNames[pn]!;
      const p = c[probeName];
      if (!p) continue;
      let handlers = 0;
      for (let h = 0; h < probeHandlers.length; h++) if ((p as Record<string, unknown>)[probeHandlers[h]!] !== undefined) handlers++;
      if (handlers !== 1) issues.push({ path: [...cat, probeName], message: 'needs exactly one of exec, httpGet, tcpSocket, grpc' });
      const port = p.httpGet?.port ?? p.tcpSocket?.port;
      if (typeof port === 'string' && !portNames.has(port)) {
        issues.push({ path: [...cat, probeName, p.httpGet ? 'httpGet' : 'tcpSocket', 'port'], message: `names port ${JSON.stringify(port)}, which the container does not declare` });
      }
    }
  }
}

const volumeSources = ['emptyDir', 'persistentVolumeClaim', 'configMap', 'secret', 'hostPath', 'downwardAPI', 'projected'];
const probeNames = ['readinessProbe', 'livenessProbe', 'startupProbe'] as const;
const probeHandlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'];

/** A workload's selector must select its own template's Pods; its Pods restart Always. */
function checkSelectedTemplate(o: KubeObject, issues: Issue[], claimTemplates: string[] = []): void {
  const spec = o.spec;
  const selector = spec.selector as LabelSelector;
  if (!selector.matchLabels && !selector.matchExpressions) {
    issues.push({ path: ['spec', 'selector'], message: 'must have matchLabels or matchExpressions; an empty selector would select every Pod' });
  }
  const templateLabels: Record<string, string> = spec.template.metadata?.labels ?? {};
  if (!matchesSelector(selector, templateLabels)) {
    issues.push({ path: ['spec', 'template', 'metadata', 'labels'], message: `do not match spec.selector; the ${o.kind} would never find its own Pods` });
  }
  const restart = spec.template.spec.restartPolicy;
  if (restart && restart !== 'Always') {
    issues.push({ path: ['spec', 'template', 'spec', 'restartPolicy'], message: `must be Always in a ${o.kind}` });
  }
  checkPodSpec(spec.template.spec, ['spec', 'template', 'spec'], issues, claimTemplates);
}

function checkStatefulSet(o: KubeObject, issues: Issue[]): void {
  const templates: { metadata: { name: string } }[] = o.spec.volumeClaimTemplates ?? [];
  checkSelectedTemplate(o, issues, templates.map((t) => t.metadata.name));
  const volumes = new Set((o.spec.template.spec.volumes ?? []).map((v: { name: string }) => v.name));
  templates.forEach((t, i) => {
    if (volumes.has(t.metadata.name)) issues.push({ path: ['spec', 'volumeClaimTemplates', i, 'metadata', 'name'], message: `is also a volume of the template (spec.template.spec.volumes); give one of them another name` });
  });
  if (o.spec.updateStrategy?.type === 'OnDelete' && o.spec.updateStrategy.rollingUpdate) issues.push({ path: ['spec', 'updateStrategy', 'rollingUpdate'], message: 'must not be set when type is OnDelete' });
}

function checkReplicationController(o: KubeObject, issues: Issue[]): void {
  const selector: Record<string, string> = o.spec.selector ?? {};
  const labels: Record<string, string> = o.spec.template.metadata?.labels ?? {};
  if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) issues.push({ path: ['spec', 'template', 'metadata', 'labels'], message: 'do not match spec.selector; the ReplicationController would never find its own Pods' });
  const restart = o.spec.template.spec.restartPolicy;
  if (restart && restart !== 'Always') issues.push({ path: ['spec', 'template', 'spec', 'restartPolicy'], message: 'must be Always in a ReplicationController' });
  checkPodSpec(o.spec.template.spec, ['spec', 'template', 'spec'], issues);
}

function checkJobSpec(spec: any, at: FieldPath, issues: Issue[]): void {
  const restart = spec.template.spec.restartPolicy;
  if (restart !== 'Never' && restart !== 'OnFailure') {
    issues.push({ path: [...at, 'template', 'spec', 'restartPolicy'], message: `must be Never or OnFailure in a Job (got ${restart === undefined ? 'nothing, which means Always' : restart}): a Job's Pods end` });
  }
  if (spec.completionMode === 'Indexed' && spec.completions === undefined) issues.push({ path: [...at, 'completions'], message: 'is required when completionMode is Indexed' });
  if (spec.podFailurePolicy) {
    if (restart !== 'Never') issues.push({ path: [...at, 'template', 'spec', 'restartPolicy'], message: 'must be Never when podFailurePolicy is set (its rules read the exit codes of Pods that ended)' });
    (spec.podFailurePolicy.rules ?? []).forEach((r: { action?: string; onExitCodes?: { operator?: string; values?: number[] }; onPodConditions?: unknown[] }, i: number) => {
      const rule = [...at, 'podFailurePolicy', 'rules', i];
      if ((r.onExitCodes === undefined) === (r.onPodConditions === undefined)) issues.push({ path: rule, message: 'must have exactly one of onExitCodes and onPodConditions' });
      if (r.action === 'FailIndex') issues.push({ path: [...rule, 'action'], message: 'FailIndex needs backoffLimitPerIndex, which Gouvernail does not act on; use FailJob, Ignore or Count' });
      const values = r.onExitCodes?.values ?? [];
      if (r.onExitCodes?.operator === 'In' && values.includes(0)) issues.push({ path: [...rule, 'onExitCodes', 'values'], message: 'may not contain 0 with the In operator (a container that exits 0 has not failed)' });
      if (new Set(values).size !== values.length) issues.push({ path: [...rule, 'onExitCodes', 'values'], message: 'must not repeat a value' });
    });
  }
  checkPodSpec(spec.template.spec, [...at, 'template', 'spec'], issues);
}

function checkCronJob(o: KubeObject, issues: Issue[]): void {
  const problem = cronScheduleProblem(o.spec.schedule);
  if (problem) issues.push({ path: ['spec', 'schedule'], message: problem });
  if (o.spec.timeZone !== undefined && !isTimeZone(o.spec.timeZone)) issues.push({ path: ['spec', 'timeZone'], message: `unknown time zone ${JSON.stringify(o.spec.timeZone)}; use an IANA name such as Europe/Paris or Etc/UTC` });
  checkJobSpec(o.spec.jobTemplate.spec, ['spec', 'jobTemplate', 'spec'], issues);
}

function checkAutoscaler(o: KubeObject, issues: Issue[]): void {
  if ((o.spec.minReplicas ?? 1) > o.spec.maxReplicas) issues.push({ path: ['spec', 'maxReplicas'], message: `must be at least minReplicas (${o.spec.minReplicas})` });
  (o.spec.metrics ?? []).forEach((m: { type: string; resource?: { target: { type: string; averageUtilization?: number; averageValue?: unknown } }; containerResource?: { target: { type: string; averageUtilization?: number; averageValue?: unknown } } }, i: number) => {
    const field = m.type === 'Resource' ? 'resource' : 'containerResource';
    const source = m[field];
    if (!source) return issues.push({ path: ['spec', 'metrics', i, field], message: `is required when type is ${m.type}` });
    const t = source.target;
    if (t.type === 'Utilization' && t.averageUtilization === undefined) issues.push({ path: ['spec', 'metrics', i, field, 'target', 'averageUtilization'], message: 'is required when the target type is Utilization' });
    if (t.type === 'AverageValue' && t.averageValue === undefined) issues.push({ path: ['spec', 'metrics', i, field, 'target', 'averageValue'], message: 'is required when the target type is AverageValue' });
  });
}

function checkDeployment(o: KubeObject, issues: Issue[]): void {
  checkSelectedTemplate(o, issues);
  const strategy = o.spec.strategy;
  if (strategy?.type === 'Recreate' && strategy.rollingUpdate) {
    issues.push({ path: ['spec', 'strategy', 'rollingUpdate'], message: 'must not be set when type is Recreate' });
  }
  const ru = strategy?.rollingUpdate;
  if (ru && isZero(ru.maxSurge) && isZero(ru.maxUnavailable)) {
    issues.push({ path: ['spec', 'strategy', 'rollingUpdate'], message: 'maxSurge and maxUnavailable cannot both be 0; the rollout could never progress' });
  }
}

function isZero(v: unknown): boolean {
  return v === 0 || v === '0%';
}

function checkService(o: KubeObject, issues: Issue[]): void {
  const spec = o.spec;
  const ports: { name?: string; nodePort?: number; port?: number; protocol?: string }[] = spec.ports ?? [];
  const headless = spec.clusterIP === 'None';
  if (spec.type === 'ExternalName' && !spec.externalName) issues.push({ path: ['spec', 'externalName'], message: 'is required when type is ExternalName (the DNS name the Service is a CNAME of)' });
  if (spec.externalName && spec.type !== 'ExternalName') issues.push({ path: ['spec', 'externalName'], message: 'is only used when type is ExternalName' });
  if (ports.length === 0 && !headless && spec.type !== 'ExternalName') issues.push({ path: ['spec', 'ports'], message: 'must list at least one port (only a headless Service, clusterIP: None, may have none)' });
  // As Kubernetes: only traffic from outside the cluster has an external policy to follow.
  const externallyReached = spec.type === 'NodePort' || spec.type === 'LoadBalancer' || ((spec.type ?? 'ClusterIP') === 'ClusterIP' && (spec.externalIPs ?? []).length > 0);
  if (spec.externalTrafficPolicy !== undefined && !externallyReached) issues.push({ path: ['spec', 'externalTrafficPolicy'], message: 'is only used by a Service reached from outside the cluster (type NodePort or LoadBalancer, or with externalIPs); remove it' });
  if (spec.type === 'ExternalName') {
    for (const f of ['ipFamilies', 'ipFamilyPolicy'] as const) if (spec[f] !== undefined) issues.push({ path: ['spec', f], message: 'may not be set for an ExternalName Service (it has no cluster IP)' });
  }
  (spec.ipFamilies ?? []).forEach((f: unknown, i: number) => {
    if (f === 'IPv6') issues.push({ path: ['spec', 'ipFamilies', i], message: "IPv6 is not available: Gouvernail's Service network is IPv4 only; list IPv4, or leave the field out" });
  });
  if (spec.ipFamilyPolicy === 'RequireDualStack' && !headless && spec.type !== 'ExternalName') issues.push({ path: ['spec', 'ipFamilyPolicy'], message: "RequireDualStack needs an IPv6 cluster IP, and Gouvernail's Service network is IPv4 only; use SingleStack or PreferDualStack" });
  if (spec.allocateLoadBalancerNodePorts !== undefined && spec.type !== 'LoadBalancer') issues.push({ path: ['spec', 'allocateLoadBalancerNodePorts'], message: 'is only used by a Service of type LoadBalancer; remove it' });
  const names = new Set<string>();
  const numbers = new Map<string, number>();
  ports.forEach((p, i) => {
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (numbers.has(key)) issues.push({ path: ['spec', 'ports', i, 'port'], message: `duplicate port ${key} (also ports[${numbers.get(key)}])` });
    numbers.set(key, i);
    if (ports.length > 1 && !p.name) issues.push({ path: ['spec', 'ports', i, 'name'], message: 'is required when a Service has more than one port' });
    if (p.name && names.has(p.name)) issues.push({ path: ['spec', 'ports', i, 'name'], message: `duplicate port name ${JSON.stringify(p.name)}` });
    if (p.name) names.add(p.name);
    if (p.protocol === 'SCTP') issues.push({ path: ['spec', 'ports', i, 'protocol'], message: "SCTP is not forwarded: Gouvernail's Service proxy carries TCP and UDP, so this port reaches no Pod (its DNS records are kept)", warning: true });
    if (p.nodePort !== undefined && (spec.type ?? 'ClusterIP') === 'ClusterIP') {
      issues.push({ path: ['spec', 'ports', i, 'nodePort'], message: 'is only allowed when type is NodePort or LoadBalancer' });
    }
  });
}

function isBase64(v: string): boolean {
  const compact = v.replace(/\s/g, '');
  return /^[A-Za-z0-9+/]*={0,2}$/.test(compact) && compact.length % 4 === 0;
}

/** The keys each built-in Secret type must have, as Kubernetes checks them. */
const secretTypeKeys: Record<string, string[][]> = {
  'kubernetes.io/tls': [['tls.crt'], ['tls.key']],
  'kubernetes.io/dockerconfigjson': [['.dockerconfigjson']],
  'kubernetes.io/dockercfg': [['.dockercfg']],
  'kubernetes.io/ssh-auth': [['ssh-privatekey']],
  'kubernetes.io/basic-auth': [['username', 'password']],
};

function checkSecret(o: KubeObject, issues: Issue[]): void {
  for (const key of Object.keys(o.data ?? {})) {
    if (!isBase64(o.data![key]!)) issues.push({ path: ['data', key], message: 'is not valid base64; put plain text under stringData instead' });
  }
  for (const anyOf of secretTypeKeys[o.type as string] ?? []) {
    if (!anyOf.some((k) => o.data?.[k] !== undefined)) issues.push({ path: ['data'], message: `a Secret of type ${o.type} needs the key ${anyOf.join(' or ')}` });
  }
}

/** Quantities of resources are never negative. */
function negativeQuantities(lists: Record<string, Record<string, unknown> | undefined> | undefined, at: FieldPath, issues: Issue[]): void {
  for (const list in lists) {
    const values = lists[list];
    for (const name in values) {
      const v = values[name];
      if (String(v).trim().startsWith('-')) issues.push({ path: [...at, list, name], message: `must not be negative (got ${String(v)})` });
    }
  }
}

function checkApplication(o: KubeObject, issues: Issue[]): void {
  const src = o.spec.source;
  const credentials = Object.keys(src.credentials ?? {}).filter((k) => ['tokenFile', 'tokenEnv', 'passwordFile', 'secretRef'].includes(k));
  if (credentials.length > 1) issues.push({ path: ['spec', 'source', 'credentials'], message: `takes one of tokenFile, tokenEnv, passwordFile and secretRef (got ${credentials.join(', ')})` });
  if (!src.repoURL && !src.path && !src.hosted) issues.push({ path: ['spec', 'source'], message: 'needs repoURL (a Git repository), path (a local folder) or hosted: true (a repository Gouvernail serves, to push to)' });
  if (src.hosted && src.repoURL) issues.push({ path: ['spec', 'source', 'repoURL'], message: 'a hosted source is the repository Gouvernail serves; give no repoURL' });
  const automated = o.spec.syncPolicy?.automated;
  if (automated !== undefined && typeof automated !== 'boolean' && (automated === null || typeof automated !== 'object' || Array.isArray(automated))) {
    issues.push({ path: ['spec', 'syncPolicy', 'automated'], message: 'must be true, false or a mapping with prune and selfHeal' });
  }
}
