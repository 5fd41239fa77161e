import test from 'ava';
import { image, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { kubectl } from './kubectl-helpers.js';

let server: TestServer;
test.before(async () => {
  server = await startServer(undefined, { eventTtlMs: 30_000 });
});
test.after.always(async () => {
  await server?.destroy();
});

test.serial('the pod creation workflow is visible as Events with kubectl reasons and sources; repeats are counted; old ones expire', async (t) => {
  const k = kubectl(server.kubeconfig, '1.33');
  const ns = 'events-test';
  const ok = async (args: string[]) => {
    const r = await k(args);
    t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.out}${r.err}`);
    return r.out;
  };
  await ok(['create', 'namespace', ns]);
  const r = await k(['apply', '-n', ns, '-f', '-'], {
    input: `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: ${image}
          command: ["sleep", "3600"]
          readinessProbe: { exec: { command: ["test", "-f", "/tmp/never"] }, periodSeconds: 1, failureThreshold: 1 }
`,
  });
  t.is(r.code, 0, r.err);
  const pod = await waitFor('the Pod', async () => (await server.client.list('Pod', ns))[0]);
  const describe = await waitFor('describe ending with the workflow', async () => {
    const out = (await k(['describe', 'pod', '-n', ns, pod.metadata.name])).out;
    return /Unhealthy/.test(out) ? out : undefined;
  });
  const events = describe.slice(describe.indexOf('Events:'));
  const order = ['Scheduled', 'Pulled', 'Created', 'Started'].map((reason) => events.indexOf(`  ${reason} `));
  t.true(order.every((i) => i > 0), events);
  t.deepEqual([...order].sort((a, b) => a - b), order, `in order: ${events}`);
  t.regex(events, /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned events-test\/web-\S+ to test-node/);
  t.regex(events, /Normal\s+Started\s+\S+\s+kubelet\s+Started container web/);
  t.regex(events, /Warning\s+Unhealthy\s+\S+( \(x\d+ over \S+\))?\s+kubelet\s+Readiness probe failed/);

  // Repeats are one Event with a count.
  const unhealthy = await waitFor('the probe failure counted', async () => (await server.client.list('Event', ns)).find((e) => e.reason === 'Unhealthy' && Number(e.count) >= 3));
  t.is((await server.client.list('Event', ns)).filter((e) => e.reason === 'Unhealthy').length, 1, `one Event, count ${unhealthy.count}`);
  const rs = (await server.client.list('Event', ns)).filter((e) => e.reason === 'SuccessfulCreate');
  t.is(rs.length, 1);
  t.is((rs[0]!.source as { component: string }).component, 'replicaset-controller');
  t.regex(String((await server.client.list('Event', ns)).find((e) => e.reason === 'ScalingReplicaSet')?.message), /Scaled up replica set web-\w+ from 0 to 1/);

  const sorted = await ok(['get', 'events', '-A', '--sort-by=.lastTimestamp']);
  // As Kubernetes prints Events: no NAME column but in -o wide, and there last.
  t.regex(sorted, /^NAMESPACE\s+LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n/);
  t.regex(sorted, /\nevents-test\s+\d+s\s+Normal\s+Scheduled\s+pod\/web-\S+\s+Successfully assigned/);
  const wide = await ok(['get', 'events', '-n', ns, '-o', 'wide', '--field-selector', 'reason=Started']);
  t.regex(wide, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+SUBOBJECT\s+SOURCE\s+MESSAGE\s+FIRST SEEN\s+COUNT\s+NAME\n/, wide);
  t.regex(wide, /Normal\s+Started\s+pod\/web-\S+\s+kubelet, test-node\s+Started container web\s+\d+s\s+1\s+web-\S+\.\w+/, wide);

  // Old events expire (the server was started with a 30 s TTL: an 8 s one let the Scheduled event
  // expire before a loaded host had reported the probe): delete the Deployment, and the Events of
  // its Pod, no longer renewed, go.
  await ok(['delete', 'deployment', '-n', ns, 'web']);
  await waitFor('the Scheduled event expired', async () => !(await server.client.list('Event', ns)).some((e) => e.reason === 'Scheduled'), 120_000);
  t.pass();
});

test.serial('kubectl get -w shows a Pod go from ContainerCreating to 1/1 Running, never running and not ready without a probe', async (t) => {
  const k = kubectl(server.kubeconfig, '1.33');
  const ns = 'watch-test';
  t.is((await k(['create', 'namespace', ns])).code, 0);
  const watch = k.spawn(['get', 'pods', '-n', ns, '-w']);
  t.teardown(() => watch.proc.kill());
  const r = await k(['run', 'quick', '-n', ns, `--image=${image}`, '--restart=Never', '--command', '--', 'sleep', '3600']);
  t.is(r.code, 0, r.err);
  await waitFor('kubectl -w printing the Pod running', async () => /quick\s+1\/1\s+Running/.test(watch.output()), 120_000);
  const lines = watch.output().split('\n').filter((l) => l.startsWith('quick'));
  t.false(lines.some((l) => /quick\s+0\/1\s+Running/.test(l)), lines.join('\n'));
  t.regex(lines[0]!, /quick\s+0\/1\s+(Pending|ContainerCreating)/, lines.join('\n'));
  await k(['delete', 'namespace', ns, '--wait=false']);
});
