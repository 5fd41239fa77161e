import { manifestKinds, systemKinds, type KindInfo } from '../manifest/kinds.js';
import { olderVersions, type OlderVersion } from '../manifest/older-versions.js';

export interface Subresource {
  name: string;
  /** The kind a request on it answers with, when not the parent's. */
  kind?: { group: string; version: string; kind: string };
  verbs: string[];
}

export interface Resource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** False for kinds only Gouvernail's own components write (system identities). */
  userWritable: boolean;
  subresources: Subresource[];
  /** Created and answered, never stored (SelfSubjectReview, SelfSubjectAccessReview...). */
  virtual: boolean;
  info: KindInfo;
  /** For an older version of a kind: how its objects convert to and from the version stored. */
  conversion?: OlderVersion;
}

const virtualKinds = new Set(['SelfSubjectReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview']);

const statusSub: Subresource = { name: 'status', verbs: ['get', 'patch', 'update'] };
const scaleSub: Subresource = { name: 'scale', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] };

/** HTTP to a Pod or a Service, through the API (the HTTP edge's proxy.ts). */
const proxySub = (kind: string): Subresource => ({ name: 'proxy', kind: { group: '', version: 'v1', kind }, verbs: ['create', 'delete', 'get', 'patch', 'update'] });

/** Subresources by kind; those served over streams (log, exec, attach, portforward) and proxy are the HTTP edge's. */
const subresourcesOf: Record<string, Subresource[]> = {
  Pod: [statusSub, { name: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] }, { name: 'log', verbs: ['get'] }, { name: 'exec', kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, verbs: ['create', 'get'] }, { name: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] }, { name: 'resize', verbs: ['get', 'patch', 'update'] }, { name: 'ephemeralcontainers', verbs: ['get', 'patch', 'update'] }, proxySub('PodProxyOptions')],
  Deployment: [statusSub, scaleSub],
  ReplicaSet: [statusSub, scaleSub],
  ReplicationController: [statusSub, scaleSub],
  StatefulSet: [statusSub, scaleSub],
  DaemonSet: [statusSub],
  Job: [statusSub],
  CronJob: [statusSub],
  HorizontalPodAutoscaler: [statusSub],
  PodDisruptionBudget: [statusSub],
  PersistentVolume: [statusSub],
  Service: [statusSub, proxySub('ServiceProxyOptions')],
  Ingress: [statusSub],
  PersistentVolumeClaim: [statusSub],
  Namespace: [statusSub],
  Node: [statusSub],
  Application: [statusSub],
  ResourceQuota: [statusSub],
  ServiceAccount: [{ name: 'token', kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }, verbs: ['create'] }],
};

const inAll = new Set(['Pod', 'Service', 'Deployment', 'ReplicaSet', 'ReplicationController', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);

function toResource(k: KindInfo, userWritable: boolean): Resource {
  const [group, version] = k.apiVersion.includes('/') ? k.apiVersion.split('/') : ['', k.apiVersion];
  return {
    group: group!,
    version: version!,
    kind: k.kind,
    plural: k.plural,
    singular: k.kind.toLowerCase(),
    shortNames: k.shortNames,
    categories: inAll.has(k.kind) ? ['all'] : [],
    namespaced: k.namespaced,
    userWritable,
    subresources: subresourcesOf[k.kind] ?? [],
    virtual: virtualKinds.has(k.kind),
    info: k,
  };
}

const served: Resource[] = [...manifestKinds.map((k) => toResource(k, true)), ...systemKinds.map((k) => toResource(k, k.kind === 'Event' || virtualKinds.has(k.kind)))];
/** Older versions kubectl still asks for: `auth whoami` of kubectl 1.27 and 1.28 speaks v1alpha1 and v1beta1. */
const olderReviewVersions = served.filter((r) => r.kind === 'SelfSubjectReview').flatMap((r) => ['v1beta1', 'v1alpha1'].map((version) => ({ ...r, version })));

/** Older versions of stored kinds (autoscaling/v1 HPAs), converted on the way in and out. */
const converted = olderVersions.map((v) => ({ ...toResource(v.info, true), conversion: v }));

/** Every kind the API serves: the manifest kinds plus those Gouvernail's components make. */
export const resources: Resource[] = [...served, ...olderReviewVersions, ...converted];

export function apiVersionOf(r: Pick<Resource, 'group' | 'version'>): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export function findResource(group: string, version: string, plural: string): Resource | undefined {
  return resources.find((r) => r.group === group && r.version === version && r.plural === plural);
}

const byKind = new Map(served.map((r) => [r.kind, r]));

export function resourceForKind(kind: string): Resource | undefined {
  return byKind.get(kind);
}

/** Finds a resource by kind, plural, singular or short name, as kubectl's arguments name them. */
export function resolveResourceName(name: string): Resource | undefined {
  const n = name.toLowerCase();
  const [plural, group] = n.includes('.') ? [n.slice(0, n.indexOf('.')), n.slice(n.indexOf('.') + 1)] : [n, undefined];
  return resources.find((r) => (group === undefined || r.group === group) && (r.plural === plural || r.singular === plural || r.shortNames.includes(plural) || r.kind.toLowerCase() === plural));
}

export function resourcePath(r: Resource, namespace?: string, name?: string, subresource?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${r.plural}${name ? `/${encodeURIComponent(name)}` : ''}${name && subresource ? `/${subresource}` : ''}`;
}

/** `deployments.apps`, `pods`: how Kubernetes names a resource in messages. */
export function qualifiedName(r: Resource): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}
