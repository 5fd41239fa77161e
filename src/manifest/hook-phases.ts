import type { KubeObject } from './types.js';

export type HookPhase = 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail';

const argoHook = 'argocd.argoproj.io/hook';
const helmHook = 'helm.sh/hook';

/** Helm's hooks, as Argo CD maps them when it syncs a chart. */
const helmPhases: Record<string, HookPhase | undefined> = { 'pre-install': 'PreSync', 'pre-upgrade': 'PreSync', 'post-install': 'PostSync', 'post-upgrade': 'PostSync' };

/**
 * The phases an object is a hook of (Argo CD's annotation, else Helm's), or none for an ordinary
 * object. `Skip` (Argo CD) and Helm's delete, rollback and test hooks are not run: an empty list.
 */
export function hookPhases(o: KubeObject): HookPhase[] | undefined {
  const argo = o.metadata?.annotations?.[argoHook];
  if (argo !== undefined) return argo.split(',').map((s) => s.trim()).filter((s): s is HookPhase => ['PreSync', 'Sync', 'PostSync', 'SyncFail'].includes(s));
  const helm = o.metadata?.annotations?.[helmHook];
  if (helm !== undefined) return [...new Set(helm.split(',').map((s) => helmPhases[s.trim()]).filter((p): p is HookPhase => !!p))];
  return undefined;
}

export function isHook(o: KubeObject): boolean {
  return hookPhases(o) !== undefined;
}

