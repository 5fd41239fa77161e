/** What the node agent knows of an init container it made. */
export interface InitState {
  running: boolean;
  exitCode: number;
  restartCount: number;
}

export type InitStep =
  /** Every init container has completed and every sidecar runs: the app containers may start. */
  | { kind: 'done' }
  /** This one is to be created and started now. */
  | { kind: 'start'; container: string }
  /** This one runs (or Docker restarts it after a failure): the ones after it wait. */
  | { kind: 'wait'; container: string }
  /** This one failed and the Pod's restartPolicy is Never: the Pod has failed. */
  | { kind: 'failed'; container: string; exitCode: number };

/**
 * The next step of a Pod's initialization, as the kubelet takes it: init containers in order, each
 * to completion before the next; a sidecar (restartPolicy Always) only has to be started. Pure.
 */
export function nextInitStep(init: { name: string; sidecar?: boolean }[], states: Map<string, InitState>, restartPolicy: string): InitStep {
  for (const c of init) {
    const s = states.get(c.name);
    if (!s) return { kind: 'start', container: c.name };
    if (c.sidecar) continue;
    if (s.running) return { kind: 'wait', container: c.name };
    if (s.exitCode === 0) continue;
    if (restartPolicy === 'Never') return { kind: 'failed', container: c.name, exitCode: s.exitCode };
    return { kind: 'wait', container: c.name };
  }
  return { kind: 'done' };
}
