/** The kubelet's figures: the first restart after 10 s, doubling, at most 5 minutes. */
const initialMs = 10_000;
const maxMs = 300_000;
/** A container that ran this long after its last restart starts over at the first delay. */
const resetAfterMs = 600_000;

/**
 * The back-off of restarting a container the node killed (a failed liveness or startup probe), as
 * the kubelet's: CrashLoopBackOff in between. One entry per container of a Pod (`uid/name`). Pure,
 * but for the clock it is given.
 */
export class RestartBackoff {
  private readonly entries = new Map<string, { delay: number; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The container was killed to be restarted: when it may start again. */
  killed(key: string): number {
    const now = this.now();
    const before = this.entries.get(key);
    const delay = before && now - before.until < resetAfterMs ? Math.min(maxMs, before.delay * 2) : initialMs;
    const until = now + delay;
    this.entries.delete(key);
    this.entries.set(key, { delay, until });
    if (this.entries.size > 5000) this.entries.delete(this.entries.keys().next().value!);
    return until;
  }

  /** When the container may start again, while it must still wait; undefined once it may. */
  waitUntil(key: string): number | undefined {
    const until = this.entries.get(key)?.until;
    return until !== undefined && until > this.now() ? until : undefined;
  }

  /** A deleted Pod's containers. */
  forget(uid: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(`${uid}/`)) this.entries.delete(key);
  }
}
