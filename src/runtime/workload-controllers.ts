import { nameSuffix, podTemplateHash, sameTemplateIgnoringHash, templateHash } from './controller-context.js';

export { templateHash };
import { cloneJson } from '../manifest/clone.js';

/** What records an Event (an EventRecorder). */
type Recorder = { record(about: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void };
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import type { Client } from '../api/client.js';
import { PassLoop } from './pass-loop.js';
import { quotaUsage } from '../api/resource-limits.js';
import { schedule, selectedNodeAnnotation, type Decision } from './scheduler.js';
import { bindingFor } from './claim-binder.js';
import { availability, type ControllerContext } from './controller-context.js';
import { budgetStatus } from '../api/disruption.js';
import { reconcileStatefulSet } from './stateful-set-controller.js';
import { reconcileDaemonSet } from './daemon-set-controller.js';
import { reconcileJob } from './job-controller.js';
import { CronTimers, reconcileCronJob } from './cron-job-controller.js';

const revisionAnnotation = 'deployment.kubernetes.io/revision';

/**
 * The annotations a Deployment passes to its newest ReplicaSet, as Kubernetes' controller copies
 * them: all but kubectl's last applied configuration and the controller's own. kubectl rollout
 * undo writes a ReplicaSet's back into the Deployment, so what is not copied would be lost there.
 */
function copiedAnnotations(d: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (k === 'kubectl.kubernetes.io/last-applied-configuration' || k.startsWith('deployment.kubernetes.io/') || k === 'deprecated.deployment.rollback.to') continue;
    out[k] = v;
  }
  return out;
}

/** Whether a Node change matters to scheduling (not a heartbeat): its spec, labels, allocatable or Ready status. */
export function schedulingChanged(seen: Map<string, string>, type: string, node: KubeObject): boolean {
  const name = node.metadata.name;
  if (type === 'DELETED') {
    seen.delete(name);
    return true;
  }
  const ready = (node.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready')?.status;
  const signature = JSON.stringify([node.spec, node.metadata.labels, node.status?.allocatable, ready, node.metadata.annotations]);
  if (seen.get(name) === signature) return false;
  seen.set(name, signature);
  return true;
}


/** The kinds whose controllers run after the Deployments and ReplicaSets, in reconcileOthers. */
const otherKinds = ['StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController'];

function owner(o: KubeObject) {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

function ownedBy(o: KubeObject, parent: KubeObject): boolean {
  return (o.metadata.ownerReferences ?? []).some((r) => r.uid === parent.metadata.uid);
}

function isReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

function resolvePercent(value: number | string | undefined, total: number, roundUp: boolean): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const pct = Number(value.replace('%', '')) / 100;
  return roundUp ? Math.ceil(pct * total) : Math.floor(pct * total);
}

/**
 * The Deployment and ReplicaSet controllers and the scheduler, as one level-triggered pass. They
 * read the store and write through the API, the controllers as system:kube-controller-manager and
 * the scheduler as system:kube-scheduler, so every write passes admission like a user's.
 */
export class WorkloadControllers {
  private readonly loop: PassLoop;

  constructor(
    private readonly store: ObjectStore,
    private readonly client: Client,
    private readonly scheduler: Client,
    private readonly log: (msg: string, f?: Record<string, unknown>) => void = () => {},
    /** Events, by the component kubectl names: deployment-controller, replicaset-controller, default-scheduler... */
    private readonly events?: { deployment: Recorder; replicaSet: Recorder; scheduler: Recorder; statefulSet?: Recorder; daemonSet?: Recorder; job?: Recorder; cronJob?: Recorder },
    /** The scheduler's own log (kube-scheduler), apart from the controllers'. */
    private readonly schedulerLog: (msg: string, f?: Record<string, unknown>) => void = log,
  ) {
    this.loop = new PassLoop({ pass: () => this.pass(), onError: (err, ms) => this.log('controller pass failed; retrying', { err: err.message, retryInMs: ms }), resyncMs: 30_000, debounceMs: 50 });
  }

  start(): void {
    this.loop.start(this.store, (c) => this.enqueue(c.type, c.object));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.wakeTimer);
    await this.loop.stop();
    // After the last pass, which may have made a CronJob's task.
    this.timers.stop();
  }

  private stopped = false;
  private readonly timers = new CronTimers(() => this.kickOthers());
  private wakeTimer?: NodeJS.Timeout;
  private wakeAt = Infinity;

  private kickOthers(): void {
    this.queue.others = true;
    this.loop.kick();
  }

  /** A pass at a given time: a Job's deadline or TTL, a failed Pod's backoff. */
  private wake(at: number): void {
    if (this.stopped || at >= this.wakeAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeAt = Infinity;
      // A full pass: the Deployments too (minReadySeconds, progressDeadlineSeconds).
      this.queue.all = true;
      this.loop.kick();
    }, Math.max(0, at - Date.now()) + 50);
    this.wakeTimer.unref();
  }

  /** What the StatefulSet, DaemonSet, Job and CronJob controllers act through, with their own Events. */
  private context(recorder: Recorder | undefined): ControllerContext {
    return {
      list: (o) => this.list(o),
      create: (o) => this.create(o),
      update: (o) => this.update(o),
      remove: (o) => this.remove(o),
      writeStatus: async (o, status) => {
        if (JSON.stringify(status) === JSON.stringify(o.status)) return;
        const latest = this.store.get(o.kind, o.metadata.namespace, o.metadata.name);
        if (latest) await this.updateStatus({ ...latest, metadata: { ...latest.metadata, resourceVersion: undefined }, status });
      },
      event: (about, type, reason, message) => recorder?.record(about, type, reason, message),
      log: (msg, f) => this.log(msg, f),
      now: () => Date.now(),
      wakeAt: (at) => this.wake(at),
    };
  }

  /**
   * The objects to look at, by key, as client-go's workqueues hold them: a Deployment for its own
   * changes and its ReplicaSets', a ReplicaSet for its own and its Pods'. A pass with an empty
   * queue (the resync, a Node or Namespace change, a Pod with no owner) looks at everything.
   */
  private readonly queue = { deployments: new Set<string>(), replicaSets: new Set<string>(), others: false, all: false };

  private enqueue(type: string, o: KubeObject): boolean {
    const ns = o.metadata.namespace;
    const owner = (kind: string) => (o.metadata.ownerReferences ?? []).find((r) => r.controller && r.kind === kind)?.name;
    switch (o.kind) {
      case 'Deployment':
        this.queue.deployments.add(`${ns}/${o.metadata.name}`);
        return true;
      case 'ReplicaSet': {
        this.queue.replicaSets.add(`${ns}/${o.metadata.name}`);
        const d = owner('Deployment');
        if (d) this.queue.deployments.add(`${ns}/${d}`);
        return true;
      }
      case 'Pod': {
        const rs = owner('ReplicaSet');
        if (rs) this.queue.replicaSets.add(`${ns}/${rs}`);
        else if ((o.metadata.ownerReferences ?? []).some((r) => r.controller && otherKinds.includes(r.kind))) this.queue.others = true;
        return true;
      }
      case 'StatefulSet':
      case 'DaemonSet':
      case 'Job':
      case 'CronJob':
      case 'ReplicationController':
        this.queue.others = true;
        return true;
      case 'Node':
        return schedulingChanged(this.nodeSeen, type, o);
      case 'PersistentVolumeClaim':
        // A claim made, bound or gone may let a waiting Pod be scheduled, or a StatefulSet make it again.
        this.queue.others = true;
        return true;
      default:
        return ['Namespace', 'ServiceAccount', 'ResourceQuota'].includes(o.kind);
    }
  }

  /** What the scheduler last saw of each Node: a heartbeat alone changes nothing for it. */
  private readonly nodeSeen = new Map<string, string>();

  /**
   * Lists read in one pass, kept current with this controller's own writes (what others write
   * meanwhile kicks another pass): re-reading and re-parsing them after every write made a pass
   * over 50 Deployments quadratic.
   */
  private cache = new Map<string, KubeObject[]>();

  private list(options: { kind: string; namespace?: string }): KubeObject[] {
    const key = `${options.kind}/${options.namespace ?? '*'}`;
    let items = this.cache.get(key);
    if (!items) {
      items = this.store.list(options);
      this.cache.set(key, items);
    }
    return items;
  }

  /** Puts a written object into the cached lists it belongs to (or takes a deleted one out). */
  private remember(o: KubeObject, deleted = false): KubeObject {
    for (const [key, items] of this.cache) {
      const [kind, ns] = key.split('/');
      if (kind !== o.kind || (ns !== '*' && ns !== o.metadata.namespace)) continue;
      const i = items.findIndex((x) => x.metadata.uid === o.metadata.uid);
      if (deleted) {
        if (i >= 0) items.splice(i, 1);
      } else if (i >= 0) items[i] = o;
      else items.push(o);
    }
    return o;
  }

  private async create(o: KubeObject): Promise<KubeObject> {
    return this.remember(await this.client.create(o));
  }

  private async update(o: KubeObject): Promise<KubeObject> {
    return this.remember(await this.client.update(o));
  }

  private async updateStatus(o: KubeObject): Promise<KubeObject> {
    return this.remember(await this.client.updateStatus(o));
  }

  private async remove(o: KubeObject): Promise<void> {
    await this.client.delete(o.kind, o.metadata.namespace, o.metadata.name);
    this.remember(o, true);
  }

  async pass(): Promise<void> {
    this.cache.clear();
    const deployments = new Set(this.queue.deployments);
    const replicaSets = new Set(this.queue.replicaSets);
    const others = this.queue.others;
    const all = this.queue.all;
    this.queue.deployments.clear();
    this.queue.replicaSets.clear();
    this.queue.others = false;
    this.queue.all = false;
    const everything = all || (deployments.size === 0 && replicaSets.size === 0 && !others);
    const key = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
    for (const d of this.list({ kind: 'Deployment' })) {
      if (d.metadata.deletionTimestamp || (!everything && !deployments.has(key(d)))) continue;
      await this.reconcileDeployment(d).catch((err) => this.log('deployment reconcile failed', { deployment: d.metadata.name, err: (err as Error).message }));
    }
    for (const rs of this.list({ kind: 'ReplicaSet' })) {
      // A ReplicaSet its Deployment just changed is looked at in the same pass.
      if (rs.metadata.deletionTimestamp || (!everything && !replicaSets.has(key(rs)) && !this.queue.replicaSets.has(key(rs)))) continue;
      this.queue.replicaSets.delete(key(rs));
      await this.reconcileReplicaSet(rs).catch((err) => this.log('replica set reconcile failed', { replicaSet: rs.metadata.name, err: (err as Error).message }));
    }
    if (everything || others) await this.reconcileOthers();
    await this.updateBudgets();
    await this.schedule();
    // Every pass: a namespace applied with its Deployment gets its ServiceAccount at once.
    await this.ensureDefaultServiceAccounts();
    await this.updateQuotas();
  }

  /** The StatefulSets, DaemonSets, Jobs, CronJobs and ReplicationControllers, each by its controller. */
  private async reconcileOthers(): Promise<void> {
    const each = async (kind: string, recorder: Recorder | undefined, reconcile: (o: KubeObject, ctx: ControllerContext) => Promise<void>) => {
      const ctx = this.context(recorder);
      for (const o of this.list({ kind })) {
        await reconcile(o, ctx).catch((err) => this.log(`${kind} reconcile failed`, { name: `${o.metadata.namespace}/${o.metadata.name}`, err: (err as Error).message }));
      }
    };
    const cronJobs = this.list({ kind: 'CronJob' });
    this.timers.keep(new Set(cronJobs.map((c) => c.metadata.uid!)));
    await each('CronJob', this.events?.cronJob, (o, ctx) => reconcileCronJob(o, ctx, this.timers));
    await each('Job', this.events?.job, reconcileJob);
    await each('StatefulSet', this.events?.statefulSet, reconcileStatefulSet);
    await each('DaemonSet', this.events?.daemonSet, reconcileDaemonSet);
    await each('ReplicationController', this.events?.replicaSet, (o) => (o.metadata.deletionTimestamp ? Promise.resolve() : this.reconcileReplicaSet(o)));
  }

  /** Each PodDisruptionBudget's status, from the Pods it selects (the disruption controller). */
  private async updateBudgets(): Promise<void> {
    const budgets = this.list({ kind: 'PodDisruptionBudget' });
    if (budgets.length === 0) return;
    const ctx = this.context(undefined);
    for (const pdb of budgets) await ctx.writeStatus(pdb, budgetStatus(pdb, this.list({ kind: 'Pod', namespace: pdb.metadata.namespace })));
  }

  /** Each ResourceQuota's status: its hard limits and what its namespace uses of them. */
  private async updateQuotas(): Promise<void> {
    for (const q of this.list({ kind: 'ResourceQuota' })) {
      const used = quotaUsage(q, this.store.list({ namespace: q.metadata.namespace }));
      const shown = Object.fromEntries(Object.entries(used).map(([k, n]) => [k, k.includes('memory') ? `${Math.round(n / 2 ** 20)}Mi` : k.includes('cpu') ? `${Math.round(n * 1000)}m` : String(n)]));
      const status = { hard: q.spec.hard, used: shown };
      if (JSON.stringify(status) !== JSON.stringify(q.status)) await this.updateStatus({ ...q, metadata: { ...q.metadata, resourceVersion: undefined }, status });
    }
  }

  /** Every namespace has a ServiceAccount named default, as Kubernetes' ServiceAccount controller keeps. */
  private async ensureDefaultServiceAccounts(): Promise<void> {
    const have = new Set(this.list({ kind: 'ServiceAccount' }).filter((sa) => sa.metadata.name === 'default').map((sa) => sa.metadata.namespace));
    for (const ns of this.list({ kind: 'Namespace' })) {
      if (ns.metadata.deletionTimestamp || have.has(ns.metadata.name)) continue;
      await this.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns.metadata.name } }).catch((err) => this.log('cannot create the default ServiceAccount', { namespace: ns.metadata.name, err: (err as Error).message }));
    }
  }

  private async reconcileDeployment(d: KubeObject): Promise<void> {
    const ns = d.metadata.namespace!;
    const spec = d.spec;
    const hash = podTemplateHash(spec.template);
    const all = this.list({ kind: 'ReplicaSet', namespace: ns }).filter((rs) => ownedBy(rs, d));
    // The ReplicaSet of this template: by its hash, else by the template itself (a rollback's
    // template, written back by kubectl, may differ from the original in what JSON leaves out).
    let current = all.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash) ?? all.find((rs) => sameTemplateIgnoringHash(rs.spec.template, spec.template));
    const old = all.filter((rs) => rs !== current);
    const maxRevision = Math.max(0, ...all.map((rs) => Number(rs.metadata.annotations?.[revisionAnnotation] ?? 0)));
    const want: number = spec.replicas;
    const podsOf = (rs: KubeObject) => this.list({ kind: 'Pod', namespace: ns }).filter((p) => ownedBy(p, rs));
    // What a rolling update and the status count: Pods not being deleted (a Terminating one is on
    // its way out, as Kubernetes counts). Recreate waits for every old Pod to be gone.
    const activePodsOf = (rs: KubeObject) => podsOf(rs).filter((p) => !p.metadata.deletionTimestamp);

    if (spec.paused && (!current || old.some((rs) => rs.spec.replicas > 0))) {
      // kubectl rollout pause: a new template waits (no new ReplicaSet, no rollout) until resume.
      const progressing = { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' };
      const conditions = [...(d.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'Progressing'), progressing];
      if (JSON.stringify(conditions) !== JSON.stringify(d.status?.conditions) || d.status?.observedGeneration !== d.metadata.generation) {
        const latest = this.store.get('Deployment', ns, d.metadata.name);
        if (latest) await this.updateStatus({ ...latest, metadata: { ...latest.metadata, resourceVersion: undefined }, status: { ...latest.status, observedGeneration: d.metadata.generation, conditions } });
      }
      return;
    }

    const copied = copiedAnnotations(d);
    if (!current) {
      const template = cloneJson(spec.template);
      template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, 'pod-template-hash': hash } };
      current = await this.create({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: `${d.metadata.name}-${hash}`, namespace: ns, labels: { ...spec.template.metadata?.labels, 'pod-template-hash': hash }, annotations: { ...copied, [revisionAnnotation]: String(maxRevision + 1) }, ownerReferences: [owner(d)] },
        spec: { replicas: 0, selector: { matchLabels: { ...spec.selector.matchLabels, 'pod-template-hash': hash } }, template },
      });
    } else if (Number(current.metadata.annotations?.[revisionAnnotation] ?? 0) < maxRevision && old.some((rs) => rs.spec.replicas > 0)) {
      // A rollback to an older template: it becomes the newest revision again.
      current = await this.update({ ...current, metadata: { ...current.metadata, resourceVersion: undefined, annotations: { ...current.metadata.annotations, ...copied, [revisionAnnotation]: String(maxRevision + 1) } } });
    } else if (Object.entries(copied).some(([k, v]) => current!.metadata.annotations?.[k] !== v)) {
      // As Kubernetes: the newest ReplicaSet takes the Deployment's annotations as they change
      // (kubectl annotate ... kubernetes.io/change-cause after a kubectl set: rollout history shows it).
      current = await this.update({ ...current, metadata: { ...current.metadata, resourceVersion: undefined, annotations: { ...current.metadata.annotations, ...copied } } });
    }
    // The Deployment carries its newest revision, as Kubernetes writes it: kubectl rollout undo
    // replaces the annotations it read, and a JSON patch cannot replace what is not there.
    const revision = current.metadata.annotations?.[revisionAnnotation];
    if (revision !== undefined && d.metadata.annotations?.[revisionAnnotation] !== revision) {
      const latest = this.store.get('Deployment', ns, d.metadata.name);
      if (latest && latest.metadata.uid === d.metadata.uid) {
        await this.update({ ...latest, metadata: { ...latest.metadata, annotations: { ...latest.metadata.annotations, [revisionAnnotation]: revision } } }).catch((err: Error) => this.log('cannot write the revision of a Deployment; trying again', { deployment: d.metadata.name, err: err.message }));
      }
    }

    const setReplicas = async (rs: KubeObject, n: number) => {
      if (rs.spec.replicas === n) return rs;
      this.log('scaling replica set', { replicaSet: rs.metadata.name, from: rs.spec.replicas, to: n });
      this.events?.deployment.record(d, 'Normal', 'ScalingReplicaSet', `Scaled ${n > rs.spec.replicas ? 'up' : 'down'} replica set ${rs.metadata.name} from ${rs.spec.replicas} to ${n}`);
      return this.update({ ...rs, metadata: { ...rs.metadata, resourceVersion: undefined }, spec: { ...rs.spec, replicas: n } });
    };

    const oldPods = old.flatMap(podsOf);
    if (spec.strategy.type === 'Recreate') {
      for (const rs of old) await setReplicas(rs, 0);
      if (oldPods.length === 0) current = await setReplicas(current, want);
    } else {
      const surge = resolvePercent(spec.strategy.rollingUpdate?.maxSurge, want, true);
      const unavailable = Math.max(resolvePercent(spec.strategy.rollingUpdate?.maxUnavailable, want, false), surge === 0 ? 1 : 0);
      const newPods = activePodsOf(current);
      const activeOld = old.flatMap(activePodsOf);
      const oldTarget = old.reduce((n, rs) => n + rs.spec.replicas, 0);
      // Scale up the new ReplicaSet within maxSurge.
      const room = Math.max(0, want + surge - (current.spec.replicas + oldTarget));
      const newTarget = Math.min(want, current.spec.replicas + room);
      if (oldTarget === 0) current = await setReplicas(current, want);
      else current = await setReplicas(current, newTarget);
      // Scale down old ones while keeping want - maxUnavailable ready.
      // New Pods count once available (ready for minReadySeconds), as Kubernetes counts them.
      const readyNew = newPods.filter((p) => availability(p, spec.minReadySeconds ?? 0, Date.now()).available).length;
      const readyOld = activeOld.filter(isReady).length;
      let canRemove = Math.max(0, readyNew + readyOld - (want - unavailable));
      const notReadyOld = activeOld.filter((p) => !isReady(p)).length;
      canRemove += notReadyOld;
      for (const rs of old) {
        if (canRemove <= 0) break;
        const down = Math.min(canRemove, rs.spec.replicas);
        if (down > 0) {
          await setReplicas(rs, rs.spec.replicas - down);
          canRemove -= down;
        }
      }
    }
    // Revision history: keep revisionHistoryLimit old, scaled-down ReplicaSets.
    const idle = this.list({ kind: 'ReplicaSet', namespace: ns }).filter((rs) => ownedBy(rs, d) && rs.metadata.uid !== current!.metadata.uid && rs.spec.replicas === 0 && podsOf(rs).length === 0);
    idle.sort((a, b) => Number(a.metadata.annotations?.[revisionAnnotation] ?? 0) - Number(b.metadata.annotations?.[revisionAnnotation] ?? 0));
    for (const rs of idle.slice(0, Math.max(0, idle.length - spec.revisionHistoryLimit))) await this.remove(rs);

    const sets = this.list({ kind: 'ReplicaSet', namespace: ns }).filter((rs) => ownedBy(rs, d));
    const pods = sets.flatMap(activePodsOf);
    const updated = activePodsOf(current);
    const ready = pods.filter(isReady).length;
    // Available: ready for at least minReadySeconds (a Pod that just turned ready is not counted yet).
    const now = Date.now();
    // (and not restarted in the last 10 s: a crash-looping Pod is never counted).
    const states = pods.map((p) => availability(p, spec.minReadySeconds ?? 0, now));
    const available = states.filter((a) => a.available).length;
    for (const a of states) if (a.at) this.wake(a.at);
    const failing = updated.map((p) => (p.status?.containerStatuses ?? []).find((c: { state?: { waiting?: { reason?: string } } }) => c.state?.waiting?.reason && c.state.waiting.reason !== 'ContainerCreating')).find(Boolean) as { name: string; state: { waiting: { reason: string; message?: string } } } | undefined;
    const progressing = this.progress(d, current.metadata.name, { complete: updated.length >= want && pods.length === want && available >= want, signature: `${current.metadata.name}/${updated.length}/${available}/${pods.length}`, now, failing: failing ? `container ${failing.name}: ${failing.state.waiting.reason}${failing.state.waiting.message ? ` (${failing.state.waiting.message})` : ''}` : undefined });
    const status = {
      observedGeneration: d.metadata.generation,
      replicas: pods.length,
      updatedReplicas: updated.length,
      readyReplicas: ready,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, want - available),
      conditions: [
        { type: 'Available', status: available >= want - resolvePercent(spec.strategy.rollingUpdate?.maxUnavailable, want, false) ? 'True' : 'False', reason: available >= want ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', message: `${available} of ${want} replicas available` },
        progressing,
      ],
    };
    if (JSON.stringify(status) !== JSON.stringify(d.status)) {
      const latest = this.store.get('Deployment', ns, d.metadata.name);
      if (latest) await this.updateStatus({ ...latest, metadata: { ...latest.metadata, resourceVersion: undefined }, status });
    }
  }

  /** When each Deployment last made progress, and what its progress was then. */
  private readonly progressSeen = new Map<string, { signature: string; at: number }>();

  /**
   * The Progressing condition, as Kubernetes keeps it: True while the rollout moves (a ReplicaSet
   * scaled, a Pod turned available), NewReplicaSetAvailable once complete, and False with
   * ProgressDeadlineExceeded when nothing moved for progressDeadlineSeconds.
   */
  private progress(d: KubeObject, rs: string, p: { complete: boolean; signature: string; now: number; failing?: string }): Record<string, string> {
    const before = (d.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Progressing');
    const at = new Date(p.now).toISOString();
    if (p.complete) {
      this.progressSeen.delete(d.metadata.uid!);
      const since = before?.reason === 'NewReplicaSetAvailable' ? before.lastUpdateTime : at;
      return { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rs}" has successfully progressed.`, lastUpdateTime: since, lastTransitionTime: before?.status === 'True' ? (before.lastTransitionTime ?? since) : since };
    }
    // A rollout under way when serve restarted goes on from when it last moved; a new one (after a
    // complete one, or of another ReplicaSet) starts its clock now.
    const resumes = before !== undefined && before.reason !== 'NewReplicaSetAvailable' && String(before.message).includes(`"${rs}"`);
    const seen = this.progressSeen.get(d.metadata.uid!) ?? { signature: '', at: (resumes && Date.parse(before.lastUpdateTime ?? '')) || p.now };
    if (seen.signature !== p.signature) {
      if (seen.signature !== '') seen.at = p.now;
      seen.signature = p.signature;
      this.progressSeen.set(d.metadata.uid!, seen);
    }
    const deadline = (d.spec.progressDeadlineSeconds ?? 600) * 1000;
    const moved = new Date(seen.at).toISOString();
    if (p.now - seen.at >= deadline) {
      return { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rs}" has timed out progressing.${p.failing ? ` A Pod's ${p.failing}.` : ''}`, lastUpdateTime: moved, lastTransitionTime: before?.status === 'False' ? (before.lastTransitionTime ?? at) : at };
    }
    this.wake(seen.at + deadline);
    return { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rs}" is progressing.`, lastUpdateTime: moved, lastTransitionTime: before?.status === 'True' ? (before.lastTransitionTime ?? moved) : moved };
  }

  private async reconcileReplicaSet(rs: KubeObject): Promise<void> {
    const ns = rs.metadata.namespace!;
    // A Pod being deleted no longer counts: its replacement starts while it stops, as Kubernetes does.
    const pods = this.list({ kind: 'Pod', namespace: ns }).filter((p) => ownedBy(p, rs) && !p.metadata.deletionTimestamp);
    const want: number = rs.spec.replicas;
    for (let i = pods.length; i < want; i++) {
      const template = rs.spec.template;
      const name = `${rs.metadata.name}-${nameSuffix()}`;
      await this.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: template.metadata?.labels, annotations: template.metadata?.annotations, ownerReferences: [owner(rs)] }, spec: cloneJson(template.spec) });
      this.events?.replicaSet.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`);
    }
    if (pods.length > want) {
      // Remove the least useful first: unscheduled, then not ready, then the newest.
      const ranked = [...pods].sort((a, b) => Number(!!a.spec.nodeName) - Number(!!b.spec.nodeName) || Number(isReady(a)) - Number(isReady(b)) || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
      for (const p of ranked.slice(0, pods.length - want)) {
        await this.remove(p);
        this.events?.replicaSet.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      }
    }
    const now = this.list({ kind: 'Pod', namespace: ns }).filter((p) => ownedBy(p, rs) && !p.metadata.deletionTimestamp);
    const ready = now.filter(isReady).length;
    const states = now.map((p) => availability(p, rs.spec.minReadySeconds ?? 0, Date.now()));
    for (const a of states) if (a.at) this.wake(a.at);
    const status = { replicas: now.length, readyReplicas: ready, availableReplicas: states.filter((a) => a.available).length, fullyLabeledReplicas: now.length, observedGeneration: rs.metadata.generation };
    if (JSON.stringify(status) !== JSON.stringify(rs.status)) {
      const latest = this.store.get(rs.kind, ns, rs.metadata.name);
      if (latest) await this.updateStatus({ ...latest, metadata: { ...latest.metadata, resourceVersion: undefined }, status });
    }
  }

  /** A Pod that fits nowhere says why in its PodScheduled condition, as kube-scheduler writes it (kubectl describe, kubectl wait). */
  private async markUnschedulable(p: KubeObject, message: string, reason = 'Unschedulable'): Promise<void> {
    const before = (p.status?.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled');
    if (before?.status === 'False' && before.message === message && before.reason === reason) return;
    const condition = { type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: before?.status === 'False' ? before.lastTransitionTime : new Date().toISOString(), reason, message };
    const conditions = [...(p.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled'), condition];
    await this.scheduler.patch('Pod', p.metadata.namespace!, p.metadata.name, 'merge', { status: { phase: p.status?.phase ?? 'Pending', conditions } }, { subresource: 'status' }).catch((err: Error) => this.schedulerLog('cannot write why a Pod is not scheduled', { pod: p.metadata.name, err: err.message }));
  }

  /**
   * A Pod that fits nowhere: the Pods of lower priority chosen for it are deleted (gracefully, each
   * told why in a Preempted event), and the node it waits on is its status.nominatedNodeName
   * (kubectl get pods -o wide shows it) until it is bound there.
   */
  private async preempt(d: Decision): Promise<void> {
    const p = d.pod;
    const node = d.preempt?.node ?? d.nominated;
    if (!node) return;
    for (const v of d.preempt?.victims ?? []) {
      this.events?.scheduler.record(v, 'Normal', 'Preempted', `Preempted by pod ${p.metadata.uid} on node ${node}`);
      this.schedulerLog('preempting a Pod of lower priority', { victim: `${v.metadata.namespace}/${v.metadata.name}`, for: `${p.metadata.namespace}/${p.metadata.name}`, node });
      await this.scheduler.delete('Pod', v.metadata.namespace, v.metadata.name).catch((err: Error) => this.schedulerLog('cannot preempt a Pod', { pod: v.metadata.name, err: err.message }));
    }
    if (p.status?.nominatedNodeName === node) return;
    await this.scheduler.patch('Pod', p.metadata.namespace!, p.metadata.name, 'merge', { status: { nominatedNodeName: node } }, { subresource: 'status' }).catch((err: Error) => this.schedulerLog('cannot nominate a node', { pod: p.metadata.name, node, err: err.message }));
  }

  /** Binds each unscheduled Pod to a node, as kube-scheduler filters and scores (see scheduler.ts). */
  private async schedule(): Promise<void> {
    const pods = this.list({ kind: 'Pod' });
    if (!pods.some((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp)) return;
    const claims = new Map(this.store.list({ kind: 'PersistentVolumeClaim' }).map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c]));
    const claimProblem = (ns: string, name: string): string | undefined => {
      const claim = claims.get(`${ns}/${name}`);
      if (!claim) return `persistentvolumeclaim "${name}" not found`;
      if (claim.metadata.deletionTimestamp) return `persistentvolumeclaim "${name}" is being deleted`;
      if (claim.status?.phase === 'Bound') return undefined;
      // Unbound: a claim of Gouvernail's provisioner is bound on its first Pod's node (WaitForFirstConsumer); any other waits for its volume.
      const binding = bindingFor(claim, this.store.list({ kind: 'PersistentVolume' }), this.store.list({ kind: 'StorageClass' }));
      if (binding.kind === 'dynamic') return undefined;
      return binding.kind === 'static' ? 'pod has unbound immediate PersistentVolumeClaims' : `persistentvolumeclaim "${name}" is not bound: ${binding.message}`;
    };
    const decisions = schedule({ nodes: this.store.list({ kind: 'Node' }), pods, namespaces: this.store.list({ kind: 'Namespace' }), budgets: this.store.list({ kind: 'PodDisruptionBudget' }), claimNode: (ns, name) => claims.get(`${ns}/${name}`)?.metadata.annotations?.[selectedNodeAnnotation], claimProblem });
    for (const d of decisions) {
      const p = d.pod;
      const node = d.node;
      if (d.gated) {
        // As kube-scheduler: no event, the condition says it (kubectl get pods: SchedulingGated).
        await this.markUnschedulable(p, d.message!, 'SchedulingGated');
        continue;
      }
      if (!node) {
        this.events?.scheduler.record(p, 'Warning', 'FailedScheduling', d.message!);
        await this.markUnschedulable(p, d.message!);
        await this.preempt(d);
        continue;
      }
      await this.scheduler.bind(p.metadata.namespace!, p.metadata.name, node).then(
        () => {
          this.events?.scheduler.record(p, 'Normal', 'Scheduled', `Successfully assigned ${p.metadata.namespace}/${p.metadata.name} to ${node}`);
          this.schedulerLog('Successfully bound pod to node', { pod: `${p.metadata.namespace}/${p.metadata.name}`, node });
        },
        (err) => this.schedulerLog('cannot bind a Pod', { pod: p.metadata.name, node, err: (err as Error).message }),
      );
      // A claim's local volume lives on the node of the first Pod that uses it, and pins the others there.
      for (const v of p.spec.volumes ?? []) {
        const claim = v.persistentVolumeClaim?.claimName ? claims.get(`${p.metadata.namespace}/${v.persistentVolumeClaim.claimName}`) : undefined;
        if (!claim || claim.metadata.annotations?.[selectedNodeAnnotation]) continue;
        claim.metadata.annotations = { ...claim.metadata.annotations, [selectedNodeAnnotation]: node };
        await this.scheduler.patch('PersistentVolumeClaim', claim.metadata.namespace!, claim.metadata.name, 'merge', { metadata: { annotations: { [selectedNodeAnnotation]: node } } }).catch((err: Error) => this.schedulerLog('cannot pin a claim to its node', { claim: claim.metadata.name, node, err: err.message }));
      }
    }
  }
}
