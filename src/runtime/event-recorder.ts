import { createHash } from 'node:crypto';
import type { InProcessClient } from '../api/client.js';
import type { KubeObject } from '../manifest/types.js';

export interface EventSource {
  /** kubectl's SOURCE column: default-scheduler, kubelet, replicaset-controller, ... */
  component: string;
  host?: string;
}

interface Pending {
  about: KubeObject;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  source: EventSource;
  count: number;
  first: string;
  last: string;
}

/**
 * Kubernetes Events as the components record them: the same event about the same object (reason,
 * message, source) is one Event whose count and lastTimestamp grow, not a new one each time. Events
 * are gathered for a few milliseconds and written together, so 50 Pods starting cost a handful of
 * transactions, not hundreds.
 */
export class EventRecorder {
  private pending = new Map<string, Pending>();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly client: InProcessClient, private readonly source: EventSource, private readonly delayMs = 50) {}

  record(about: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.closed) return;
    const name = eventName(about, reason, message, this.source.component);
    const now = new Date().toISOString();
    const entry = this.pending.get(name);
    if (entry) {
      entry.count++;
      entry.last = now;
    } else {
      this.pending.set(name, { about, type, reason, message, source: this.source, count: 1, first: now, last: now });
    }
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    if (batch.size === 0) return;
    try {
      writeEvents(this.client, [...batch].map(([name, p]) => ({ name, ...p })));
    } catch {
      // Events are best effort: a store that is closing loses the last few, nothing else.
    }
  }

  /** Writes what is pending and records nothing more (the store is about to close). */
  close(): void {
    this.flush();
    this.closed = true;
  }
}

/** A name that is the same for the same event about the same object, so repeats are counted. */
export function eventName(about: KubeObject, reason: string, message: string, component: string): string {
  const hash = createHash('sha256').update(`${about.metadata.uid ?? ''}\0${reason}\0${message}\0${component}`).digest('hex').slice(0, 16);
  return `${about.metadata.name}.${hash}`.slice(0, 253);
}

/** Creates each Event, or adds to the count of the one already there; one transaction. */
export function writeEvents(client: InProcessClient, events: (Pending & { name: string })[]): void {
  const store = client.api.store;
  store.batch(() => {
    for (const e of events) {
      const namespace = e.about.metadata.namespace ?? 'default';
      const existing = store.get('Event', namespace, e.name);
      if (existing) {
        void client.update({ ...existing, metadata: { ...existing.metadata, resourceVersion: undefined }, count: (Number(existing.count) || 1) + e.count, lastTimestamp: e.last }).catch(() => {});
        continue;
      }
      void client
        .create({
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: e.name, namespace },
          involvedObject: { apiVersion: e.about.apiVersion, kind: e.about.kind, name: e.about.metadata.name, namespace: e.about.metadata.namespace, uid: e.about.metadata.uid, resourceVersion: e.about.metadata.resourceVersion },
          type: e.type,
          reason: e.reason,
          message: e.message.slice(0, 2000),
          source: e.source,
          reportingComponent: e.source.component,
          reportingInstance: e.source.host ?? '',
          firstTimestamp: e.first,
          lastTimestamp: e.last,
          count: e.count,
        })
        .catch(() => {});
    }
  });
}

/** Deletes the Events last seen longer ago than `ttlMs` (Kubernetes keeps them an hour). */
export function expireEvents(client: InProcessClient, ttlMs: number, now = Date.now()): number {
  const store = client.api.store;
  const old = store.list({ kind: 'Event' }).filter((e) => now - Date.parse(String(e.lastTimestamp ?? e.firstTimestamp ?? 0)) > ttlMs);
  store.batch(() => {
    for (const e of old) void client.delete('Event', e.metadata.namespace, e.metadata.name).catch(() => {});
  });
  return old.length;
}
