import type Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { ensureComponentImage } from '../network/component-image.js';
import type { DnsTable } from '../network/dns-records.js';
import type { IngressTable } from '../network/ingress-routes.js';
import { loopbackPorts, type HostPort } from '../network/host-ports.js';
import { label, networkName } from './labels.js';
import { demux } from './pod-io.js';

/** What a node's network component is given: the DNS names, the iptables rules and their hooks. */
export interface NodeNetworkConfig {
  dns: DnsTable;
  rules: string;
  ingress: IngressTable;
  /** The other nodes' Pod subnets and their addresses (routed between hosts). */
  routes?: { subnet: string; via: string }[];
  clusterCidr?: string;
  /** The node's own address: the local end of VXLAN tunnels to nodes it does not reach directly. */
  self?: string;
  /** The node's own Pod ranges, and its namespace subnets' gateways. */
  own?: string[];
  gateways?: string[];
  hooks: { table: string; chain: string; target: string }[];
  dnsAddress: string;
  /** The hostPorts of the node's Pods (those on loopback are the component's to answer). */
  hostPorts?: HostPort[];
}

const configDir = '/var/lib/gouvernail';

export function componentContainerName(installation: string): string {
  return `gouvernail-network-${installation}`;
}

/**
 * One node's network component, driven through the node's Docker API: the container is made (from
 * an image the control plane imports) and kept running, on the host's network and in its process
 * namespace with NET_ADMIN and SYS_ADMIN; each new configuration is copied into it and applied.
 */
export class NodeNetwork {
  private applied?: string;
  private lastError?: string;
  private ensured?: string;

  constructor(private readonly o: { docker: Docker; installation: string; node: string; ingressPorts: { http: number; https: number }; log: (msg: string, f?: Record<string, unknown>) => void }) {}

  /** The problem the last apply met, if any (shown on the component's Pod). */
  problem(): string | undefined {
    return this.lastError;
  }

  /**
   * When the component's container started, since when it has had its configuration applied
   * without a failure since (readySince), and with which image.
   */
  state(): { startedAt?: string; readySince?: number; image?: string; problem?: string } {
    return { ...(this.startedAt ? { startedAt: this.startedAt } : {}), ...(this.readySince ? { readySince: this.readySince } : {}), ...(this.image ? { image: this.image } : {}), ...(this.lastError ? { problem: this.lastError } : {}) };
  }

  private startedAt?: string;
  private readySince = 0;

  private image?: string;

  /**
   * The subnets of this installation's Pod networks of these namespaces on this engine (those made
   * before --cluster-cidr have Docker's subnets). Other installations' networks on a shared engine
   * are no concern of this one.
   */
  async podSubnets(namespaces: Set<string>): Promise<string[]> {
    const names = new Set([...namespaces].map(networkName));
    const networks = (await this.o.docker.listNetworks({ filters: { name: [networkName('')], label: [`${label.managedBy}=${this.o.installation}`] } })).filter((n) => names.has(n.Name) && n.Driver === 'bridge');
    // A new network is a reason to apply again: Docker put its rules for it before the component's.
    this.networksSeen = networks.map((n) => n.Id).sort().join(',');
    return networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => !!s && !s.includes(':')));
  }

  private networksSeen = '';

  /**
   * Makes sure the component runs, then applies the configuration when it changed, when the
   * node's Pod networks changed, or when the component restarted (with its engine, which put its
   * own rules back first). An idle node gets no call that changes anything. Says whether the node
   * has the configuration now (false: it is to be tried again soon).
   */
  async apply(config: NodeNetworkConfig): Promise<boolean> {
    try {
      const { id, startedAt } = await this.ensureContainer(config.dnsAddress);
      if (startedAt !== this.startedAt) this.readySince = 0;
      this.startedAt = startedAt;
      const text = `${JSON.stringify(config)}|${this.networksSeen}|${startedAt}`;
      if (text === this.applied && id === this.ensured) return true;
      await this.copyIn(id, config);
      await execIn(this.o.docker, id, ['/usr/bin/node', '/app/dist/src/network/component-apply.js']);
      this.applied = text;
      this.readySince ||= Date.now();
      this.ensured = id;
      if (this.lastError) this.o.log('the network component applies its rules again', { node: this.o.node });
      this.lastError = undefined;
      return true;
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastError) this.o.log('cannot set up the node\'s cluster network (cluster IPs, cluster DNS); retrying', { node: this.o.node, err: message });
      this.lastError = message;
      this.readySince = 0;
      this.applied = undefined;
      return false;
    }
  }

  private async ensureContainer(dnsAddress: string): Promise<{ id: string; startedAt: string }> {
    const { docker, installation } = this.o;
    const image = await ensureComponentImage(docker);
    this.image = image;
    const name = componentContainerName(installation);
    const info = await docker.getContainer(name).inspect().catch((err) => {
      if (err.statusCode === 404) return undefined;
      throw err;
    });
    const env = [`GV_DNS_ADDRESS=${dnsAddress}`, `GV_CONFIG_DIR=${configDir}`, 'GV_RESOLV_CONF=/etc/resolv.conf', `GV_INGRESS_HTTP_PORT=${this.o.ingressPorts.http}`, `GV_INGRESS_HTTPS_PORT=${this.o.ingressPorts.https}`];
    if (info && (info.Config.Image !== image || !env.every((e) => info.Config.Env?.includes(e)) || info.HostConfig.PidMode !== 'host')) {
      this.o.log('replacing the network component (a new version or cluster DNS address)', { node: this.o.node, container: name });
      await docker.getContainer(info.Id).remove({ force: true });
    } else if (info) {
      if (info.State.Running) return { id: info.Id, startedAt: info.State.StartedAt };
      await docker.getContainer(info.Id).start().catch((err) => (err.statusCode === 304 ? undefined : Promise.reject(err)));
      return { id: info.Id, startedAt: (await docker.getContainer(info.Id).inspect()).State.StartedAt };
    }
    await this.warnOfSameAddress(dnsAddress);
    const created = await docker.createContainer({
      name,
      Image: image,
      Cmd: ['/usr/bin/node', '/app/dist/src/network/component-main.js'],
      Env: env,
      Labels: { [label.managedBy]: installation, [label.component]: 'network' },
      HostConfig: {
        NetworkMode: 'host',
        // iptables and ip change the host's network; nsenter enters a Pod's network namespace
        // (/proc/PID/ns/net of the host's processes: SYS_ADMIN, and SYS_PTRACE to open it) to give
        // it its address. Nothing of the host's files is mounted but /run (iptables' lock, shared
        // with Docker's own iptables calls).
        PidMode: 'host',
        CapAdd: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN', 'SYS_PTRACE'],
        Mounts: [{ Type: 'bind', Source: '/run', Target: '/run', BindOptions: { Propagation: 'rprivate', NonRecursive: true } }] as unknown as Docker.MountSettings[],
        RestartPolicy: { Name: 'always' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } },
      },
    });
    await created.start();
    this.o.log('started the network component', { node: this.o.node, container: name });
    return { id: created.id, startedAt: (await created.inspect()).State.StartedAt };
  }

  /**
   * Another installation's component on this engine (a second serve, or one left running by a data
   * folder since deleted) with the same cluster DNS address holds it: this one could not serve DNS.
   */
  private async warnOfSameAddress(dnsAddress: string): Promise<void> {
    const { docker, installation } = this.o;
    const others = (await docker.listContainers({ all: true, filters: { label: [`${label.component}=network`] } })).filter((c) => c.Labels[label.managedBy] !== installation);
    for (const other of others) {
      const env = (await docker.getContainer(other.Id).inspect().catch(() => undefined))?.Config.Env ?? [];
      if (!env.includes(`GV_DNS_ADDRESS=${dnsAddress}`)) continue;
      this.o.log('another installation on this engine has the same cluster DNS address, which it holds: this one\'s Pods cannot resolve names. Give one of them another --service-cluster-ip-range, or remove the other with `gouvernail down --data-dir DIR` (or `docker rm -f` its containers if its folder is gone)', { node: this.o.node, address: dnsAddress, container: other.Names[0]?.replace(/^\//, ''), installation: other.Labels[label.managedBy] });
    }
  }

  private async copyIn(id: string, config: NodeNetworkConfig): Promise<void> {
    const tar = pack();
    const put = (file: string, text: string, mode = 0o644) => tar.entry({ name: file, mode }, text);
    put('dns.json', JSON.stringify(config.dns));
    // The routes hold the TLS keys of the Ingresses' Secrets: readable by root alone.
    put('ingress.json', JSON.stringify(config.ingress), 0o600);
    put('iptables.rules', config.rules);
    put('hostports.json', JSON.stringify(loopbackPorts(config.hostPorts ?? [])));
    put('apply.json', JSON.stringify({ dnsAddress: config.dnsAddress, hooks: config.hooks, routes: config.routes, clusterCidr: config.clusterCidr, self: config.self, own: config.own, gateways: config.gateways }));
    tar.finalize();
    const chunks: Buffer[] = [];
    for await (const c of tar) chunks.push(c as Buffer);
    await this.o.docker.getContainer(id).putArchive(Buffer.concat(chunks), { path: configDir });
  }
}

/**
 * Runs a command in a container and waits for it (30 s at most): rejects with its output when it
 * exits non-zero.
 */
export async function execIn(docker: Docker, id: string, cmd: string[]): Promise<string> {
  const exec = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d.toString()));
  docker.modem.demuxStream(stream, out, out);
  // The output stream does not always end with the process: its state is asked too, for 30 s.
  const ended = new Promise((resolve) => stream.on('end', resolve));
  const deadline = Date.now() + 30_000;
  let info: Awaited<ReturnType<typeof exec.inspect>>;
  try {
    info = await exec.inspect();
    while (info.Running && Date.now() < deadline) {
      await Promise.race([ended, new Promise((r) => setTimeout(r, 100))]);
      info = await exec.inspect();
    }
  } finally {
    // Closed whatever happened: a stream left open (its container removed meanwhile, and Docker
    // keeps the connection) keeps the process from exiting.
    (stream as { destroy?: () => void }).destroy?.();
  }
  if (info.Running) throw new Error(`${cmd.join(' ')} did not finish within 30 s`);
  if (info.ExitCode !== 0) throw Object.assign(new Error(text.trim() || `${cmd.join(' ')} exited with ${info.ExitCode}`), { output: text });
  return text;
}

/**
 * The network component's log on a node, as `kubectl logs -n kube-system gouvernail-network-NODE`
 * reads it: Docker's log of the container, its streams merged.
 */
export function componentLog(docker: Docker, installation: string, o: { follow?: boolean; tailLines?: number; sinceSeconds?: number; timestamps?: boolean }): Readable {
  const out = new PassThrough();
  const container = docker.getContainer(componentContainerName(installation));
  const options = { stdout: true, stderr: true, timestamps: o.timestamps ?? false, tail: o.tailLines ?? -1, ...(o.sinceSeconds ? { since: Math.floor(Date.now() / 1000) - o.sinceSeconds } : {}) };
  const failed = (err: Error) => out.end(`cannot read the network component's log: ${err.message}\n`);
  if (o.follow) {
    container.logs({ ...options, follow: true }).then((stream) => {
      docker.modem.demuxStream(stream, out, out);
      stream.on('end', () => out.end());
      out.on('close', () => (stream as unknown as { destroy?: () => void }).destroy?.());
    }, failed);
  } else {
    container.logs({ ...options, follow: false }).then((raw) => {
      out.end(demux(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))));
    }, failed);
  }
  return out;
}
