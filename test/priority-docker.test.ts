import test from 'ava';
import { startServer, waitFor } from './docker-helpers.js';
import { kubectl } from './kubectl-helpers.js';
import { parseQuantity } from '../src/manifest/quantity.js';

test('a Pod of a higher PriorityClass that fits nowhere preempts a lower one: the victim is told and stops, the Pod waits on its nominated node, then runs; the victim\'s replacement stays Pending', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const k = kubectl(server.kubeconfig);
  const node = await waitFor('the node', () => server.client.get('Node', undefined, 'test-node'));
  // Requests in shares of what this machine's node can give: two fillers take 80%, the urgent Pod wants 50%.
  const cores = Math.round(parseQuantity(node.status.allocatable.cpu) * 1000);
  const share = (percent: number) => `${Math.floor((cores * percent) / 100)}m`;
  const manifest = `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: { name: low }
value: 10
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: { name: high }
value: 1000
description: what must run
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: filler, namespace: default }
spec:
  replicas: 2
  selector: { matchLabels: { app: filler } }
  template:
    metadata: { labels: { app: filler } }
    spec:
      priorityClassName: low
      terminationGracePeriodSeconds: 15
      containers: [{ name: c, image: gouvernail-example/busybox:1, command: [sleep, "3600"], resources: { requests: { cpu: ${share(40)} } } }]
`;
  const applied = await k(['apply', '-f', '-'], { input: manifest });
  t.is(applied.code, 0, applied.err);
  const running = async (selector: string) => (await server.client.list('Pod', 'default', selector)).filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
  await waitFor('two fillers running', async () => (await running('app=filler')).length === 2, 120_000);
  const classes = await k(['get', 'priorityclasses']);
  t.regex(classes.out, /^NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY\n/);
  t.regex(classes.out, /\nhigh\s+1000\s+false\s+\S+\s+PreemptLowerPriority\n/);
  t.regex(classes.out, /\nsystem-node-critical\s+2000001000\s+false/);
  // kubectl create priorityclass sends protobuf.
  t.is((await k(['create', 'priorityclass', 'batch', '--value=500', '--preemption-policy=Never', '--description=batch work'])).code, 0);
  t.like(await server.client.get('PriorityClass', undefined, 'batch'), { value: 500, preemptionPolicy: 'Never', description: 'batch work' });

  const urgent = await k(['run', 'urgent', '--image=gouvernail-example/busybox:1', `--overrides={"spec":{"priorityClassName":"high","containers":[{"name":"urgent","image":"gouvernail-example/busybox:1","command":["sleep","3600"],"resources":{"requests":{"cpu":"${share(50)}"}}}]}}`]);
  t.is(urgent.code, 0, urgent.err);
  t.is((await server.client.get('Pod', 'default', 'urgent'))!.spec.priority, 1000);
  // The victim stops over its grace period; meanwhile the Pod is nominated to the node.
  const nominated = await waitFor('the urgent Pod nominated', async () => {
    const r = await k(['get', 'pod', 'urgent', '-o', 'wide']);
    return /urgent\s+0\/1\s+Pending\s+.*\s+test-node\s+<none>\n$/.test(r.out) ? r : undefined;
  }, 60_000, 500);
  t.regex(nominated.out, /NOMINATED NODE/);
  const events = await waitFor('a Preempted event', async () => {
    const list = await server.client.list('Event', 'default');
    return list.find((e) => e.reason === 'Preempted');
  });
  const urgentUid = (await server.client.get('Pod', 'default', 'urgent'))!.metadata.uid;
  t.is(events.message, `Preempted by pod ${urgentUid} on node test-node`);
  t.regex((events.involvedObject as { name: string }).name, /^filler-/);
  await waitFor('the urgent Pod running', async () => (await running('run=urgent')).length === 1, 120_000);
  // One filler was stopped; its ReplicaSet's replacement finds no room and cannot preempt a higher Pod.
  const pending = await waitFor('the replacement Pending', async () => {
    const pods = await server.client.list('Pod', 'default', 'app=filler');
    return pods.length === 2 && pods.find((p) => !p.spec.nodeName);
  }, 60_000);
  t.is((await running('app=filler')).length, 1);
  const described = await k(['describe', 'pod', pending.metadata.name]);
  t.regex(described.out, /Priority:\s+10\n/);
  t.regex(described.out, /Priority Class Name:\s+low\n/);
  t.regex(described.out, /FailedScheduling.*0\/1 nodes are available: 1 Insufficient cpu/);
  // Its PodScheduled condition says why, as kube-scheduler writes it.
  t.regex(described.out, /PodScheduled\s+False/);
  t.like((await server.client.get('Pod', 'default', pending.metadata.name))!.status.conditions.find((c: { type: string }) => c.type === 'PodScheduled'), { status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' });
});
