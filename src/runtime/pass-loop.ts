import type { Change, ObjectStore } from '../store/object-store.js';

export interface PassLoopOptions {
  /** One level-triggered pass over everything the loop keeps. */
  pass: () => Promise<void>;
  onError: (err: Error) => void;
  /** A pass at least this often, whatever changes. */
  resyncMs: number;
  /** How long a kick waits, so that a burst of changes makes one pass. */
  debounceMs?: number;
}

/**
 * The loop every controller runs: store changes it cares about and a resync timer kick it; one pass
 * runs at a time, and kicks during a pass make exactly one more.
 */
export class PassLoop {
  private timer?: NodeJS.Timeout;
  private unwatch?: () => void;
  private running = false;
  private again = false;
  private stopped = false;

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
        .catch((err) => this.o.onError(err as Error))
        .finally(() => {
          this.running = false;
          if (this.again) {
            this.again = false;
            this.kick();
          }
        });
    }, this.o.debounceMs ?? 0);
  }

  /** Stops kicking and waits for a pass under way to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    if (this.timer) clearTimeout(this.timer);
    while (this.running) await new Promise((r) => setTimeout(r, 20));
  }
}
