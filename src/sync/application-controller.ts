import { isHook } from '../manifest/hook-phases.js';
import type { FSWatcher } from 'chokidar';
import path from 'node:path';
import { applyManifests, ApplyError, instanceLabel } from '../apply/apply.js';
import { inventoryKeys, inventoryNamespace, inventoryObjectName } from '../apply/inventory.js';
import { InProcessClient } from '../api/client.js';
import { serviceAccountIdentity } from '../api/identity.js';
import { assessHealth, type Health } from '../health/health.js';
import { hasErrors, parseSnapshot } from '../manifest/load.js';
import { parseDuration } from '../manifest/names.js';
import { formatProblem, type Problem } from '../manifest/problems.js';
import { keyOf, parseKey } from '../manifest/keys.js';
import type { KubeObject, Manifest } from '../manifest/types.js';
import { plan } from '../apply/plan.js';
import { planGraph, type PlanGraph } from '../apply/plan-graph.js';
import { autoscaledKeys, specBesideReplicas, withAutoscaledReplicas } from '../apply/autoscaled.js';
import type { ObjectStore } from '../store/object-store.js';
import { readFolderSnapshot, watchFolder, type Snapshot } from './folder-source.js';
import { defaultSourceLimits, type SourceLimits } from '../manifest/read-folder.js';
import { minimumSyncIntervalMs } from '../manifest/kinds.js';
import { diff, type DiffResult } from '../diff/diff.js';
import { recordEvent } from './events.js';
import { fetchGitRevision, redactUrl, type GitRevision, type GitSourceSpec } from './git-source.js';
import { HostedRepos } from './hosted-repos.js';
import { SyncQueue } from './sync-queue.js';
import { ControllerState } from '../store/controller-state.js';
import { createHash } from 'node:crypto';

interface Source {
  generation: number;
  watcher?: FSWatcher;
  timer?: NodeJS.Timeout;
}

export interface HistoryEntry {
  revision: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  result: 'Succeeded' | 'Failed';
  message: string;
}

/**
 * Keeps each Application's objects in line with its source: folder events and the poll interval
 * enqueue a sync; a sync reads the whole revision, validates and plans it before anything is
 * applied, then applies it wave by wave through the API, labelled with the Application's name.
 */
export class ApplicationController {
  private readonly sources = new Map<string, Source>();
  /** What each Application applied last, to show the diff of drift; kept in the store. */
  private readonly state: ControllerState;
  /** Syncs interrupted by a restart, resumed after the last wave they wrote: key -> revision and wave. */
  private readonly resumes = new Map<string, { revision: string; wave: number }>();
  /**
   * What each object of an Application was seen as last, to tell spec changes from status: its
   * generation, or for an object an autoscaler scales its spec beside the replicas (the
   * autoscaler's, not drift).
   */
  private readonly generations = new Map<string, string>();
  /** The branch tip each Git Application saw last, to tell when a new commit arrives. */
  private readonly tips = new Map<string, string>();
  private readonly queue: SyncQueue;
  private unwatch?: () => void;
  /** Bounds on each source as a whole (serve --max-source-bytes, --max-source-files). */
  sourceLimits: SourceLimits = defaultSourceLimits;
  /** Called at the end of every sync, for metrics. */
  onSyncFinished?: (result: HistoryEntry['result'], seconds: number) => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly client: InProcessClient,
    private readonly log: (msg: string, f?: Record<string, unknown>) => void = () => {},
    private readonly baseDir = process.cwd(),
    /** Where Git sources are cached. */
    private readonly gitCache = path.join(baseDir, '.gouvernail-git'),
    private readonly hosted?: HostedRepos,
    /** The server's URL, for the push address shown to people. */
    private readonly serverUrl = '',
  ) {
    this.queue = new SyncQueue((key) => this.sync(key));
    this.state = new ControllerState(store.db);
  }

  start(): void {
    this.unwatch = this.store.watch(this.store.resourceVersion(), (c) => {
      if (c.object.kind === 'Application') this.reconcileSource(c.object, c.type === 'DELETED');
      else this.noticeDrift(c.object, c.type);
    });
    for (const app of this.store.list({ kind: 'Application' })) {
      const op = app.status?.operation;
      if (op?.phase === 'Running') {
        // Killed in the middle of a sync: it is resumed, from the wave after the last one written.
        const key = `${app.metadata.namespace}/${app.metadata.name}`;
        if (op.revision) this.resumes.set(key, { revision: op.revision, wave: op.wavesApplied ?? 0 });
        this.forced.add(key);
        this.log('resuming a sync interrupted by a restart', { application: key, revision: op.revision, afterWave: op.wavesApplied ?? 0 });
      }
      this.reconcileSource(app, false);
      // Resumed even when not automated: someone asked for that sync.
      if (op?.phase === 'Running') this.queue.enqueue(`${app.metadata.namespace}/${app.metadata.name}`);
    }
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    this.queue.stop();
    for (const s of this.sources.values()) {
      await s.watcher?.close();
      if (s.timer) clearInterval(s.timer);
    }
    this.sources.clear();
    await this.queue.idle();
  }

  /**
   * A sync, now. By hand (the API's sync, `gouvernail app sync`) it applies even a revision already
   * applied; from a webhook or a push, only a new revision (or any, with selfHeal).
   */
  syncNow(namespace: string, name: string, byHand = true): void {
    if (byHand) this.forced.add(`${namespace}/${name}`);
    this.queue.enqueue(`${namespace}/${name}`);
  }

  /** Applications asked to sync by hand (or resumed): they apply even an applied revision. */
  private readonly forced = new Set<string>();

  queueDepth(): number {
    return this.queue.depth();
  }

  private reconcileSource(app: KubeObject, deleted: boolean): void {
    const key = `${app.metadata.namespace}/${app.metadata.name}`;
    const current = this.sources.get(key);
    if (current && (deleted || current.generation !== app.metadata.generation)) {
      void current.watcher?.close();
      if (current.timer) clearInterval(current.timer);
      this.sources.delete(key);
    }
    if (deleted) {
      // Its record of what it applied goes with it: an Application made again starts afresh.
      this.state.delete(`desired/${key}`);
      this.desired.delete(key);
      this.graphs.delete(key);
    }
    if (deleted || this.sources.has(key)) return;
    const source: Source = { generation: app.metadata.generation ?? 1 };
    this.sources.set(key, source);
    const policy = app.spec.syncPolicy ?? {};
    if (policy.automated !== false) {
      if (!app.spec.source.repoURL && !app.spec.source.hosted) source.watcher = watchFolder(this.folderOf(app), () => this.queue.enqueue(key));
      // Stored before the minimum existed, a shorter interval is taken as the minimum.
      const every = Math.max(minimumSyncIntervalMs, parseDuration(policy.interval ?? '3m') ?? 180_000);
      source.timer = setInterval(() => this.queue.enqueue(key), every * (0.9 + Math.random() * 0.2));
      this.queue.enqueue(key);
    }
  }

  private folderOf(app: KubeObject): string {
    return path.resolve(this.baseDir, app.spec.source.path ?? '.');
  }

  /** One sync of one Application; false asks the queue to retry with backoff. */
  private async sync(key: string): Promise<boolean> {
    const [namespace, name] = key.split('/') as [string, string];
    const app = this.store.get('Application', namespace, name);
    if (!app) return true;
    const startedAt = new Date();
    let snapshot: Snapshot;
    let dir: string;
    if (app.spec.source.hosted) {
      const repo = this.hosted?.ensure(namespace, name);
      const pushTo = `${this.serverUrl}${HostedRepos.urlPath(namespace, name)}`;
      dir = pushTo;
      try {
        if (!repo) throw new Error('this server hosts no repositories');
        snapshot = await this.fetchPinned(app, { ...app.spec.source, repoURL: repo });
      } catch {
        const message = `waiting for the first push: git push ${pushTo} ${app.spec.source.targetRevision ?? 'main'} (the password is the admin token of the kubeconfig)`;
        if (app.status?.operation?.message !== message) this.setStatus(app, { waiting: message });
        return true;
      }
    } else if (app.spec.source.repoURL) {
      dir = redactUrl(app.spec.source.repoURL);
      try {
        snapshot = await this.fetchPinned(app, this.withSecret(app));
      } catch (err) {
        // Never a reason to delete anything: the last applied revision keeps running.
        const message = `${(err as Error).message}; the last applied revision keeps running, and the fetch is retried`;
        this.log('fetch failed', { application: key, err: message });
        this.finish(app, app.status?.lastAttemptedRevision ?? '', startedAt, 'Failed', message, { degraded: message, keepHealth: true });
        return false;
      }
    } else {
      dir = this.folderOf(app);
      snapshot = await readFolderSnapshot(dir, this.sourceLimits);
    }
    const selfHeal = app.spec.syncPolicy?.selfHeal === true;
    if (!this.forced.has(key) && !selfHeal && snapshot.revision === app.status?.lastAppliedRevision) {
      // The revision is applied already: what differs now is drift, which only selfHeal (or a
      // sync asked for by hand) puts back. It stays reported as OutOfSync.
      this.setStatus(app, { checked: true });
      return true;
    }
    const set = parseSnapshot(snapshot.files, undefined, snapshot.base);
    const problems: Problem[] = [...snapshot.problems, ...set.problems].filter((p) => p.severity === 'error');
    const resume = this.resumes.get(key);
    this.resumes.delete(key);
    const resumeAfterWave = resume?.revision === snapshot.revision ? resume.wave : undefined;
    this.setStatus(app, { attempted: snapshot.revision, reconciling: resumeAfterWave ? `resuming revision ${snapshot.revision} after wave ${resumeAfterWave}, where a restart interrupted it` : `syncing revision ${snapshot.revision}`, wavesApplied: resumeAfterWave ?? 0 });
    if (problems.length > 0 || hasErrors(set.problems)) {
      const message = `revision ${snapshot.revision} is invalid; nothing from it was applied: ${problems.map(formatProblem).join('; ')}`;
      this.log('sync refused', { application: key, revision: snapshot.revision, errors: problems.length });
      this.finish(app, snapshot.revision, startedAt, 'Failed', message, { stalled: message });
      return true;
    }
    const inventory = `app:${key}`;
    const hadObjects = inventoryKeys(this.store.get('ConfigMap', inventoryNamespace, inventoryObjectName(inventory))).length > 0;
    if (set.manifests.length === 0 && hadObjects && !app.spec.syncPolicy?.allowEmpty) {
      const message = `the source ${dir} has no manifests; nothing was pruned (set spec.syncPolicy.allowEmpty: true to empty the Application on purpose)`;
      this.finish(app, snapshot.revision, startedAt, 'Failed', message, { stalled: message });
      return true;
    }
    // A field not acted on, a guess the plan could not make: applied all the same, and said where
    // the user of a watched folder or a repository sees it (the Application's status, an Event, the log).
    const warnings = set.problems.filter((p) => p.severity === 'warning').map(formatProblem);
    try {
      let lastProgress = 0;
      let pending: string | undefined;
      let trailing: NodeJS.Timeout | undefined;
      let finished = false;
      // With spec.serviceAccountName the objects are written as that ServiceAccount (impersonated,
      // as Flux does), so a team's repository reaches only what its ServiceAccount may.
      const sa = app.spec.serviceAccountName as string | undefined;
      const writer = sa ? new InProcessClient(this.client.api, serviceAccountIdentity(namespace, sa)) : this.client;
      await applyManifests(writer, set.manifests, {
        inventoryClient: this.client,
        inventory,
        instance: name,
        prune: app.spec.syncPolicy?.prune ?? false,
        wait: true,
        waveTimeoutMs: parseDuration(app.spec.syncPolicy?.timeout ?? '5m') ?? 300_000,
        resumeAfterWave,
        // How far the sync got is in the store: a restart resumes after the last wave written.
        waveApplied: (wave) => this.setStatus(this.store.get('Application', namespace, name) ?? app, { attempted: snapshot.revision, reconciling: `revision ${snapshot.revision}: wave ${wave} written`, wavesApplied: wave }),
        // The plan's warnings (a reference to nothing, a host with no Service) go with the manifests'.
        warning: (p) => warnings.push(formatProblem(p)),
        progress: (line) => {
          if (!line.startsWith('wave')) return;
          // At most one status write per 200 ms, and the last line is always written.
          pending = line;
          if (trailing) return;
          const write = () => {
            trailing = undefined;
            if (pending === undefined || finished) return;
            lastProgress = Date.now();
            this.setStatus(this.store.get('Application', namespace, name) ?? app, { attempted: snapshot.revision, reconciling: pending });
            pending = undefined;
          };
          const wait = 200 - (Date.now() - lastProgress);
          if (wait <= 0) write();
          else trailing = setTimeout(write, wait);
        },
      }).finally(() => {
        finished = true;
        if (trailing) clearTimeout(trailing);
      });
      const latest = this.store.get('Application', namespace, name) ?? app;
      const pin = latest.metadata.annotations?.[pinnedRevision] ? ` (pinned by a rollback until a new commit arrives or 'gouvernail app resume ${name}')` : '';
      this.setDesired(key, set.manifests.filter((m) => !isHook(m.object)).map((m) => maskSecret({ ...m.object, metadata: { ...m.object.metadata, labels: { ...m.object.metadata.labels, [instanceLabel]: name } } })));
      const resumed = resumeAfterWave ? ` (resumed after wave ${resumeAfterWave}, where a restart interrupted it)` : '';
      if (warnings.length > 0) {
        const shown = warnings.slice(0, 5).join('; ');
        recordEvent(this.client, latest, 'Warning', 'ManifestWarnings', `revision ${snapshot.revision} was applied with ${warnings.length} warning${warnings.length > 1 ? 's' : ''}: ${shown}${warnings.length > 5 ? `; and ${warnings.length - 5} more (kubectl get application ${name} -n ${namespace} -o yaml lists them)` : ''}`);
        for (const warning of warnings.slice(0, 20)) this.log('manifest warning', { application: key, revision: snapshot.revision, warning });
      }
      this.finish(latest, snapshot.revision, startedAt, 'Succeeded', `revision ${snapshot.revision} applied${resumed}${pin}`, { applied: snapshot.revision, commit: (snapshot as Partial<GitRevision>).commit, objects: set.manifests.filter((m) => !isHook(m.object)).map((m) => keyOf(m.object)), warnings });
      this.log('synced', { application: key, revision: snapshot.revision, objects: set.manifests.length, warnings: warnings.length, ms: Date.now() - startedAt.getTime() });
      return true;
    } catch (err) {
      let message = (err as Error).message;
      const latest = this.store.get('Application', namespace, name) ?? app;
      const back = err instanceof ApplyError && latest.spec.syncPolicy?.autoRollback ? this.autoRollbackTarget(latest, snapshot.revision) : undefined;
      if (back) {
        message = `autoRollback: revision ${snapshot.revision} did not become healthy (${message}); rolled back to ${back}, the last healthy revision, until a new commit arrives`;
        this.finish(latest, snapshot.revision, startedAt, 'Failed', message, { degraded: message });
        this.log('auto rollback', { application: key, revision: snapshot.revision, to: back });
        this.rollback(namespace, name, back);
        return true;
      }
      if (err instanceof ApplyError && err.refused) {
        // An object the API refuses (Pod Security, RBAC, validation) stalls the revision: the
        // source must change; the next commit or save tries again.
        this.finish(latest, snapshot.revision, startedAt, 'Failed', message, { stalled: message });
        this.log('sync refused by the API; waiting for a change of the source', { application: key, revision: snapshot.revision, err: message });
        return true;
      }
      this.finish(latest, snapshot.revision, startedAt, 'Failed', message, { degraded: message });
      this.log('sync failed; will retry', { application: key, revision: snapshot.revision, err: message });
      return false;
    }
  }

  /** The last revision that synced healthy, other than the one that just failed (Git sources only). */
  private autoRollbackTarget(app: KubeObject, failed: string): string | undefined {
    if (!app.spec.source.repoURL && !app.spec.source.hosted) return undefined;
    return (app.status?.history ?? []).find((h: HistoryEntry) => h.result === 'Succeeded' && h.revision !== failed)?.revision;
  }

  /**
   * Self-heal: a change to an object of an Application made outside its syncs (kubectl edit,
   * delete) is drift. With selfHeal the Application syncs again; without, it shows OutOfSync.
   */
  private noticeDrift(o: KubeObject, type: string): void {
    const instance = o.metadata.labels?.[instanceLabel];
    if (!instance) return;
    const objectKey = keyOf(o);
    const autoscaled = type !== 'DELETED' && o.spec?.replicas !== undefined && autoscaledKeys(this.store.list({ kind: 'HorizontalPodAutoscaler', namespace: o.metadata.namespace })).has(objectKey);
    const seen = autoscaled ? specBesideReplicas(o) : String(o.metadata.generation ?? 0);
    const before = this.generations.get(objectKey);
    this.generations.set(objectKey, seen);
    if (type !== 'DELETED' && (before === undefined || before === seen)) return;
    const app = this.store.list({ kind: 'Application' }).find((a) => a.metadata.name === instance);
    if (!app) return;
    const key = `${app.metadata.namespace}/${app.metadata.name}`;
    if (this.queue.isRunning(key)) return;
    if (app.spec.syncPolicy?.selfHeal) {
      this.log('drift: syncing again (selfHeal)', { application: key, object: objectKey });
      this.queue.enqueue(key);
    } else {
      const s = structuredClone(app.status ?? {});
      s.sync = { status: 'OutOfSync', revision: s.lastAppliedRevision, message: `${objectKey} was ${type === 'DELETED' ? 'deleted' : 'changed'} outside the source; sync to put it back (or set selfHeal)` };
      this.write(this.client.updateStatus({ ...app, metadata: { ...app.metadata, resourceVersion: undefined }, status: s }));
    }
    recordEvent(this.client, app, 'Warning', 'Drift', `${objectKey} was ${type === 'DELETED' ? 'deleted' : 'changed'} outside the source${app.spec.syncPolicy?.selfHeal ? '; syncing again (selfHeal)' : ''}`);
  }

  /**
   * The branch's tip, unless a rollback pinned the Application to an older revision: then that
   * revision, until a new commit arrives on the branch (the pin is dropped) or `app resume`.
   */
  private async fetchPinned(app: KubeObject, spec: GitSourceSpec): Promise<GitRevision> {
    const tip = await fetchGitRevision(spec, this.gitCache, this.sourceLimits);
    this.tips.set(`${app.metadata.namespace}/${app.metadata.name}`, tip.revision);
    const annotations = app.metadata.annotations ?? {};
    const pinned = annotations[pinnedRevision];
    if (!pinned) return tip;
    if (tip.revision !== annotations[pinnedAtTip]) {
      this.log('a new commit arrived: the rollback pin is dropped', { application: `${app.metadata.namespace}/${app.metadata.name}`, tip: tip.revision });
      const latest = this.store.get('Application', app.metadata.namespace, app.metadata.name)!;
      const { [pinnedRevision]: _a, [pinnedAtTip]: _b, ...rest } = latest.metadata.annotations ?? {};
      this.write(this.client.update({ ...latest, metadata: { ...latest.metadata, resourceVersion: undefined, annotations: rest } }));
      return tip;
    }
    return fetchGitRevision({ ...spec, targetRevision: pinned }, this.gitCache, this.sourceLimits);
  }

  /**
   * The difference between what an Application applied last and what runs now, secrets masked;
   * undefined when it has never synced.
   */
  drift(namespace: string, name: string): DiffResult | undefined {
    const desired = this.desiredOf(`${namespace}/${name}`);
    if (!desired) return undefined;
    const found = desired.map((o) => this.store.get(o.kind, o.metadata.namespace, o.metadata.name));
    const autoscaled = autoscaledKeys([...desired, ...this.store.list({ kind: 'HorizontalPodAutoscaler' })]);
    const compared = desired.map((o, i) => withAutoscaledReplicas(o, found[i], autoscaled));
    return diff(compared, found.filter((o): o is KubeObject => !!o).map(maskSecret));
  }

  /**
   * What a revision (a branch, tag or commit) would change in a running Application, without
   * applying anything: created, changed field by field, pruned (with prune on), Secrets masked.
   */
  async preview(namespace: string, name: string, revision: string | undefined): Promise<Preview> {
    const app = this.store.get('Application', namespace, name);
    if (!app) throw new PreviewError(404, `applications.gouvernail.io "${name}" not found`);
    let snapshot: Snapshot;
    if (app.spec.source.hosted || app.spec.source.repoURL) {
      const repoURL = app.spec.source.hosted ? this.hosted?.ensure(namespace, name) : undefined;
      if (app.spec.source.hosted && !repoURL) throw new PreviewError(409, 'this server hosts no repositories');
      const spec = app.spec.source.hosted ? { ...app.spec.source, repoURL: repoURL! } : this.withSecret(app);
      try {
        snapshot = await fetchGitRevision({ ...spec, targetRevision: revision ?? spec.targetRevision }, this.gitCache, this.sourceLimits);
      } catch (err) {
        throw new PreviewError(422, `${(err as Error).message}; name a branch, tag or commit of the Application's repository`);
      }
    } else {
      if (revision) throw new PreviewError(400, `${name} follows a folder, which has only its present content; leave out the revision`);
      snapshot = await readFolderSnapshot(this.folderOf(app), this.sourceLimits);
    }
    const set = parseSnapshot(snapshot.files, undefined, snapshot.base);
    const problems = [...snapshot.problems, ...set.problems].filter((p) => p.severity === 'error').map(formatProblem);
    const commit = (snapshot as Partial<GitRevision>).commit;
    if (problems.length > 0) return { revision: snapshot.revision, commit, problems };
    const desired = set.manifests.filter((m) => !isHook(m.object)).map((m) => ({ ...m.object, metadata: { ...m.object.metadata, labels: { ...m.object.metadata.labels, [instanceLabel]: name } } }));
    const inventory = new Set(inventoryKeys(this.store.get('ConfigMap', inventoryNamespace, inventoryObjectName(`app:${namespace}/${name}`))));
    const prunable = app.spec.syncPolicy?.prune ? inventory : new Set<string>();
    const live: KubeObject[] = [];
    for (const key of new Set([...desired.map(keyOf), ...prunable])) {
      const { kind, namespace: ns, name: n } = parseKey(key);
      const o = this.store.get(kind, ns || undefined, n);
      if (o) live.push(o);
    }
    const autoscaled = autoscaledKeys([...desired, ...this.store.list({ kind: 'HorizontalPodAutoscaler' })]);
    const compared = desired.map((o) => withAutoscaledReplicas(o, this.store.get(o.kind, o.metadata.namespace, o.metadata.name), autoscaled));
    return { revision: snapshot.revision, commit, problems: [], diff: diff(compared, live, prunable) };
  }

  /** The plan of what the Application applied last, as a graph (the status page draws it). */
  graph(namespace: string, name: string): PlanGraph | undefined {
    const key = `${namespace}/${name}`;
    const cached = this.graphs.get(key);
    if (cached) return cached;
    const desired = this.desiredOf(key);
    if (!desired) return undefined;
    const manifests: Manifest[] = desired.map((object) => ({ object, source: { file: '(applied)', document: 0, line: 1, column: 1 }, locate: () => ({ line: 1, column: 1 }) }));
    const graph = planGraph(plan(manifests, { existing: new Set(desired.map(keyOf)) }));
    this.graphs.set(key, graph);
    return graph;
  }

  /**
   * What an Application applied last: kept in the store (a restart keeps it), read from memory
   * after the first time (the status page asks on every change it shows).
   */
  private readonly desired = new Map<string, KubeObject[]>();
  private readonly graphs = new Map<string, PlanGraph>();

  private desiredOf(key: string): KubeObject[] | undefined {
    let found = this.desired.get(key);
    if (!found) {
      found = this.state.get<KubeObject[]>(`desired/${key}`);
      if (found) this.desired.set(key, found);
    }
    return found;
  }

  private setDesired(key: string, objects: KubeObject[]): void {
    this.state.set(`desired/${key}`, objects);
    this.desired.set(key, objects);
    this.graphs.delete(key);
  }

  /** Pins the Application to an applied revision (the one before the current, by default). */
  rollback(namespace: string, name: string, revision?: string): string {
    const app = this.store.get('Application', namespace, name);
    if (!app) throw new Error(`applications.gouvernail.io "${name}" not found`);
    if (!app.spec.source.repoURL && !app.spec.source.hosted) throw new Error('only Git sources keep revisions to go back to; a folder has only its present content');
    const applied: string[] = (app.status?.history ?? []).filter((h: HistoryEntry) => h.result === 'Succeeded').map((h: HistoryEntry) => h.revision);
    const current = app.status?.lastAppliedRevision;
    const target = revision ? applied.find((r) => r.startsWith(revision)) : applied.find((r) => r !== current);
    if (!target) throw new Error(revision ? `revision ${revision} is not in the history of ${name}; see 'gouvernail app history ${name}'` : `${name} has no earlier applied revision to go back to`);
    const tip = this.tips.get(`${namespace}/${name}`) ?? current;
    this.write(this.client.update({ ...app, metadata: { ...app.metadata, resourceVersion: undefined, annotations: { ...app.metadata.annotations, [pinnedRevision]: target, [pinnedAtTip]: tip } } }));
    this.queue.enqueue(`${namespace}/${name}`);
    return target;
  }

  /** Drops a rollback pin: the Application follows its branch again. */
  resume(namespace: string, name: string): void {
    const app = this.store.get('Application', namespace, name);
    if (!app) throw new Error(`applications.gouvernail.io "${name}" not found`);
    const { [pinnedRevision]: _a, [pinnedAtTip]: _b, ...rest } = app.metadata.annotations ?? {};
    this.write(this.client.update({ ...app, metadata: { ...app.metadata, resourceVersion: undefined, annotations: rest } }));
    this.forced.add(`${namespace}/${name}`);
    this.queue.enqueue(`${namespace}/${name}`);
  }

  private finish(app: KubeObject, revision: string, startedAt: Date, result: HistoryEntry['result'], message: string, outcome: StatusChange): void {
    if (result === 'Succeeded' || outcome.stalled) this.forced.delete(`${app.metadata.namespace}/${app.metadata.name}`);
    recordEvent(this.client, app, result === 'Succeeded' ? 'Normal' : 'Warning', result === 'Succeeded' ? 'Synced' : outcome.stalled ? 'SyncStalled' : 'SyncFailed', message);
    const finishedAt = new Date();
    const entry: HistoryEntry = { revision, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), durationMs: finishedAt.getTime() - startedAt.getTime(), result, message };
    this.onSyncFinished?.(result, entry.durationMs / 1000);
    this.setStatus(app, { ...outcome, attempted: revision, history: entry });
  }

  /** The source with the credentials of its secretRef read from the Application's namespace. */
  private withSecret(app: KubeObject): GitSourceSpec {
    const source = app.spec.source as GitSourceSpec;
    const ref = source.credentials?.secretRef;
    if (!ref) return source;
    const secret = this.store.get('Secret', app.metadata.namespace, ref.name);
    const value = (key: string) => (secret?.data?.[key] !== undefined ? Buffer.from(secret.data[key]!, 'base64').toString('utf8') : undefined);
    const password = value('password') ?? value('token');
    if (!password) throw new Error(`the Secret ${ref.name} named by spec.source.credentials.secretRef is missing or has no password; create it in namespace ${app.metadata.namespace}`);
    return { ...source, credentials: { ...source.credentials, secret: { username: value('username'), password } } };
  }

  /**
   * The in-process client runs a request before it returns the promise, so writes land in the
   * order they are made; a failed one is logged and the next sync writes again.
   */
  private write(done: Promise<unknown>): void {
    done.catch((err) => this.log('cannot write an Application', { err: (err as Error).message }));
  }

  private setStatus(app: KubeObject, change: StatusChange): void {
    const latest = this.store.get('Application', app.metadata.namespace, app.metadata.name);
    if (!latest) return;
    const s = structuredClone(latest.status ?? {});
    const now = new Date().toISOString();
    if (change.attempted) s.lastAttemptedRevision = change.attempted;
    // When the source was last compared with what was applied (as Argo CD's reconciledAt).
    s.reconciledAt = now;
    let ready: [string, string, string] | undefined;
    if (change.reconciling) {
      const running = s.operation?.phase === 'Running';
      s.operation = { phase: 'Running', message: change.reconciling, startedAt: running ? s.operation.startedAt : now, revision: change.attempted ?? s.operation?.revision, wavesApplied: change.wavesApplied ?? (running ? s.operation.wavesApplied : 0) ?? 0 };
    }
    if (change.applied) {
      s.lastAppliedRevision = change.applied;
      if (change.commit) s.lastAppliedCommit = change.commit;
      else delete s.lastAppliedCommit;
      s.sync = { status: 'Synced', revision: change.applied };
      s.health = this.rollUpHealth(change.objects ?? []);
      s.operation = { phase: 'Succeeded', message: change.history?.message ?? `revision ${change.applied} applied`, finishedAt: now };
      ready = ['True', 'Succeeded', `applied revision ${change.applied}`];
    }
    if (change.waiting) {
      s.operation = { phase: 'Waiting', message: change.waiting };
      ready = ['False', 'WaitingForPush', change.waiting];
    }
    if (change.stalled) {
      s.sync = { status: 'OutOfSync', revision: s.lastAppliedRevision };
      s.operation = { phase: 'Failed', message: change.stalled, finishedAt: now };
      ready = ['False', 'Stalled', change.stalled];
    }
    if (change.degraded) {
      s.sync = { status: 'OutOfSync', revision: s.lastAppliedRevision };
      if (!change.keepHealth) s.health = { status: 'Degraded', message: change.degraded };
      s.operation = { phase: 'Failed', message: change.degraded, finishedAt: now };
      ready = ['False', 'SyncFailed', change.degraded];
    }
    if (ready) {
      const [status, reason, message] = ready;
      const before = (s.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
      s.conditions = [
        { type: 'Ready', status, reason, message, lastTransitionTime: before?.status === status ? before.lastTransitionTime : now },
        { type: 'Reconciling', status: 'False', reason, message: '' },
        { type: 'Stalled', status: reason === 'Stalled' ? 'True' : 'False', reason, message: reason === 'Stalled' ? message : '' },
      ];
      // The warnings of the revision applied, one per line, while it is the one applied.
      const previous = (latest.status?.conditions ?? []).find((c: { type: string }) => c.type === 'ManifestWarning');
      const listed = change.warnings && change.warnings.length > 100 ? [...change.warnings.slice(0, 100), `and ${change.warnings.length - 100} more (gouvernail plan -f DIR lists them all)`] : change.warnings;
      const kept = change.applied ? listed?.join('\n') : previous?.message;
      if (kept) s.conditions.push({ type: 'ManifestWarning', status: 'True', reason: 'ManifestWarnings', message: kept });
    } else if (change.reconciling) {
      s.conditions = [...(s.conditions ?? []).filter((c: { type: string }) => c.type !== 'Reconciling'), { type: 'Reconciling', status: 'True', reason: 'Progressing', message: change.reconciling }];
    }
    if (change.history) s.history = [change.history, ...(s.history ?? [])].slice(0, 10);
    this.write(this.client.updateStatus({ ...latest, metadata: { ...latest.metadata, resourceVersion: undefined }, status: s }));
  }

  private rollUpHealth(keys: string[]): Health {
    const order = ['Healthy', 'Suspended', 'Progressing', 'Missing', 'Degraded', 'Unknown'];
    let worst: Health = { status: 'Healthy', message: '' };
    for (const key of keys) {
      const { kind, namespace, name } = parseKey(key);
      const h = assessHealth(this.store.get(kind, namespace || undefined, name));
      if (order.indexOf(h.status) > order.indexOf(worst.status)) worst = { status: h.status, message: `${kind}/${name}: ${h.message}` };
    }
    return worst;
  }
}

export interface Preview {
  revision: string;
  commit?: GitRevision['commit'];
  /** The revision's errors, located; then there is no diff. */
  problems: string[];
  diff?: DiffResult;
}

export class PreviewError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export const pinnedRevision = 'gouvernail.io/pinned-revision';
const pinnedAtTip = 'gouvernail.io/pinned-at-tip';

interface StatusChange {
  attempted?: string;
  reconciling?: string;
  applied?: string;
  objects?: string[];
  stalled?: string;
  waiting?: string;
  degraded?: string;
  /** A failure of the source, not of the objects: their health stays as it was. */
  keepHealth?: boolean;
  commit?: GitRevision['commit'];
  history?: HistoryEntry;
  /** With reconciling: the waves of the revision written so far. */
  wavesApplied?: number;
  /** Only that the source was read and found applied already. */
  checked?: boolean;
  /** With applied: the warnings of the revision (formatted problems). */
  warnings?: string[];
}

/** A Secret with each value replaced by its hash: drift is still seen, the value never kept. */
function maskSecret(o: KubeObject): KubeObject {
  if (o.kind !== 'Secret') return o;
  const hash = (v: unknown) => `sha256:${createHash('sha256').update(String(v)).digest('hex')}`;
  return { ...o, data: Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, hash(v)])), stringData: undefined } as KubeObject;
}


