import { createHash } from 'node:crypto';
import type { KubeObject } from '../manifest/types.js';
import { policyRules } from './policy-rules.js';
import { hostPortRules, type HostPort } from './host-ports.js';
import { nodePortHolders } from './node-port-holders.js';

/** The chains one installation owns in a node's iptables, named after it (28 characters at most). */
export function chainNames(installation: string) {
  const id = installation.slice(0, 12).toUpperCase();
  return {
    /** nat: a Service's cluster IP and port to one of its ready endpoints (PREROUTING, OUTPUT). */
    services: `GV-SVC-${id}`,
    /** nat: traffic between Pods keeps its source address (POSTROUTING, before Docker's masquerade). */
    postrouting: `GV-POST-${id}`,
    /** filter: Pods of every namespace reach each other; a Service without endpoints refuses (FORWARD, OUTPUT). */
    forward: `GV-FWD-${id}`,
    /** filter: the destinations that are Pods. */
    podDestinations: `GV-PODS-${id}`,
    /** filter: a Service port without endpoints refuses (FORWARD through GV-FWD, OUTPUT). */
    reject: `GV-REJ-${id}`,
    /** filter: NetworkPolicy. */
    policy: `GV-POL-${id}`,
  };
}

/** What one node's rules are made from. */
export interface ProxyInput {
  installation: string;
  services: KubeObject[];
  endpoints: KubeObject[];
  /** The subnets Pods have addresses in, on this node and the others. */
  podSubnets: string[];
  /** Addresses a node-local component answers on (the DNS server): no rules for them. */
  local?: string[];
  /** NetworkPolicies, and the Pods and Namespaces they select. */
  policies?: KubeObject[];
  pods?: KubeObject[];
  namespaces?: KubeObject[];
  /** The hostPorts of this node's Pods. */
  hostPorts?: HostPort[];
  /** Ports of the node's own addresses a LoadBalancer Service does not take (the Ingress's, the API server's). */
  reservedPorts?: number[];
  /** The node the rules are for: a traffic policy of Local keeps to its endpoints. */
  node?: string;
}

interface Backend {
  ip: string;
  port: number;
  node?: string;
}

/** The mark of NodePort traffic: masqueraded on its way out, accepted through FORWARD. */
export const nodePortMark = '0x1000000';

const probability = (n: number) => (1 / n).toFixed(10);

function comment(text: string): string {
  return `-m comment --comment "${text.replace(/["\\]/g, '')}"`;
}

/**
 * The iptables rules that make Services' cluster IPs work on a node, as kube-proxy's iptables mode
 * writes them, in iptables-restore form (applied with --noflush, so only these chains are
 * rewritten): each cluster IP and port is translated (DNAT) to one of the Service's ready
 * endpoints, chosen at random with equal chances, or by the client's address with
 * sessionAffinity ClientIP; a port with no ready endpoint is refused rather than left to time out.
 * Traffic between Pods is accepted across namespaces and keeps its source address; a Pod's traffic
 * out of the cluster leaves with the node's address; the node's hostPorts go to their Pods. Pure.
 */
export function proxyRules(input: ProxyInput): string {
  const c = chainNames(input.installation);
  const nat: string[] = [];
  const filter: string[] = [];
  const reject: string[] = [];
  const nodePorts: string[] = [];
  const endpointIPs = new Set<string>();
  const endpointsOf = new Map(input.endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  const holders = nodePortHolders(input.services, input.reservedPorts);
  const services = [...input.services].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  for (const s of services) {
    const ip: string | undefined = s.spec?.clusterIP;
    if (!ip || ip === 'None' || s.spec?.type === 'ExternalName' || input.local?.includes(ip)) continue;
    const key = `${s.metadata.namespace}/${s.metadata.name}`;
    const subsets: { addresses?: { ip: string; nodeName?: string }[]; ports?: { name?: string; port: number; protocol?: string }[] }[] = (endpointsOf.get(key)?.subsets as never) ?? [];
    const affinity = s.spec.sessionAffinity === 'ClientIP' ? (s.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : undefined;
    for (const p of s.spec.ports ?? []) {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      if (proto !== 'tcp' && proto !== 'udp') continue;
      const backends: Backend[] = [];
      for (const subset of subsets) {
        const port = (subset.ports ?? []).find((x) => (x.name ?? '') === (p.name ?? '') && (x.protocol ?? 'TCP').toLowerCase() === proto);
        if (!port) continue;
        for (const a of subset.addresses ?? []) backends.push({ ip: a.ip, port: port.port, node: a.nodeName });
      }
      const match = `-d ${ip}/32 -p ${proto} -m ${proto} --dport ${p.port}`;
      // Other ways in, after every cluster IP's rules, marked so that they leave with the node's
      // address (the reply comes back through this node): a NodePort, on any address of the node
      // (but loopback, where serve's proxy answers); a LoadBalancer's own port, on the node's
      // addresses too, which its status names (as k3s's load balancer); each external IP.
      const ways: string[] = [];
      const onNode = `! -d 127.0.0.0/8 -p ${proto} -m ${proto} --dport`;
      // Each only where this Service holds the port (the first Service to want it; see node-port-holders).
      const protocol = p.protocol ?? 'TCP';
      if ((s.spec.type === 'NodePort' || s.spec.type === 'LoadBalancer') && p.nodePort && holders.holds(s, p.nodePort, protocol)) ways.push(`${onNode} ${p.nodePort} -m addrtype --dst-type LOCAL`);
      if (s.spec.type === 'LoadBalancer' && holders.holds(s, p.port, protocol)) ways.push(`${onNode} ${p.port} -m addrtype --dst-type LOCAL`);
      for (const external of s.spec.externalIPs ?? []) ways.push(`-d ${external}/32 -p ${proto} -m ${proto} --dport ${p.port}`);
      const name = `${key}${p.name ? `:${p.name}` : ''}`;
      const label = comment(name);
      const noneHere = comment(`${name} has no endpoint on this node`);
      for (const b of backends) endpointIPs.add(b.ip);
      if (backends.length === 0) {
        reject.push(`-A ${c.reject} ${match} ${label} -j REJECT --reject-with icmp-port-unreachable`);
        continue;
      }
      // A traffic policy of Local keeps to this node's endpoints, and drops what has none here, as
      // kube-proxy does; external traffic then keeps its source address (it is not marked).
      const onThisNode = backends.filter((b) => b.node === input.node);
      const externalLocal = s.spec.externalTrafficPolicy === 'Local' && input.node !== undefined;
      const external = externalLocal ? onThisNode : backends;
      const internal = s.spec.internalTrafficPolicy === 'Local' && input.node !== undefined ? onThisNode : backends;
      for (const way of ways) {
        if (external.length === 0) {
          reject.push(`-A ${c.reject} ${way} ${noneHere} -j DROP`);
          continue;
        }
        if (!externalLocal) nodePorts.push(`-A ${c.services} ${way} ${label} -j MARK --or-mark ${nodePortMark}`);
        external.forEach((b, i) => {
          const left = external.length - i;
          const random = left > 1 ? ` -m statistic --mode random --probability ${probability(left)}` : '';
          nodePorts.push(`-A ${c.services} ${way} ${label}${random} -j DNAT --to-destination ${b.ip}:${b.port}`);
        });
      }
      if (internal.length === 0) {
        reject.push(`-A ${c.reject} ${match} ${noneHere} -j DROP`);
        continue;
      }
      const recent = (b: Backend) => `GV${createHash('sha256').update(`${input.installation}${key}${p.port}${b.ip}:${b.port}`).digest('hex').slice(0, 14)}`;
      if (affinity !== undefined) {
        for (const b of internal) nat.push(`-A ${c.services} ${match} ${label} -m recent --name ${recent(b)} --rcheck --seconds ${affinity} --reap -j DNAT --to-destination ${b.ip}:${b.port}`);
      }
      internal.forEach((b, i) => {
        const left = internal.length - i;
        const random = left > 1 ? ` -m statistic --mode random --probability ${probability(left)}` : '';
        const remember = affinity !== undefined ? ` -m recent --name ${recent(b)} --set` : '';
        nat.push(`-A ${c.services} ${match} ${label}${random}${remember} -j DNAT --to-destination ${b.ip}:${b.port}`);
      });
    }
  }
  // The node-local components' addresses (the DNS server's) are the node's too: no port of theirs
  // goes to a Service.
  if (nodePorts.length > 0) nodePorts.unshift(...(input.local ?? []).map((address) => `-A ${c.services} -d ${address}/32 -j RETURN`));
  const subnets = [...new Set(input.podSubnets)].sort();
  nat.unshift(...hostPortRules(c.services, input.hostPorts ?? []));
  nat.push(`-A ${c.postrouting} -m mark --mark ${nodePortMark}/${nodePortMark} -j MASQUERADE`);
  // A Pod sent to itself through its Service (hairpin) gets the packet from the node's address, as
  // kube-proxy masquerades it: from its own address it would be dropped as a martian.
  for (const ip of [...endpointIPs].sort()) nat.push(`-A ${c.postrouting} -s ${ip}/32 -d ${ip}/32 -m conntrack --ctstate DNAT -j MASQUERADE`);
  for (const net of subnets) {
    nat.push(`-A ${c.postrouting} -s ${net} -j ${c.podDestinations}-N`);
  }
  // A Pod's traffic to anything but a Pod leaves with the node's address.
  for (const net of subnets) nat.push(`-A ${c.postrouting} -s ${net} -j MASQUERADE`);
  // The nat table cannot jump to a filter chain: the destinations are listed in a nat chain too.
  const natPods = `${c.podDestinations}-N`;
  for (const net of subnets) nat.push(`-A ${natPods} -d ${net} -j ACCEPT`);
  // Forwarded traffic: a Service port without endpoints refuses; a reply between Pods passes
  // (Docker's isolation of its networks would drop it); NetworkPolicy decides the rest between Pods,
  // which pass across namespaces.
  filter.push(`-A ${c.forward} -j ${c.reject}`);
  for (const net of subnets) filter.push(`-A ${c.forward} -s ${net} -m conntrack --ctstate RELATED,ESTABLISHED -j ${c.podDestinations}`);
  // Replies to what Pods opened anywhere.
  for (const net of subnets) filter.push(`-A ${c.forward} -d ${net} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  filter.push(...policyRules(c.policy, input.policies ?? [], input.pods ?? [], input.namespaces ?? []));
  // Replies of connections to a cluster IP or a NodePort, whichever way they go.
  filter.splice(1, 0, `-A ${c.forward} -m conntrack --ctstate RELATED,ESTABLISHED -m conntrack --ctstate DNAT -j ACCEPT`);
  if (input.policies?.length) filter.push(`-A ${c.forward} -j ${c.policy}`);
  filter.push(`-A ${c.forward} -m mark --mark ${nodePortMark}/${nodePortMark} -j ACCEPT`);
  for (const net of subnets) filter.push(`-A ${c.forward} -s ${net} -j ${c.podDestinations}`);
  // A hostPort's traffic to its Pod; a Pod's traffic out of the cluster.
  for (const net of subnets) filter.push(`-A ${c.forward} -d ${net} -m conntrack --ctstate DNAT -j ACCEPT`);
  for (const net of subnets) filter.push(`-A ${c.forward} -s ${net} -j ACCEPT`);
  for (const net of subnets) filter.push(`-A ${c.podDestinations} -d ${net} -j ACCEPT`);
  return [
    '*nat',
    `:${c.services} - [0:0]`,
    `:${c.postrouting} - [0:0]`,
    `:${natPods} - [0:0]`,
    ...nat,
    ...nodePorts,
    'COMMIT',
    '*filter',
    `:${c.forward} - [0:0]`,
    `:${c.podDestinations} - [0:0]`,
    `:${c.reject} - [0:0]`,
    `:${c.policy} - [0:0]`,
    ...reject,
    ...filter,
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * The commands that hook the installation's chains into the built-in ones, once, at the top (so
 * they come before Docker's own rules): `-C` checks, `-I` inserts what is missing.
 */
export function hookRules(installation: string): { table: string; chain: string; target: string }[] {
  const c = chainNames(installation);
  return [
    { table: 'nat', chain: 'PREROUTING', target: c.services },
    { table: 'nat', chain: 'OUTPUT', target: c.services },
    { table: 'nat', chain: 'POSTROUTING', target: c.postrouting },
    { table: 'filter', chain: 'FORWARD', target: c.forward },
    { table: 'filter', chain: 'OUTPUT', target: c.reject },
    // Traffic for a node's own addresses that a traffic policy of Local drops.
    { table: 'filter', chain: 'INPUT', target: c.reject },
  ];
}
