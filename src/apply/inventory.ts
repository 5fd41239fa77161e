import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import type { ObjectKey } from '../manifest/keys.js';
import type { KubeObject } from '../manifest/types.js';

/**
 * What a source applied, so that prune deletes only that: a ConfigMap in `default`, named after the
 * source, holding the object keys. Visible through the API like any object.
 */
export const inventoryNamespace = 'default';

export function inventoryObjectName(inventory: string): string {
  return `gouvernail-inventory-${createHash('sha256').update(inventory).digest('hex').slice(0, 12)}`;
}

/** The inventory a folder's objects are recorded under by `gouvernail apply`: its real path. */
export function folderInventory(dir: string): string {
  return `folder:${realpathSync(dir)}`;
}

export function inventoryKeys(configMap: KubeObject | undefined): ObjectKey[] {
  return configMap ? JSON.parse(configMap.data?.objects ?? '[]') : [];
}

export function inventoryObject(inventory: string, keys: ObjectKey[]): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: inventoryObjectName(inventory), namespace: inventoryNamespace, labels: { 'gouvernail.io/inventory': 'true' } }, data: { source: inventory, objects: JSON.stringify([...keys].sort()) } };
}
