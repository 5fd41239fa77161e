import { podTemplateHash, templateHash } from '../manifest/pod-template.js';
import { restartWindowMs } from '../runtime/controller-context.js';
import type { Client } from '../api/client.js';
import { assessHealth } from '../health/health.js';
import { displayKey, keyOf, parseKey, type ObjectKey } from '../manifest/keys.js';
import { formatProblem, type Problem } from '../manifest/problems.js';
import type { KubeObject, Manifest } from '../manifest/types.js';
import { describeWait, plan, pruneOrder, type Wait } from './plan.js';
import { autoscaledKeys, withAutoscaledReplicas } from './autoscaled.js';
import { diff } from '../diff/diff.js';
import { inventoryKeys, inventoryNamespace, inventoryObject, inventoryObjectName } from './inventory.js';
import { runHooks, splitHooks, type HookPhase } from './hooks.js';

export interface ApplyOptions {
  /** Inventory name: objects applied under it before and gone now are pruned with `prune`. */
  inventory: string;
  prune: boolean;
  wait: boolean;
  waveTimeoutMs: number;
  progress: (line: string) => void;
  /** Given the plan's warnings; without it each is a progress line `warning: ...`. */
  warning?: (problem: Problem) => void;
  pollMs?: number;
  /** An Application's name: every object applied gets the label app.gouvernail.io/instance. */
  instance?: string;
  /** Who records the inventory, when the objects are written as someone else (an impersonated ServiceAccount). */
  inventoryClient?: Client;
  /** Resuming an interrupted apply of the same objects: the waves up to this one were written. */
  resumeAfterWave?: number;
  /** Called once each wave's objects are written (to record how far an apply got). */
  waveApplied?: (wave: number, of: number) => void;
}

export const instanceLabel = 'app.gouvernail.io/instance';

export class ApplyError extends Error {
  /** The API refused an object (admission, RBAC, validation): retrying the same revision cannot help. */
  get refused(): boolean {
    const code = (this.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'number' && [400, 403, 404, 409, 422].includes(code);
  }
}

/**
 * Applies a set of manifests through the API wave by wave: a wave is written only once what it
 * waits for is healthy. On failure it stops and leaves the rest as it was.
 */
export async function applyManifests(client: Client, input: Manifest[], options: ApplyOptions): Promise<void> {
  const labelled = options.instance === undefined ? input : input.map((m) => ({ ...m, object: { ...m.object, metadata: { ...m.object.metadata, labels: { ...m.object.metadata.labels, [instanceLabel]: options.instance! } } } }));
  // Hooks (Argo CD's and Helm's) run around the sync; they are not objects it keeps or prunes.
  const { objects, hooks } = splitHooks(labelled);
  const run = (phase: HookPhase) => (hooks[phase].length ? (options.progress(`${phase} hooks: ${hooks[phase].length}`), runHooks(client, phase, hooks[phase], { progress: options.progress, timeoutMs: options.waveTimeoutMs, pollMs: options.pollMs })) : Promise.resolve());
  try {
    // A hook's namespace, when the source has it, is made first (as Argo CD's CreateNamespace).
    const needed = new Set(Object.values(hooks).flat().map((m) => m.object.metadata.namespace));
    for (const m of objects) if (m.object.kind === 'Namespace' && needed.has(m.object.metadata.name)) options.progress(`  ${displayKey(keyOf(m.object), 'default')} ${await client.apply(m.object)} (for the hooks)`);
    await run('PreSync');
    await applyObjects(client, objects, options, () => run('Sync'));
    if (hooks.PostSync.length && !options.wait) {
      options.progress('waiting for every object to be healthy before the PostSync hooks');
      await waitHealthy(client, objects.map((m) => keyOf(m.object)), options, 'the PostSync hooks');
    }
    await run('PostSync');
  } catch (err) {
    if (hooks.SyncFail.length) {
      options.progress(`SyncFail hooks: ${hooks.SyncFail.length}`);
      await runHooks(client, 'SyncFail', hooks.SyncFail, { progress: options.progress, timeoutMs: options.waveTimeoutMs, pollMs: options.pollMs }).catch((e: Error) => options.progress(`  ${e.message}`));
    }
    throw err instanceof ApplyError ? err : new ApplyError((err as Error).message, { cause: err });
  }
}

async function applyObjects(client: Client, manifests: Manifest[], options: ApplyOptions, syncHooks: () => Promise<void>): Promise<void> {
  const { progress } = options;
  let result = plan(manifests);
  const missing = result.problems.filter((p) => p.code === 'PlanMissingDependency' && p.severity === 'error');
  if (missing.length > 0) {
    // Dependencies outside the folder are fine when they exist already.
    const existing = new Set<ObjectKey>();
    for (const m of manifests) {
      const raw = m.object.metadata.annotations?.['gouvernail.io/depends-on'];
      for (const ref of raw?.split(',').map((s) => s.trim()).filter(Boolean) ?? []) {
        const parts = ref.split('/');
        const [kind, ns, name] = parts.length === 3 ? parts : [parts[0]!, m.object.metadata.namespace, parts[1]!];
        if (await client.get(kind!, ns, name!).catch(() => undefined)) existing.add(`${kind}/${ns ?? ''}/${name}`);
      }
    }
    result = plan(manifests, { existing });
  }
  const errors = result.problems.filter((p) => p.severity === 'error');
  for (const p of result.problems.filter((p) => p.severity === 'warning')) {
    if (options.warning) options.warning(p);
    else progress(`warning: ${formatProblem(p)}`);
  }
  if (errors.length > 0) throw new ApplyError(`nothing applied:\n${errors.map(formatProblem).join('\n')}`);

  const total = result.waves.length;
  const bookkeeper = options.inventoryClient ?? client;
  const recorded = new Set(inventoryKeys(await bookkeeper.get('ConfigMap', inventoryNamespace, inventoryObjectName(options.inventory))));
  for (const wave of result.waves) {
    if (options.resumeAfterWave !== undefined && wave.number <= options.resumeAfterWave) {
      progress(`wave ${wave.number} of ${total}: written before the restart`);
      continue;
    }
    // A sync wave waits for every object of the sync waves before it, as Argo CD does.
    const earlierWaves = wave.steps.flatMap((s) =>
      s.waitsFor.some((w) => w.reason === 'sync-wave')
        ? result.waves.slice(0, wave.number - 1).flatMap((w) => w.steps).filter((e) => e.syncWave < s.syncWave).map((e): Wait => ({ on: displayKey(e.key, s.object.metadata.namespace), key: e.key, reason: 'sync-wave' }))
        : [],
    );
    const waits = uniqueWaits([...wave.steps.flatMap((s) => s.waitsFor), ...earlierWaves]);
    // A Service waited for because a container names it is ready when it has a ready endpoint.
    const endpoints = new Set(wave.steps.flatMap((s) => s.waitsFor).filter((w) => w.reason === 'inferred' && w.key?.startsWith('Service/')).map((w) => w.key!));
    if (waits.length > 0) {
      progress(`wave ${wave.number} of ${total}: waiting for ${waits.map((w) => w.label).join(', ')}`);
      await waitHealthy(client, waits.map((w) => w.key), options, `wave ${wave.number}`, endpoints);
    }
    progress(`wave ${wave.number} of ${total}: applying ${wave.steps.length} object${wave.steps.length === 1 ? '' : 's'}`);
    // The inventory learns of an object before it is written: a crash in between leaves nothing
    // that a later prune would not know of.
    const fresh = wave.steps.map((s) => s.key).filter((k) => !recorded.has(k));
    if (fresh.length > 0) {
      for (const k of fresh) recorded.add(k);
      await bookkeeper.apply(inventoryObject(options.inventory, [...recorded]));
    }
    const live = await fetchLive(client, wave.steps.map((s) => s.key));
    // An object an autoscaler scales keeps the autoscaler's replicas.
    const autoscaled = autoscaledKeys([...manifests.map((m) => m.object), ...(await listAutoscalers(client, wave.steps))]);
    const objects = new Map(wave.steps.map((s) => [s.key, withAutoscaledReplicas(s.object, live.get(s.key), autoscaled)]));
    const changes = new Map(diff([...objects.values()], [...live.values()]).changes.map((c) => [c.key, c.action]));
    // Objects of one wave do not wait for each other: write them a few at a time.
    for (let i = 0; i < wave.steps.length; i += 16) {
      const batch = wave.steps.slice(i, i + 16);
      const results = await Promise.allSettled(batch.map((step) => (changes.get(step.key) === 'unchanged' ? Promise.resolve('unchanged') : client.applyKnown(objects.get(step.key)!, live.get(step.key)))));
      results.forEach((r, j) => {
        const key = displayKey(batch[j]!.key, 'default');
        if (r.status === 'rejected') {
          const missingNamespace = (r.reason as { code?: number; details?: { kind?: string } }).code === 404 && (r.reason as { details?: { kind?: string } }).details?.kind === 'namespaces';
          const hint = missingNamespace ? ' (add a Namespace manifest for it to the folder, or create it first)' : '';
          throw new ApplyError(`${key} was not applied: ${(r.reason as Error).message}${hint}; waves after ${wave.number} were not applied`, { cause: r.reason });
        }
        progress(`  ${key} ${r.value}`);
      });
    }
    options.waveApplied?.(wave.number, total);
  }
  const desired = new Set(manifests.map((m) => keyOf(m.object)));
  await recordInventory(client, options.inventoryClient ?? client, options, desired);
  await syncHooks();
  if (options.wait) {
    progress('waiting for every object to be healthy');
    await waitHealthy(client, [...desired], options, 'the last wave');
    progress('all objects are healthy');
  }
}

/**
 * Why a Deployment is not available yet, when one of its Pods says so: a crash loop or a missing
 * image, else what it waits for (an image pull in progress).
 */
/** The Pods a workload owns, by its selector (a ReplicationController's is a plain map). */
async function podsOf(client: Client, o: KubeObject): Promise<KubeObject[]> {
  const labels = (o.kind === 'ReplicationController' ? o.spec?.selector : o.spec?.selector?.matchLabels) ?? {};
  const selector = Object.entries(labels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
  if (!selector) return [];
  // A Pod being deleted is on its way out: neither its state nor its trouble is the workload's.
  return (await client.list('Pod', o.metadata.namespace, selector).catch(() => [])).filter((p) => !p.metadata.deletionTimestamp);
}

async function failingPod(client: Client, d: KubeObject): Promise<string | undefined> {
  const pods = await podsOf(client, d);
  for (const p of pods) {
    const h = assessHealth(p);
    if (h.status === 'Degraded') return `Pod ${p.metadata.name}: ${h.message}`;
  }
  for (const p of pods) {
    for (const c of p.status?.containerStatuses ?? []) if (c.state?.waiting?.message) return `Pod ${p.metadata.name}: ${c.state.waiting.message}`;
  }
  return undefined;
}


/**
 * What keeps a workload's Pods from being trusted though its status counts them: a Pod that is
 * crash-looping fails the apply at once (its reason is the error); one that restarted within the
 * last 10 s is waited on, as it may be about to crash again.
 */
async function podTrouble(client: Client, o: KubeObject): Promise<{ fatal?: string; unsteady?: string }> {
  // Pods of an older template (the crash a new version fixes) are not held against the new one.
  const pods = o.kind === 'Pod' ? [o] : workloadKinds.has(o.kind) ? (await podsOf(client, o)).filter((p) => ofCurrentTemplate(o, p)) : [];
  for (const p of pods) {
    for (const c of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
      if (c.state?.waiting?.reason === 'CrashLoopBackOff') return { fatal: `Pod ${p.metadata.name} is crash-looping: ${assessHealth(p).message}` };
    }
  }
  for (const p of pods) {
    for (const c of p.status?.containerStatuses ?? []) {
      const last = Date.parse(c.lastState?.terminated?.finishedAt ?? '');
      if (c.restartCount > 0 && Date.now() - last < restartWindowMs) return { unsteady: `Pod ${p.metadata.name} restarted ${c.restartCount} time${c.restartCount === 1 ? '' : 's'} (container ${c.name}, exit code ${c.lastState.terminated.exitCode}); waiting to see it stay up` };
    }
  }
  return {};
}

function ofCurrentTemplate(o: KubeObject, pod: KubeObject): boolean {
  const labels = pod.metadata.labels ?? {};
  // (A ReplicaSet made before Gouvernail wrote Kubernetes' encoding keeps its hex hash.)
  if (o.kind === 'Deployment') return labels['pod-template-hash'] === podTemplateHash(o.spec.template) || labels['pod-template-hash'] === templateHash(o.spec.template);
  if (o.kind === 'StatefulSet' || o.kind === 'DaemonSet') return labels['controller-revision-hash'] === `${o.metadata.name}-${templateHash(o.spec.template)}`;
  return true;
}

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController']);

/** The live objects for some keys, with one list request per kind and namespace. */
/** The live autoscalers of the namespaces of a wave's scalable objects. */
async function listAutoscalers(client: Client, steps: { object: KubeObject }[]): Promise<KubeObject[]> {
  const namespaces = new Set(steps.filter((s) => ['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController'].includes(s.object.kind)).map((s) => s.object.metadata.namespace ?? 'default'));
  const lists = await Promise.all([...namespaces].map((ns) => client.list('HorizontalPodAutoscaler', ns).catch(() => [])));
  return lists.flat();
}

async function fetchLive(client: Client, keys: ObjectKey[]): Promise<Map<ObjectKey, KubeObject>> {
  const groups = new Map<string, { kind: string; namespace?: string }>();
  for (const key of keys) {
    const { kind, namespace } = parseKey(key);
    groups.set(`${kind}/${namespace}`, { kind, namespace: namespace || undefined });
  }
  const wanted = new Set(keys);
  const out = new Map<ObjectKey, KubeObject>();
  await Promise.all(
    [...groups.values()].map(async (g) => {
      for (const o of await client.list(g.kind, g.namespace)) {
        const key = keyOf(o);
        if (wanted.has(key)) out.set(key, o);
      }
    }),
  );
  return out;
}

/** The objects a wave waits for, once each; sync waves are already covered by their objects. */
function uniqueWaits(waits: Wait[]): { key: ObjectKey; label: string }[] {
  const out = new Map<ObjectKey, string>();
  for (const wait of waits) if (wait.key && !out.has(wait.key)) out.set(wait.key, describeWait(wait).replace(/^after /, ''));
  return [...out].map(([key, label]) => ({ key, label }));
}

/** A Service's health as a dependency: at least one ready Pod among those it selects. */
async function endpointHealth(client: Client, service: KubeObject): Promise<ReturnType<typeof assessHealth>> {
  const selector = Object.entries(service.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  if (!selector) return assessHealth(service);
  const pods = await client.list('Pod', service.metadata.namespace, selector).catch(() => []);
  const ready = pods.filter((p) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
  return ready.length > 0 ? { status: 'Healthy', message: `${ready.length} ready endpoint${ready.length === 1 ? '' : 's'}` } : { status: 'Progressing', message: `no ready endpoint yet: none of the ${pods.length} Pod${pods.length === 1 ? '' : 's'} it selects is ready` };
}

async function waitHealthy(client: Client, keys: ObjectKey[], options: ApplyOptions, what: string, endpoints: ReadonlySet<ObjectKey> = new Set()): Promise<void> {
  const deadline = Date.now() + options.waveTimeoutMs;
  let lastReport = '';
  for (;;) {
    const pending: string[] = [];
    const live = await fetchLive(client, keys);
    for (const key of keys) {
      const o = live.get(key);
      const h = o && endpoints.has(key) ? await endpointHealth(client, o) : assessHealth(o);
      const trouble = o && (h.status === 'Healthy' || h.status === 'Progressing' || h.status === 'Degraded') ? await podTrouble(client, o) : {};
      if (trouble.fatal) throw new ApplyError(`${displayKey(key, 'default')} failed before ${what}: ${trouble.fatal}; the waves after it were not applied (fix the container and apply again: kubectl logs --previous shows what it printed)`);
      if (h.status === 'Healthy' && !trouble.unsteady) continue;
      // Suspended (a paused Deployment, a suspended Job or CronJob) is where the manifest asks it to
      // stay: nothing to wait for, as Flux's kstatus has it; waiting would only end at the timeout.
      if (h.status === 'Suspended') continue;
      if (h.status === 'Healthy') {
        pending.push(`${displayKey(key, 'default')}: ${trouble.unsteady}`);
        continue;
      }
      const why = o?.kind === 'Deployment' && h.status === 'Progressing' ? await failingPod(client, o) : undefined;
      pending.push(`${displayKey(key, 'default')}: ${h.status}${h.message ? ` (${h.message})` : ''}${why ? `; ${why}` : ''}`);
    }
    if (pending.length === 0) return;
    const report = pending.join('; ');
    if (report !== lastReport) {
      options.progress(`  waiting: ${report}`);
      lastReport = report;
    }
    if (Date.now() > deadline) {
      throw new ApplyError(`timed out after ${Math.round(options.waveTimeoutMs / 1000)}s before ${what}: ${report}; the waves after it were not applied (raise --timeout, or fix the object and apply again)`);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
  }
}

async function recordInventory(client: Client, bookkeeper: Client, options: ApplyOptions, desired: Set<ObjectKey>): Promise<void> {
  const name = inventoryObjectName(options.inventory);
  const before = inventoryKeys(await bookkeeper.get('ConfigMap', inventoryNamespace, name));
  if (options.prune) {
    const gone = before.filter((k) => !desired.has(k));
    const objects: KubeObject[] = [];
    for (const key of gone) {
      const { kind, namespace, name: n } = parseKey(key);
      const o = await client.get(kind, namespace || undefined, n);
      if (o) objects.push(o);
    }
    for (const o of pruneOrder(objects)) {
      if (await client.delete(o.kind, o.metadata.namespace, o.metadata.name)) options.progress(`  ${displayKey(keyOf(o), 'default')} pruned`);
    }
  }
  const kept = options.prune ? [...desired] : [...new Set([...before, ...desired])];
  await bookkeeper.apply(inventoryObject(options.inventory, kept));
}

/** Deletes the objects of a folder in reverse dependency order. */
/** Deletes a folder's objects, in the reverse of apply's order; returns those it deleted. */
export async function deleteManifests(client: Client, manifests: Manifest[], progress: (line: string) => void, options: { gracePeriodSeconds?: number } = {}): Promise<KubeObject[]> {
  const deleted: KubeObject[] = [];
  for (const o of pruneOrder(manifests.map((m) => m.object))) {
    const found = await client.delete(o.kind, o.metadata.namespace, o.metadata.name, options);
    progress(`${displayKey(keyOf(o), 'default')} ${found ? 'deleted' : 'not found'}`);
    if (found) deleted.push(o);
  }
  return deleted;
}
