import type { Client } from '../api/client.js';
import { assessHealth } from '../health/health.js';
import type { KubeObject, Manifest } from '../manifest/types.js';
import { hookPhases, type HookPhase } from '../manifest/hook-phases.js';

export { hookPhases, isHook, type HookPhase } from '../manifest/hook-phases.js';

const argoDelete = 'argocd.argoproj.io/hook-delete-policy';
const helmDelete = 'helm.sh/hook-delete-policy';

/** When a hook is deleted: before it is made again (the default), after it succeeded, after it failed. */
export function deletePolicies(o: KubeObject): Set<'BeforeHookCreation' | 'HookSucceeded' | 'HookFailed'> {
  const argo = o.metadata.annotations?.[argoDelete];
  const helm = o.metadata.annotations?.[helmDelete];
  const map: Record<string, 'BeforeHookCreation' | 'HookSucceeded' | 'HookFailed'> = { BeforeHookCreation: 'BeforeHookCreation', HookSucceeded: 'HookSucceeded', HookFailed: 'HookFailed', 'before-hook-creation': 'BeforeHookCreation', 'hook-succeeded': 'HookSucceeded', 'hook-failed': 'HookFailed' };
  const raw = (argo ?? helm ?? 'BeforeHookCreation').split(',').map((s) => map[s.trim()]).filter((p): p is 'BeforeHookCreation' | 'HookSucceeded' | 'HookFailed' => !!p);
  return new Set(raw.length ? raw : ['BeforeHookCreation']);
}

/** Splits the hooks from the objects a sync applies and keeps. */
export function splitHooks(manifests: Manifest[]): { objects: Manifest[]; hooks: Record<HookPhase, Manifest[]> } {
  const hooks: Record<HookPhase, Manifest[]> = { PreSync: [], Sync: [], PostSync: [], SyncFail: [] };
  const objects: Manifest[] = [];
  for (const m of manifests) {
    const phases = hookPhases(m.object);
    if (phases === undefined) objects.push(m);
    else for (const p of phases) hooks[p].push(m);
  }
  const wave = (m: Manifest) => Number(m.object.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? m.object.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);
  for (const list of Object.values(hooks)) list.sort((a, b) => wave(a) - wave(b));
  return { objects, hooks };
}

/** A hook's outcome: a Job complete or failed, a Pod succeeded or failed, anything else healthy or degraded. */
function outcome(o: KubeObject | undefined): 'running' | 'succeeded' | 'failed' {
  if (!o) return 'running';
  if (o.kind === 'Pod') return o.status?.phase === 'Succeeded' ? 'succeeded' : o.status?.phase === 'Failed' ? 'failed' : 'running';
  const h = assessHealth(o);
  return h.status === 'Healthy' ? 'succeeded' : h.status === 'Degraded' ? 'failed' : 'running';
}

/**
 * Runs the hooks of one phase, one after the other, as Argo CD does: each is (re)created - deleted
 * first under BeforeHookCreation, named anew from generateName - and waited for until it succeeds
 * (a Job complete, a Pod succeeded) or fails; its delete policy then removes it. The first failure
 * stops the phase and is thrown.
 */
export async function runHooks(client: Client, phase: HookPhase, hooks: Manifest[], options: { progress: (line: string) => void; timeoutMs: number; pollMs?: number; wait?: boolean }): Promise<void> {
  for (const m of hooks) {
    const o = structuredClone(m.object);
    const policies = deletePolicies(o);
    const ns = o.metadata.namespace;
    let live: KubeObject;
    if (o.metadata.name) {
      const shown = `${o.kind}/${o.metadata.name}`;
      if (policies.has('BeforeHookCreation') && (await client.get(o.kind, ns, o.metadata.name))) {
        await client.delete(o.kind, ns, o.metadata.name);
        await until(async () => !(await client.get(o.kind, ns, o.metadata.name)), options.timeoutMs, options.pollMs, `${shown} to be deleted before it is made again`);
      }
      const current = await client.get(o.kind, ns, o.metadata.name);
      live = current ? await client.update({ ...o, metadata: { ...o.metadata, resourceVersion: current.metadata.resourceVersion } }) : await client.create(o);
      options.progress(`  hook ${phase} ${shown} ${current ? 'configured' : 'created'}`);
    } else {
      live = await client.create(o);
      options.progress(`  hook ${phase} ${o.kind}/${live.metadata.name} created`);
    }
    const shown = `${live.kind}/${live.metadata.name}`;
    if (options.wait === false) continue;
    const state: { result: 'running' | 'succeeded' | 'failed'; last?: KubeObject } = { result: 'running' };
    await until(async () => {
      state.last = await client.get(live.kind, ns, live.metadata.name);
      state.result = outcome(state.last);
      return state.result !== 'running';
    }, options.timeoutMs, options.pollMs, `hook ${phase} ${shown} to finish`);
    const { result, last } = state;
    const remove = result === 'succeeded' ? policies.has('HookSucceeded') : policies.has('HookFailed');
    if (remove) await client.delete(live.kind, ns, live.metadata.name).catch(() => false);
    if (result === 'failed') throw new Error(`hook ${phase} ${shown} failed: ${assessHealth(last).message}`);
    options.progress(`  hook ${phase} ${shown} succeeded${remove ? ' (deleted: HookSucceeded)' : ''}`);
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, pollMs = 500, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
