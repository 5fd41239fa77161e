import test from 'ava';
import { assessHealth } from '../src/health/health.js';
import type { KubeObject } from '../src/manifest/types.js';

const pod = (status: unknown, nodeName = 'n1'): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { nodeName, containers: [{ name: 'web', image: 'x' }] }, status });
const deployment = (replicas: number, status: unknown, generation = 1): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default', generation }, spec: { replicas }, status });

test('Pod: Healthy when Running and Ready', (t) => {
  t.deepEqual(assessHealth(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'web', ready: true, state: { running: {} } }] })), { status: 'Healthy', message: '' });
});

test('Pod: a crash loop is Degraded with the exit code and the restarts', (t) => {
  const h = assessHealth(pod({ phase: 'Running', containerStatuses: [{ name: 'web', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } }] }));
  t.deepEqual(h, { status: 'Degraded', message: 'CrashLoopBackOff: exit code 1, restarted 4 times (container web)' });
});

test('Pod: an image that cannot be had is Degraded with the reason', (t) => {
  const h = assessHealth(pod({ phase: 'Pending', containerStatuses: [{ name: 'web', state: { waiting: { reason: 'ErrImageNeverPull', message: 'image x is not present and imagePullPolicy is Never' } } }] }));
  t.deepEqual(h, { status: 'Degraded', message: 'ErrImageNeverPull: image x is not present and imagePullPolicy is Never (container web)' });
});

test('Pod: not scheduled or not ready yet is Progressing, saying what it waits for', (t) => {
  t.deepEqual(assessHealth(pod({}, '')), { status: 'Progressing', message: 'waiting to be scheduled to a node' });
  const unschedulable = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] };
  t.deepEqual(assessHealth(pod(unschedulable, '')), { status: 'Progressing', message: 'waiting to be scheduled to a node: 0/1 nodes are available: 1 Insufficient cpu.' });
  t.deepEqual(assessHealth(pod({ phase: 'Running', containerStatuses: [{ name: 'web', ready: false, state: { running: {} } }] })), { status: 'Progressing', message: 'waiting for containers web to be ready' });
  t.is(assessHealth(pod({ phase: 'Succeeded' })).status, 'Healthy');
  t.is(assessHealth(pod({ phase: 'Failed', message: 'OOMKilled' })).status, 'Degraded');
});

test('Deployment: Progressing until every updated replica is available; Healthy then', (t) => {
  t.deepEqual(assessHealth(deployment(3, { observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 3 })), { status: 'Healthy', message: '3 of 3 replicas available' });
  t.deepEqual(assessHealth(deployment(3, { observedGeneration: 1, updatedReplicas: 1, replicas: 4, availableReplicas: 3 })), { status: 'Progressing', message: '1 of 3 replicas updated' });
  t.deepEqual(assessHealth(deployment(3, { observedGeneration: 1, updatedReplicas: 3, replicas: 4, availableReplicas: 3 })), { status: 'Progressing', message: '1 old replicas pending termination' });
  t.deepEqual(assessHealth(deployment(3, { observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 2 })), { status: 'Progressing', message: '2 of 3 replicas available' });
  t.is(assessHealth(deployment(3, { observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }, 2)).status, 'Progressing', 'a spec the controller has not seen yet');
  t.is(assessHealth(deployment(1, { observedGeneration: 1, conditions: [{ type: 'Progressing', status: 'False', message: 'ProgressDeadlineExceeded' }] })).status, 'Degraded');
  t.is(assessHealth({ ...deployment(1, {}), spec: { replicas: 1, paused: true } }).status, 'Suspended');
});

test('PVC, Service, unknown kinds and missing objects', (t) => {
  const pvc = (phase?: string): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c' }, spec: {}, status: phase ? { phase } : undefined });
  t.is(assessHealth(pvc('Bound')).status, 'Healthy');
  t.is(assessHealth(pvc()).status, 'Progressing');
  t.is(assessHealth(pvc('Lost')).status, 'Degraded');
  t.is(assessHealth({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }).status, 'Healthy');
  t.is(assessHealth({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }).status, 'Healthy');
  t.deepEqual(assessHealth(undefined), { status: 'Missing', message: 'does not exist' });
});
