import { nthAddress, parseCidr, type Cidr } from './cidr.js';
import type { ControllerState } from '../store/controller-state.js';

/** Kubernetes' usual Pod range (flannel's); `serve --cluster-cidr` sets another. */
export const defaultClusterCidr = '10.244.0.0/16';

interface Assignments {
  cidr: string;
  /** node/namespace -> subnet. */
  assigned: Record<string, string>;
  /** Subnets an engine refused (another network of that host holds them). */
  refused: string[];
}

const key = 'pod-subnets';

/**
 * The Pod subnets of the cluster: each namespace's network on each node gets a /24 of the cluster
 * range of its own, so that no two nodes hand out the same Pod address and every node can route to
 * the others' Pods. Kept in the store, so a subnet stays its network's across restarts.
 */
export class PodSubnets {
  private readonly range: Cidr;
  private state: Assignments;

  constructor(private readonly store: ControllerState, cidr = defaultClusterCidr) {
    this.range = parseCidr(cidr);
    if (this.range.bits > 24) throw new Error(`--cluster-cidr ${cidr} is smaller than one /24; give a /24 or larger, such as ${defaultClusterCidr}`);
    const saved = store.get<Assignments>(key);
    this.state = saved && saved.cidr === this.range.text ? saved : { cidr: this.range.text, assigned: saved?.assigned ?? {}, refused: [] };
  }

  get cidr(): string {
    return this.range.text;
  }

  /** The subnet and gateway of a namespace's network on a node: its own, or the next free /24. */
  subnetFor(node: string, namespace: string): { subnet: string; gateway: string } {
    const k = `${node}/${namespace}`;
    let subnet = this.state.assigned[k];
    if (!subnet) {
      const taken = new Set([...Object.values(this.state.assigned), ...this.state.refused]);
      const blocks = this.range.size / 256;
      for (let i = 0; i < blocks && !subnet; i++) {
        const candidate = `${nthAddress(this.range, i * 256)}/24`;
        if (!taken.has(candidate)) subnet = candidate;
      }
      if (!subnet) throw new Error(`no /24 of the cluster range ${this.range.text} is free for namespace ${namespace} on node ${node}; serve with a larger --cluster-cidr`);
      this.state.assigned[k] = subnet;
      this.save();
    }
    return { subnet, gateway: nthAddress(parseCidr(subnet), 1) };
  }

  /** An engine refused a subnet (it overlaps a network it has): the namespace gets another next time. */
  refuse(node: string, namespace: string, subnet: string): void {
    if (this.state.assigned[`${node}/${namespace}`] === subnet) delete this.state.assigned[`${node}/${namespace}`];
    if (!this.state.refused.includes(subnet)) this.state.refused.push(subnet);
    this.save();
  }

  /** The subnets of a node's networks, and of every node: what the nodes route to each other. */
  all(): { node: string; namespace: string; subnet: string }[] {
    return Object.entries(this.state.assigned).map(([k, subnet]) => {
      const [node, namespace] = k.split('/');
      return { node: node!, namespace: namespace!, subnet };
    });
  }

  private save(): void {
    this.store.set(key, this.state);
  }
}
