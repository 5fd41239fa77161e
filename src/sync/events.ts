import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../manifest/types.js';
import type { InProcessClient } from '../api/client.js';
import type { ObjectStore } from '../store/object-store.js';

const keep = 50;

/** Records a Kubernetes Event about an object; only the newest 50 per object are kept. */
export function recordEvent(client: InProcessClient, about: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
  const namespace = about.metadata.namespace ?? 'default';
  const now = new Date().toISOString();
  const store = client.api.store;
  // One transaction; the in-process client runs each request before it returns its promise.
  store.batch(() => {
    void client.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${about.metadata.name}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`, namespace },
      involvedObject: { apiVersion: about.apiVersion, kind: about.kind, name: about.metadata.name, namespace, uid: about.metadata.uid },
      type,
      reason,
      message: message.slice(0, 2000),
      source: { component: 'gouvernail' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    }).catch(() => {});
    const mine = eventsAbout(store, about);
    for (const old of mine.slice(keep)) void client.delete('Event', namespace, old.metadata.name).catch(() => {});
  });
}

/** Events about an object, newest first. */
export function eventsAbout(store: ObjectStore, about: KubeObject): KubeObject[] {
  return store
    .list({ kind: 'Event', namespace: about.metadata.namespace ?? 'default' })
    .filter((e) => (e.involvedObject as { kind?: string; name?: string } | undefined)?.kind === about.kind && (e.involvedObject as { name?: string }).name === about.metadata.name)
    .sort((a, b) => String(b.lastTimestamp).localeCompare(String(a.lastTimestamp)) || b.metadata.name.localeCompare(a.metadata.name));
}
