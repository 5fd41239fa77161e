import { createHash } from 'node:crypto';
import type { KubeObject } from './types.js';

/**
 * The name suffix kustomize gives a generated ConfigMap or Secret: the sha256 of Go's JSON of
 * {kind, name, data (and binaryData, type, stringData)}, keys sorted, its first ten hex digits
 * with 0, 1, 3, a, e made g, h, k, m, t (so it never reads as a number or a word). Pure.
 */
export function kustomizeHash(o: KubeObject): string {
  const m: Record<string, unknown> = o.kind === 'Secret'
    ? { data: o.data ?? '', kind: 'Secret', name: o.metadata.name, ...(o.stringData ? { stringData: o.stringData } : {}), type: o.type ?? '' }
    : { ...(o.binaryData ? { binaryData: o.binaryData } : {}), data: o.data ?? '', kind: 'ConfigMap', name: o.metadata.name };
  const hex = createHash('sha256').update(goJson(m)).digest('hex');
  return hex.slice(0, 10).replace(/[013ae]/g, (c) => ({ 0: 'g', 1: 'h', 3: 'k', a: 'm', e: 't' })[c as '0']);
}

/** JSON as Go's encoding/json writes it: map keys sorted, and <, >, & escaped. */
function goJson(v: unknown): string {
  const sorted = (x: unknown): unknown => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sorted((x as Record<string, unknown>)[k])])) : Array.isArray(x) ? x.map(sorted) : x);
  return JSON.stringify(sorted(v)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
