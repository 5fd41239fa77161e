import type { KubeObject } from '../manifest/types.js';

/** A port of the nodes' addresses one Service wanted and another (or Gouvernail) holds. */
export interface PortRefusal {
  /** `namespace/name` of the Service refused. */
  service: string;
  port: number;
  protocol: string;
  /** What the Service wanted it as. */
  as: 'nodePort' | 'LoadBalancer port';
  /** `namespace/name` of the Service holding it, or undefined when Gouvernail serves it itself. */
  heldBy?: string;
}

export interface NodePortHolders {
  /** Whether this Service holds the port on the nodes' addresses. */
  holds(service: KubeObject, port: number, protocol?: string): boolean;
  /** The ports wanted and not held, in the order the Services were created. */
  refused: PortRefusal[];
}

const keyOf = (s: KubeObject) => `${s.metadata.namespace}/${s.metadata.name}`;

/**
 * Who holds each port the Services publish on every node's addresses: the nodePorts of NodePort
 * and LoadBalancer Services, and a LoadBalancer's own ports (as k3s's load balancer publishes
 * them). A port is held by the Service created first (then by namespace and name), per protocol;
 * the ports Gouvernail serves itself (`reserved`, TCP) are held by none. The API keeps nodePorts
 * apart from each other, so a clash is two LoadBalancers on one port, or a LoadBalancer port in
 * another Service's nodePort. Without this, the later Service silently took the port in serve's
 * proxy and the earlier one kept it in the nodes' rules. Pure.
 */
export function nodePortHolders(services: readonly KubeObject[], reserved: readonly number[] = []): NodePortHolders {
  const holder = new Map<string, string>();
  const refused: PortRefusal[] = [];
  const ordered = services
    .filter((s) => (s.spec?.type === 'NodePort' || s.spec?.type === 'LoadBalancer') && !s.metadata.deletionTimestamp)
    .sort((a, b) => String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? '')) || keyOf(a).localeCompare(keyOf(b)));
  for (const s of ordered) {
    const service = keyOf(s);
    const want = (port: number, protocol: string, as: PortRefusal['as']) => {
      const at = `${protocol}/${port}`;
      if (protocol === 'TCP' && reserved.includes(port)) refused.push({ service, port, protocol, as });
      else if (!holder.has(at)) holder.set(at, service);
      else if (holder.get(at) !== service) refused.push({ service, port, protocol, as, heldBy: holder.get(at) });
    };
    for (const p of s.spec.ports ?? []) {
      const protocol = p.protocol ?? 'TCP';
      if (p.nodePort) want(p.nodePort, protocol, 'nodePort');
      if (s.spec.type === 'LoadBalancer' && typeof p.port === 'number') want(p.port, protocol, 'LoadBalancer port');
    }
  }
  return {
    holds: (s, port, protocol = 'TCP') => holder.get(`${protocol}/${port}`) === keyOf(s),
    refused,
  };
}

/** What serve's log and the Service's events say of a refused port. */
export function describeRefusal(r: PortRefusal): string {
  const what = `${r.as} ${r.port}/${r.protocol}`;
  return r.heldBy
    ? `${what} is not published on the nodes' addresses: Service ${r.heldBy}, created before, holds it; give this Service another port`
    : `${what} is not published on the nodes' addresses: Gouvernail serves it itself (the Ingress's or the API server's); give the Service another port, or reach it through an Ingress or its nodePort`;
}
