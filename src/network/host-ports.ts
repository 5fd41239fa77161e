import dgram from 'node:dgram';
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

/** A hostPort answered on the node's loopback. */
export interface LoopbackPort {
  /** TCP or UDP; TCP when unset (what components of an earlier version were given). */
  protocol?: 'TCP' | 'UDP';
  address: string;
  port: number;
  to: { host: string; port: number };
}

/** The hostPorts answered on the node's loopback, TCP and UDP, as Docker's userland proxy answers them. */
export function loopbackPorts(ports: HostPort[]): LoopbackPort[] {
  return ports
    .filter((p) => (p.protocol === 'TCP' || p.protocol === 'UDP') && (!p.hostIP || loopback(p.hostIP)))
    .map((p) => ({ protocol: p.protocol as 'TCP' | 'UDP', address: p.hostIP ?? '127.0.0.1', port: p.hostPort, to: { host: p.podIP, port: p.containerPort } }));
}

/** How long a UDP client's flow to the Pod is kept without a datagram either way (Docker's userland proxy's). */
export const udpFlowIdleMs = 90_000;

interface Proxy {
  to: { host: string; port: number };
  close(): void;
}

/**
 * The component's proxies of hostPorts on the node's loopback, listening while a Pod has the port:
 * each TCP connection joined to the Pod's address; each UDP client (address and port) given a
 * socket of its own towards the Pod, whose answers go back to it, until idle for 90 s.
 */
export class LoopbackProxies {
  private readonly open = new Map<string, Proxy>();

  constructor(private readonly log: (msg: string, f?: Record<string, unknown>) => void) {}

  update(wanted: LoopbackPort[]): void {
    const keys = new Set<string>();
    for (const w of wanted) {
      const protocol = w.protocol ?? 'TCP';
      const key = `${protocol}/${w.address}:${w.port}`;
      keys.add(key);
      const have = this.open.get(key);
      if (have) {
        have.to = w.to;
        continue;
      }
      const failed = (err: Error) => {
        this.log('cannot answer a hostPort on loopback; is another program using it?', { protocol, address: w.address, port: w.port, err: err.message });
        this.open.delete(key);
      };
      this.open.set(key, protocol === 'UDP' ? udpProxy(w, failed) : tcpProxy(w, failed));
    }
    for (const [key, proxy] of this.open) {
      if (keys.has(key)) continue;
      proxy.close();
      this.open.delete(key);
    }
  }
}

function tcpProxy(w: LoopbackPort, failed: (err: Error) => void): Proxy {
  const proxy: Proxy = { to: w.to, close: () => server.close() };
  const server = net.createServer((socket) => pipeSockets(socket, net.connect(proxy.to)));
  server.on('error', failed);
  server.listen(w.port, w.address);
  return proxy;
}

function udpProxy(w: LoopbackPort, failed: (err: Error) => void): Proxy {
  const flows = new Map<string, { socket: dgram.Socket; idle: NodeJS.Timeout }>();
  const listener = dgram.createSocket('udp4');
  const proxy: Proxy = {
    to: w.to,
    close: () => {
      for (const flow of flows.values()) {
        clearTimeout(flow.idle);
        flow.socket.close();
      }
      flows.clear();
      listener.close();
    },
  };
  const flowOf = (client: dgram.RemoteInfo) => {
    const key = `${client.address}:${client.port}`;
    let flow = flows.get(key);
    if (!flow) {
      const socket = dgram.createSocket('udp4');
      socket.on('message', (answer, from) => {
        if (from.address !== proxy.to.host || from.port !== proxy.to.port) return;
        renew();
        listener.send(answer, client.port, client.address);
      });
      socket.on('error', () => end());
      const end = () => {
        clearTimeout(flows.get(key)?.idle);
        flows.delete(key);
        socket.close();
      };
      const renew = () => flow!.idle.refresh();
      flow = { socket, idle: setTimeout(end, udpFlowIdleMs) };
      flows.set(key, flow);
    } else flow.idle.refresh();
    return flow;
  };
  listener.on('message', (datagram, client) => flowOf(client).socket.send(datagram, proxy.to.port, proxy.to.host));
  listener.on('error', failed);
  listener.bind(w.port, w.address);
  return proxy;
}
