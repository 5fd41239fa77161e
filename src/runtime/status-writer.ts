import type { Client } from '../api/client.js';
import { keyOf } from '../manifest/keys.js';
import type { KubeObject } from '../manifest/types.js';

/**
 * A node agent's status writes, gathered for a few milliseconds and written together: while 50
 * Pods start, their status changes land in a handful of transactions instead of one each. The
 * latest status of an object wins.
 */
export class StatusWriter {
  private pending = new Map<string, { object: KubeObject; done: { resolve: () => void; reject: (err: Error) => void }[] }>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly client: Client, private readonly delayMs = 20) {}

  write(object: KubeObject): Promise<void> {
    return new Promise((resolve, reject) => {
      const key = keyOf(object);
      const entry = this.pending.get(key);
      if (entry) {
        entry.object = object;
        entry.done.push({ resolve, reject });
      } else {
        this.pending.set(key, { object, done: [{ resolve, reject }] });
      }
      this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
    });
  }

  async flush(): Promise<void> {
    this.timer = undefined;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    if (batch.length === 0) return;
    const errors = await this.client.updateStatusAll(batch.map((b) => b.object)).catch((err: Error) => batch.map(() => err));
    batch.forEach((b, i) => {
      const err = errors[i];
      for (const d of b.done) (err ? d.reject(err) : d.resolve());
    });
  }
}
