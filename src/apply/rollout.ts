import type { Client } from '../api/client.js';
import { assessHealth } from '../health/health.js';
import type { KubeObject } from '../manifest/types.js';


const revisionAnnotation = 'deployment.kubernetes.io/revision';

export interface Revision {
  revision: number;
  replicaSet: KubeObject;
}

/** The Deployment's revisions, oldest first, read from its ReplicaSets as kubectl does. */
export async function rolloutHistory(client: Client, namespace: string, name: string): Promise<{ deployment: KubeObject; revisions: Revision[] }> {
  const deployment = await client.get('Deployment', namespace, name);
  if (!deployment) throw new Error(`deployments.apps "${name}" not found in namespace ${namespace}`);
  const sets = (await client.list('ReplicaSet', namespace)).filter((rs) => (rs.metadata.ownerReferences ?? []).some((r) => r.uid === deployment.metadata.uid));
  const revisions = sets.map((rs) => ({ revision: Number(rs.metadata.annotations?.[revisionAnnotation] ?? 0), replicaSet: rs })).sort((a, b) => a.revision - b.revision);
  return { deployment, revisions };
}

/** Puts an earlier revision's Pod template back (the previous one by default). */
export async function rolloutUndo(client: Client, namespace: string, name: string, toRevision?: number): Promise<number> {
  const { deployment, revisions } = await rolloutHistory(client, namespace, name);
  if (revisions.length < 2 && toRevision === undefined) throw new Error(`deployment ${name} has no previous revision to go back to`);
  const target = toRevision === undefined ? revisions[revisions.length - 2]! : revisions.find((r) => r.revision === toRevision);
  if (!target) throw new Error(`deployment ${name} has no revision ${toRevision}; see 'gouvernail rollout history deployment ${name}'`);
  const template = structuredClone(target.replicaSet.spec.template);
  delete template.metadata?.labels?.['pod-template-hash'];
  await client.update({ ...deployment, spec: { ...deployment.spec, template } });
  return target.revision;
}

/** Waits until the Deployment's rollout is complete; reports progress as it changes. */
export async function rolloutStatus(client: Client, namespace: string, name: string, timeoutMs: number, progress: (line: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const d = await client.get('Deployment', namespace, name);
    const h = assessHealth(d);
    const line = h.status === 'Healthy' ? `deployment "${name}" successfully rolled out` : `Waiting for deployment "${name}" rollout to finish: ${h.message}`;
    if (line !== last) progress(line);
    last = line;
    if (h.status === 'Healthy') return;
    if (h.status === 'Degraded' || h.status === 'Missing') throw new Error(`deployment "${name}": ${h.message}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for deployment "${name}": ${h.message}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
