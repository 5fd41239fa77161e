import { createHash } from 'node:crypto';
import type { KubeObject } from '../manifest/types.js';
import { matchesSelector } from '../manifest/selector.js';

/** A Service's port as it reaches one Pod: the Service port's name and protocol, the Pod's port. */
export interface ResolvedPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** One Pod behind a Service. */
export interface Endpoint {
  ip: string;
  ready: boolean;
  terminating: boolean;
  nodeName?: string;
  hostname?: string;
  pod: { name: string; namespace: string; uid: string };
  ports: ResolvedPort[];
}

interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

function isReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/**
 * The port a Service port reaches on a Pod: its targetPort as a number, or the Pod's container port
 * of that name. Undefined when the Pod has no port of that name (it is no endpoint of that port).
 */
export function targetPortOn(pod: KubeObject, targetPort: number | string | undefined, port: number): number | undefined {
  if (targetPort === undefined) return port;
  if (typeof targetPort === 'number') return targetPort;
  if (/^\d+$/.test(targetPort)) return Number(targetPort);
  const all: ContainerPort[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].flatMap((c: { ports?: ContainerPort[] }) => c.ports ?? []);
  return all.find((p) => p.name === targetPort)?.containerPort;
}

/**
 * The Pods a Service with a selector sends to, as the endpoints controller finds them: Pods of its
 * namespace matching the selector that have an address and have not finished; each with the
 * Service's ports resolved on it. Sorted by address. Pure.
 */
export function serviceEndpoints(service: KubeObject, pods: KubeObject[]): Endpoint[] {
  const selector: Record<string, string> | undefined = service.spec?.selector;
  if (!selector || Object.keys(selector).length === 0 || service.spec?.type === 'ExternalName') return [];
  const out: Endpoint[] = [];
  for (const pod of pods) {
    if (pod.metadata.namespace !== service.metadata.namespace || !pod.status?.podIP) continue;
    if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') continue;
    if (!matchesSelector({ matchLabels: selector }, pod.metadata.labels ?? {})) continue;
    const ports: ResolvedPort[] = [];
    for (const p of service.spec.ports ?? []) {
      const port = targetPortOn(pod, p.targetPort, p.port);
      if (port !== undefined) ports.push({ ...(p.name ? { name: p.name } : {}), port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) });
    }
    const terminating = !!pod.metadata.deletionTimestamp;
    const hostname = pod.spec?.hostname && pod.spec?.subdomain === service.metadata.name ? pod.spec.hostname : undefined;
    out.push({
      ip: pod.status.podIP,
      ready: (isReady(pod) && !terminating) || (!!service.spec.publishNotReadyAddresses && !terminating),
      terminating,
      nodeName: pod.spec?.nodeName,
      ...(hostname ? { hostname } : {}),
      pod: { name: pod.metadata.name, namespace: pod.metadata.namespace!, uid: pod.metadata.uid! },
      ports,
    });
  }
  return out.sort((a, b) => compareIp(a.ip, b.ip));
}

function compareIp(a: string, b: string): number {
  const n = (ip: string) => ip.split('.').reduce((acc, x) => acc * 256 + Number(x), 0);
  return n(a) - n(b);
}

function owner(service: KubeObject) {
  return [{ apiVersion: 'v1', kind: 'Service', name: service.metadata.name, uid: service.metadata.uid!, controller: true, blockOwnerDeletion: true }];
}

/** The Endpoints object of a Service: addresses grouped by the ports they have, as Kubernetes writes them. */
export function endpointsObject(service: KubeObject, endpoints: Endpoint[]): KubeObject {
  const groups = new Map<string, { addresses: object[]; notReadyAddresses: object[]; ports: ResolvedPort[] }>();
  for (const e of endpoints) {
    if (e.terminating) continue;
    const key = JSON.stringify(e.ports);
    const g = groups.get(key) ?? groups.set(key, { addresses: [], notReadyAddresses: [], ports: e.ports }).get(key)!;
    const address = { ip: e.ip, ...(e.hostname ? { hostname: e.hostname } : {}), ...(e.nodeName ? { nodeName: e.nodeName } : {}), targetRef: { kind: 'Pod', namespace: e.pod.namespace, name: e.pod.name, uid: e.pod.uid } };
    (e.ready ? g.addresses : g.notReadyAddresses).push(address);
  }
  const subsets = [...groups.values()].map((g) => ({ ...(g.addresses.length ? { addresses: g.addresses } : {}), ...(g.notReadyAddresses.length ? { notReadyAddresses: g.notReadyAddresses } : {}), ...(g.ports.length ? { ports: g.ports } : {}) }));
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: service.metadata.name, namespace: service.metadata.namespace, labels: { ...(service.metadata.labels ?? {}) }, ownerReferences: owner(service) },
    ...(subsets.length ? { subsets } : {}),
  } as KubeObject;
}

export const serviceNameLabel = 'kubernetes.io/service-name';
const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
export const sliceManager = 'endpointslice-controller.k8s.io';

/**
 * The EndpointSlices of a Service: one per set of resolved ports (a named targetPort may be a
 * different number on different Pods), named after the Service and that set. Pure.
 */
export function endpointSlices(service: KubeObject, endpoints: Endpoint[]): KubeObject[] {
  const groups = new Map<string, Endpoint[]>();
  for (const e of endpoints) (groups.get(JSON.stringify(e.ports)) ?? groups.set(JSON.stringify(e.ports), []).get(JSON.stringify(e.ports))!).push(e);
  if (groups.size === 0) groups.set('[]', []);
  return [...groups.entries()].map(([key, list]) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${service.metadata.name.slice(0, 57)}-${createHash('sha256').update(`${service.metadata.uid}${key}`).digest('hex').slice(0, 5)}`,
      namespace: service.metadata.namespace,
      labels: { ...(service.metadata.labels ?? {}), [serviceNameLabel]: service.metadata.name, [managedByLabel]: sliceManager },
      ownerReferences: owner(service),
    },
    addressType: 'IPv4',
    endpoints: list.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready, serving: e.ready, terminating: e.terminating },
      ...(e.hostname ? { hostname: e.hostname } : {}),
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: e.pod.namespace, name: e.pod.name, uid: e.pod.uid },
    })),
    // A port's name is always there, "" when the Service's port has none, as the EndpointSlice
    // controller writes it: kubectl describe reads it without looking (and crashes on none).
    ports: list[0] ? list[0].ports.map((p) => ({ ...p, name: p.name ?? '' })) : (service.spec.ports ?? []).map((p: { name?: string; protocol?: string }) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP' })),
  }) as KubeObject);
}
