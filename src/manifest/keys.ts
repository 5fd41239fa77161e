import { isNamespaced } from './kinds.js';
import type { KubeObject } from './types.js';

/** Identity of an object: `Kind/namespace/name`, or `Kind//name` when cluster-scoped. */
export type ObjectKey = string;

export function keyOf(o: Pick<KubeObject, 'kind' | 'metadata'>): ObjectKey {
  const ns = isNamespaced(o.kind) ? (o.metadata.namespace ?? 'default') : '';
  return `${o.kind}/${ns}/${o.metadata.name}`;
}

export function makeKey(kind: string, namespace: string | undefined, name: string): ObjectKey {
  return `${kind}/${isNamespaced(kind) ? (namespace ?? 'default') : ''}/${name}`;
}

export function parseKey(key: ObjectKey): { kind: string; namespace: string; name: string } {
  const first = key.indexOf('/');
  const second = key.indexOf('/', first + 1);
  return { kind: key.slice(0, first), namespace: key.slice(first + 1, second), name: key.slice(second + 1) };
}

/**
 * How a person writes a reference: `Kind/name` when it is in `fromNamespace` (or cluster-scoped),
 * `Kind/namespace/name` otherwise. The same syntax as the depends-on annotation.
 */
export function displayKey(key: ObjectKey, fromNamespace?: string): string {
  const { kind, namespace, name } = parseKey(key);
  if (namespace === '' || namespace === fromNamespace) return `${kind}/${name}`;
  return `${kind}/${namespace}/${name}`;
}
