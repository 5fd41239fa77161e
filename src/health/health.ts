import type { KubeObject } from '../manifest/types.js';

export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';

export interface Health {
  status: HealthStatus;
  message: string;
}

type Assess = (o: KubeObject) => Health;

const healthy = (message = ''): Health => ({ status: 'Healthy', message });
const progressing = (message: string): Health => ({ status: 'Progressing', message });
const degraded = (message: string): Health => ({ status: 'Degraded', message });

function pod(o: KubeObject): Health {
  const s = o.status ?? {};
  const statuses: any[] = s.containerStatuses ?? [];
  for (const c of [...(s.initContainerStatuses ?? []), ...statuses]) {
    const waiting = c.state?.waiting;
    if (waiting && ['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'ErrImageNeverPull', 'CreateContainerConfigError', 'CreateContainerError', 'ContainerNameConflict'].includes(waiting.reason)) {
      const exit = c.lastState?.terminated?.exitCode;
      const details = waiting.reason === 'CrashLoopBackOff' ? [exit !== undefined ? `exit code ${exit}` : '', `restarted ${c.restartCount ?? 0} times`] : [waiting.message ?? ''];
      return degraded(`${waiting.reason}: ${details.filter(Boolean).join(', ')} (container ${c.name})`);
    }
  }
  if (s.phase === 'Failed') return degraded(s.message ?? 'the Pod failed');
  if (s.phase === 'Succeeded') return healthy('completed');
  const ready = (s.conditions ?? []).find((c: any) => c.type === 'Ready');
  if (s.phase === 'Running' && ready?.status === 'True') return healthy();
  if (!o.spec?.nodeName) {
    const unschedulable = (s.conditions ?? []).find((c: any) => c.type === 'PodScheduled' && c.status === 'False');
    return progressing(unschedulable?.message ? `waiting to be scheduled to a node: ${unschedulable.message}` : 'waiting to be scheduled to a node');
  }
  const notReady = statuses.filter((c) => !c.ready).map((c) => c.name);
  return progressing(notReady.length ? `waiting for containers ${notReady.join(', ')} to be ready` : `phase ${s.phase ?? 'Pending'}`);
}

function deployment(o: KubeObject): Health {
  if (o.spec?.paused) return { status: 'Suspended', message: 'the Deployment is paused' };
  const s = o.status ?? {};
  const want = o.spec?.replicas ?? 1;
  if ((s.observedGeneration ?? 0) < (o.metadata.generation ?? 1)) return progressing('waiting for the controller to see the latest spec');
  const stalled = (s.conditions ?? []).find((c: any) => c.type === 'Progressing' && c.status === 'False');
  if (stalled) return degraded(stalled.message ?? 'the rollout made no progress before its deadline');
  if ((s.updatedReplicas ?? 0) < want) return progressing(`${s.updatedReplicas ?? 0} of ${want} replicas updated`);
  if ((s.replicas ?? 0) > want) return progressing(`${(s.replicas ?? 0) - want} old replicas pending termination`);
  if ((s.availableReplicas ?? 0) < want) return progressing(`${s.availableReplicas ?? 0} of ${want} replicas available`);
  return healthy(`${want} of ${want} replicas available`);
}

function replicaSet(o: KubeObject): Health {
  const s = o.status ?? {};
  const want = o.spec?.replicas ?? 1;
  if ((s.readyReplicas ?? 0) < want) return progressing(`${s.readyReplicas ?? 0} of ${want} replicas ready`);
  return healthy();
}

function statefulSet(o: KubeObject): Health {
  const s = o.status ?? {};
  const want = o.spec?.replicas ?? 1;
  if ((s.observedGeneration ?? 0) < (o.metadata.generation ?? 1)) return progressing('waiting for the controller to see the latest spec');
  const partition = o.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  if (o.spec?.updateStrategy?.type !== 'OnDelete' && (s.updatedReplicas ?? 0) < want - partition) return progressing(`${s.updatedReplicas ?? 0} of ${want - partition} Pods updated`);
  if ((s.readyReplicas ?? 0) < want) return progressing(`${s.readyReplicas ?? 0} of ${want} Pods ready`);
  if ((s.availableReplicas ?? 0) < want) return progressing(`${s.availableReplicas ?? 0} of ${want} Pods available (ready for minReadySeconds, not restarted in the last 10 s)`);
  return healthy(`${want} of ${want} Pods ready`);
}

function daemonSet(o: KubeObject): Health {
  const s = o.status ?? {};
  if ((s.observedGeneration ?? 0) < (o.metadata.generation ?? 1)) return progressing('waiting for the controller to see the latest spec');
  const want = s.desiredNumberScheduled ?? 0;
  if (o.spec?.updateStrategy?.type !== 'OnDelete' && (s.updatedNumberScheduled ?? 0) < want) return progressing(`${s.updatedNumberScheduled ?? 0} of ${want} Pods updated`);
  if ((s.numberAvailable ?? 0) < want) return progressing(`${s.numberAvailable ?? 0} of ${want} Pods available`);
  return healthy(`${want} of ${want} Pods available`);
}

function job(o: KubeObject): Health {
  const c = (o.status?.conditions ?? []).find((c: any) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  if (c?.type === 'Complete') return healthy(`completed: ${o.status?.succeeded ?? 0} Pods succeeded`);
  if (c?.type === 'Failed') return degraded(`${c.reason}: ${c.message}`);
  if (o.spec?.suspend) return { status: 'Suspended', message: 'the Job is suspended' };
  return progressing(`${o.status?.succeeded ?? 0} of ${o.spec?.completions ?? 1} completions, ${o.status?.active ?? 0} running`);
}

function pvc(o: KubeObject): Health {
  const phase = o.status?.phase;
  if (phase === 'Bound') return healthy('volume bound');
  if (phase === 'Lost') return degraded('the volume behind the claim is lost');
  return progressing('waiting for the volume to be created');
}

const byKind: Record<string, Assess> = {
  Pod: pod,
  Deployment: deployment,
  ReplicaSet: replicaSet,
  ReplicationController: replicaSet,
  StatefulSet: statefulSet,
  DaemonSet: daemonSet,
  Job: job,
  CronJob: (o) => (o.spec?.suspend ? { status: 'Suspended', message: 'the CronJob is suspended' } : healthy()),
  PersistentVolumeClaim: pvc,
  Service: () => healthy(),
};

/** Health of an object, one pure function per kind; kinds without one count as healthy once they exist. */
export function assessHealth(o: KubeObject | undefined): Health {
  if (!o) return { status: 'Missing', message: 'does not exist' };
  const f = byKind[o.kind];
  return f ? f(o) : healthy();
}
