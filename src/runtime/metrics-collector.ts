import type Docker from 'dockerode';
import os from 'node:os';
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import { label } from './labels.js';

interface Sample {
  at: number;
  cpuNs: number;
}

/**
 * What metrics-server does, from Docker: every `periodMs` it reads each running container's stats
 * (one-shot), and keeps PodMetrics and NodeMetrics (metrics.k8s.io/v1beta1) for `kubectl top`.
 * CPU is the rate between two readings; memory the working set (usage less inactive file pages).
 */
export class MetricsCollector {
  private pods: KubeObject[] = [];
  private nodes: KubeObject[] = [];
  private readonly last = new Map<string, Sample>();
  private lastNode?: { at: number; busy: number };
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    /** Each node's engine; the local one's node usage is read from this host, the others' summed from their containers. */
    private readonly engines: () => Array<{ name: string; docker: Docker; local: boolean }>,
    private readonly store: ObjectStore,
    private readonly installation: string,
    private readonly periodMs = 15_000,
    private readonly keepMs = 10 * 60_000,
  ) {}

  /** Readings go on while the metrics are asked for (kubectl top, an autoscaler), and this long after. */
  private activeUntil = 0;
  private ticking = false;
  private stopped = false;

  /**
   * Nothing is read until the metrics are asked for: the first read starts the readings (its answer
   * is empty for a few seconds, as metrics-server's just after it starts), and they stop once no one
   * has asked for `keepMs`. An idle cluster costs no `docker stats`.
   */
  start(): void {
    this.stopped = false;
  }

  private wake(): void {
    this.activeUntil = Date.now() + this.keepMs;
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    const tick = () => {
      if (this.stopped || Date.now() > this.activeUntil) {
        // Stale readings are not shown: the next read starts afresh.
        this.ticking = false;
        this.pods = [];
        this.nodes = [];
        this.last.clear();
        this.lastNode = undefined;
        return;
      }
      this.running = this.collect().catch(() => {});
      void this.running.then(() => {
        this.timer = setTimeout(tick, this.periodMs);
        this.timer.unref();
      });
    };
    // A first reading soon, a second a little later: CPU needs two.
    this.timer = setTimeout(() => {
      this.running = this.collect().catch(() => {});
      this.timer = setTimeout(tick, 2_000);
      this.timer.unref();
    }, 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** The metrics of a kind (PodMetrics, NodeMetrics) in a namespace, as the API shows them. */
  objects(kind: string, namespace: string | undefined): KubeObject[] {
    if (kind === 'NodeMetrics' || kind === 'PodMetrics') this.wake();
    if (kind === 'NodeMetrics') return this.nodes;
    if (kind === 'PodMetrics') return namespace ? this.pods.filter((p) => p.metadata.namespace === namespace) : this.pods;
    return [];
  }

  async collect(): Promise<void> {
    const now = Date.now();
    const engines = this.engines();
    const read = await Promise.all(engines.map((e) => this.read(e.docker, now).catch(() => undefined)));
    const usage = read.flatMap((r) => r ?? []);
    const byPod = new Map<string, { c: Docker.ContainerInfo; cores: number; memory: number }[]>();
    for (const u of usage) (byPod.get(u.c.Labels[label.uid]!) ?? byPod.set(u.c.Labels[label.uid]!, []).get(u.c.Labels[label.uid]!)!).push(u);
    const timestamp = new Date(now).toISOString();
    const window = `${Math.round(this.periodMs / 1000)}s`;
    const pods: KubeObject[] = [];
    for (const pod of this.store.list({ kind: 'Pod' })) {
      const list = byPod.get(pod.metadata.uid!);
      if (!list) continue;
      pods.push({
        apiVersion: 'metrics.k8s.io/v1beta1',
        kind: 'PodMetrics',
        metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, labels: pod.metadata.labels, creationTimestamp: timestamp },
        timestamp,
        window,
        containers: list.map((u) => ({ name: u.c.Labels[label.container], usage: { cpu: nanocores(u.cores), memory: kibibytes(u.memory) } })),
      } as KubeObject);
    }
    this.pods = pods;
    this.nodes = engines.flatMap((e, i) => {
      if (e.local) return [this.nodeMetrics(e.name, now, timestamp, window)];
      const list = read[i];
      if (!list) return [];
      const sum = list.reduce((a, u) => ({ cores: a.cores + u.cores, memory: a.memory + u.memory }), { cores: 0, memory: 0 });
      return [{ apiVersion: 'metrics.k8s.io/v1beta1', kind: 'NodeMetrics', metadata: { name: e.name, creationTimestamp: timestamp }, timestamp, window, usage: { cpu: nanocores(sum.cores), memory: kibibytes(sum.memory) } } as KubeObject];
    });
  }

  /** Each running container of this installation on one engine: its CPU rate and working set. */
  private async read(docker: Docker, now: number) {
    const containers = await docker.listContainers({ filters: { label: [`${label.managedBy}=${this.installation}`], status: ['running'] } });
    const usage = await Promise.all(
      containers.map(async (c) => {
        const container = docker.getContainer(c.Id) as unknown as { stats(o: object): Promise<DockerStats> };
        const stats = await container.stats({ stream: false, 'one-shot': true }).catch(() => undefined);
        if (!stats) return undefined;
        const cpuNs = stats.cpu_stats?.cpu_usage?.total_usage ?? 0;
        const before = this.last.get(c.Id);
        this.last.set(c.Id, { at: now, cpuNs });
        const cores = before && now > before.at ? Math.max(0, cpuNs - before.cpuNs) / ((now - before.at) * 1e6) : 0;
        const s = stats.memory_stats?.stats ?? {};
        const inactive = s.inactive_file ?? s.total_inactive_file ?? 0;
        const memory = Math.max(0, (stats.memory_stats?.usage ?? 0) - inactive);
        return { c, cores, memory };
      }),
    );
    const live = new Set(containers.map((c) => c.Id));
    for (const [id, sample] of this.last) if (!live.has(id) && sample.at < now) this.last.delete(id);
    return usage.filter((u): u is NonNullable<typeof u> => !!u);
  }

  /** The node's own use, from the host this serve runs on (the local engine's node). */
  private nodeMetrics(name: string, now: number, timestamp: string, window: string): KubeObject {
    const cpus = os.cpus();
    const busy = cpus.reduce((n, c) => n + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
    const cores = this.lastNode && now > this.lastNode.at ? Math.max(0, busy - this.lastNode.busy) / (now - this.lastNode.at) : 0;
    this.lastNode = { at: now, busy };
    return {
      apiVersion: 'metrics.k8s.io/v1beta1',
      kind: 'NodeMetrics',
      metadata: { name, creationTimestamp: timestamp },
      timestamp,
      window,
      usage: { cpu: nanocores(cores), memory: kibibytes(os.totalmem() - os.freemem()) },
    } as KubeObject;
  }
}

interface DockerStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; stats?: Record<string, number> };
}

const nanocores = (cores: number) => `${Math.round(cores * 1e9)}n`;
const kibibytes = (bytes: number) => `${Math.round(bytes / 1024)}Ki`;
