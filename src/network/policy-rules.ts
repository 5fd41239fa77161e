import type { KubeObject } from '../manifest/types.js';
import { matchesSelector, type LabelSelector } from '../manifest/selector.js';
import { parseBlock, subtract } from './cidr.js';
import { targetPortOn } from './endpoints.js';

/** The mark bits of a packet that a rule allowed: one for its source's egress, one for its destination's ingress. */
export const egressAllowed = '0x400000';
export const ingressAllowed = '0x800000';
const bits = '0xc00000';

interface PolicyPort {
  port?: number | string;
  endPort?: number;
  protocol?: string;
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PolicyPort[];
}

interface PodAddress {
  ip: string;
  pod: KubeObject;
}

/** The policy types a NetworkPolicy has: as written, else Ingress, and Egress when it has egress rules. */
export function policyTypes(policy: KubeObject): string[] {
  const written: string[] | undefined = policy.spec?.policyTypes;
  if (written?.length) return written;
  return ['Ingress', ...(policy.spec?.egress ? ['Egress'] : [])];
}

/** The addresses a peer stands for: Pods (with the Pod, for named ports) or address blocks. */
function peerAddresses(peer: Peer, policy: KubeObject, pods: PodAddress[], namespaces: KubeObject[]): { pods: PodAddress[]; blocks: string[] } {
  if (peer.ipBlock) {
    const range = parseBlock(peer.ipBlock.cidr);
    if (!range) return { pods: [], blocks: [] };
    const except = (peer.ipBlock.except ?? []).map(parseBlock).filter((x) => x !== undefined);
    return { pods: [], blocks: subtract(range, except).map((c) => c.text) };
  }
  const inNamespaces = peer.namespaceSelector
    ? new Set(namespaces.filter((n) => matchesSelector(peer.namespaceSelector!, n.metadata.labels ?? {})).map((n) => n.metadata.name))
    : new Set([policy.metadata.namespace!]);
  return {
    pods: pods.filter((p) => inNamespaces.has(p.pod.metadata.namespace!) && (!peer.podSelector || matchesSelector(peer.podSelector, p.pod.metadata.labels ?? {}))),
    blocks: [],
  };
}

/** `-p tcp -m tcp --dport N[:M]` for a policy port on a Pod (a named port is the Pod's); undefined when the Pod has no such port. */
function portMatch(p: PolicyPort, on: KubeObject | undefined): string | undefined {
  const proto = (p.protocol ?? 'TCP').toLowerCase();
  if (p.port === undefined) return `-p ${proto}`;
  const n = typeof p.port === 'number' ? p.port : on ? targetPortOn(on, p.port, 0) : undefined;
  if (!n) return undefined;
  return `-p ${proto} -m ${proto} --dport ${n}${p.endPort ? `:${p.endPort}` : ''}`;
}

/**
 * NetworkPolicy (networking.k8s.io/v1) as iptables rules for a node's policy chain, evaluated on
 * every packet between Pods that is not part of a connection already allowed:
 * - a Pod selected by a policy with type Ingress accepts only what one of its rules allows (from
 *   Pods by podSelector and namespaceSelector, from address blocks, on the ports listed);
 * - a Pod selected by one with type Egress sends only what one of its rules allows;
 * - a Pod no policy selects is not isolated (Kubernetes' default allow).
 * An allowed packet gets a mark bit for each direction; an isolated Pod drops a packet without it.
 * Pure.
 */
export function policyRules(chain: string, policies: KubeObject[], allPods: KubeObject[], namespaces: KubeObject[]): string[] {
  if (policies.length === 0) return [];
  const pods: PodAddress[] = allPods
    .filter((p) => p.status?.podIP && !p.spec?.hostNetwork && p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed')
    .map((p) => ({ ip: p.status.podIP as string, pod: p }));
  const out: string[] = [`-A ${chain} -j MARK --set-xmark 0x0/${bits}`];
  const isolated = { Ingress: new Set<string>(), Egress: new Set<string>() };
  for (const policy of [...policies].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))) {
    const ns = policy.metadata.namespace;
    const selected = pods.filter((p) => p.pod.metadata.namespace === ns && matchesSelector(policy.spec?.podSelector ?? {}, p.pod.metadata.labels ?? {}));
    const name = `${ns}/${policy.metadata.name}`.replace(/["\\]/g, '');
    for (const type of policyTypes(policy) as ('Ingress' | 'Egress')[]) {
      const ingress = type === 'Ingress';
      const rules: Rule[] = (ingress ? policy.spec?.ingress : policy.spec?.egress) ?? [];
      for (const target of selected) {
        isolated[type].add(target.ip);
        for (const rule of rules) {
          const peers = (ingress ? rule.from : rule.to) ?? [];
          const ports: (PolicyPort | undefined)[] = rule.ports?.length ? rule.ports : [undefined];
          // Who is on the other side: anyone when no peer is listed.
          const others = peers.length === 0 ? [{ pods: [] as PodAddress[], blocks: ['0.0.0.0/0'] }] : peers.map((peer) => peerAddresses(peer, policy, pods, namespaces));
          const mark = ingress ? ingressAllowed : egressAllowed;
          const self = ingress ? `-d ${target.ip}/32` : `-s ${target.ip}/32`;
          const side = (addr: string) => (ingress ? `-s ${addr}` : `-d ${addr}`);
          for (const other of others) {
            const addresses = [...other.pods.map((p) => ({ addr: `${p.ip}/32`, pod: p.pod })), ...other.blocks.map((b) => ({ addr: b, pod: undefined as KubeObject | undefined }))];
            for (const a of addresses) {
              for (const port of ports) {
                // The port is the destination's: the selected Pod's for ingress, the peer's for egress.
                const match = port ? portMatch(port, ingress ? target.pod : a.pod) : '';
                if (match === undefined) continue;
                out.push(`-A ${chain} ${self} ${side(a.addr)}${match ? ` ${match}` : ''} -m comment --comment "${name}" -j MARK --or-mark ${mark}`);
              }
            }
          }
        }
      }
    }
  }
  for (const ip of [...isolated.Egress].sort()) out.push(`-A ${chain} -s ${ip}/32 -m mark ! --mark ${egressAllowed}/${egressAllowed} -m comment --comment "egress not allowed by a NetworkPolicy" -j REJECT --reject-with icmp-port-unreachable`);
  for (const ip of [...isolated.Ingress].sort()) out.push(`-A ${chain} -d ${ip}/32 -m mark ! --mark ${ingressAllowed}/${ingressAllowed} -m comment --comment "ingress not allowed by a NetworkPolicy" -j REJECT --reject-with icmp-port-unreachable`);
  return out;
}
