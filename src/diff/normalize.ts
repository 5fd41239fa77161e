import { cloneJson } from '../manifest/clone.js';
import { deepEqual } from './deep-equal.js';
import { applyDefaults } from '../manifest/defaults.js';
import { kindInfo } from '../manifest/kinds.js';
import { serverAnnotation, serverLabel } from '../manifest/server-metadata.js';
import { jobLabels } from '../manifest/pod-template.js';
import type { KubeObject } from '../manifest/types.js';

/** Metadata a server or Gouvernail writes; never drift. */
const volatileMetadata = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'managedFields', 'selfLink', 'ownerReferences', 'finalizers'];
const volatileAnnotation = serverAnnotation;
const volatileLabel = serverLabel;

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

/**
 * Whether a live object and a desired one are certain to be the same once normalised (and with what
 * the server assigned taken from the live one), found without copying either: everything but status
 * and server-written metadata is equal as it stands. Both sides are usually defaulted already (the
 * store defaults what it keeps; loaded manifests are defaulted in place), so nearly every unchanged
 * object is settled here; false means "compare them in full", not "they differ". Pure.
 */
export function plainlySame(live: KubeObject, desired: KubeObject): boolean {
  for (const k in desired) if (k !== 'status' && k !== 'metadata' && k !== 'spec' && !deepEqual(live[k], desired[k])) return false;
  for (const k in live) if (k !== 'status' && k !== 'metadata' && k !== 'spec' && live[k] !== undefined && desired[k] === undefined) return false;
  const spec = desired.kind === 'Service' && live.spec && desired.spec ? withoutAssigned(live.spec, desired.spec) : live.spec;
  if (!deepEqual(spec, desired.spec)) return false;
  const lm = live.metadata;
  const dm = desired.metadata;
  for (const k in dm) if (k !== 'labels' && k !== 'annotations' && !volatileMetadata.includes(k) && !deepEqual(lm[k], dm[k])) return false;
  for (const k in lm) if (k !== 'labels' && k !== 'annotations' && !volatileMetadata.includes(k) && lm[k] !== undefined && dm[k] === undefined) return false;
  return sameKeeping(lm.labels, dm.labels, volatileLabel) && sameKeeping(lm.annotations, dm.annotations, volatileAnnotation);
}

/** Two string maps equal but for the keys `drop` matches. */
function sameKeeping(a: Record<string, string> | undefined, b: Record<string, string> | undefined, drop: RegExp): boolean {
  let counted = 0;
  for (const k in a ?? {}) {
    if (drop.test(k)) continue;
    if (b?.[k] !== a![k]) return false;
    counted++;
  }
  for (const k in b ?? {}) if (!drop.test(k)) counted--;
  return counted === 0;
}

/** A live Service's spec without the cluster IPs and node ports the manifest leaves to the server (a shallow copy). */
function withoutAssigned(live: Record<string, any>, desired: Record<string, any>): Record<string, any> {
  const out = { ...live };
  if (desired.clusterIP === undefined) delete out.clusterIP;
  if (desired.clusterIPs === undefined) delete out.clusterIPs;
  if (Array.isArray(live.ports) && Array.isArray(desired.ports)) {
    out.ports = live.ports.map((p: Record<string, unknown>, i: number) => {
      if (desired.ports[i]?.nodePort !== undefined || p.nodePort === undefined) return p;
      const { nodePort: _assigned, ...rest } = p;
      return rest;
    });
  }
  return out;
}
