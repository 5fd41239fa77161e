import type { Client } from '../api/client.js';
import type { KubeObject } from '../manifest/types.js';
import { endpointSlices, endpointsObject, serviceEndpoints, serviceNameLabel, sliceManager } from '../network/endpoints.js';
import type { ObjectStore } from '../store/object-store.js';
import { PassLoop } from './pass-loop.js';
import { servedIngress } from '../network/ingress-routes.js';
import { describeRefusal, nodePortHolders, type NodePortHolders } from '../network/node-port-holders.js';
import type { EventRecorder } from './event-recorder.js';

export interface EndpointsControllerOptions {
  /** Ports of the nodes' addresses Gouvernail serves itself (the Ingress's, the API server's). */
  reservedPorts?: number[];
  /** Where a LoadBalancer's refused port is told (kubectl describe service). */
  events?: EventRecorder;
}

const watched = new Set(['Service', 'Pod', 'Endpoints', 'EndpointSlice', 'Node', 'Ingress', 'IngressClass']);

/**
 * Kubernetes' endpoints and endpoint slice controllers, as one pass: each Service with a selector
 * gets an Endpoints object and EndpointSlices listing the Pods it sends to, ready or not; a
 * LoadBalancer Service gets the nodes' addresses as its external IPs (as k3s's built-in load
 * balancer gives them) once it holds one of its ports there; one whose every port another Service
 * or Gouvernail holds stays pending, as k3s's does, and each refused port is an event and a log
 * line. A Service without a selector keeps the Endpoints written for it.
 */
export class EndpointsController {
  private readonly loop: PassLoop;
  /** Refused ports already told, so that each is told once while it lasts. */
  private told = new Set<string>();

  constructor(private readonly store: ObjectStore, private readonly client: Client, private readonly log: (msg: string, f?: Record<string, unknown>) => void = () => {}, private readonly o: EndpointsControllerOptions = {}) {
    this.loop = new PassLoop({ pass: () => this.pass(), onError: (err, ms) => this.log('endpoints pass failed; retrying', { err: err.message, retryInMs: ms }), resyncMs: 30_000, debounceMs: 10 });
  }

  start(): void {
    this.loop.start(this.store, (c) => watched.has(c.object.kind));
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  async pass(): Promise<void> {
    const services = this.store.list({ kind: 'Service' });
    const pods = this.store.list({ kind: 'Pod' });
    const podsByNs = new Map<string, KubeObject[]>();
    for (const p of pods) (podsByNs.get(p.metadata.namespace!) ?? podsByNs.set(p.metadata.namespace!, []).get(p.metadata.namespace!)!).push(p);
    const slicesByService = new Map<string, KubeObject[]>();
    for (const s of this.store.list({ kind: 'EndpointSlice' })) {
      if (s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] !== sliceManager) continue;
      const key = `${s.metadata.namespace}/${s.metadata.labels?.[serviceNameLabel]}`;
      (slicesByService.get(key) ?? slicesByService.set(key, []).get(key)!).push(s);
    }
    const nodeAddresses = this.store
      .list({ kind: 'Node' })
      .flatMap((n) => (n.status?.addresses ?? []).filter((a: { type: string }) => a.type === 'InternalIP').map((a: { address: string }) => a.address));
    // An Ingress Gouvernail serves is served on every node: their addresses are its status, as k3s shows them.
    const classes = this.store.list({ kind: 'IngressClass' });
    for (const ing of this.store.list({ kind: 'Ingress' })) {
      if (ing.metadata.deletionTimestamp) continue;
      const ingress = servedIngress(ing, classes) ? nodeAddresses.map((ip) => ({ ip })) : [];
      if (JSON.stringify(ing.status?.loadBalancer?.ingress ?? []) === JSON.stringify(ingress)) continue;
      await this.client.updateStatus({ ...ing, metadata: { ...ing.metadata, resourceVersion: undefined }, status: { loadBalancer: { ingress } } }).catch((err) => this.log('cannot write the status of an Ingress', { ingress: `${ing.metadata.namespace}/${ing.metadata.name}`, err: (err as Error).message }));
    }
    const holders = nodePortHolders(services, this.o.reservedPorts);
    this.tellRefused(services, holders);
    for (const service of services) {
      if (service.metadata.deletionTimestamp) continue;
      const key = `${service.metadata.namespace}/${service.metadata.name}`;
      await this.reconcile(service, podsByNs.get(service.metadata.namespace!) ?? [], slicesByService.get(key) ?? [], nodeAddresses, holders).catch((err) => this.log('cannot write the endpoints of a Service', { service: key, err: (err as Error).message }));
    }
  }

  /** Each refused port, once while it lasts: a Warning event on the Service and a log line. */
  private tellRefused(services: KubeObject[], holders: NodePortHolders): void {
    const now = new Set<string>();
    for (const r of holders.refused) {
      const id = `${r.service}:${r.as}:${r.protocol}/${r.port}:${r.heldBy ?? ''}`;
      now.add(id);
      if (this.told.has(id)) continue;
      const message = describeRefusal(r);
      this.log(message, { service: r.service, port: r.port, protocol: r.protocol, heldBy: r.heldBy });
      const service = services.find((s) => `${s.metadata.namespace}/${s.metadata.name}` === r.service);
      if (service) this.o.events?.record(service, 'Warning', 'PortInUse', message);
    }
    this.told = now;
  }

  private async reconcile(service: KubeObject, pods: KubeObject[], slices: KubeObject[], nodeAddresses: string[], holders: NodePortHolders): Promise<void> {
    if (service.spec?.type === 'LoadBalancer') {
      // Pending (no address) while it holds none of its own ports on the nodes.
      const held = (service.spec.ports ?? []).some((p: { port: number; protocol?: string }) => holders.holds(service, p.port, p.protocol ?? 'TCP'));
      const ingress = held ? nodeAddresses.map((ip) => ({ ip, ipMode: 'VIP' })) : [];
      if (JSON.stringify(service.status?.loadBalancer?.ingress ?? []) !== JSON.stringify(ingress)) {
        await this.client.updateStatus({ ...service, metadata: { ...service.metadata, resourceVersion: undefined }, status: { ...(service.status ?? {}), loadBalancer: { ingress } } });
      }
    } else if (service.status?.loadBalancer?.ingress?.length) {
      // No longer a LoadBalancer: the addresses it was reached on are no longer its.
      await this.client.updateStatus({ ...service, metadata: { ...service.metadata, resourceVersion: undefined }, status: { ...service.status, loadBalancer: {} } });
    }
    const selector = service.spec?.selector;
    if (!selector || Object.keys(selector).length === 0 || service.spec?.type === 'ExternalName') {
      for (const s of slices) await this.client.delete('EndpointSlice', s.metadata.namespace, s.metadata.name);
      return;
    }
    const endpoints = serviceEndpoints(service, pods);
    await this.write(endpointsObject(service, endpoints), this.store.get('Endpoints', service.metadata.namespace, service.metadata.name), ['subsets']);
    const wanted = endpointSlices(service, endpoints);
    for (const s of wanted) await this.write(s, slices.find((x) => x.metadata.name === s.metadata.name), ['endpoints', 'ports', 'addressType']);
    for (const s of slices) if (!wanted.some((w) => w.metadata.name === s.metadata.name)) await this.client.delete('EndpointSlice', s.metadata.namespace, s.metadata.name);
  }

  /** Creates the object, or updates it when the fields it keeps differ. */
  private async write(o: KubeObject, live: KubeObject | undefined, fields: string[]): Promise<void> {
    if (!live) {
      await this.client.create(o);
      return;
    }
    const same = fields.every((f) => JSON.stringify(live[f] ?? null) === JSON.stringify(o[f] ?? null)) && JSON.stringify(live.metadata.labels ?? {}) === JSON.stringify(o.metadata.labels ?? {});
    if (same) return;
    await this.client.update({ ...o, metadata: { ...live.metadata, labels: o.metadata.labels, ownerReferences: o.metadata.ownerReferences } });
  }
}
