import { nthAddress, parseCidr, type Cidr } from './cidr.js';
import type { ControllerState } from '../store/controller-state.js';

/** Kubernetes' usual Pod range (flannel's); `serve --cluster-cidr` sets another. */
export const defaultClusterCidr = '10.244.0.0/16';

/** Each node's Pod range: a /20 of the cluster range, sixteen namespaces' /24s (more when it needs them). */
const nodeBlockBits = 20;

interface Assignments {
  cidr: string;
  /** node -> its Pod ranges, in the order they were given. */
  nodes?: Record<string, string[]>;
  /** node/namespace -> subnet. */
  assigned: Record<string, string>;
  /** Subnets an engine refused under an earlier version (another network of that host held them): still skipped. */
  refused: string[];
}

const key = 'pod-subnets';

function blocksOf(range: Cidr, bits: number): string[] {
  const size = 2 ** (32 - bits);
  return Array.from({ length: Math.max(1, range.size / size) }, (_, i) => `${nthAddress(range, i * size)}/${Math.max(bits, range.bits)}`);
}

/**
 * The Pod subnets of the cluster, as kube-controller-manager's node IPAM gives each node its
 * podCIDR: each node gets a range of the cluster range (a /20, another when it is full), and each
 * namespace's Pods on that node a /24 of it, so that no two nodes hand out the same Pod address
 * and every node routes to the others' ranges. Kept in the store, so a subnet stays its network's
 * across restarts.
 */
export class PodSubnets {
  private readonly range: Cidr;
  private state: Assignments;

  constructor(private readonly store: ControllerState, cidr = defaultClusterCidr) {
    this.range = parseCidr(cidr);
    if (this.range.bits > 24) throw new Error(`--cluster-cidr ${cidr} is smaller than one /24; give a /24 or larger, such as ${defaultClusterCidr}`);
    const saved = store.get<Assignments>(key);
    this.state = saved && saved.cidr === this.range.text ? { ...saved, nodes: saved.nodes ?? {} } : { cidr: this.range.text, nodes: saved?.nodes ?? {}, assigned: saved?.assigned ?? {}, refused: [] };
  }

  get cidr(): string {
    return this.range.text;
  }

  /** A node's Pod ranges (its podCIDR first). */
  rangesOf(node: string): string[] {
    return this.state.nodes?.[node] ?? [];
  }

  /** The subnet and gateway of a namespace's Pods on a node: its own, or the next free /24 of the node's range. */
  subnetFor(node: string, namespace: string): { subnet: string; gateway: string } {
    const k = `${node}/${namespace}`;
    let subnet: string | undefined = this.state.assigned[k];
    if (!subnet) {
      const taken = new Set([...Object.values(this.state.assigned), ...this.state.refused]);
      const free = (block: string) => blocksOf(parseCidr(block), 24).find((s) => !taken.has(s));
      for (const block of this.rangesOf(node)) {
        subnet = free(block);
        if (subnet) break;
      }
      if (!subnet) {
        // The node's ranges are full (or it has none yet): it gets the next range no node holds.
        const held = new Set(Object.values(this.state.nodes ?? {}).flat());
        const block = blocksOf(this.range, nodeBlockBits).find((b) => !held.has(b) && free(b));
        if (!block) throw new Error(`no range of the cluster range ${this.range.text} is free for node ${node}; serve with a larger --cluster-cidr`);
        this.state.nodes![node] = [...this.rangesOf(node), block];
        subnet = free(block)!;
      }
      this.state.assigned[k] = subnet;
      this.save();
    }
    return { subnet, gateway: nthAddress(parseCidr(subnet), 1) };
  }

  /** The gateways of a node's namespace subnets. */
  gatewaysOf(node: string): string[] {
    return Object.entries(this.state.assigned).filter(([k]) => k.startsWith(`${node}/`)).map(([, subnet]) => nthAddress(parseCidr(subnet), 1));
  }

  /** Every node's ranges: what the nodes route to each other. */
  all(): { node: string; subnet: string }[] {
    return Object.entries(this.state.nodes ?? {}).flatMap(([node, ranges]) => ranges.map((subnet) => ({ node, subnet })));
  }

  private save(): void {
    this.store.set(key, this.state);
  }
}
