import { cloneJson } from './clone.js';
import { isNamespaced } from './kinds.js';
import type { Container, KubeObject, PodSpec, Probe } from './types.js';

/**
 * Kubernetes' defaults, so that two manifests that differ only by a default are equal.
 * Pure: returns a new object; the input is not changed.
 */
export function applyDefaults(input: KubeObject): KubeObject {
  return defaultInPlace(cloneJson(input));
}

/** The same defaults, written into an object the caller owns (one just parsed): no copy. */
export function defaultInPlace(o: KubeObject): KubeObject {
  if (isNamespaced(o.kind) && !o.metadata.namespace) o.metadata.namespace = 'default';
  switch (o.kind) {
    case 'Pod':
      defaultPodSpec(o.spec);
      break;
    case 'Deployment': {
      const spec = o.spec;
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.minReadySeconds ??= 0;
      spec.strategy ??= {};
      spec.strategy.type ??= 'RollingUpdate';
      if (spec.strategy.type === 'RollingUpdate') {
        spec.strategy.rollingUpdate ??= {};
        spec.strategy.rollingUpdate.maxSurge ??= '25%';
        spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
      }
      spec.template.metadata ??= {};
      defaultPodSpec(spec.template.spec);
      break;
    }
    case 'ReplicaSet':
    case 'ReplicationController':
      o.spec.replicas ??= 1;
      o.spec.minReadySeconds ??= 0;
      if (o.kind === 'ReplicationController') o.spec.selector ??= { ...o.spec.template?.metadata?.labels };
      defaultTemplate(o.spec.template);
      break;
    case 'StatefulSet': {
      const spec = o.spec;
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.updateStrategy ??= {};
      spec.updateStrategy.type ??= 'RollingUpdate';
      if (spec.updateStrategy.type === 'RollingUpdate') {
        spec.updateStrategy.rollingUpdate ??= {};
        spec.updateStrategy.rollingUpdate.partition ??= 0;
      }
      spec.minReadySeconds ??= 0;
      spec.persistentVolumeClaimRetentionPolicy ??= {};
      spec.persistentVolumeClaimRetentionPolicy.whenDeleted ??= 'Retain';
      spec.persistentVolumeClaimRetentionPolicy.whenScaled ??= 'Retain';
      for (const t of spec.volumeClaimTemplates ?? []) {
        t.apiVersion ??= 'v1';
        t.kind ??= 'PersistentVolumeClaim';
        t.spec.volumeMode ??= 'Filesystem';
        t.spec.accessModes ??= ['ReadWriteOnce'];
      }
      defaultTemplate(spec.template);
      break;
    }
    case 'DaemonSet': {
      const spec = o.spec;
      spec.updateStrategy ??= {};
      spec.updateStrategy.type ??= 'RollingUpdate';
      if (spec.updateStrategy.type === 'RollingUpdate') {
        spec.updateStrategy.rollingUpdate ??= {};
        spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
      }
      spec.minReadySeconds ??= 0;
      defaultTemplate(spec.template);
      break;
    }
    case 'Job':
      defaultJobSpec(o.spec);
      break;
    case 'HorizontalPodAutoscaler':
      o.spec.minReplicas ??= 1;
      break;
    case 'CronJob': {
      const spec = o.spec;
      spec.concurrencyPolicy ??= 'Allow';
      spec.suspend ??= false;
      spec.successfulJobsHistoryLimit ??= 3;
      spec.failedJobsHistoryLimit ??= 1;
      spec.jobTemplate.metadata ??= {};
      defaultJobSpec(spec.jobTemplate.spec);
      break;
    }
    case 'Namespace':
      // Kubernetes labels each namespace with its name, which NetworkPolicies select namespaces by.
      if (o.metadata?.name) o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name };
      break;
    case 'Service': {
      const spec = o.spec;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      // As Kubernetes' API server on a single-stack IPv4 cluster: what every Service with cluster
      // addresses, and every one reached from outside, is given when it names none.
      if (spec.type !== 'ExternalName') {
        spec.internalTrafficPolicy ??= 'Cluster';
        spec.ipFamilies ??= ['IPv4'];
        const selects = spec.selector && Object.keys(spec.selector).length > 0;
        spec.ipFamilyPolicy ??= spec.clusterIP === 'None' && !selects ? 'RequireDualStack' : 'SingleStack';
      }
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
      if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
      spec.ports ??= [];
      for (let i = 0; i < spec.ports.length; i++) {
        const p = spec.ports[i];
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      break;
    }
    case 'Secret': {
      o.type ??= 'Opaque';
      if (o.stringData) {
        o.data ??= {};
        for (const [k, v] of Object.entries(o.stringData)) o.data[k] = Buffer.from(v, 'utf8').toString('base64');
        delete o.stringData;
      }
      if (o.data) for (const k of Object.keys(o.data)) o.data[k] = o.data[k]!.replace(/\s/g, '');
      break;
    }
    case 'PersistentVolumeClaim':
      o.spec.volumeMode ??= 'Filesystem';
      o.spec.accessModes ??= ['ReadWriteOnce'];
      break;
    case 'Application': {
      const spec = o.spec;
      spec.source.targetRevision ??= spec.source.repoURL ? 'HEAD' : spec.source.hosted ? 'main' : undefined;
      if (spec.source.targetRevision === undefined) delete spec.source.targetRevision;
      spec.source.path ??= '.';
      spec.syncPolicy ??= {};
      const automated = spec.syncPolicy.automated;
      if (automated && typeof automated === 'object') {
        spec.syncPolicy.prune ??= automated.prune;
        spec.syncPolicy.selfHeal ??= automated.selfHeal;
      }
      spec.syncPolicy.automated = automated === undefined ? true : Boolean(automated);
      spec.syncPolicy.prune ??= false;
      spec.syncPolicy.selfHeal ??= false;
      spec.syncPolicy.allowEmpty ??= false;
      spec.syncPolicy.autoRollback ??= false;
      spec.syncPolicy.interval ??= '3m';
      break;
    }
  }
  return o;
}

function defaultTemplate(template: { metadata?: object; spec: PodSpec } | undefined): void {
  if (!template) return;
  template.metadata ??= {};
  defaultPodSpec(template.spec);
}

/** As Kubernetes: one completion, one at a time, six retries, unless said otherwise. */
function defaultJobSpec(spec: any): void {
  spec.completions ??= spec.parallelism === undefined ? 1 : undefined;
  if (spec.completions === undefined) delete spec.completions;
  spec.parallelism ??= 1;
  spec.backoffLimit ??= 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  defaultTemplate(spec.template);
}

function defaultPodSpec(spec: PodSpec): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  // Indexed loops: this runs for every Pod template, mostly in a fresh process (see apply/references.ts).
  for (let i = 0; i < spec.containers.length; i++) defaultContainer(spec.containers[i]!);
  const initContainers = spec.initContainers ?? [];
  for (let i = 0; i < initContainers.length; i++) defaultContainer(initContainers[i]!);
  const volumes = spec.volumes ?? [];
  for (let i = 0; i < volumes.length; i++) {
    const v = volumes[i]!;
    if (v.configMap) v.configMap.defaultMode ??= 0o644;
    if (v.secret) v.secret.defaultMode ??= 0o644;
  }
}

function defaultContainer(c: Container): void {
  c.imagePullPolicy ??= pullPolicyFor(c.image);
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  const ports = c.ports ?? [];
  for (let i = 0; i < ports.length; i++) ports[i]!.protocol ??= 'TCP';
  if (c.readinessProbe) defaultProbe(c.readinessProbe);
  if (c.livenessProbe) defaultProbe(c.livenessProbe);
  if (c.startupProbe) defaultProbe(c.startupProbe);
}

function defaultProbe(p: Probe): void {
  p.initialDelaySeconds ??= 0;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet) {
    p.httpGet.path ??= '/';
    p.httpGet.scheme ??= 'HTTP';
  }
}

/** Always for `:latest` or no tag, IfNotPresent otherwise (a digest counts as a tag). */
export function pullPolicyFor(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon === -1) return 'Always';
  return image.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}
