import type { KubeObject } from '../manifest/types.js';
import type { InProcessClient } from '../api/client.js';
import type { ObjectStore } from '../store/object-store.js';
import { eventName, writeEvents } from '../runtime/event-recorder.js';

const keep = 50;
const component = 'gouvernail-application-controller';

/**
 * Records a Kubernetes Event about an object, at once: a repeat (same reason and message) adds to
 * the count of the one there. Only the newest 50 per object are kept.
 */
export function recordEvent(client: InProcessClient, about: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
  const now = new Date().toISOString();
  const store = client.api.store;
  store.batch(() => {
    writeEvents(client, [{ name: eventName(about, reason, message, component), about, type, reason, message, source: { component }, count: 1, first: now, last: now }]);
    const mine = eventsAbout(store, about);
    for (const old of mine.slice(keep)) void client.delete('Event', about.metadata.namespace ?? 'default', old.metadata.name).catch(() => {});
  });
}

/** Events about an object, newest first. */
export function eventsAbout(store: ObjectStore, about: KubeObject): KubeObject[] {
  return store
    .list({ kind: 'Event', namespace: about.metadata.namespace ?? 'default' })
    .filter((e) => (e.involvedObject as { kind?: string; name?: string } | undefined)?.kind === about.kind && (e.involvedObject as { name?: string }).name === about.metadata.name)
    .sort((a, b) => String(b.lastTimestamp).localeCompare(String(a.lastTimestamp)) || b.metadata.name.localeCompare(a.metadata.name));
}
