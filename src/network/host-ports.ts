import net from 'node:net';
import type { KubeObject } from '../manifest/types.js';
import { pipeSockets } from './tcp-forward.js';

/** One hostPort of a Pod on a node, as the node's rules publish it. */
export interface HostPort {
  protocol: string;
  /** The one address it is published on; all of the node's when unset. */
  hostIP?: string;
  hostPort: number;
  podIP: string;
  containerPort: number;
  /** namespace/name, for the rule's comment and the log. */
  pod: string;
}

/**
 * The hostPorts of the Pods running on a node with an address of their own (a Pod on the host's
 * network has its ports on the host already), on each address it publishes on: the port's hostIP,
 * else each of the node's publish addresses (serve --publish-address), else all. Pure.
 */
export function hostPortsOf(pods: KubeObject[], node: string, publishAddresses?: string[]): HostPort[] {
  const out: HostPort[] = [];
  for (const p of pods) {
    if (p.spec?.nodeName !== node || p.spec.hostNetwork || p.metadata.deletionTimestamp) continue;
    const podIP: string | undefined = p.status?.podIP;
    if (!podIP) continue;
    const containers = [...(p.spec.containers ?? []), ...(p.spec.initContainers ?? []).filter((c: { restartPolicy?: string }) => c.restartPolicy === 'Always')];
    for (const c of containers) {
      for (const port of c.ports ?? []) {
        if (!port.hostPort) continue;
        const addresses: (string | undefined)[] = port.hostIP ? [port.hostIP] : publishAddresses?.length ? publishAddresses : [undefined];
        for (const hostIP of addresses) out.push({ protocol: port.protocol ?? 'TCP', ...(hostIP && hostIP !== '0.0.0.0' ? { hostIP } : {}), hostPort: port.hostPort, podIP, containerPort: port.containerPort, pod: `${p.metadata.namespace}/${p.metadata.name}` });
      }
    }
  }
  return out.sort((a, b) => a.hostPort - b.hostPort || a.pod.localeCompare(b.pod));
}

const loopback = (ip?: string) => !!ip && ip.startsWith('127.');

/**
 * The nat rules of a node's hostPorts (the CNI portmap plugin's): traffic to the port on the
 * node's addresses (or the one hostIP) is translated to the Pod's address and containerPort.
 * Loopback is left to the component's proxy (a translated packet from 127.0.0.1 could not leave
 * the host). Pure.
 */
export function hostPortRules(chain: string, ports: HostPort[]): string[] {
  const rules: string[] = [];
  for (const p of ports) {
    const proto = p.protocol.toLowerCase();
    if ((proto !== 'tcp' && proto !== 'udp') || loopback(p.hostIP)) continue;
    const to = p.hostIP ? `-d ${p.hostIP}/32` : '! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL';
    rules.push(`-A ${chain} ${to} -p ${proto} -m ${proto} --dport ${p.hostPort} -m comment --comment "${p.pod.replace(/["\\]/g, '')} hostPort" -j DNAT --to-destination ${p.podIP}:${p.containerPort}`);
  }
  return rules;
}

/** The hostPorts answered on the node's loopback (TCP, as Docker's userland proxy answers them). */
export function loopbackPorts(ports: HostPort[]): { address: string; port: number; to: { host: string; port: number } }[] {
  return ports.filter((p) => p.protocol === 'TCP' && (!p.hostIP || loopback(p.hostIP))).map((p) => ({ address: p.hostIP ?? '127.0.0.1', port: p.hostPort, to: { host: p.podIP, port: p.containerPort } }));
}

/**
 * The component's TCP proxies of hostPorts on the node's loopback: listening while a Pod has the
 * port, each connection joined to the Pod's address.
 */
export class LoopbackProxies {
  private readonly open = new Map<string, { server: net.Server; to: { host: string; port: number } }>();

  constructor(private readonly log: (msg: string, f?: Record<string, unknown>) => void) {}

  update(wanted: ReturnType<typeof loopbackPorts>): void {
    const keys = new Set<string>();
    for (const w of wanted) {
      const key = `${w.address}:${w.port}`;
      keys.add(key);
      const have = this.open.get(key);
      if (have) {
        have.to = w.to;
        continue;
      }
      const entry = { server: net.createServer((socket) => pipeSockets(socket, net.connect(entry.to))), to: w.to };
      entry.server.on('error', (err) => {
        this.log('cannot answer a hostPort on loopback; is another program using it?', { address: w.address, port: w.port, err: err.message });
        this.open.delete(key);
      });
      entry.server.listen(w.port, w.address);
      this.open.set(key, entry);
    }
    for (const [key, { server }] of this.open) {
      if (keys.has(key)) continue;
      server.close();
      this.open.delete(key);
    }
  }
}
