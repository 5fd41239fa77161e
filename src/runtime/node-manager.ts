import type Docker from 'dockerode';
import { renewNodeLease } from './node-lease.js';
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import type { InProcessClient } from '../api/client.js';
import { DockerRecords } from '../store/docker-records.js';
import type { PodSubnets } from '../network/pod-subnets.js';
import { EventRecorder } from './event-recorder.js';
import { NodeAgent, type NodeAgentOptions } from './node-agent.js';
import { conditions, engineStatus, hostAddress, nodeLabels, type EngineInfo } from './node-status.js';
import { credentialsNamespace, credentialsOf, describeEndpoint, dockerClient, dockerCredentialsAnnotation, dockerHostAnnotation, dockerInsecureAnnotation, nodeAddressAnnotation, parseDockerHost, type DockerEndpoint } from './docker-connection.js';

/** The kubelet version Nodes report: the API's, which kubectl's dispatcher picks its client by. */
export const kubeletVersion = 'v1.32.0-gouvernail';

export interface NodeManagerOptions {
  store: ObjectStore;
  /** A client acting as the node (system:node:NAME). */
  asNode: (name: string) => InProcessClient;
  installation: string;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** The engine on this host, registered as the control plane's node. */
  local: { name: string; docker: Docker; podFilesDir?: string; publishAddresses?: string[] };
  heartbeatMs?: number;
  /** The cluster DNS server Pods resolve names with, and the cluster domain. */
  clusterDns?: { server: string; domain: string };
  /** Each namespace network's subnet on each node, from the cluster range. */
  podSubnets: PodSubnets;
  /** How long one Docker call may take before the node's loop gives up on it. */
  callTimeoutMs?: number;
  resyncMs?: number;
}

interface NodeRuntime {
  name: string;
  /** The connection as configured: a change makes a new runtime. */
  key: string;
  endpoint?: DockerEndpoint;
  /** Calls with a timeout, for the agent and heartbeats. */
  docker: Docker;
  /** Without a timeout: logs, exec, attach and events stream for as long as they last. */
  streams: Docker;
  agent: NodeAgent;
  agentOptions: NodeAgentOptions;
  recorder: EventRecorder;
  timer?: NodeJS.Timeout;
  info?: EngineInfo;
  infoAt: number;
  address: string;
  lastError?: string;
  beating?: Promise<void>;
}

/**
 * One Docker client, one agent loop and one heartbeat per node: the control plane drives every
 * node's engine directly through the Docker API. Nodes come and go as Node objects do (`gouvernail
 * node add`, or kubectl with the connection in a Secret); a hung engine only stalls its own loop.
 */
export class NodeManager {
  private readonly runtimes = new Map<string, NodeRuntime>();
  private api?: NodeAgentOptions['api'];
  private unwatch?: () => void;
  private stopped = false;
  private syncing = Promise.resolve();

  constructor(private readonly o: NodeManagerOptions) {}

  /** Registers the local node (as kubelet does at start), then follows the Node objects. */
  async start(): Promise<void> {
    await this.registerLocal();
    this.unwatch = this.o.store.watch(this.o.store.resourceVersion(), (c) => {
      const o = c.object;
      if ((o.kind === 'Node' && this.connectionChanged(c.type, o)) || (o.kind === 'Secret' && o.metadata.namespace === credentialsNamespace)) this.resync();
    });
    this.resync();
    await this.syncing;
  }

  /** Where Pods reach the API (known once it listens). */
  setApi(api: NonNullable<NodeAgentOptions['api']>): void {
    this.api = api;
    for (const rt of this.runtimes.values()) rt.agentOptions.api = api;
  }

  /** The engine of a node, for streams (logs, exec, attach, port-forward). */
  dockerFor(name: string): Docker | undefined {
    return this.runtimes.get(name)?.streams;
  }

  /** When the run before a container's last one started on a node, if its agent saw it (logs --previous). */
  previousRunStart(name: string, id: string, lastStartedAt: string): number | undefined {
    return this.runtimes.get(name)?.agent.previousRunStart(id, lastStartedAt);
  }

  /** The last error a node's engine gave, for the lifecycle controller's messages. */
  lastError(name: string): string | undefined {
    return this.runtimes.get(name)?.lastError;
  }

  /** Every node's engine (calls with a timeout), for metrics. */
  engines(): Array<{ name: string; docker: Docker; local: boolean }> {
    return [...this.runtimes.values()].filter((rt) => !rt.lastError).map((rt) => ({ name: rt.name, docker: rt.docker, local: rt.name === this.o.local.name }));
  }

  private resync(): void {
    this.syncing = this.syncing.then(() => this.syncRuntimes()).catch((err) => this.o.log('cannot follow the nodes', { err: (err as Error).message }));
  }

  private async registerLocal(): Promise<void> {
    const { name, docker } = this.o.local;
    const client = this.o.asNode(name);
    let info: EngineInfo | undefined;
    try {
      info = (await docker.info()) as EngineInfo;
    } catch (err) {
      this.o.log('the Docker engine does not answer; the node stays NotReady until it does (is dockerd running? is the socket readable?)', { err: (err as Error).message });
    }
    const registered = this.o.store.get('Node', undefined, name);
    const now = new Date().toISOString();
    const status = {
      ...(info ? engineStatus(info, kubeletVersion) : {}),
      conditions: conditions(info ? { status: 'True', reason: 'KubeletReady', message: 'the Docker engine answers' } : { status: 'False', reason: 'DockerNotReady', message: 'the Docker engine does not answer' }, registered?.status?.conditions, now),
      addresses: [{ type: 'InternalIP', address: hostAddress() }, { type: 'Hostname', address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    };
    const labels = { ...registered?.metadata.labels, ...nodeLabels(name, 'control-plane', info) };
    if (registered) {
      const updated = JSON.stringify(labels) === JSON.stringify(registered.metadata.labels) ? registered : await client.update({ ...registered, metadata: { ...registered.metadata, labels, resourceVersion: undefined } });
      await client.updateStatus({ ...updated, metadata: { ...updated.metadata, resourceVersion: undefined }, status });
    } else {
      await client.create({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: {}, status } as never);
    }
  }

  private readonly seen = new Map<string, string>();

  /** A Node added, deleted, or with new connection annotations: heartbeats are not. */
  private connectionChanged(type: string, node: KubeObject): boolean {
    const name = node.metadata.name;
    if (type === 'DELETED') {
      this.seen.delete(name);
      return true;
    }
    const a = node.metadata.annotations ?? {};
    const signature = JSON.stringify([a[dockerHostAnnotation], a[dockerCredentialsAnnotation], a[dockerInsecureAnnotation], a[nodeAddressAnnotation], node.metadata.deletionTimestamp]);
    if (this.seen.get(name) === signature) return false;
    this.seen.set(name, signature);
    return true;
  }

  private connectionKey(node: KubeObject): string {
    const a = node.metadata.annotations ?? {};
    const secretName = a[dockerCredentialsAnnotation];
    const secret = secretName ? this.o.store.get('Secret', credentialsNamespace, secretName) : undefined;
    return JSON.stringify([a[dockerHostAnnotation], secretName, secret?.metadata.resourceVersion, a[dockerInsecureAnnotation], a[nodeAddressAnnotation]]);
  }

  private async syncRuntimes(): Promise<void> {
    if (this.stopped) return;
    const nodes = new Map(this.o.store.list({ kind: 'Node' }).map((n) => [n.metadata.name, n]));
    for (const [name, rt] of this.runtimes) {
      const node = nodes.get(name);
      if (node && !node.metadata.deletionTimestamp && (name === this.o.local.name || this.connectionKey(node) === rt.key)) continue;
      await this.stopRuntime(rt, node && !node.metadata.deletionTimestamp ? 'its connection changed' : 'the Node was deleted', !node || !!node.metadata.deletionTimestamp);
    }
    for (const [name, node] of nodes) {
      if (this.runtimes.has(name) || node.metadata.deletionTimestamp) continue;
      if (name === this.o.local.name) this.startRuntime(name, { docker: this.o.local.docker, streams: this.o.local.docker, key: 'local', address: hostAddress() });
      else if (node.metadata.annotations?.[dockerHostAnnotation]) this.connect(node);
    }
  }

  private connect(node: KubeObject): void {
    const a = node.metadata.annotations ?? {};
    let endpoint: DockerEndpoint;
    try {
      endpoint = parseDockerHost(a[dockerHostAnnotation]!);
    } catch (err) {
      this.o.log('a Node names a Docker engine Gouvernail cannot reach', { node: node.metadata.name, err: (err as Error).message });
      return;
    }
    const secretName = a[dockerCredentialsAnnotation];
    const credentials = credentialsOf(secretName ? this.o.store.get('Secret', credentialsNamespace, secretName) : undefined);
    const timeout = this.o.callTimeoutMs ?? 30_000;
    const address = node.metadata.annotations?.[nodeAddressAnnotation] ?? (endpoint.protocol === 'unix' ? hostAddress() : endpoint.host === 'localhost' ? '127.0.0.1' : endpoint.host!);
    this.startRuntime(node.metadata.name, { endpoint, docker: dockerClient(endpoint, credentials, timeout), streams: dockerClient(endpoint, credentials), key: this.connectionKey(node), address });
  }

  private startRuntime(name: string, c: { endpoint?: DockerEndpoint; docker: Docker; streams: Docker; key: string; address: string }): void {
    const local = name === this.o.local.name;
    const client = this.o.asNode(name);
    const recorder = new EventRecorder(client, { component: 'kubelet', host: name });
    const agentOptions: NodeAgentOptions = {
      store: this.o.store,
      client,
      docker: c.docker,
      events: c.streams,
      records: new DockerRecords(this.o.store.db, name),
      event: (about, type, reason, message) => recorder.record(about, type, reason, message),
      nodeName: name,
      installation: this.o.installation,
      log: (msg, fields) => this.o.log(msg, { node: name, ...fields }),
      // Token files are bind-mounted from this host's data folder only on this host's engine.
      podFilesDir: local ? this.o.local.podFilesDir : undefined,
      publishAddresses: local ? this.o.local.publishAddresses : undefined,
      api: this.api,
      hostIP: c.address,
      bindsUnpinnedClaims: local,
      resyncMs: this.o.resyncMs,
      clusterDns: this.o.clusterDns,
      podSubnet: (ns) => this.o.podSubnets.subnetFor(name, ns),
    };
    const rt: NodeRuntime = { name, key: c.key, endpoint: c.endpoint, docker: c.docker, streams: c.streams, agent: new NodeAgent(agentOptions), agentOptions, recorder, infoAt: 0, address: c.address };
    this.runtimes.set(name, rt);
    if (c.endpoint) this.o.log('driving a node\'s Docker engine', { node: name, docker: describeEndpoint(c.endpoint) });
    // As a kubelet says when it starts (kubectl describe node lists it).
    const node = this.o.store.get('Node', undefined, name);
    if (node) recorder.record(node, 'Normal', 'Starting', 'Starting kubelet.');
    rt.agent.start();
    const tick = () => {
      rt.beating = this.heartbeat(rt).finally(() => {
        if (this.runtimes.get(name) === rt && !this.stopped) {
          rt.timer = setTimeout(tick, this.o.heartbeatMs ?? 10_000);
          rt.timer.unref();
        }
      });
    };
    tick();
  }

  private async stopRuntime(rt: NodeRuntime, why: string, deleted: boolean): Promise<void> {
    this.runtimes.delete(rt.name);
    if (rt.timer) clearTimeout(rt.timer);
    await rt.beating;
    if (deleted) {
      // The Pods bound to a deleted Node go (the lifecycle controller deletes them); one last pass
      // then removes their containers from the engine, if it still answers.
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && this.o.store.list({ kind: 'Pod' }).some((p) => p.spec?.nodeName === rt.name)) await new Promise((r) => setTimeout(r, 200));
      await withTimeout(rt.agent.reconcileNow(), 30_000, 'timed out').catch((err: Error) => this.o.log('cannot remove the containers of a deleted node; they are left on its engine', { node: rt.name, err: err.message }));
    }
    await rt.agent.stop();
    rt.recorder.close();
    this.o.log(`stopped driving a node: ${why}`, { node: rt.name });
  }

  /** A Docker ping; when it answers, the Node's Ready condition and lastHeartbeatTime move. */
  private async heartbeat(rt: NodeRuntime): Promise<void> {
    try {
      await withTimeout(rt.docker.ping(), 5000, 'the Docker engine did not answer a ping within 5s');
      if (!rt.info || Date.now() - rt.infoAt > 60_000) {
        rt.info = (await rt.docker.info()) as EngineInfo;
        rt.infoAt = Date.now();
      }
      if (rt.lastError) this.o.log('the node\'s Docker engine answers again', { node: rt.name });
      rt.lastError = undefined;
      rt.agent.setReachable(true);
      await this.writeStatus(rt);
    } catch (err) {
      const message = (err as Error).message;
      if (rt.lastError !== message) this.o.log('the node\'s Docker engine does not answer', { node: rt.name, err: message });
      rt.lastError = message;
      rt.agent.setReachable(false);
    }
  }

  private async writeStatus(rt: NodeRuntime): Promise<void> {
    const node = this.o.store.get('Node', undefined, rt.name);
    if (!node || node.metadata.deletionTimestamp) return;
    const client = this.o.asNode(rt.name);
    const role = node.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined ? 'control-plane' : 'worker';
    const labels = { ...nodeLabels(rt.name, role, rt.info), ...node.metadata.labels };
    let current = node;
    if (JSON.stringify(labels) !== JSON.stringify(node.metadata.labels)) current = await client.update({ ...node, metadata: { ...node.metadata, labels, resourceVersion: undefined } });
    const now = new Date().toISOString();
    const status = {
      ...current.status,
      ...engineStatus(rt.info!, kubeletVersion),
      conditions: conditions({ status: 'True', reason: 'KubeletReady', message: 'the Docker engine answers' }, current.status?.conditions, now),
      addresses: [{ type: 'InternalIP', address: rt.address }, { type: 'Hostname', address: rt.name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    };
    await client.updateStatus({ ...current, metadata: { ...current.metadata, resourceVersion: undefined }, status });
    // The Lease is the lighter heartbeat; one not renewed now is renewed at the next beat.
    await renewNodeLease(client, current).catch((err: Error) => this.o.log('cannot renew the node\'s Lease', { node: rt.name, err: err.message }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    await this.syncing;
    for (const rt of [...this.runtimes.values()]) {
      if (rt.timer) clearTimeout(rt.timer);
      await rt.beating;
      await rt.agent.stop();
      rt.recorder.close();
    }
    this.runtimes.clear();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}
