/**
 * One level-triggered queue of keys: every trigger only enqueues; a key syncs once at a time, and
 * triggers that arrive while it runs coalesce into one more run. A failed run is retried with
 * exponential backoff and jitter, unless a new trigger comes first.
 */
export class SyncQueue {
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly work: (key: string) => Promise<boolean>, private readonly baseDelayMs = 1000, private readonly maxDelayMs = 60_000) {}

  enqueue(key: string): void {
    if (this.stopped) return;
    const retry = this.retries.get(key);
    if (retry) {
      clearTimeout(retry);
      this.retries.delete(key);
    }
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    this.running.add(key);
    void this.run(key);
  }

  isRunning(key: string): boolean {
    return this.running.has(key);
  }

  depth(): number {
    return this.running.size + this.again.size;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.retries.values()) clearTimeout(t);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  private async run(key: string): Promise<void> {
    let ok = false;
    try {
      ok = await this.work(key);
    } catch {
      ok = false;
    }
    this.running.delete(key);
    if (this.again.delete(key)) return this.enqueue(key);
    if (ok) {
      this.failures.delete(key);
      return;
    }
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (n - 1)) * (0.8 + Math.random() * 0.4);
    if (!this.stopped) this.retries.set(key, setTimeout(() => this.enqueue(key), delay));
  }
}
