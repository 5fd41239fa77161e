import { createHash, randomBytes } from 'node:crypto';
import type { KubeObject, PodSpec } from './types.js';

/** Where each kind that runs Pods keeps its Pod template (the Pod itself for a Pod). */
const templatePaths: Record<string, string[]> = {
  Deployment: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** The kinds whose objects hold a Pod template. */
export const templateKinds = Object.keys(templatePaths);

/** Each kind's Pod spec path, made once: these run for every object of a plan. */
const specPaths = new Map<string, readonly string[]>([['Pod', ['spec']], ...Object.entries(templatePaths).map(([kind, t]) => [kind, [...t, 'spec']] as [string, string[]])]);
const dottedSpecPaths = new Map([...specPaths].map(([kind, path]) => [kind, path.join('.')]));

/** The path of the Pod spec inside an object of this kind: `spec` for a Pod, `spec.template.spec` for a Deployment. */
export function podSpecPath(kind: string): readonly string[] | undefined {
  return specPaths.get(kind);
}

/** The same path as a field name: `spec.template.spec`. */
export function podSpecField(kind: string): string | undefined {
  return dottedSpecPaths.get(kind);
}

function at(o: unknown, path: readonly string[]): any {
  let v: any = o;
  for (let i = 0; i < path.length; i++) v = v == null ? undefined : v[path[i]!];
  return v;
}

/** The Pod spec an object runs: a Pod's own, or its template's. */
export function podSpecOf(o: KubeObject): PodSpec | undefined {
  const path = specPaths.get(o.kind);
  return path ? (at(o, path) as PodSpec | undefined) : undefined;
}

/** An object's Pod template (metadata and spec), for the kinds that have one. */
export function podTemplateOf(o: KubeObject): { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } | undefined {
  const t = templatePaths[o.kind];
  return t ? at(o, t) : undefined;
}

/** A short, stable hash of a Pod template (a StatefulSet's or DaemonSet's revision). */
export function templateHash(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10).replace(/[^a-z0-9]/g, 'x');
}

/** The characters Kubernetes makes names of: no vowels, no 0, 1 or 3 (no words, nothing to misread). */
const nameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** Kubernetes' generated-name suffix: five characters of the name alphabet (generateName, a ReplicaSet's Pods). */
export function nameSuffix(): string {
  let out = '';
  for (const b of randomBytes(5)) out += nameAlphabet[b % nameAlphabet.length];
  return out;
}

/**
 * A Deployment's pod-template-hash as Kubernetes writes it: a 32-bit hash of the template, its
 * decimal digits each mapped into the name alphabet (so `web-7c5ddbdf54`, never hex).
 */
export function podTemplateHash(template: unknown): string {
  const digits = String(createHash('sha256').update(JSON.stringify(template)).digest().readUInt32BE(0));
  let out = '';
  for (let i = 0; i < digits.length; i++) out += nameAlphabet[digits.charCodeAt(i) % nameAlphabet.length];
  return out;
}

/** The labels a Job's Pods carry, as Kubernetes writes them (the new names and the legacy ones). */
export function jobLabels(uid: string, name: string): Record<string, string> {
  return { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name };
}
