import type { KubeObject } from './types.js';

/**
 * Annotations and labels that servers, controllers and Gouvernail itself write on live objects
 * (a claim's node, a Deployment's revision, the Application's instance label): not drift when a
 * manifest leaves them out, and kept when the manifest is applied again.
 */
export const serverAnnotation = /^(volume\.kubernetes\.io\/selected-node$|kubectl\.kubernetes\.io\/last-applied-configuration|deployment\.kubernetes\.io\/|gouvernail\.io\/(inventory|applied-by|revision|delete-volume))/;
export const serverLabel = /^(app\.gouvernail\.io\/instance)$/;

/**
 * A manifest as it is written over its live object, as kubectl apply leaves what others wrote: the
 * live object's finalizers when the manifest names none, and the server's annotations and labels
 * the manifest does not name. Pure; `desired` is not changed.
 */
export function keepServerMetadata(desired: KubeObject, live: KubeObject): KubeObject {
  const lm = live.metadata;
  const kept = (from: Record<string, string> | undefined, own: Record<string, string> | undefined, server: RegExp) => {
    const carried = Object.entries(from ?? {}).filter(([k]) => server.test(k) && own?.[k] === undefined);
    return carried.length ? { ...Object.fromEntries(carried), ...own } : own;
  };
  const annotations = kept(lm.annotations, desired.metadata.annotations, serverAnnotation);
  const labels = kept(lm.labels, desired.metadata.labels, serverLabel);
  const finalizers = desired.metadata.finalizers ?? lm.finalizers;
  if (annotations === desired.metadata.annotations && labels === desired.metadata.labels && finalizers === desired.metadata.finalizers) return desired;
  return { ...desired, metadata: { ...desired.metadata, ...(annotations ? { annotations } : {}), ...(labels ? { labels } : {}), ...(finalizers ? { finalizers } : {}) } };
}
