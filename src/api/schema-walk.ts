import type { Schema } from '../manifest/schema.js';

/** Merge keys Kubernetes gives lists that Gouvernail's schema does not describe (status, unknown fields). */
const knownMergeKeys: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  topologySpreadConstraints: 'topologyKey',
  containerStatuses: 'name',
  initContainerStatuses: 'name',
};

/** Lists of strings that merge as sets rather than being replaced. */
const setLists = new Set(['finalizers']);

/** The schema of a field of `schema` (an object's field, a map's value), or undefined. */
export function fieldSchema(schema: Schema | undefined, key: string): Schema | undefined {
  if (!schema) return undefined;
  if (schema.t === 'object') return schema.fields[key]?.schema;
  if (schema.t === 'map') return schema.values;
  return undefined;
}

export function itemSchema(schema: Schema | undefined): Schema | undefined {
  return schema?.t === 'array' ? schema.items : undefined;
}

export type ListStrategy = { type: 'map'; key: string } | { type: 'set' } | { type: 'atomic' };

/** How a list merges: by a key (containers by name), as a set (finalizers), or replaced whole. */
export function listStrategy(schema: Schema | undefined, field: string, sample: unknown[] = []): ListStrategy {
  if (schema?.t === 'array' && schema.mergeKey) return { type: 'map', key: schema.mergeKey };
  if (schema?.t === 'array' && !schema.mergeKey && schema.items.t !== 'object') return setLists.has(field) ? { type: 'set' } : { type: 'atomic' };
  if (!schema || schema.t !== 'array') {
    const key = knownMergeKeys[field];
    if (key && sample.every((i) => i && typeof i === 'object' && key in (i as object))) return { type: 'map', key };
    if (setLists.has(field)) return { type: 'set' };
  }
  return { type: 'atomic' };
}
