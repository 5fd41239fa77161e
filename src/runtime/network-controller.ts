import type Docker from 'dockerode';
import { buildDnsTable } from '../network/dns-records.js';
import { hookRules, proxyRules } from '../network/proxy-rules.js';
import type { ObjectStore } from '../store/object-store.js';
import { NodeNetwork } from './node-network.js';
import { PassLoop } from './pass-loop.js';

export interface NetworkControllerOptions {
  store: ObjectStore;
  installation: string;
  /** The nodes' engines, as the node manager has them. */
  engines: () => Array<{ name: string; docker: Docker }>;
  dnsAddress: string;
  log: (msg: string, f?: Record<string, unknown>) => void;
}

/**
 * The cluster's network, computed once for every node: the DNS names of the Services and the
 * iptables rules of their cluster IPs, from the Services and their Endpoints; each node's network
 * component gets them as they change.
 */
export class NetworkController {
  private readonly loop: PassLoop;
  private readonly networks = new Map<string, { docker: Docker; network: NodeNetwork }>();
  /** Namespaces known to have Pods with an address: a new one has a new network to route. */
  private readonly namespaces = new Set<string>();

  constructor(private readonly o: NetworkControllerOptions) {
    this.loop = new PassLoop({ pass: () => this.pass(), onError: (err) => o.log('network pass failed; retrying', { err: err.message }), resyncMs: 30_000, debounceMs: 20 });
  }

  start(): void {
    this.loop.start(this.o.store, (c) => {
      const k = c.object.kind;
      if (k === 'Service' || k === 'Endpoints' || k === 'Node') return true;
      if (k === 'Pod' && c.object.status?.podIP && !this.namespaces.has(c.object.metadata.namespace!)) {
        this.namespaces.add(c.object.metadata.namespace!);
        return true;
      }
      return false;
    });
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** The problem a node's component has, if any. */
  problem(node: string): string | undefined {
    return this.networks.get(node)?.network.problem();
  }

  async pass(): Promise<void> {
    const { store, installation, dnsAddress } = this.o;
    const engines = this.o.engines();
    for (const e of engines) {
      const had = this.networks.get(e.name);
      if (!had || had.docker !== e.docker) this.networks.set(e.name, { docker: e.docker, network: new NodeNetwork({ docker: e.docker, installation, node: e.name, log: this.o.log }) });
    }
    for (const name of this.networks.keys()) if (!engines.some((e) => e.name === name)) this.networks.delete(name);
    const services = store.list({ kind: 'Service' });
    const endpoints = store.list({ kind: 'Endpoints' });
    const subnets = (await Promise.all([...this.networks.values()].map((n) => n.network.podSubnets().catch(() => [] as string[])))).flat();
    const dns = buildDnsTable(services, endpoints);
    const rules = proxyRules({ installation, services, endpoints, podSubnets: subnets, local: [dnsAddress] });
    const config = { dns, rules, hooks: hookRules(installation), dnsAddress };
    await Promise.all([...this.networks.values()].map((n) => n.network.apply(config)));
  }
}
