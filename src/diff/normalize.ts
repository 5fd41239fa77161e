import { cloneJson } from '../manifest/clone.js';
import { applyDefaults } from '../manifest/defaults.js';
import { kindInfo } from '../manifest/kinds.js';
import { jobLabels } from '../manifest/pod-template.js';
import type { KubeObject } from '../manifest/types.js';

/** Metadata a server or Gouvernail writes; never drift. */
const volatileMetadata = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'managedFields', 'selfLink', 'ownerReferences', 'finalizers'];
const volatileAnnotation = /^(volume\.kubernetes\.io\/selected-node$|kubectl\.kubernetes\.io\/last-applied-configuration|deployment\.kubernetes\.io\/|gouvernail\.io\/(inventory|applied-by|revision))/;
const volatileLabel = /^(app\.gouvernail\.io\/instance)$/;

/**
 * Brings an object to the form both sides of a diff are compared in: Kubernetes defaults applied,
 * status and server-written metadata removed. Pure.
 */
export function normalize(input: KubeObject): KubeObject {
  const o = kindInfo(input.kind) ? applyDefaults(input) : cloneJson(input);
  delete o.status;
  for (const f of volatileMetadata) delete o.metadata[f];
  o.metadata.labels = filterKeys(o.metadata.labels, volatileLabel);
  o.metadata.annotations = filterKeys(o.metadata.annotations, volatileAnnotation);
  if (!o.metadata.labels) delete o.metadata.labels;
  if (!o.metadata.annotations) delete o.metadata.annotations;
  if (o.kind === 'Deployment') delete o.spec?.template?.metadata?.creationTimestamp;
  // The volume a claim was bound to is the binder's choice.
  if (o.kind === 'PersistentVolumeClaim') delete o.spec?.volumeName;
  // A Job's generated selector and Pod labels are the server's, not drift.
  if (o.kind === 'Job' && !o.spec?.manualSelector) {
    delete o.spec?.selector;
    const labels = o.spec?.template?.metadata?.labels;
    if (labels) for (const k of Object.keys(jobLabels('', ''))) delete labels[k];
    if (labels && Object.keys(labels).length === 0) delete o.spec.template.metadata.labels;
  }
  return o;
}

function filterKeys(record: Record<string, string> | undefined, drop: RegExp): Record<string, string> | undefined {
  if (!record) return undefined;
  const out = Object.fromEntries(Object.entries(record).filter(([k]) => !drop.test(k)));
  return Object.keys(out).length > 0 ? out : undefined;
}
