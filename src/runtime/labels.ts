/** Labels on every Docker object Gouvernail creates (see DESIGN.md). */
export const label = {
  managedBy: 'gouvernail.io/managed-by',
  namespace: 'gouvernail.io/namespace',
  pod: 'gouvernail.io/pod',
  uid: 'gouvernail.io/uid',
  specHash: 'gouvernail.io/spec-hash',
  /** The spec hash without the resources: equal when only the resources changed (resized in place). */
  shapeHash: 'gouvernail.io/shape-hash',
  container: 'gouvernail.io/container',
  claim: 'gouvernail.io/claim',
  /** The Pod's address, on the container that owns its network namespace (wired by the network component). */
  podIP: 'gouvernail.io/pod-ip',
  /** A node component's container (the network component), not a Pod's. */
  component: 'gouvernail.io/component',
} as const;

export function networkName(namespace: string): string {
  return `gouvernail-${namespace}`;
}

export function containerName(namespace: string, pod: string, container: string): string {
  return `gv_${namespace}_${pod}_${container}`;
}

export function claimVolumeName(namespace: string, claim: string): string {
  return `gv-pvc-${namespace}-${claim}`;
}

export function emptyDirVolumeName(podUid: string, volume: string): string {
  return `gv-emptydir-${podUid}-${volume}`;
}

/** The Docker volume that holds a Pod's ConfigMap, Secret or projected files for a read-only root. */
export function podFilesVolumeName(podUid: string, volume: string): string {
  return `gv-files-${podUid}-${volume}`;
}
