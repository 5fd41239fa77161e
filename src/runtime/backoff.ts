/** The kubelet's figures: the first retry after 10 s, doubling, at most 5 minutes. */
const initialMs = 10_000;
const maxMs = 300_000;
/** A failure this long after the last back-off ended starts over at the first delay. */
const resetAfterMs = 600_000;

/**
 * The kubelet's back-off, by key: restarting a container the node killed (a failed liveness or
 * startup probe; `uid/name`, CrashLoopBackOff in between) and pulling an image that failed to pull
 * (by image, ImagePullBackOff). Each failure doubles the wait. Pure, but for the clock it is given.
 */
export class Backoff {
  private readonly entries = new Map<string, { delay: number; until: number; reason?: string }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** It failed (why, when that is to be shown): when it may be tried again. */
  failed(key: string, reason?: string): number {
    const now = this.now();
    const before = this.entries.get(key);
    const delay = before && now - before.until < resetAfterMs ? Math.min(maxMs, before.delay * 2) : initialMs;
    const until = now + delay;
    this.entries.delete(key);
    this.entries.set(key, { delay, until, reason });
    if (this.entries.size > 5000) this.entries.delete(this.entries.keys().next().value!);
    return until;
  }

  /**
   * A container the node restarts (killed by a probe), as the kubelet's back-off goes: the first
   * restart at once, each later one after the doubling delay (10 s, 20 s...). When it may start.
   */
  restarting(key: string): number {
    const now = this.now();
    const before = this.entries.get(key);
    if (before && now - before.until < resetAfterMs) return this.failed(key);
    this.entries.delete(key);
    // Half the first delay: the next failure doubles it to the first.
    this.entries.set(key, { delay: initialMs / 2, until: now });
    return now;
  }

  /** While it must still wait: until when, and why; undefined once it may be tried. */
  waiting(key: string): { until: number; reason?: string } | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.until > this.now() ? { until: entry.until, reason: entry.reason } : undefined;
  }

  /** It succeeded: the next failure starts over at the first delay. */
  clear(key: string): void {
    this.entries.delete(key);
  }

  /** A deleted Pod's containers (keys `uid/...`). */
  forgetPod(uid: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(`${uid}/`)) this.entries.delete(key);
  }
}
