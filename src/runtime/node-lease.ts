import type { Client } from '../api/client.js';
import type { KubeObject } from '../manifest/types.js';

/** Where the nodes' Leases are, as in Kubernetes. */
export const nodeLeaseNamespace = 'kube-node-lease';

/** How long a node's Lease holds without a renewal: the node monitor's grace period by default. */
export const nodeLeaseSeconds = 40;

/** A Lease's times are MicroTime: RFC 3339 with microseconds. */
export function microTime(d = new Date()): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

/**
 * Renews a node's Lease at each heartbeat, as the kubelet does (kubectl describe node shows it):
 * held by the node, owned by it (it goes with the Node), its renewTime now.
 */
export async function renewNodeLease(client: Client, node: KubeObject): Promise<void> {
  const name = node.metadata.name;
  const spec = { holderIdentity: name, leaseDurationSeconds: nodeLeaseSeconds, renewTime: microTime() };
  const live = await client.get('Lease', nodeLeaseNamespace, name);
  if (live) {
    await client.update({ ...live, spec: { ...live.spec, ...spec } });
    return;
  }
  const owner = { apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid! };
  await client.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: nodeLeaseNamespace, ownerReferences: [owner] }, spec });
}
