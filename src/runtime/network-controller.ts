import type Docker from 'dockerode';
import { buildDnsTable } from '../network/dns-records.js';
import { hookRules, proxyRules } from '../network/proxy-rules.js';
import { buildIngressTable } from '../network/ingress-routes.js';
import { hostPortsOf } from '../network/host-ports.js';
import type { ObjectStore } from '../store/object-store.js';
import { NodeNetwork, componentContainerName } from './node-network.js';
import type { KubeObject } from '../manifest/types.js';
import type { PodSubnets } from '../network/pod-subnets.js';
import type { Client } from '../api/client.js';
import { PassLoop } from './pass-loop.js';

export interface NetworkControllerOptions {
  store: ObjectStore;
  installation: string;
  /** The nodes' engines, as the node manager has them. */
  engines: () => Array<{ name: string; docker: Docker; local?: boolean }>;
  /** The addresses the local node publishes hostPorts on (serve --publish-address); all when unset. */
  publishAddresses?: string[];
  dnsAddress: string;
  /** The Pod subnets of every node (from --cluster-cidr), which the nodes route to each other. */
  podSubnets?: PodSubnets;
  /** Writes the Nodes' spec.podCIDR (as kube-controller-manager). */
  client?: Client;
  /** The ports each node serves Ingresses on (--ingress-http-port, --ingress-https-port). */
  ingressPorts?: { http: number; https: number };
  /** Ports of the nodes' addresses that are Gouvernail's own (the Ingress's, the API server's): no LoadBalancer takes them. */
  reservedPorts?: number[];
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
  private policies = 0;
  private readonly nodeAddresses = new Map<string, string>();
  /** The Secrets Ingresses take certificates from: a change to one is a new certificate. */
  private tlsSecrets = new Set<string>();

  constructor(private readonly o: NetworkControllerOptions) {
    this.loop = new PassLoop({ pass: () => this.pass(), onError: (err, ms) => o.log('network pass failed; retrying', { err: err.message, retryInMs: ms }), resyncMs: 30_000, debounceMs: 20 });
  }

  start(): void {
    this.loop.start(this.o.store, (c) => {
      const k = c.object.kind;
      if (['Service', 'Endpoints', 'NetworkPolicy', 'Namespace', 'Ingress', 'IngressClass'].includes(k)) return true;
      // A Node matters when it comes, goes or changes address (its heartbeats do not).
      if (k === 'Node') {
        const address = c.type === 'DELETED' ? 'gone' : JSON.stringify(c.object.status?.addresses ?? []);
        if (this.nodeAddresses.get(c.object.metadata.name) === address) return false;
        this.nodeAddresses.set(c.object.metadata.name, address);
        return true;
      }
      if (k === 'Secret' && this.tlsSecrets.has(`${c.object.metadata.namespace}/${c.object.metadata.name}`)) return true;
      // With policies, a Pod's address and labels are what rules are made of.
      if (k === 'Pod' && this.policies > 0) return true;
      // A hostPort follows its Pod's address.
      if (k === 'Pod' && [...(c.object.spec?.containers ?? []), ...(c.object.spec?.initContainers ?? [])].some((x: { ports?: { hostPort?: number }[] }) => x.ports?.some((p) => p.hostPort))) return true;
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

  /**
   * Each node's network component as a read-only Pod of kube-system (kube-proxy's and CoreDNS's
   * place): Ready once it applied the cluster's rules, with the problem it meets otherwise.
   */
  pods(): KubeObject[] {
    const addressOf = new Map(this.o.store.list({ kind: 'Node' }).map((n) => [n.metadata.name, (n.status?.addresses ?? []).find((a: { type: string }) => a.type === 'InternalIP')?.address as string | undefined]));
    return [...this.networks.entries()].map(([node, { network }]) => {
      const s = network.state();
      // On the host's network: the node's address is the Pod's, as kubectl shows a hostNetwork Pod.
      const ip = addressOf.get(node);
      // The Pod is as old as its container's run; Ready since its rules were last applied after a start or a failure.
      const since = s.startedAt && Date.parse(s.startedAt) > 0 ? new Date(s.startedAt).toISOString() : new Date().toISOString();
      const ready = !!s.readySince && !s.problem;
      const readyAt = new Date(s.readySince ?? Date.now()).toISOString();
      const image = s.image ?? 'gouvernail/node-network';
      return {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `gouvernail-network-${node}`, namespace: 'kube-system', uid: `network-${this.o.installation}-${node}`, resourceVersion: '1', creationTimestamp: since, labels: { component: 'gouvernail-network', 'k8s-app': 'kube-dns', 'app.kubernetes.io/part-of': 'gouvernail' }, annotations: { 'gouvernail.io/component': 'true', 'kubernetes.io/config.mirror': `network-${node}`, 'kubernetes.io/description': `the network component of node ${node} (cluster DNS, cluster IPs, NetworkPolicy, Ingress); container ${componentContainerName(this.o.installation)} on its engine` } },
        spec: { nodeName: node, hostNetwork: true, priorityClassName: 'system-node-critical', containers: [{ name: 'network', image }] },
        status: {
          phase: s.startedAt || !s.problem ? 'Running' : 'Pending',
          ...(ip ? { hostIP: ip, podIP: ip, podIPs: [{ ip }] } : {}),
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: readyAt, ...(s.problem ? { reason: 'NetworkSetupFailed', message: s.problem } : {}) }],
          containerStatuses: [{ name: 'network', image, imageID: '', ready, started: ready, restartCount: 0, state: ready ? { running: { startedAt: since } } : { waiting: { reason: s.problem ? 'NetworkSetupFailed' : 'ContainerCreating', ...(s.problem ? { message: s.problem } : {}) } } }],
        },
      } as KubeObject;
    });
  }

  /** The problem a node's component has, if any. */
  problem(node: string): string | undefined {
    return this.networks.get(node)?.network.problem();
  }

  /** One pass; false when some node's configuration could not be applied (tried again soon). */
  async pass(): Promise<boolean> {
    const { store, installation, dnsAddress } = this.o;
    const engines = this.o.engines();
    for (const e of engines) {
      const had = this.networks.get(e.name);
      if (!had || had.docker !== e.docker) this.networks.set(e.name, { docker: e.docker, network: new NodeNetwork({ docker: e.docker, installation, node: e.name, ingressPorts: this.o.ingressPorts ?? { http: 80, https: 443 }, log: this.o.log }) });
    }
    for (const name of this.networks.keys()) if (!engines.some((e) => e.name === name)) this.networks.delete(name);
    const services = store.list({ kind: 'Service' });
    const endpoints = store.list({ kind: 'Endpoints' });
    const namespaces = new Set(store.list({ kind: 'Namespace' }).map((n) => n.metadata.name));
    // The Pods' subnets: the cluster range, and the networks made before it (Docker's choice).
    const subnets = [...(this.o.podSubnets ? [this.o.podSubnets.cidr] : []), ...(await Promise.all([...this.networks.values()].map((n) => n.network.podSubnets(namespaces).catch(() => [] as string[])))).flat()];
    const dns = buildDnsTable(services, endpoints);
    const policies = store.list({ kind: 'NetworkPolicy' });
    this.policies = policies.length;
    const pods = store.list({ kind: 'Pod' });
    const ruleInput = { installation, services, endpoints, podSubnets: subnets, local: [dnsAddress], policies, pods: policies.length ? pods : [], namespaces: store.list({ kind: 'Namespace' }), reservedPorts: this.o.reservedPorts };
    const ingresses = store.list({ kind: 'Ingress' });
    this.tlsSecrets = new Set(ingresses.flatMap((i) => (i.spec?.tls ?? []).map((t: { secretName?: string }) => `${i.metadata.namespace}/${t.secretName}`)));
    const secrets = [...this.tlsSecrets].map((k) => store.get('Secret', k.split('/')[0], k.split('/')[1]!)).filter((x) => x !== undefined);
    const ingress = buildIngressTable(ingresses, store.list({ kind: 'IngressClass' }), services, endpoints, secrets);
    const config = { dns, ingress, hooks: hookRules(installation), dnsAddress, clusterCidr: this.o.podSubnets?.cidr };
    // Each node's Pod ranges show on its Node, as the node IPAM controller writes spec.podCIDR.
    if (this.o.client && this.o.podSubnets) {
      for (const n of store.list({ kind: 'Node' })) {
        const ranges = this.o.podSubnets.rangesOf(n.metadata.name);
        if (ranges.length === 0 || JSON.stringify(n.spec?.podCIDRs ?? []) === JSON.stringify(ranges)) continue;
        // Conditional on what was read: a cordon written meanwhile is not undone (a conflict waits for the next pass).
        await this.o.client.update({ ...n, spec: { ...(n.spec ?? {}), podCIDR: ranges[0], podCIDRs: ranges } }).catch((err) => this.o.log('cannot write the Pod range of a Node', { node: n.metadata.name, err: (err as Error).message }));
      }
    }
    // Each node routes the other nodes' Pod ranges through their addresses.
    const addressOf = new Map(store.list({ kind: 'Node' }).map((n) => [n.metadata.name, (n.status?.addresses ?? []).find((a: { type: string }) => a.type === 'InternalIP')?.address as string | undefined]));
    const assigned = this.o.podSubnets?.all() ?? [];
    const local = new Set(engines.filter((e) => e.local).map((e) => e.name));
    const applied = await Promise.all(
      [...this.networks.entries()].map(([node, n]) => {
        const own = addressOf.get(node);
        const routes = assigned.filter((a) => a.node !== node && addressOf.get(a.node) && addressOf.get(a.node) !== own).map((a) => ({ subnet: a.subnet, via: addressOf.get(a.node)! }));
        // Each node's rules have its own Pods' hostPorts.
        const hostPorts = hostPortsOf(pods, node, local.has(node) ? this.o.publishAddresses : undefined);
        return n.network.apply({ ...config, rules: proxyRules({ ...ruleInput, hostPorts, node }), hostPorts, routes, self: own, own: this.o.podSubnets?.rangesOf(node) ?? [], gateways: this.o.podSubnets?.gatewaysOf(node) });
      }),
    );
    // A failed apply (an engine that did not answer, a busy iptables) is not left to the resync:
    // a NetworkPolicy or a new Service would otherwise wait up to 30 s to take effect.
    return applied.every(Boolean);
  }
}
