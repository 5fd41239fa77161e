import net from 'node:net';
import { pipeSockets } from '../network/tcp-forward.js';
import type { KubeObject } from '../manifest/types.js';
import { matchesSelector } from '../manifest/selector.js';
import type { ObjectStore } from '../store/object-store.js';
import { targetPortOn } from '../network/endpoints.js';
import { nodePortHolders } from '../network/node-port-holders.js';

interface Listener {
  server: net.Server;
  service: string;
  port: number | string;
}

/**
 * Publishes NodePort and LoadBalancer Services on this node, as kube-proxy does: a TCP listener on
 * each nodePort, and on each LoadBalancer port the Service holds (see node-port-holders), that forwards
 * every connection to one of the Service's ready Pods (round robin), on its targetPort: the clients
 * of this host's loopback; every node's own addresses are served by the network component's
 * iptables rules, as cluster IPs are.
 */
export class ServiceProxy {
  private readonly listeners = new Map<number, Listener>();
  private next = 0;
  private timer?: NodeJS.Timeout;
  private unwatch?: () => void;

  /** The port a listener could not have, and whose: said once until that changes. */
  private readonly refused = new Map<number, string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly log: (msg: string, f?: Record<string, unknown>) => void = () => {},
    private readonly host = '0.0.0.0',
    /** LoadBalancer ports not published (the Ingress's, the API server's). */
    private readonly reservedPorts: number[] = [],
    /** This host's node: a Service with externalTrafficPolicy Local is served by its Pods only. */
    private readonly node?: string,
  ) {}

  start(): void {
    this.unwatch = this.store.watch(this.store.resourceVersion(), (c) => {
      if (c.object.kind === 'Service') this.reconcile();
    });
    this.reconcile();
    this.timer = setInterval(() => this.reconcile(), 5000);
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.listeners.values()].map((l) => new Promise((r) => l.server.close(r))));
    this.listeners.clear();
  }

  reconcile(): void {
    const wanted = new Map<number, { service: KubeObject; port: number | string }>();
    const services = this.store.list({ kind: 'Service' });
    const holders = nodePortHolders(services, this.reservedPorts);
    for (const s of services) {
      if (s.spec.type !== 'NodePort' && s.spec.type !== 'LoadBalancer') continue;
      for (const p of s.spec.ports ?? []) {
        if ((p.protocol ?? 'TCP') !== 'TCP') continue;
        if (p.nodePort && holders.holds(s, p.nodePort)) wanted.set(p.nodePort, { service: s, port: p.targetPort ?? p.port });
        if (s.spec.type === 'LoadBalancer' && holders.holds(s, p.port)) wanted.set(p.port, { service: s, port: p.targetPort ?? p.port });
      }
    }
    for (const [port, l] of this.listeners) {
      const w = wanted.get(port);
      if (!w || `${w.service.metadata.namespace}/${w.service.metadata.name}` !== l.service) {
        l.server.close();
        this.listeners.delete(port);
      } else l.port = w.port;
    }
    for (const [port, w] of wanted) {
      if (this.listeners.has(port)) continue;
      const key = `${w.service.metadata.namespace}/${w.service.metadata.name}`;
      const listener: Listener = { server: net.createServer((socket) => this.forward(socket, key, listener.port)), service: key, port: w.port };
      listener.server.on('error', (err) => {
        if (this.refused.get(port) !== key) this.log(`cannot publish port ${port} of a Service on this host's loopback; is another program using it? (tried again every 5 s)`, { service: key, port, err: err.message });
        this.refused.set(port, key);
        this.listeners.delete(port);
      });
      listener.server.on('listening', () => this.refused.delete(port));
      listener.server.listen(port, this.host);
      this.listeners.set(port, listener);
    }
  }

  private forward(socket: net.Socket, service: string, targetPort: number | string): void {
    const [namespace, name] = service.split('/');
    const s = this.store.get('Service', namespace, name!);
    const backends = s ? this.readyBackends(s, targetPort) : [];
    if (backends.length === 0) {
      socket.destroy();
      return;
    }
    const b = backends[this.next++ % backends.length]!;
    pipeSockets(socket, net.connect({ host: b.ip, port: b.port }));
  }

  private readyBackends(s: KubeObject, targetPort: number | string): { ip: string; port: number }[] {
    const selector = s.spec.selector;
    if (!selector) return [];
    const out: { ip: string; port: number }[] = [];
    for (const p of this.store.list({ kind: 'Pod', namespace: s.metadata.namespace })) {
      if (!matchesSelector({ matchLabels: selector }, p.metadata.labels ?? {}) || !p.status?.podIP) continue;
      if (s.spec.externalTrafficPolicy === 'Local' && this.node !== undefined && p.spec?.nodeName !== this.node) continue;
      if (!(p.status.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')) continue;
      const port = targetPortOn(p, targetPort, 0);
      if (port) out.push({ ip: p.status.podIP, port });
    }
    return out;
  }
}
