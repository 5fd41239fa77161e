import type { KubeObject } from '../manifest/types.js';
import { type ControllerContext, controllerRef, ownedBy } from './controller-context.js';

/** The label a revision and the Pods made from it carry. */
export const revisionLabel = 'controller-revision-hash';

/**
 * The history of a StatefulSet's or DaemonSet's Pod template, as Kubernetes keeps it: one
 * ControllerRevision (apps/v1) per template, named as the revision its Pods carry, numbered in the
 * order the templates were rolled out. Its `data` is the strategic merge patch that puts the
 * template back (`kubectl rollout undo` sends it as it is), and `kubectl rollout history` lists
 * the revisions by number. A template that comes back (an undo) has its revision numbered last
 * again; beyond `revisionHistoryLimit` (10), the oldest revisions no Pod uses go.
 */
export async function recordRevision(owner: KubeObject, name: string, inUse: Set<string>, ctx: ControllerContext): Promise<void> {
  const ns = owner.metadata.namespace!;
  const history = ctx.list({ kind: 'ControllerRevision', namespace: ns }).filter((r) => ownedBy(r, owner) && !r.metadata.deletionTimestamp);
  const last = history.reduce((max, r) => Math.max(max, Number(r.revision) || 0), 0);
  const mine = history.find((r) => r.metadata.name === name);
  if (!mine) {
    const template = owner.spec.template;
    // data is a patch, not a ConfigMap's strings: KubeObject's own data field does not fit it.
    const revision: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name, namespace: ns, labels: { ...template.metadata?.labels, [revisionLabel]: name.slice(owner.metadata.name.length + 1) }, annotations: owner.metadata.annotations, ownerReferences: [controllerRef(owner)] },
      revision: last + 1,
    };
    revision.data = { spec: { template: { ...template, $patch: 'replace' } } } as unknown as Record<string, string>;
    await ctx.create(revision);
  } else if (Number(mine.revision) < last) {
    await ctx.update({ ...mine, revision: last + 1 });
  }
  const limit: number = owner.spec.revisionHistoryLimit ?? 10;
  const old = history.filter((r) => r.metadata.name !== name && !inUse.has(r.metadata.name)).sort((a, b) => Number(a.revision) - Number(b.revision));
  for (const r of old.slice(0, Math.max(0, old.length - limit))) await ctx.remove(r);
}
