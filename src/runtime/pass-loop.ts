import type { Change, ObjectStore } from '../store/object-store.js';

export interface PassLoopOptions {
  /**
   * One level-triggered pass over everything the loop keeps. It may resolve `false` when part of it
   * could not be done (an engine did not answer): the loop then tries again soon, as after an error.
   */
  pass: () => Promise<void | boolean>;
  /** Told of a pass that threw, with how long until the next try. */
  onError: (err: Error, retryInMs: number) => void;
  /** A pass at least this often, whatever changes. */
  resyncMs: number;
  /** How long a kick waits, so that a burst of changes makes one pass. */
  debounceMs?: number;
  /** The first wait after a failed pass; it doubles with each failure in a row, up to `resyncMs`. */
  firstRetryMs?: number;
}

/**
 * The loop every controller runs: store changes it cares about and a resync timer kick it; one pass
 * runs at a time, and kicks during a pass make exactly one more. A pass that fails is tried again
 * after 1 s, then 2, 4 and so on up to the resync period, rather than left to the next resync.
 */
export class PassLoop {
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private unwatch?: () => void;
  private running = false;
  private again = false;
  private stopped = false;
  private retryMs = 0;

  constructor(private readonly o: PassLoopOptions) {}

  /** Starts the loop; `relevant` sees every store change and says whether it calls for a pass. */
  start(store: ObjectStore, relevant: (change: Change) => boolean): void {
    this.unwatch = store.watch(store.resourceVersion(), (c) => {
      if (relevant(c)) this.kick();
    });
    const tick = () => {
      this.kick();
      this.timer = setTimeout(tick, this.o.resyncMs);
    };
    tick();
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    setTimeout(() => {
      this.o
        .pass()
        .then(
          (done) => (done === false ? this.failed() : (this.retryMs = 0)),
          (err) => this.o.onError(err as Error, this.failed()),
        )
        .finally(() => {
          this.running = false;
          if (this.again) {
            this.again = false;
            this.kick();
          }
        });
    }, this.o.debounceMs ?? 0);
  }

  /** Schedules the next try after a failed pass; returns how long it waits. */
  private failed(): number {
    this.retryMs = Math.min(this.o.resyncMs, this.retryMs ? this.retryMs * 2 : (this.o.firstRetryMs ?? 1000));
    if (!this.retryTimer && !this.stopped) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.kick();
      }, this.retryMs);
    }
    return this.retryMs;
  }

  /** Stops kicking and waits for a pass under way to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    if (this.timer) clearTimeout(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    while (this.running) await new Promise((r) => setTimeout(r, 20));
  }
}
