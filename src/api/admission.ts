import { cloneJson } from '../manifest/clone.js';
import { connectionProblem, credentialsNamespace, credentialsOf, dockerCredentialsAnnotation, dockerHostAnnotation, dockerInsecureAnnotation, parseDockerHost } from '../runtime/docker-connection.js';
import { priorityAdmission } from './priority.js';
import { randomUUID } from 'node:crypto';
import { applyDefaults } from '../manifest/defaults.js';
import { formatPath, type KubeObject } from '../manifest/types.js';
import { validateObject } from '../manifest/validate.js';
import { jobLabels, nameSuffix, podSpecOf } from '../manifest/pod-template.js';
import type { ObjectStore } from '../store/object-store.js';
import { ApiError } from './errors.js';
import { clusterIPAllocation } from './cluster-ip.js';
import { serviceTypeChange } from './service-type-change.js';
import { defaultStorageClass } from './default-storage-class.js';
import { isSystemComponent, type Identity } from './identity.js';
import { checkPodSecurity, describeViolations, type Level } from './pod-security.js';
import { applyLimitRanges, exceeds, quotaUsage, usageOf } from './resource-limits.js';
import { qualifiedName, type Resource } from './resources.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** What an admission plugin sees of a write. */
export interface AdmissionRequest {
  identity: Identity;
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  resource: Resource;
  subresource?: string;
  object: KubeObject;
  oldObject?: KubeObject;
  fieldValidation: FieldValidation;
  /** dryRun=All: nothing may be written, by the request or a plugin. */
  dryRun: boolean;
  store: ObjectStore;
  /** Warnings for the client (HTTP Warning headers). */
  warnings: string[];
  /** Notes for the audit log's entry of this request (as Kubernetes' audit annotations). */
  auditNotes: Record<string, string>;
}

/** A mutating plugin may change `object`; a validating one only refuses, by throwing an ApiError. */
export interface AdmissionPlugin {
  name: string;
  mutate?(request: AdmissionRequest): void;
  validate?(request: AdmissionRequest): void;
}

/** metadata.generateName: a name with a random suffix, as the API server makes it. */
export const generateName: AdmissionPlugin = {
  name: 'GenerateName',
  mutate(r) {
    const m = r.object.metadata;
    if (r.operation !== 'CREATE' || m.name || !m.generateName) return;
    m.name = `${m.generateName}${nameSuffix()}`.slice(0, 253);
  },
};

/**
 * A Job's selector, as the API server generates it (unless manualSelector): its own uid, on the
 * selector and on the template's labels with the job's name, so that its Pods, and only they,
 * are found by it (`kubectl logs job/NAME`). An update keeps them.
 */
export const jobSelector: AdmissionPlugin = {
  name: 'JobSelector',
  mutate(r) {
    if (r.subresource || r.object.kind !== 'Job' || !r.object.spec || r.object.spec.manualSelector) return;
    const uid = r.operation === 'CREATE' ? randomUUID() : r.oldObject?.metadata.uid;
    if (!uid) return;
    if (r.operation === 'CREATE') r.object.metadata.uid = uid;
    const labels = jobLabels(uid, r.object.metadata.name);
    r.object.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    const template = (r.object.spec.template ??= {});
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...labels } };
  },
};


/**
 * The fields a request may not set: status on a create by a user (the controllers write it), and
 * for every write, Kubernetes' defaults so that what is stored is what runs.
 */
export const defaults: AdmissionPlugin = {
  name: 'Defaults',
  mutate(r) {
    if (r.subresource) return;
    if (r.operation === 'CREATE' && !isSystemComponent(r.identity) && r.resource.subresources.some((s) => s.name === 'status')) delete r.object.status;
    let defaulted: KubeObject;
    try {
      defaulted = applyDefaults(r.object);
    } catch {
      return; // a malformed object: schema validation says what is wrong with it
    }
    for (const key of Object.keys(r.object)) delete r.object[key];
    Object.assign(r.object, defaulted);
  },
};

/** The schema the validator uses, with fieldValidation deciding what an unknown field costs. */
export const schemaValidation: AdmissionPlugin = {
  name: 'Schema',
  validate(r) {
    // A status write changes only status, which the schema leaves open; the rest is the stored object.
    if (r.subresource === 'status') return;
    // Checked as the client wrote it (an older version's fields, with their paths).
    const issues = validateObject(r.resource.conversion ? r.resource.conversion.fromStored(r.object) : r.object, true);
    const errors = issues.filter((i) => !i.warning);
    if (errors.length > 0) {
      const message = `${r.resource.kind} "${r.object.metadata?.name ?? ''}" is invalid: ${errors.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ')}`;
      throw new ApiError(422, 'Invalid', message, { name: r.object.metadata?.name, group: r.resource.group || undefined, kind: r.resource.plural, causes: errors.map((i) => ({ reason: 'FieldValueInvalid', message: i.message, field: formatPath(i.path) })) });
    }
    const unknown = issues.filter((i) => i.unknownField);
    if (unknown.length > 0 && r.fieldValidation === 'Strict') {
      throw new ApiError(400, 'BadRequest', `${r.resource.kind} in version "${r.resource.version}" cannot be handled as a ${r.resource.kind}: strict decoding error: ${unknown.map((i) => `unknown field "${formatPath(i.path)}"`).join(', ')}`);
    }
    for (const i of issues) {
      if (i.unknownField && r.fieldValidation === 'Ignore') continue;
      r.warnings.push(i.unknownField ? `unknown field "${formatPath(i.path)}"` : `${formatPath(i.path)}: ${i.message}`);
    }
  },
};

/** Objects live in a namespace that exists and is not being deleted, as NamespaceLifecycle. */
export const namespaceLifecycle: AdmissionPlugin = {
  name: 'NamespaceLifecycle',
  validate(r) {
    if (!r.resource.namespaced || r.operation !== 'CREATE') return;
    const name = r.object.metadata.namespace ?? 'default';
    const ns = r.store.get('Namespace', undefined, name);
    if (!ns) throw new ApiError(404, 'NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' });
    if (ns.metadata.deletionTimestamp) {
      throw new ApiError(403, 'Forbidden', `${qualifiedName(r.resource)} "${r.object.metadata.name}" is forbidden: unable to create new content in namespace ${name} because it is being terminated`, { name: r.object.metadata.name, group: r.resource.group || undefined, kind: r.resource.plural });
    }
  },
};

/** ReplicaSets and Nodes are written by Gouvernail's components only, for now. */
export const componentKinds: AdmissionPlugin = {
  name: 'ComponentKinds',
  validate(r) {
    if (r.resource.userWritable || isSystemComponent(r.identity)) return;
    // A Node is joined by naming its Docker engine (gouvernail node add, or kubectl; see nodeRegistration).
    if (r.resource.kind === 'Node' && r.operation === 'CREATE' && !r.subresource) return;
    // kubectl taint, cordon and uncordon: a Node's taints and spec.unschedulable are the operator's to set.
    if (r.operation === 'UPDATE' && r.oldObject && r.resource.kind === 'Node' && !r.subresource && onlyMetadataChanged(withoutOperatorFields(r.oldObject), withoutOperatorFields(r.object))) return;
    if (r.operation === 'UPDATE' && r.oldObject && onlyMetadataChanged(r.oldObject, r.object)) return;
    throw new ApiError(405, 'MethodNotAllowed', `${qualifiedName(r.resource)} are written by Gouvernail's controllers; change the object that owns them instead (labels and annotations may be changed${r.resource.kind === 'Node' ? ', and spec.unschedulable and spec.taints: kubectl cordon, uncordon and taint' : ''})`);
  },
};

function withoutOperatorFields(o: KubeObject): KubeObject {
  const { unschedulable: _u, taints: _t, ...spec } = (o.spec ?? {}) as Record<string, unknown>;
  return { ...o, spec };
}

/**
 * A Node a person writes names the Docker engine to drive: its URL in an annotation, its TLS
 * certificates or SSH key in a Secret of kube-system. Plain TCP is refused unless asked for.
 */
export const nodeRegistration: AdmissionPlugin = {
  name: 'NodeRegistration',
  validate(r) {
    if (r.resource.kind !== 'Node' || r.subresource || isSystemComponent(r.identity)) return;
    const a = r.object.metadata.annotations ?? {};
    const before = r.oldObject?.metadata.annotations ?? {};
    const keys = [dockerHostAnnotation, dockerCredentialsAnnotation, dockerInsecureAnnotation];
    if (r.operation === 'UPDATE' && keys.every((k) => a[k] === before[k])) return;
    const invalid = (field: string, message: string) => new ApiError(422, 'Invalid', `Node "${r.object.metadata.name}" is invalid: ${field}: ${message}`, { name: r.object.metadata.name, kind: 'nodes', causes: [{ reason: 'FieldValueInvalid', field, message }] });
    const host = a[dockerHostAnnotation];
    if (!host) {
      if (r.operation === 'UPDATE' && !before[dockerHostAnnotation]) return;
      throw invalid(`metadata.annotations[${dockerHostAnnotation}]`, 'a Node names the Docker engine Gouvernail drives for it (unix:///path.sock, tcp://HOST:2376 or ssh://user@host); gouvernail node add NAME --docker URL writes it');
    }
    let endpoint;
    try {
      endpoint = parseDockerHost(host);
    } catch (err) {
      throw invalid(`metadata.annotations[${dockerHostAnnotation}]`, (err as Error).message);
    }
    const secretName = a[dockerCredentialsAnnotation];
    const secret = secretName ? r.store.get('Secret', credentialsNamespace, secretName) : undefined;
    if (secretName && !secret) throw invalid(`metadata.annotations[${dockerCredentialsAnnotation}]`, `the Secret ${credentialsNamespace}/${secretName} does not exist; create it first (keys ca.crt, tls.crt, tls.key or ssh-privatekey)`);
    const problem = connectionProblem(endpoint, credentialsOf(secret), a[dockerInsecureAnnotation] === 'true');
    if (problem) throw invalid(`metadata.annotations[${dockerHostAnnotation}]`, problem);
  },
};

function onlyMetadataChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => JSON.stringify({ ...o, metadata: undefined, status: undefined });
  return strip(a) === strip(b);
}

export const claimProtection = 'kubernetes.io/pvc-protection';
export const volumeProtection = 'kubernetes.io/pv-protection';

/**
 * StorageObjectInUseProtection: a claim and a volume are made with the finalizer that keeps them
 * while in use (see runtime/storage-protection.ts).
 */
export const storageProtection: AdmissionPlugin = {
  name: 'StorageObjectInUseProtection',
  mutate(r) {
    if (r.operation !== 'CREATE' || r.subresource) return;
    const finalizer = r.object.kind === 'PersistentVolumeClaim' ? claimProtection : r.object.kind === 'PersistentVolume' ? volumeProtection : undefined;
    if (!finalizer || r.object.metadata.finalizers?.includes(finalizer)) return;
    r.object.metadata.finalizers = [...(r.object.metadata.finalizers ?? []), finalizer];
  },
};

/**
 * A claim keeps the volume it is bound to when a write leaves spec.volumeName out (a manifest
 * applied again: the binder chose it), as Kubernetes keeps a bound claim's spec.
 */
export const claimVolumeKept: AdmissionPlugin = {
  name: 'ClaimVolumeKept',
  mutate(r) {
    if (r.operation !== 'UPDATE' || r.subresource || r.object.kind !== 'PersistentVolumeClaim' || !r.object.spec) return;
    const had = r.oldObject?.spec?.volumeName;
    if (had && r.object.spec.volumeName === undefined) r.object.spec.volumeName = had;
  },
};

/**
 * NodePort Services get a free port of 30000-32767 where they name none, keeping the one they had
 * (and passing over another LoadBalancer's own ports, which are on the nodes' addresses too);
 * a port another Service holds is refused.
 */
export const nodePortAllocation: AdmissionPlugin = {
  name: 'NodePortAllocation',
  mutate(r) {
    const service = r.object;
    if (service.kind !== 'Service' || r.subresource) return;
    if (service.spec?.type !== 'NodePort' && service.spec?.type !== 'LoadBalancer') return;
    const self = `${service.metadata.namespace}/${service.metadata.name}`;
    const taken = new Set<number>();
    const loadBalancerPorts = new Set<number>();
    for (const s of r.store.list({ kind: 'Service' })) {
      if (`${s.metadata.namespace}/${s.metadata.name}` === self) continue;
      for (const p of s.spec.ports ?? []) {
        if (p.nodePort) taken.add(p.nodePort);
        // A LoadBalancer's own port is on the nodes' addresses too: not handed out as a nodePort.
        if (s.spec.type === 'LoadBalancer' && typeof p.port === 'number') loadBalancerPorts.add(p.port);
      }
    }
    (service.spec.ports ?? []).forEach((p: { nodePort?: number; port: number }, i: number) => {
      if (p.nodePort) {
        if (taken.has(p.nodePort)) throw new ApiError(422, 'Invalid', `Service "${service.metadata.name}" is invalid: spec.ports[${i}].nodePort: ${p.nodePort} is already allocated to another Service`);
        return;
      }
      const kept = r.oldObject?.spec?.ports?.find((c: { port: number; nodePort?: number }) => c.port === p.port)?.nodePort;
      if (kept === undefined && service.spec.type === 'LoadBalancer' && service.spec.allocateLoadBalancerNodePorts === false) return;
      let port = kept ?? 30000;
      while (taken.has(port) || (port !== kept && loadBalancerPorts.has(port))) port++;
      if (port > 32767) throw new ApiError(422, 'Invalid', 'no NodePort is free in 30000-32767');
      p.nodePort = port;
      taken.add(port);
    });
  },
};

const levels = ['privileged', 'baseline', 'restricted'] as const;
const levelLabel = (mode: string) => `pod-security.kubernetes.io/${mode}`;

/**
 * Pod Security Admission: the namespace's `pod-security.kubernetes.io/enforce` level (baseline when
 * unset) refuses a Pod, or a Deployment or ReplicaSet whose template, that breaks it; the `warn`
 * level answers with warnings. A workload is refused up front rather than left with Pods that can
 * never be created. hostPorts a namespace allows are listed in its annotation
 * gouvernail.io/allowed-host-ports.
 */
export const podSecurity: AdmissionPlugin = {
  name: 'PodSecurity',
  validate(r) {
    // kubectl debug's containers are held to the namespace's level too.
    if (r.subresource && r.subresource !== 'ephemeralcontainers') return;
    const specOf = (o: KubeObject | undefined) => (o ? podSpecOf(o) : undefined);
    const spec = specOf(r.object);
    if (!spec) return;
    if (r.operation === 'UPDATE' && JSON.stringify(specOf(r.oldObject)) === JSON.stringify(spec)) return;
    const ns = r.store.get('Namespace', undefined, r.object.metadata.namespace ?? 'default');
    const labels = ns?.metadata.labels ?? {};
    const levelOf = (mode: string, fallback: Level | undefined): Level | undefined => {
      const v = labels[levelLabel(mode)];
      return (levels as readonly string[]).includes(v ?? '') ? (v as Level) : fallback;
    };
    const allowedHostPorts = (ns?.metadata.annotations?.['gouvernail.io/allowed-host-ports'] ?? '').split(',').map((x) => Number(x.trim())).filter((x) => Number.isInteger(x) && x > 0);
    const enforce = levelOf('enforce', 'baseline')!;
    const violations = checkPodSecurity(spec, enforce, { allowedHostPorts });
    if (violations.length > 0) {
      throw new ApiError(403, 'Forbidden', `${qualifiedName(r.resource)} "${r.object.metadata.name}" is forbidden: violates ${describeViolations(enforce, violations)}`, { name: r.object.metadata.name, group: r.resource.group || undefined, kind: r.resource.plural });
    }
    const warn = levelOf('warn', undefined);
    if (warn && levels.indexOf(warn) > levels.indexOf(enforce)) {
      const would = checkPodSecurity(spec, warn, { allowedHostPorts });
      if (would.length > 0) r.warnings.push(`would violate ${describeViolations(warn, would)}`);
    }
    const audit = levelOf('audit', undefined);
    if (audit && levels.indexOf(audit) > levels.indexOf(enforce)) {
      const would = checkPodSecurity(spec, audit, { allowedHostPorts });
      if (would.length > 0) r.auditNotes['pod-security.kubernetes.io/audit-violations'] = `would violate ${describeViolations(audit, would)}`;
    }
  },
};

/**
 * Credentials written into an Application's repoURL (`https://user:TOKEN@host/...`) are moved out
 * before anything stores or shows the URL: into a Secret `NAME-repo-credentials` beside the
 * Application, which its spec.source.credentials.secretRef then names. The Secret is written in
 * the request's own transaction.
 */
export const repoCredentials: AdmissionPlugin = {
  name: 'RepoCredentials',
  mutate(r) {
    const source = r.object.kind === 'Application' && !r.subresource ? r.object.spec?.source : undefined;
    if (typeof source?.repoURL !== 'string') return;
    let url: URL;
    try {
      url = new URL(source.repoURL);
    } catch {
      return;
    }
    if (!url.username && !url.password) return;
    const username = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    source.repoURL = url.toString();
    const name = `${r.object.metadata.name}-repo-credentials`.slice(0, 253);
    source.credentials = { ...source.credentials, secretRef: { name } };
    if (r.dryRun) return;
    const data = { username: Buffer.from(password ? username : 'git').toString('base64'), password: Buffer.from(password || username).toString('base64') };
    const namespace = r.object.metadata.namespace ?? 'default';
    const existing = r.store.get('Secret', namespace, name);
    const secret = { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace, labels: { 'gouvernail.io/credentials-of': r.object.metadata.name } }, data };
    if (existing) r.store.update({ ...existing, data });
    else r.store.create(secret);
    r.warnings.push(`the credentials in spec.source.repoURL were moved into the Secret ${name}, which spec.source.credentials.secretRef names`);
  },
};

/**
 * LimitRange: containers without limits or requests get the namespace's defaults, and limits past a
 * maximum (or requests under a minimum) are refused, on Pods and workload templates.
 */
export const limitRanger: AdmissionPlugin = {
  name: 'LimitRanger',
  mutate(r) {
    const spec = r.subresource ? undefined : podSpecOf(r.object);
    if (!spec) return;
    const ranges = r.store.list({ kind: 'LimitRange', namespace: r.object.metadata.namespace ?? 'default' });
    if (ranges.length === 0) return;
    const problems = applyLimitRanges(spec, ranges);
    if (problems.length) throw new ApiError(403, 'Forbidden', `${qualifiedName(r.resource)} "${r.object.metadata.name}" is forbidden: ${problems.join('; ')}`, { name: r.object.metadata.name, kind: r.resource.plural });
  },
};

/** ResourceQuota: a new object that would take the namespace past a quota is refused, with the numbers. */
export const resourceQuota: AdmissionPlugin = {
  name: 'ResourceQuota',
  validate(r) {
    if (r.operation !== 'CREATE' || r.subresource || !r.resource.namespaced) return;
    const ns = r.object.metadata.namespace ?? 'default';
    const quotas = r.store.list({ kind: 'ResourceQuota', namespace: ns });
    if (quotas.length === 0) return;
    const adding = usageOf(r.object);
    if (Object.keys(adding).length === 0) return;
    const objects = r.store.list({ namespace: ns });
    for (const q of quotas) {
      const message = exceeds(q, quotaUsage(q, objects), adding);
      if (message) throw new ApiError(403, 'Forbidden', `${qualifiedName(r.resource)} "${r.object.metadata.name}" is forbidden: ${message}`, { name: r.object.metadata.name, kind: r.resource.plural });
    }
  },
};

/** The chain every write passes, in order: mutating plugins first, then validating ones. */
/**
 * A Pod's identity stays as it was made, as Kubernetes keeps it: an update may not change its
 * ServiceAccount (its running containers hold that account's token) or move it to another node.
 * Its containers may change: the node replaces those whose definition changed.
 */
export const podIdentity: AdmissionPlugin = {
  name: 'PodIdentity',
  // An update that does not mention the ephemeral containers (an apply of the Pod's manifest) keeps them.
  mutate(r) {
    if (r.operation !== 'UPDATE' || r.resource.kind !== 'Pod' || r.subresource || !r.oldObject?.spec?.ephemeralContainers || !r.object.spec) return;
    r.object.spec.ephemeralContainers ??= cloneJson(r.oldObject.spec.ephemeralContainers);
  },
  validate(r) {
    if (r.resource.kind !== 'Pod' || r.subresource) return;
    const name = r.object.metadata.name;
    const ephemeral = (o: KubeObject | undefined) => JSON.stringify(o?.spec?.ephemeralContainers ?? []);
    // Ephemeral containers come only through pods/NAME/ephemeralcontainers (kubectl debug).
    if (ephemeral(r.object) !== ephemeral(r.oldObject)) {
      const message = r.operation === 'CREATE' ? 'Forbidden: cannot be set on create' : 'Forbidden: may only be changed through the ephemeralcontainers subresource (kubectl debug)';
      throw new ApiError(422, 'Invalid', `Pod "${name}" is invalid: spec.ephemeralContainers: ${message}`, { name, kind: 'pods', causes: [{ reason: 'FieldValueForbidden', field: 'spec.ephemeralContainers', message }] });
    }
    // Scheduling gates: none on a Pod bound to a node, and once it exists they may only be removed.
    const gates = (o: KubeObject | undefined): string[] => (o?.spec?.schedulingGates ?? []).map((g: { name: string }) => g.name);
    const forbid = (field: string, message: string) => {
      throw new ApiError(422, 'Invalid', `Pod "${name}" is invalid: ${field}: Forbidden: ${message}`, { name, kind: 'pods', causes: [{ reason: 'FieldValueForbidden', field, message }] });
    };
    if (gates(r.object).length > 0 && r.object.spec?.nodeName) forbid('spec.nodeName', 'cannot be set until all schedulingGates have been cleared');
    const added = r.operation === 'UPDATE' ? gates(r.object).find((g) => !gates(r.oldObject).includes(g)) : undefined;
    if (added !== undefined) forbid('spec.schedulingGates', `only deletion is allowed, but found new scheduling gate '${added}'`);
    if (r.operation !== 'UPDATE' || !r.oldObject) return;
    const before = r.oldObject.spec ?? {};
    const after = r.object.spec ?? {};
    const changed: string[] = ['serviceAccountName', 'automountServiceAccountToken'].filter((f) => before[f] !== after[f]);
    if (before.nodeName && before.nodeName !== after.nodeName) changed.push('nodeName');
    if (changed.length === 0) return;
    const causes = changed.map((f) => ({ reason: 'FieldValueForbidden', field: `spec.${f}`, message: 'field is immutable' }));
    throw new ApiError(422, 'Invalid', `Pod "${name}" is invalid: ${changed.map((f) => `spec.${f}`).join(', ')}: Forbidden: field is immutable on a Pod; delete the Pod and create it again (a Deployment's template change does this for you)`, { name, kind: 'pods', causes });
  },
};

export const defaultAdmission: AdmissionPlugin[] = [generateName, repoCredentials, defaults, serviceTypeChange, storageProtection, claimVolumeKept, defaultStorageClass, priorityAdmission, jobSelector, limitRanger, nodePortAllocation, clusterIPAllocation(), componentKinds, nodeRegistration, namespaceLifecycle, schemaValidation, podIdentity, podSecurity, resourceQuota];

export function admit(plugins: AdmissionPlugin[], request: AdmissionRequest): void {
  for (const p of plugins) p.mutate?.(request);
  for (const p of plugins) p.validate?.(request);
}
