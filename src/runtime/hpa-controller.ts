import type { Client } from '../api/client.js';
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import { matchesSelector } from '../manifest/selector.js';
import { recommend, sampleOf, shape, type ResourceMetric } from './autoscaling.js';

type Recorder = { record(about: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void };

/**
 * The HorizontalPodAutoscaler controller (autoscaling/v2), as kube-controller-manager's: every
 * 15 s, for each HPA, the CPU and memory of its target's Pods (the metrics API's numbers, the same
 * `kubectl top` shows) give a recommendation, which the behaviour (stabilization windows, policies)
 * and min/maxReplicas shape; the target's scale is set through the API.
 */
export class HorizontalPodAutoscalerController {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly history = new Map<string, { at: number; replicas: number }[]>();
  private readonly events = new Map<string, { at: number; change: number }[]>();

  constructor(
    private readonly store: ObjectStore,
    private readonly client: Client,
    private readonly podMetrics: (namespace: string) => KubeObject[],
    private readonly log: (msg: string, f?: Record<string, unknown>) => void = () => {},
    private readonly recorder?: Recorder,
    private readonly periodMs = 15_000,
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pass().catch((err) => this.log('autoscaler pass failed', { err: (err as Error).message }));
      void this.running.then(() => {
        if (this.stopped) return;
        this.timer = setTimeout(tick, this.periodMs);
        this.timer.unref();
      });
    };
    this.timer = setTimeout(tick, this.periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  async pass(now = Date.now()): Promise<void> {
    const hpas = this.store.list({ kind: 'HorizontalPodAutoscaler' });
    const live = new Set(hpas.map((h) => h.metadata.uid!));
    for (const key of this.history.keys()) if (!live.has(key)) (this.history.delete(key), this.events.delete(key));
    for (const hpa of hpas) {
      if (hpa.metadata.deletionTimestamp) continue;
      await this.reconcile(hpa, now).catch((err) => this.log('autoscaler cannot scale', { hpa: `${hpa.metadata.namespace}/${hpa.metadata.name}`, err: (err as Error).message }));
    }
  }

  private async reconcile(hpa: KubeObject, now: number): Promise<void> {
    const ns = hpa.metadata.namespace!;
    const spec = hpa.spec;
    const ref = spec.scaleTargetRef;
    const target = this.store.get(ref.kind, ns, ref.name);
    const conditions: Record<string, unknown>[] = [];
    const at = new Date(now).toISOString();
    const writeStatus = async (status: Record<string, unknown>) => {
      const latest = this.store.get('HorizontalPodAutoscaler', ns, hpa.metadata.name);
      if (!latest) return;
      const keep = (c: Record<string, unknown>) => ({ ...c, lastTransitionTime: (latest.status?.conditions ?? []).find((o: { type: string; status: string }) => o.type === c.type && o.status === c.status)?.lastTransitionTime ?? at });
      const next = { ...status, conditions: (status.conditions as Record<string, unknown>[]).map(keep) };
      if (JSON.stringify(next) === JSON.stringify(latest.status)) return;
      await this.client.updateStatus({ ...latest, metadata: { ...latest.metadata, resourceVersion: undefined }, status: next });
    };
    if (!target) {
      conditions.push({ type: 'AbleToScale', status: 'False', reason: 'FailedGetScale', message: `the HPA controller was unable to get the target's current scale: ${ref.kind.toLowerCase()}s "${ref.name}" not found` });
      return writeStatus({ currentReplicas: 0, desiredReplicas: 0, conditions });
    }
    const current: number = target.spec?.replicas ?? 1;
    const selector = ref.kind === 'ReplicationController' ? { matchLabels: target.spec.selector } : target.spec.selector;
    const metricsByPod = new Map(this.podMetrics(ns).map((m) => [m.metadata.name, m]));
    const pods = this.store.list({ kind: 'Pod', namespace: ns }).filter((p) => matchesSelector(selector, p.metadata.labels ?? {}) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const metrics: ResourceMetric[] = (spec.metrics ?? [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]).map((m: { resource?: ResourceMetric; containerResource?: ResourceMetric & { container: string } }) => m.resource ?? m.containerResource!);
    const min: number = spec.minReplicas ?? 1;
    const max: number = spec.maxReplicas;
    const r = recommend(current, metrics, pods.map((p) => sampleOf(p, metricsByPod.get(p.metadata.name))));
    conditions.push({ type: 'AbleToScale', status: 'True', reason: 'SucceededGetScale', message: 'the HPA controller was able to get the target\'s current scale' });
    if (r.problem) {
      conditions.push({ type: 'ScalingActive', status: 'False', reason: 'FailedGetResourceMetric', message: `the HPA was unable to compute the replica count: ${r.problem}` });
      return writeStatus({ currentReplicas: current, desiredReplicas: current, ...(hpa.status?.lastScaleTime ? { lastScaleTime: hpa.status.lastScaleTime } : {}), conditions });
    }
    const key = hpa.metadata.uid!;
    const history = this.history.get(key) ?? [];
    const events = this.events.get(key) ?? [];
    const desired = current === 0 ? 0 : shape({ now, current, recommended: r.replicas, min, max, behavior: spec.behavior, history, events });
    // Recommendations are kept for the longest window that may read them (5 minutes by default, 1 hour at most).
    this.history.set(key, [...history.filter((h) => now - h.at < 3600_000), { at: now, replicas: Math.min(max, Math.max(min, r.replicas)) }]);
    conditions.push({ type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound', message: `the HPA was able to successfully calculate a replica count from ${metrics.map((m) => `${m.name} resource${m.target.type === 'Utilization' ? ' utilization (percentage of request)' : ''}`).join(', ')}` });
    const limited = r.replicas > max || r.replicas < min;
    conditions.push({ type: 'ScalingLimited', status: limited ? 'True' : 'False', reason: limited ? (r.replicas > max ? 'TooManyReplicas' : 'TooFewReplicas') : 'DesiredWithinRange', message: limited ? `the desired replica count is ${r.replicas > max ? 'more' : 'less'} than the ${r.replicas > max ? 'maximum' : 'minimum'} replica count` : 'the desired count is within the acceptable range' });
    let lastScaleTime = hpa.status?.lastScaleTime;
    if (desired !== current) {
      await this.client.patch(ref.kind, ns, ref.name, 'merge', { spec: { replicas: desired } });
      this.events.set(key, [...events.filter((e) => now - e.at < 3600_000), { at: now, change: desired - current }]);
      lastScaleTime = at;
      const why = r.current.map((c) => JSON.stringify((c as { resource?: unknown; containerResource?: unknown }).resource ?? (c as { containerResource?: unknown }).containerResource)).join(', ');
      this.recorder?.record(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${desired > current ? 'a metric above target' : 'All metrics below target'}`);
      this.log('scaled by the autoscaler', { hpa: `${ns}/${hpa.metadata.name}`, from: current, to: desired, metrics: why });
    }
    await writeStatus({ ...(lastScaleTime ? { lastScaleTime } : {}), currentReplicas: current, desiredReplicas: desired, currentMetrics: r.current, conditions });
  }
}
