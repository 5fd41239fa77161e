import test from 'ava';
import { parseQuantity } from '../src/manifest/quantity.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { containersOf, docker, execIn, image, image2, isReady, runCli, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { tempDir } from './helpers.js';
import { kubectl, type Kubectl } from './kubectl-helpers.js';
import type { KubeObject } from '../src/manifest/types.js';

/** StatefulSet, Job and CronJob on the real engine, driven by the real kubectl (1.33). */
let server: TestServer;
let k: Kubectl;
test.before(async () => {
  // The autoscaler and the metrics it reads every 3 s, not 15 s, so that the HPA test is short.
  server = await startServer(undefined, { autoscalerPeriodMs: 3000, metricsPeriodMs: 3000 });
  k = kubectl(server.kubeconfig, '1.33');
});
test.after.always(async () => {
  await server?.destroy();
});

const apply = async (t: { is: (a: unknown, b: unknown, m?: string) => void }, yaml: string) => {
  const r = await k(['apply', '-f', '-'], { input: yaml });
  t.is(r.code, 0, r.err);
  return r.out;
};
const created = (p: KubeObject) => Date.parse(p.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? '');

test.serial('a StatefulSet of 3 starts web-0, web-1, web-2 in order, each with its own volume that survives a Pod delete, and each answers to its DNS name', async (t) => {
  t.timeout(300_000);
  await k(['create', 'namespace', 'sts']);
  await apply(t, `apiVersion: v1
kind: Service
metadata: { name: nginx, namespace: sts }
spec: { clusterIP: None, selector: { app: web }, ports: [{ port: 80, name: web }] }
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: web, namespace: sts }
spec:
  serviceName: nginx
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
      - name: web
        image: "${image}"
        command: ["sh", "-c", "[ -f /data/id ] || (hostname > /data/id; cat /proc/sys/kernel/random/uuid >> /data/id); sleep 3600"]
        readinessProbe: { exec: { command: ["test", "-f", "/data/id"] }, periodSeconds: 1 }
        volumeMounts: [{ name: data, mountPath: /data }]
  volumeClaimTemplates:
  - metadata: { name: data }
    spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } } }
`);
  const r = await k(['rollout', 'status', 'statefulset/web', '-n', 'sts', '--timeout=180s']);
  t.is(r.code, 0, r.out + r.err);
  const pods = await server.client.list('Pod', 'sts', 'app=web');
  t.deepEqual(pods.map((p) => p.metadata.name).sort(), ['web-0', 'web-1', 'web-2']);
  // In order: each started after the one before it was ready.
  const [p0, p1, p2] = ['web-0', 'web-1', 'web-2'].map((n) => pods.find((p) => p.metadata.name === n)!);
  const readyAt = (p: KubeObject) => Date.parse(p.status.conditions.find((c: { type: string }) => c.type === 'Ready').lastTransitionTime);
  // Timestamps are to the second: each Pod started no earlier than the second the one before turned Ready.
  t.true(Math.floor(created(p1!) / 1000) >= Math.floor(readyAt(p0!) / 1000) && Math.floor(created(p2!) / 1000) >= Math.floor(readyAt(p1!) / 1000), 'web-0 ready, then web-1 started; web-1 ready, then web-2 started');
  t.true(created(p0!) < created(p1!) && created(p1!) < created(p2!), 'web-0, then web-1, then web-2');
  t.regex((await k(['get', 'statefulset', 'web', '-n', 'sts'])).out, /web\s+3\/3/);
  t.deepEqual((await k(['get', 'pvc', '-n', 'sts', '-o', 'name'])).out.trim().split('\n').sort(), ['persistentvolumeclaim/data-web-0', 'persistentvolumeclaim/data-web-1', 'persistentvolumeclaim/data-web-2']);

  // Each Pod's volume is its own, and a deleted Pod comes back with the same one.
  const idOf = async (pod: string) => {
    const [c] = (await containersOf(server.installation, 'sts')).filter((c) => c.Labels['gouvernail.io/pod'] === pod && c.State === 'running');
    return c ? (await execIn(c.Id, ['cat', '/data/id'])).out : undefined;
  };
  const before = await waitFor('web-1 has written its id', () => idOf('web-1'));
  t.regex(before, /^web-1\n[0-9a-f-]{36}\n$/);
  t.not(await idOf('web-0'), before);
  const oldUid = p1!.metadata.uid;
  t.is((await k(['delete', 'pod', 'web-1', '-n', 'sts'])).code, 0);
  await waitFor('web-1 back and ready', async () => {
    const p = await server.client.get('Pod', 'sts', 'web-1');
    return p && p.metadata.uid !== oldUid && isReady(p);
  }, 120_000).catch(async (err) => {
    // What the cluster shows then, for the one who reads the failure.
    const shown = await Promise.all([['get', 'pods', '-n', 'sts', '-o', 'wide'], ['describe', 'pod', 'web-1', '-n', 'sts'], ['get', 'events', '-n', 'sts']].map(async (a) => (await k(a)).out));
    throw new Error(`${(err as Error).message}\n${shown.join('\n')}`);
  });
  t.is(await waitFor('web-1 running', () => idOf('web-1')), before, 'the same volume, with what the first web-1 wrote');

  // web-0.nginx resolves from web-2 on the namespace network.
  const [c2] = (await containersOf(server.installation, 'sts')).filter((c) => c.Labels['gouvernail.io/pod'] === 'web-2' && c.State === 'running');
  const ping = await execIn(c2!.Id, ['ping', '-c', '1', '-W', '2', 'web-0.nginx']);
  t.is(ping.code, 0, ping.out);
  t.is((await execIn(c2!.Id, ['ping', '-c', '1', '-W', '2', 'web-0.nginx.sts.svc.cluster.local'])).code, 0);
  // Its own fully qualified name, as `hostname -f` gives it (what clustered databases configure themselves with).
  t.is((await execIn(c2!.Id, ['hostname', '-f'])).out.trim(), 'web-2.nginx.sts.svc.cluster.local');
  t.is((await execIn(c2!.Id, ['hostname'])).out.trim(), 'web-2');

  // Scaled to 1: web-2 then web-1 go; their claims stay.
  t.is((await k(['scale', 'statefulset/web', '-n', 'sts', '--replicas=1'])).code, 0);
  await waitFor('scaled to 1', async () => (await server.client.list('Pod', 'sts', 'app=web')).length === 1, 120_000);
  t.is((await server.client.list('PersistentVolumeClaim', 'sts')).length, 3);

  // A claim deleted under its running Pod waits for it; the Pod deleted too, the claim goes and the
  // StatefulSet makes it again for the new web-0, which then runs.
  const claim0 = (await server.client.get('PersistentVolumeClaim', 'sts', 'data-web-0'))!;
  t.is((await k(['delete', 'pvc', 'data-web-0', '-n', 'sts', '--wait=false'])).code, 0);
  t.regex((await k(['get', 'pvc', 'data-web-0', '-n', 'sts'])).out, /data-web-0\s+Terminating/);
  const pod0 = (await server.client.get('Pod', 'sts', 'web-0'))!;
  t.true(isReady(pod0), 'web-0 keeps running on its claim');
  t.is((await k(['delete', 'pod', 'web-0', '-n', 'sts'])).code, 0);
  await waitFor('web-0 back and ready on a new claim', async () => {
    const p = await server.client.get('Pod', 'sts', 'web-0');
    const c = await server.client.get('PersistentVolumeClaim', 'sts', 'data-web-0');
    return p && p.metadata.uid !== pod0.metadata.uid && isReady(p) && c && c.metadata.uid !== claim0.metadata.uid && !c.metadata.deletionTimestamp;
  }, 240_000);
});

test.serial('kubectl rollout history and undo of a StatefulSet and a DaemonSet: each template a ControllerRevision, undo back to the first one', async (t) => {
  t.timeout(300_000);
  await k(['create', 'namespace', 'sts-history']);
  await apply(t, `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: web, namespace: sts-history }
spec:
  serviceName: web
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{ name: web, image: "${image}", command: ["sleep", "3600"] }]
`);
  const ready = await k(['rollout', 'status', 'statefulset/web', '-n', 'sts-history', '--timeout=180s']);
  t.is(ready.code, 0, ready.out + ready.err);
  const first = (await server.client.get('StatefulSet', 'sts-history', 'web'))!.status.updateRevision as string;
  t.is((await k(['set', 'env', 'statefulset/web', '-n', 'sts-history', 'MODE=two'])).code, 0);
  const rolled = await k(['rollout', 'status', 'statefulset/web', '-n', 'sts-history', '--timeout=180s']);
  t.is(rolled.code, 0, rolled.out + rolled.err);
  t.regex((await k(['rollout', 'history', 'statefulset/web', '-n', 'sts-history'])).out, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
  t.regex((await k(['rollout', 'history', 'statefulset/web', '-n', 'sts-history', '--revision=2'])).out, /MODE:\s+two/);
  const undone = await k(['rollout', 'undo', 'statefulset/web', '-n', 'sts-history']);
  t.regex(undone.out, /statefulset.apps\/web rolled back/, undone.err);
  await waitFor('web-0 back on the first template', async () => {
    const p = await server.client.get('Pod', 'sts-history', 'web-0');
    return p && isReady(p) && p.metadata.labels?.['controller-revision-hash'] === first && !p.spec.containers[0].env;
  }, 180_000);
  t.regex((await k(['rollout', 'history', 'statefulset/web', '-n', 'sts-history'])).out, /REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
  t.regex((await k(['get', 'controllerrevisions', '-n', 'sts-history'])).out, new RegExp(`^${first}\\s+statefulset.apps/web\\s+3\\s`, 'm'));

  // A DaemonSet's, the same way.
  await apply(t, `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent, namespace: sts-history }
spec:
  selector: { matchLabels: { app: agent } }
  template:
    metadata: { labels: { app: agent } }
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{ name: agent, image: "${image}", command: ["sleep", "3600"] }]
`);
  const images = async () => (await server.client.list('Pod', 'sts-history', 'app=agent')).filter((p) => !p.metadata.deletionTimestamp && isReady(p)).map((p) => p.spec.containers[0].image);
  await waitFor('the agent running', async () => (await images()).length === 1);
  t.is((await k(['set', 'image', 'daemonset/agent', '-n', 'sts-history', `agent=${image2}`])).code, 0);
  await waitFor('the agent on the second image', async () => (await images()).join() === image2, 120_000);
  t.regex((await k(['rollout', 'history', 'daemonset/agent', '-n', 'sts-history'])).out, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
  t.regex((await k(['rollout', 'undo', 'daemonset/agent', '-n', 'sts-history'])).out, /daemonset.apps\/agent rolled back/);
  await waitFor('the agent back on the first image', async () => (await images()).join() === image, 120_000);
  await k(['delete', 'namespace', 'sts-history', '--wait=false']);
});

test.serial('kubectl create job; a Job with completions 3 and parallelism 2 completes; a failing one stops at its backoffLimit', async (t) => {
  await k(['create', 'namespace', 'jobs']);
  const made = await k(['create', 'job', 'hello', '-n', 'jobs', `--image=${image}`, '--', 'echo', 'hello from a job']);
  t.is(made.code, 0, made.err);
  t.regex(made.out, /job.batch\/hello created/);
  const waited = await k(['wait', '--for=condition=complete', 'job/hello', '-n', 'jobs', '--timeout=120s']);
  t.is(waited.code, 0, waited.out + waited.err);
  t.is((await k(['logs', 'job/hello', '-n', 'jobs'])).out, 'hello from a job\n');

  await apply(t, `apiVersion: batch/v1
kind: Job
metadata: { name: three, namespace: jobs }
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: work, image: "${image}", command: ["sh", "-c", "sleep 2; echo done"] }]
`);
  let most = 0;
  await waitFor('three completions', async () => {
    const pods = await server.client.list('Pod', 'jobs', 'job-name=three');
    most = Math.max(most, pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length);
    const job = await server.client.get('Job', 'jobs', 'three');
    return job?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Complete' && c.status === 'True');
  }, 180_000, 200);
  t.true(most <= 2, `at most 2 Pods at once (saw ${most})`);
  t.is((await server.client.list('Pod', 'jobs', 'job-name=three')).filter((p) => p.status?.phase === 'Succeeded').length, 3);
  t.regex((await k(['get', 'job', 'three', '-n', 'jobs'])).out, /three\s+Complete\s+3\/3/);

  // An init container prepares what the work reads; a sidecar (an init container that keeps
  // running) never exits: the Pod succeeds when its app container does, and the sidecar is stopped.
  await apply(t, `apiVersion: batch/v1
kind: Job
metadata: { name: staged, namespace: jobs }
spec:
  template:
    spec:
      restartPolicy: Never
      initContainers:
      - { name: prepare, image: "${image}", command: ["sh", "-c", "echo prepared > /work/input"], volumeMounts: [{ name: work, mountPath: /work }] }
      - { name: logger, image: "${image}", restartPolicy: Always, command: ["sh", "-c", "exec sleep 3600"] }
      containers: [{ name: work, image: "${image}", command: ["sh", "-c", "cat /work/input; sleep 1"], volumeMounts: [{ name: work, mountPath: /work }] }]
      volumes: [{ name: work, emptyDir: {} }]
`);
  const staged = await k(['wait', '--for=condition=complete', 'job/staged', '-n', 'jobs', '--timeout=180s']);
  t.is(staged.code, 0, staged.out + staged.err);
  t.is((await k(['logs', 'job/staged', '-n', 'jobs', '-c', 'work'])).out, 'prepared\n');
  const [stagedPod] = await server.client.list('Pod', 'jobs', 'job-name=staged');
  t.is(stagedPod?.status?.phase, 'Succeeded');
  await waitFor('the sidecar stopped', async () => !(await containersOf(server.installation, 'jobs')).some((c) => c.Labels['gouvernail.io/pod'] === stagedPod!.metadata.name && c.Labels['gouvernail.io/container'] === 'logger' && c.State === 'running'), 60_000);

  await apply(t, `apiVersion: batch/v1
kind: Job
metadata: { name: broken, namespace: jobs }
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: work, image: "${image}", command: ["sh", "-c", "exit 3"] }]
`);
  const failed = await k(['wait', '--for=condition=failed', 'job/broken', '-n', 'jobs', '--timeout=180s']);
  t.is(failed.code, 0, failed.out + failed.err);
  t.is((await server.client.list('Pod', 'jobs', 'job-name=broken')).length, 2, 'one try and one retry');
  t.regex((await k(['describe', 'job', 'broken', '-n', 'jobs'])).out, /BackoffLimitExceeded/);

  // podFailurePolicy: exit 42 fails the Job at its first Pod, backoffLimit or not; an exit 3 the
  // policy ignores is tried again, past a backoffLimit of 0.
  await apply(t, `apiVersion: batch/v1
kind: Job
metadata: { name: policed, namespace: jobs }
spec:
  backoffLimit: 6
  podFailurePolicy:
    rules:
    - { action: FailJob, onExitCodes: { containerName: work, operator: In, values: [42] } }
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: work, image: "${image}", command: ["sh", "-c", "exit 42"] }]
---
apiVersion: batch/v1
kind: Job
metadata: { name: forgiven, namespace: jobs }
spec:
  backoffLimit: 0
  podFailurePolicy:
    rules:
    - { action: Ignore, onExitCodes: { operator: In, values: [3] } }
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [{ name: work, image: "${image}", command: ["sh", "-c", "exit 3"] }]
`);
  const policed = await k(['wait', '--for=condition=failed', 'job/policed', '-n', 'jobs', '--timeout=180s']);
  t.is(policed.code, 0, policed.out + policed.err);
  t.is((await server.client.list('Pod', 'jobs', 'job-name=policed')).length, 1, 'no retry');
  t.regex((await k(['describe', 'job', 'policed', '-n', 'jobs'])).out, /PodFailurePolicy\s+\S+\s+job-controller\s+Container work for pod jobs\/policed-\S+ failed with exit code 42 matching FailJob rule at index 0/);
  await waitFor('the ignored failure tried again', async () => (await server.client.list('Pod', 'jobs', 'job-name=forgiven')).filter((p) => p.status?.phase === 'Failed').length >= 2, 120_000);
  const forgiven = (await server.client.get('Job', 'jobs', 'forgiven'))!;
  t.falsy(forgiven.status?.conditions?.some((c: { type: string }) => c.type === 'Failed'), 'not failed past its backoffLimit of 0');
  t.is((await k(['delete', 'job', 'forgiven', '-n', 'jobs'])).code, 0);
});

test.serial('a CronJob every minute creates Jobs named for their minute and keeps its history limit', async (t) => {
  await k(['create', 'namespace', 'cron']);
  await apply(t, `apiVersion: batch/v1
kind: CronJob
metadata: { name: tick, namespace: cron }
spec:
  schedule: "* * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{ name: tick, image: "${image}", command: ["date"] }]
`);
  const seen = new Set<string>();
  await waitFor('two Jobs created, the first one deleted by the history limit', async () => {
    for (const j of await server.client.list('Job', 'cron')) seen.add(j.metadata.name);
    const now = await server.client.list('Job', 'cron');
    return seen.size >= 2 && now.filter((j) => j.status?.conditions?.some((c: { type: string }) => c.type === 'Complete')).length <= 1 && !now.some((j) => j.metadata.name === [...seen].sort()[0]);
  }, 200_000, 500);
  for (const name of seen) t.regex(name, /^tick-\d{8}$/, 'NAME-<minutes since the epoch>');
  const cj = (await server.client.get('CronJob', 'cron', 'tick'))!;
  t.truthy(cj.status.lastScheduleTime);
  t.regex((await k(['get', 'cronjob', 'tick', '-n', 'cron'])).out, /tick\s+\* \* \* \* \*\s+<none>\s+False\s+\d\s+\d+s/);
  // Suspended: no new Job.
  t.is((await k(['patch', 'cronjob', 'tick', '-n', 'cron', '-p', '{"spec":{"suspend":true}}'])).code, 0);
  t.regex((await k(['get', 'cronjob', 'tick', '-n', 'cron'])).out, /tick\s+\* \* \* \* \*\s+<none>\s+True/);
});

test.serial('a Pod with a scheduling gate waits as SchedulingGated until the gate is removed, then runs', async (t) => {
  await k(['create', 'namespace', 'gates']);
  await apply(t, `apiVersion: v1
kind: Pod
metadata: { name: held, namespace: gates }
spec:
  schedulingGates: [{ name: example.com/approval }]
  terminationGracePeriodSeconds: 1
  containers: [{ name: c, image: "${image}", command: ["sleep", "3600"] }]
`);
  await waitFor('the Pod shown SchedulingGated', async () => /held\s+0\/1\s+SchedulingGated/.test((await k(['get', 'pod', 'held', '-n', 'gates'])).out), 60_000);
  t.falsy((await server.client.get('Pod', 'gates', 'held'))!.spec.nodeName);
  t.deepEqual(await containersOf(server.installation, 'gates'), []);
  const added = await k(['patch', 'pod', 'held', '-n', 'gates', '--type=json', '-p', '[{"op":"add","path":"/spec/schedulingGates/-","value":{"name":"more"}}]']);
  t.regex(added.err, /only deletion is allowed, but found new scheduling gate 'more'/);
  t.is((await k(['patch', 'pod', 'held', '-n', 'gates', '--type=json', '-p', '[{"op":"remove","path":"/spec/schedulingGates"}]'])).code, 0);
  t.is((await k(['wait', '--for=condition=Ready', 'pod/held', '-n', 'gates', '--timeout=120s'])).code, 0);
});

test.serial('a crash-looping stack makes apply fail with the Pod\'s reason, not report it healthy', async (t) => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'stack.yaml'), `apiVersion: v1
kind: Namespace
metadata: { name: crashing }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: crashing }
spec:
  replicas: 2
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec:
      containers: [{ name: api, image: "${image}", command: ["sh", "-c", "echo cannot reach the database; exit 3"] }]
`);
  const applied = await runCli('apply', '-f', dir, '--kubeconfig', server.kubeconfig, '--timeout', '150s');
  t.not(applied.code, 0, applied.out);
  t.notRegex(applied.out + applied.err, /all objects are healthy/);
  t.regex(applied.err, /Deployment\/crashing\/api failed before the last wave: Pod api-\S+ is crash-looping: CrashLoopBackOff: exit code 3, restarted \d+ times \(container api\)/);
});

test.serial('init containers run in order to completion before the app, whose container sees their file; a sidecar runs beside it; preStop runs on delete, then the grace period, then SIGKILL, the Pod Terminating until its container is gone; kubectl delete waits for that, --grace-period shortens it', async (t) => {
  await k(['create', 'namespace', 'initns']);
  await apply(t, `apiVersion: v1
kind: Pod
metadata: { name: staged, namespace: initns }
spec:
  terminationGracePeriodSeconds: 8
  initContainers:
  - { name: fetch, image: "${image}", command: ["sh", "-c", "sleep 2; echo prepared by fetch > /work/index"], volumeMounts: [{ name: work, mountPath: /work }] }
  - { name: check, image: "${image}", command: ["sh", "-c", "cat /work/index >> /work/checked"], volumeMounts: [{ name: work, mountPath: /work }] }
  - name: side
    image: "${image}"
    restartPolicy: Always
    command: ["sh", "-c", "while true; do date +%s >> /work/side.log; sleep 1; done"]
    volumeMounts: [{ name: work, mountPath: /work }]
  containers:
  - name: app
    image: "${image}"
    command: ["sh", "-c", "cat /work/index; cat /work/checked; exec sleep 3600"]
    lifecycle: { preStop: { exec: { command: ["sh", "-c", "echo said goodbye > /work/prestop"] } } }
    volumeMounts: [{ name: work, mountPath: /work }]
  volumes: [{ name: work, emptyDir: {} }]
`);
  const first = await waitFor('Init:0/3 while fetch runs', async () => (await k(['get', 'pod', 'staged', '-n', 'initns', '--no-headers'])).out.match(/Init:\d\/3|PodInitializing|Running/)?.[0]);
  t.regex(first, /Init:[01]\/3/, 'seen initializing');
  const w = await k(['wait', '--for=condition=Ready', 'pod/staged', '-n', 'initns', '--timeout=120s']);
  t.is(w.code, 0, w.out + w.err);
  t.is((await k(['logs', 'staged', '-n', 'initns', '-c', 'app'])).out, 'prepared by fetch\nprepared by fetch\n');
  const pod = (await server.client.get('Pod', 'initns', 'staged'))!;
  const init = Object.fromEntries(pod.status.initContainerStatuses.map((s: { name: string }) => [s.name, s]));
  t.like(init.fetch.state.terminated, { exitCode: 0, reason: 'Completed' });
  t.like(init.check.state.terminated, { exitCode: 0, reason: 'Completed' });
  t.truthy(init.side.state.running, 'the sidecar keeps running');
  t.true(Date.parse(init.fetch.state.terminated.finishedAt) <= Date.parse(init.check.state.terminated.startedAt), 'check started after fetch finished');
  t.regex((await k(['get', 'pod', 'staged', '-n', 'initns', '--no-headers'])).out, /staged\s+1\/1\s+Running\s+0/);
  // The sidecar shares the Pod's network with the app: the same address.
  const containers = await containersOf(server.installation, 'initns');
  const app = containers.find((c) => c.Labels['gouvernail.io/container'] === 'app')!;
  const side = containers.find((c) => c.Labels['gouvernail.io/container'] === 'side')!;
  t.is((await execIn(app.Id, ['hostname', '-i'])).out, (await execIn(side.Id, ['hostname', '-i'])).out);
  const lines = async () => (await execIn(app.Id, ['wc', '-l', '/work/side.log'])).out;
  const before = await lines();
  await waitFor('the sidecar still writing', async () => (await lines()) !== before);

  // Deleted: preStop runs, then SIGTERM (which sleep as PID 1 ignores), then SIGKILL after the 8 s
  // grace period. The Pod stays meanwhile, Terminating, and goes once its containers have.
  const deleted = Date.now();
  t.is((await k(['delete', 'pod', 'staged', '-n', 'initns', '--wait=false'])).code, 0);
  t.regex((await k(['get', 'pod', 'staged', '-n', 'initns', '--no-headers'])).out, /staged\s+\S+\s+Terminating/);
  t.is(await waitFor('preStop ran', async () => {
    const r = await execIn(app.Id, ['cat', '/work/prestop']).catch(() => ({ code: 1, out: '' }));
    return r.code === 0 && r.out;
  }, 30_000), 'said goodbye\n');
  const terminating = await server.client.get('Pod', 'initns', 'staged');
  t.truthy(terminating?.metadata.deletionTimestamp, 'the Pod is still there, being deleted, while preStop runs');
  t.is(terminating?.metadata.deletionGracePeriodSeconds, 8);
  await waitFor('the Pod gone from the API', async () => (await server.client.get('Pod', 'initns', 'staged')) === undefined, 60_000);
  const took = Date.now() - deleted;
  t.false((await containersOf(server.installation, 'initns')).some((c) => c.Id === app.Id), 'its container went first');
  t.true(took >= 7000, `the grace period was waited (${took} ms)`);

  // kubectl delete waits for the Pod to be gone, which is once its container has stopped: with
  // --grace-period, within that many seconds rather than the Pod's own 30.
  await apply(t, `apiVersion: v1
kind: Pod
metadata: { name: stubborn, namespace: initns }
spec:
  containers:
  - { name: app, image: "${image}", command: ["sleep", "3600"] }
`);
  t.is((await k(['wait', '--for=condition=Ready', 'pod/stubborn', '-n', 'initns', '--timeout=120s'])).code, 0);
  const stubborn = (await containersOf(server.installation, 'initns')).find((c) => c.Labels['gouvernail.io/pod'] === 'stubborn')!;
  t.truthy(stubborn, 'its container runs');
  const asked = Date.now();
  const gone = await k(['delete', 'pod', 'stubborn', '-n', 'initns', '--grace-period=3']);
  const waited = Date.now() - asked;
  t.is(gone.code, 0, gone.err);
  t.regex(gone.out, /pod "stubborn" deleted/);
  t.false((await containersOf(server.installation, 'initns')).some((c) => c.Id === stubborn.Id), 'kubectl delete returned once the container was gone');
  t.true(waited >= 2500 && waited < 25_000, `the 3 s grace period was waited, not 30 s (${waited} ms)`);
});

test.serial("a Pod deleted while a liveness probe is stopping its container runs the container's preStop hook once", async (t) => {
  // The hook writes to a folder of this host: the Pod and its volumes go, the count stays.
  const out = tempDir();
  await apply(t, `apiVersion: v1
kind: Namespace
metadata: { name: prestop-once, labels: { pod-security.kubernetes.io/enforce: privileged } }
---
apiVersion: v1
kind: Pod
metadata: { name: flaky, namespace: prestop-once }
spec:
  terminationGracePeriodSeconds: 8
  containers:
  - name: app
    image: "${image}"
    command: ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600"]
    livenessProbe: { exec: { command: ["cat", "/tmp/healthy"] }, periodSeconds: 1, failureThreshold: 1 }
    lifecycle: { preStop: { exec: { command: ["sh", "-c", "echo stopping >> /out/prestop; sleep 6"] } } }
    volumeMounts: [{ name: out, mountPath: /out }]
  volumes: [{ name: out, hostPath: { path: "${out}", type: Directory } }]
`);
  const hooks = () => (existsSync(path.join(out, 'prestop')) ? readFileSync(path.join(out, 'prestop'), 'utf8').split('\n').filter(Boolean).length : 0);
  // The probe's stop began: its preStop hook runs, for 6 s.
  await waitFor("the probe's stop running the hook", async () => hooks() === 1, 120_000, 200);
  t.is((await k(['delete', 'pod', 'flaky', '-n', 'prestop-once', '--wait=false'])).code, 0);
  await waitFor('the Pod gone', async () => (await server.client.get('Pod', 'prestop-once', 'flaky')) === undefined, 90_000);
  t.is(hooks(), 1, 'the delete waited for the stop under way instead of running the hook again');
  const reasons = (await server.client.list('Event', 'prestop-once')).map((e) => `${e.reason}: ${e.message}`);
  t.true(reasons.includes('Killing: Container app failed liveness probe, will be restarted'), reasons.join('\n'));
});

/**
 * A Pod alone in a namespace of its name, running `sleep` as PID 1, which ignores SIGTERM: it goes
 * when its grace period ends. Its running container.
 */
const sleeper = async (t: { is: (a: unknown, b: unknown, m?: string) => void; truthy: (a: unknown, m?: string) => void }, ns: string, name: string, graceSeconds: number) => {
  await apply(t, `apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
---
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns} }
spec:
  terminationGracePeriodSeconds: ${graceSeconds}
  containers:
  - { name: app, image: "${image}", command: ["sleep", "3600"] }
`);
  t.is((await k(['wait', '--for=condition=Ready', `pod/${name}`, '-n', ns, '--timeout=120s'])).code, 0);
  const [container] = await containersOf(server.installation, ns);
  t.truthy(container, 'its container runs');
  return container!;
};

test.serial('kubectl delete --cascade=foreground of a Pod returns once its container is gone, as a plain delete does', async (t) => {
  const container = await sleeper(t, 'foreground', 'slow', 10);
  // sleep as PID 1 ignores SIGTERM: the container goes when the 10 s grace period ends (longer
  // than kubectl takes to run, so that returning early shows).
  const asked = Date.now();
  const r = await k(['delete', 'pod', 'slow', '-n', 'foreground', '--cascade=foreground']);
  const took = Date.now() - asked;
  t.is(r.code, 0, r.err);
  t.false((await containersOf(server.installation, 'foreground')).some((c) => c.Id === container.Id), 'the container was gone when kubectl returned');
  t.true(took >= 9000, `the grace period was waited (${took} ms)`);
});

test.serial('a second kubectl delete with a shorter grace period cuts the wait of a Pod already Terminating', async (t) => {
  // The first delete would wait its 300 s.
  const container = await sleeper(t, 'shorter', 'patient', 300);
  t.is((await k(['delete', 'pod', 'patient', '-n', 'shorter', '--wait=false'])).code, 0);
  t.is((await server.client.get('Pod', 'shorter', 'patient'))?.metadata.deletionGracePeriodSeconds, 300);
  // Its node has begun stopping it with that period (the Killing event), and it still runs.
  await waitFor('the node stopping its container', async () => (await server.client.list('Event', 'shorter')).some((e) => e.reason === 'Killing'));
  t.true((await docker.getContainer(container.Id).inspect()).State.Running);
  const asked = Date.now();
  const r = await k(['delete', 'pod', 'patient', '-n', 'shorter', '--grace-period=2', '--timeout=120s']);
  const took = Date.now() - asked;
  t.is(r.code, 0, r.err);
  t.false((await containersOf(server.installation, 'shorter')).some((c) => c.Id === container.Id), 'the container was gone when kubectl returned');
  t.true(took < 90_000, `the 2 s grace period was waited, not 300 s (${took} ms)`);
});

test.serial('an HPA scales a Deployment from 1 to 3 under a CPU burn and back down after its window', async (t) => {
  await k(['create', 'namespace', 'hpa']);
  await apply(t, `apiVersion: apps/v1
kind: Deployment
metadata: { name: burner, namespace: hpa }
spec:
  selector: { matchLabels: { app: burner } }
  template:
    metadata: { labels: { app: burner } }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: "${image}"
        # Spins while /tmp/burn exists, idles otherwise.
        command: ["sh", "-c", "while true; do if [ -f /tmp/burn ]; then :; else sleep 1; fi; done"]
        resources: { requests: { cpu: 100m } }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: burner, namespace: hpa }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: burner }
  minReplicas: 1
  maxReplicas: 3
  metrics: [{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 50 } } }]
  behavior: { scaleDown: { stabilizationWindowSeconds: 15 } }
`);
  await waitFor('a first reading', async () => /cpu: \d+%\/50%/.test((await k(['get', 'hpa', 'burner', '-n', 'hpa'])).out), 120_000);
  const [first] = (await containersOf(server.installation, 'hpa')).filter((c) => c.State === 'running');
  await execIn(first!.Id, ['touch', '/tmp/burn']);
  await waitFor('scaled up to 3', async () => (await server.client.get('Deployment', 'hpa', 'burner'))?.spec.replicas === 3, 120_000);
  t.regex((await k(['get', 'hpa', 'burner', '-n', 'hpa'])).out, /Deployment\/burner\s+cpu: \d+%\/50%\s+1\s+3\s+\d/);
  t.regex((await k(['describe', 'hpa', 'burner', '-n', 'hpa'])).out, /SuccessfulRescale\s+.*New size: 3/);
  const upAt = Date.now();
  await execIn(first!.Id, ['rm', '/tmp/burn']);
  await waitFor('scaled back down to 1', async () => (await server.client.get('Deployment', 'hpa', 'burner'))?.spec.replicas === 1, 150_000);
  t.true(Date.now() - upAt >= 15_000, 'not before the 15 s stabilization window');
});

test.serial('a resources change on a running Pod applies in place: RESTARTS stays 0, the same container, Docker shows the new limit', async (t) => {
  await k(['create', 'namespace', 'resize']);
  await apply(t, `apiVersion: v1
kind: Pod
metadata: { name: sized, namespace: resize }
spec:
  containers:
  - name: app
    image: "${image}"
    command: ["sleep", "3600"]
    resources: { requests: { cpu: 100m, memory: 32Mi }, limits: { cpu: 200m, memory: 64Mi } }
`);
  t.is((await k(['wait', '--for=condition=Ready', 'pod/sized', '-n', 'resize', '--timeout=120s'])).code, 0);
  const [before] = await containersOf(server.installation, 'resize');
  const patch = await k(['patch', 'pod', 'sized', '-n', 'resize', '--subresource', 'resize', '--patch', '{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"200m","memory":"64Mi"},"limits":{"cpu":"500m","memory":"128Mi"}}}]}}']);
  t.is(patch.code, 0, patch.err);
  const inspected = await waitFor('Docker has the new limits', async () => {
    const info = await docker.getContainer(before!.Id).inspect();
    return info.HostConfig.Memory === 128 * 2 ** 20 && info.HostConfig.NanoCpus === 5e8 && info;
  }, 60_000);
  t.is(inspected.HostConfig.CpuShares, 205);
  t.is(inspected.RestartCount, 0);
  t.deepEqual((await containersOf(server.installation, 'resize')).map((c) => c.Id), [before!.Id], 'the same container');
  t.regex((await k(['get', 'pod', 'sized', '-n', 'resize', '--no-headers'])).out, /sized\s+1\/1\s+Running\s+0\s/);
  // Anything but resources is refused on the resize subresource.
  const refused = await k(['patch', 'pod', 'sized', '-n', 'resize', '--subresource', 'resize', '--patch', '{"spec":{"containers":[{"name":"app","image":"gouvernail-example/busybox:2"}]}}']);
  t.not(refused.code, 0);
  t.regex(refused.err, /only cpu and memory resources are mutable through resize/);
});

test.serial('kubectl drain honours a PodDisruptionBudget: the eviction is refused while it would break the budget', async (t) => {
  await k(['create', 'namespace', 'pdb']);
  await apply(t, `apiVersion: apps/v1
kind: Deployment
metadata: { name: zk, namespace: pdb }
spec:
  replicas: 2
  selector: { matchLabels: { app: zk } }
  template:
    metadata: { labels: { app: zk } }
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{ name: zk, image: "${image}", command: ["sleep", "3600"] }]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: zk, namespace: pdb }
spec:
  minAvailable: 2
  selector: { matchLabels: { app: zk } }
`);
  t.is((await k(['rollout', 'status', 'deployment/zk', '-n', 'pdb', '--timeout=120s'])).code, 0);
  await waitFor('the budget counted', async () => /zk\s+2\s+N\/A\s+0\s/.test((await k(['get', 'pdb', 'zk', '-n', 'pdb'])).out));
  const drain = await k(['drain', 'test-node', '--pod-selector=app=zk', '--ignore-daemonsets', '--timeout=8s']);
  t.not(drain.code, 0);
  t.regex(drain.out + drain.err, /Cannot evict pod as it would violate the pod's disruption budget/);
  t.is((await server.client.list('Pod', 'pdb', 'app=zk')).length, 2, 'no Pod evicted');
  // A budget that allows one: the drain evicts.
  t.is((await k(['patch', 'pdb', 'zk', '-n', 'pdb', '--type=merge', '-p', '{"spec":{"minAvailable":1}}'])).code, 0);
  await waitFor('one disruption allowed', async () => /zk\s+1\s+N\/A\s+1\s/.test((await k(['get', 'pdb', 'zk', '-n', 'pdb'])).out));
  const names = (await server.client.list('Pod', 'pdb', 'app=zk')).map((p) => p.metadata.name);
  const evicted = await k(['drain', 'test-node', '--pod-selector=app=zk', '--ignore-daemonsets', '--timeout=30s']);
  t.regex(evicted.out, new RegExp(`pod/(${names.join('|')}) evicted`));
  t.is((await k(['uncordon', 'test-node'])).code, 0);
});

test.serial('Argo CD hooks: a PreSync Job completes before the sync, PostSync after it is healthy, with their delete policies; a failed PreSync stops the sync and runs SyncFail', async (t) => {
  const dir = tempDir();
  const job = (name: string, annotations: string, command: string, generate = false) => `apiVersion: batch/v1
kind: Job
metadata:
  ${generate ? `generateName: ${name}-` : `name: ${name}`}
  namespace: hooks
  annotations: { ${annotations} }
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [{ name: c, image: "${image}", command: ["sh", "-c", "${command}"] }]
`;
  writeFileSync(path.join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: hooks }\n');
  writeFileSync(path.join(dir, 'app.yaml'), `apiVersion: apps/v1
kind: Deployment
metadata: { name: app, namespace: hooks }
spec:
  selector: { matchLabels: { app: app } }
  template:
    metadata: { labels: { app: app } }
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{ name: c, image: "${image}", command: ["sleep", "3600"] }]
`);
  writeFileSync(path.join(dir, 'migrate.yaml'), job('migrate', 'argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/hook-delete-policy: HookSucceeded', 'sleep 2; echo migrated'));
  writeFileSync(path.join(dir, 'smoke.yaml'), job('smoke', 'argocd.argoproj.io/hook: PostSync', 'echo smoke test passed', true));
  const plan = await runCli('plan', '-f', dir);
  t.regex(plan.out, /PreSync hooks \(before wave 1\)[^\n]*\n  Job\/migrate/);
  t.regex(plan.out, /PostSync hooks \(once every object is healthy\)[^\n]*\n  Job\/smoke-<generated>/);
  const applied = await runCli('apply', '-f', dir, '--kubeconfig', server.kubeconfig, '--timeout', '150s');
  t.is(applied.code, 0, applied.out + applied.err);
  const out = applied.out;
  t.true(out.indexOf('hook PreSync Job/migrate succeeded') < out.indexOf('Deployment/hooks/app created'), out);
  t.true(out.indexOf('all objects are healthy') < out.search(/hook PostSync Job\/smoke-\w+ created/), out);
  t.is(await server.client.get('Job', 'hooks', 'migrate'), undefined, 'HookSucceeded deleted the PreSync Job');
  const smoke = (await server.client.list('Job', 'hooks')).filter((j) => j.metadata.name.startsWith('smoke-'));
  t.is(smoke.length, 1);
  t.truthy(smoke[0]!.status.conditions.find((c: { type: string }) => c.type === 'Complete'));

  // A PreSync hook that fails: nothing of the sync is applied, the SyncFail hook runs.
  const failing = tempDir();
  writeFileSync(path.join(failing, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: hooks }\n');
  writeFileSync(path.join(failing, 'other.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: never, namespace: hooks }\n');
  writeFileSync(path.join(failing, 'migrate.yaml'), job('bad-migrate', 'argocd.argoproj.io/hook: PreSync', 'echo cannot migrate; exit 1'));
  writeFileSync(path.join(failing, 'notify.yaml'), job('notify', 'argocd.argoproj.io/hook: SyncFail', 'echo told the team'));
  const refused = await runCli('apply', '-f', failing, '--kubeconfig', server.kubeconfig, '--timeout', '150s');
  t.not(refused.code, 0);
  t.regex(refused.err, /hook PreSync Job\/bad-migrate failed: BackoffLimitExceeded/);
  t.is(await server.client.get('ConfigMap', 'hooks', 'never'), undefined, 'the sync stopped before its objects');
  await waitFor('the SyncFail Job complete', async () => (await server.client.get('Job', 'hooks', 'notify'))?.status?.conditions?.some((c: { type: string }) => c.type === 'Complete'), 120_000);
});

test.serial('minReadySeconds holds a ready Pod back from available; progressDeadlineSeconds turns a stuck rollout into ProgressDeadlineExceeded, as kubectl rollout status reports', async (t) => {
  await k(['create', 'namespace', 'progress']);
  await apply(t, `apiVersion: apps/v1
kind: Deployment
metadata: { name: slow, namespace: progress }
spec:
  minReadySeconds: 6
  selector: { matchLabels: { app: slow } }
  template:
    metadata: { labels: { app: slow } }
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{ name: c, image: "${image}", command: ["sleep", "3600"] }]
`);
  const readyNotAvailable = await waitFor('ready, not yet available', async () => {
    const d = await server.client.get('Deployment', 'progress', 'slow');
    return d?.status?.readyReplicas === 1 ? d : undefined;
  }, 60_000, 100);
  t.is(readyNotAvailable.status.availableReplicas, 0, 'not available before minReadySeconds');
  const readyAt = Date.now();
  await waitFor('available', async () => (await server.client.get('Deployment', 'progress', 'slow'))?.status?.availableReplicas === 1, 60_000, 200);
  t.true(Date.now() - readyAt >= 3000, 'available only after minReadySeconds');
  // A rollout begun longer than progressDeadlineSeconds after the last one completed has its own
  // deadline, counted from its start.
  t.is((await k(['patch', 'deployment/slow', '-n', 'progress', '-p', '{"spec":{"minReadySeconds":0,"progressDeadlineSeconds":12}}'])).code, 0);
  await waitFor('the last rollout complete for longer than the deadline', async () => {
    const c = (await server.client.get('Deployment', 'progress', 'slow'))?.status?.conditions?.find((x: { type: string }) => x.type === 'Progressing');
    return c?.reason === 'NewReplicaSetAvailable' && Date.now() - Date.parse(c.lastUpdateTime) > 13_000;
  }, 60_000, 500);
  t.is((await k(['set', 'env', 'deployment/slow', '-n', 'progress', 'ROUND=2'])).code, 0);
  const again = await k(['rollout', 'status', 'deployment/slow', '-n', 'progress', '--timeout=90s']);
  t.is(again.code, 0, again.err);
  t.regex(again.out, /successfully rolled out/);

  await apply(t, `apiVersion: apps/v1
kind: Deployment
metadata: { name: stuck, namespace: progress }
spec:
  progressDeadlineSeconds: 8
  selector: { matchLabels: { app: stuck } }
  template:
    metadata: { labels: { app: stuck } }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: "${image}"
        command: ["sleep", "3600"]
        readinessProbe: { exec: { command: ["false"] }, periodSeconds: 1 }
`);
  const status = await k(['rollout', 'status', 'deployment/stuck', '-n', 'progress', '--timeout=90s']);
  t.not(status.code, 0);
  t.regex(status.err, /exceeded its progress deadline/);
  const d = (await server.client.get('Deployment', 'progress', 'stuck'))!;
  t.like(d.status.conditions.find((c: { type: string }) => c.type === 'Progressing'), { status: 'False', reason: 'ProgressDeadlineExceeded' });
});

test.serial('a ConfigMap change is written into the running container (same container, env as it was); subPath, downward API and projected volumes', async (t) => {
  await k(['create', 'namespace', 'vols']);
  await apply(t, `apiVersion: v1
kind: ConfigMap
metadata: { name: conf, namespace: vols }
data: { greeting: hello, mode: one }
---
apiVersion: v1
kind: Pod
metadata: { name: reader, namespace: vols, labels: { team: blue } }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: "${image}"
    command: ["sleep", "3600"]
    resources: { limits: { cpu: 250m } }
    env:
    - { name: MODE, valueFrom: { configMapKeyRef: { name: conf, key: mode } } }
    - { name: CPU_MILLIS, valueFrom: { resourceFieldRef: { resource: limits.cpu, divisor: 1m } } }
    - { name: MEMORY_LIMIT, valueFrom: { resourceFieldRef: { containerName: c, resource: limits.memory } } }
    volumeMounts:
    - { name: conf, mountPath: /conf }
    - { name: conf, mountPath: /etc/app/greeting.txt, subPath: greeting }
    - { name: data, mountPath: /logs, subPath: app/logs }
    - { name: info, mountPath: /info }
    - { name: all, mountPath: /all }
  volumes:
  - { name: conf, configMap: { name: conf } }
  - { name: data, emptyDir: {} }
  - name: info
    downwardAPI:
      items:
      - { path: labels, fieldRef: { fieldPath: metadata.labels } }
      - { path: name, fieldRef: { fieldPath: metadata.name } }
      - { path: cpu, resourceFieldRef: { containerName: c, resource: limits.cpu, divisor: 1m } }
  - name: all
    projected:
      sources:
      - configMap: { name: conf, items: [{ key: mode, path: mode.txt }] }
      - downwardAPI: { items: [{ path: namespace, fieldRef: { fieldPath: metadata.namespace } }] }
`);
  t.is((await k(['wait', '--for=condition=Ready', 'pod/reader', '-n', 'vols', '--timeout=120s'])).code, 0);
  const [c] = await containersOf(server.installation, 'vols');
  const cat = async (file: string) => (await execIn(c!.Id, ['cat', file])).out;
  t.is(await cat('/conf/greeting'), 'hello');
  t.is(await cat('/etc/app/greeting.txt'), 'hello', 'one key at the subPath');
  t.is(await cat('/info/labels'), 'team="blue"');
  t.is(await cat('/info/name'), 'reader');
  // A limit through the downward API, in a file and in env; a limit not set is the node's allocatable, as the kubelet gives it.
  t.is(await cat('/info/cpu'), '250');
  t.is((await execIn(c!.Id, ['sh', '-c', 'echo $CPU_MILLIS'])).out, '250\n');
  const node = JSON.parse((await k(['get', 'node', '-o', 'json'])).out).items[0];
  t.is((await execIn(c!.Id, ['sh', '-c', 'echo $MEMORY_LIMIT'])).out, `${Math.ceil(parseQuantity(node.status.allocatable.memory))}\n`);
  t.is(await cat('/all/mode.txt'), 'one');
  t.is(await cat('/all/namespace'), 'vols');
  t.is((await execIn(c!.Id, ['sh', '-c', 'echo kept > /logs/x && ls /logs'])).code, 0);

  t.is((await k(['patch', 'configmap', 'conf', '-n', 'vols', '-p', '{"data":{"greeting":"bonjour","mode":"two"}}'])).code, 0);
  // Each volume is written in turn, a file at a time (not atomically, as the kubelet's symlink swap is).
  await waitFor('the files refreshed in place', async () => (await cat('/conf/greeting')) === 'bonjour' && (await cat('/all/mode.txt')) === 'two', 60_000);
  t.deepEqual((await containersOf(server.installation, 'vols')).map((x) => x.Id), [c!.Id], 'the same container');
  t.is((await execIn(c!.Id, ['sh', '-c', 'echo $MODE'])).out, 'one\n', 'env stays as it was until the Pod is replaced');
  t.is(await cat('/etc/app/greeting.txt'), 'hello', 'a subPath file is not refreshed, as in Kubernetes');
});

test.serial('storage: a claim without a class gets a Docker volume and its PersistentVolume from the default local-path class; a claim binds to a hostPath volume written by hand; a released volume is kept', async (t) => {
  t.regex((await k(['get', 'storageclass'])).out, /local-path \(default\)\s+gouvernail\.io\/local-volume\s+Retain\s+WaitForFirstConsumer/);
  const folder = tempDir();
  await apply(t, `apiVersion: v1
kind: Namespace
metadata: { name: storage }
---
apiVersion: v1
kind: PersistentVolume
metadata: { name: shelf }
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: { path: "${folder}" }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: books, namespace: storage }
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 500Mi } }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: scratch, namespace: storage }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Gi } }
---
apiVersion: v1
kind: Pod
metadata: { name: writer, namespace: storage }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: "${image}"
    command: ["sh", "-c", "echo on the shelf > /books/note; echo scratch > /scratch/note; sleep 3600"]
    volumeMounts: [{ name: books, mountPath: /books }, { name: scratch, mountPath: /scratch }]
  volumes:
  - { name: books, persistentVolumeClaim: { claimName: books } }
  - { name: scratch, persistentVolumeClaim: { claimName: scratch } }
`);
  t.is((await k(['wait', '--for=condition=Ready', 'pod/writer', '-n', 'storage', '--timeout=120s'])).code, 0);
  await waitFor('the note on the host', async () => existsSync(path.join(folder, 'note')));
  t.is(readFileSync(path.join(folder, 'note'), 'utf8'), 'on the shelf\n', 'the claim mounts the hostPath volume');
  const scratch = (await server.client.get('PersistentVolumeClaim', 'storage', 'scratch'))!;
  t.is(scratch.spec.volumeName, `pvc-${scratch.metadata.uid}`);
  const pvs = (await k(['get', 'pv'])).out;
  t.regex(pvs, new RegExp(`pvc-${scratch.metadata.uid}\\s+1Gi\\s+RWO\\s+Retain\\s+Bound\\s+storage/scratch\\s+local-path`));
  t.regex(pvs, /shelf\s+1Gi\s+RWO\s+Retain\s+Bound\s+storage\/books\s+manual/);
  const pvcs = (await k(['get', 'pvc', '-n', 'storage'])).out;
  t.regex(pvcs, /books\s+Bound\s+shelf/);
  // The claim that named no class was given the default one's name when it was made (DefaultStorageClass).
  t.regex(pvcs, new RegExp(`scratch\\s+Bound\\s+pvc-${scratch.metadata.uid}\\s+1Gi\\s+RWO\\s+local-path`));
  // The claims go, but not while their Pod runs (kubernetes.io/pvc-protection); then the volumes are kept, Released.
  t.deepEqual(scratch.metadata.finalizers, ['kubernetes.io/pvc-protection']);
  t.is((await k(['delete', 'pvc', 'books', 'scratch', '-n', 'storage', '--wait=false'])).code, 0);
  t.regex((await k(['get', 'pvc', '-n', 'storage'])).out, /books\s+Terminating\s+shelf/);
  t.is((await server.client.get('Pod', 'storage', 'writer'))!.status.phase, 'Running');
  t.is((await k(['delete', 'pod', 'writer', '-n', 'storage', '--wait=false'])).code, 0);
  // These two (the StatefulSet test before leaves a Released volume of its own).
  const ours = ['shelf', `pvc-${scratch.metadata.uid}`];
  await waitFor('both volumes Released', async () => (await server.client.list('PersistentVolume')).filter((pv) => ours.includes(pv.metadata.name) && pv.status?.phase === 'Released').length === 2, 180_000);
  t.is(await server.client.get('PersistentVolumeClaim', 'storage', 'books'), undefined);
  t.is(readFileSync(path.join(folder, 'note'), 'utf8'), 'on the shelf\n', 'nothing deleted');

  // A Pod whose claim does not exist waits unscheduled, then while its claim has no volume; once a
  // volume is written, it runs on that volume's folder (not on a Docker volume of its own).
  const later = tempDir();
  const unscheduled = async () => ((await server.client.get('Pod', 'storage', 'reader'))?.status?.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled')?.message ?? '';
  await apply(t, `apiVersion: v1
kind: Pod
metadata: { name: reader, namespace: storage }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - { name: c, image: "${image}", command: ["sh", "-c", "echo found > /late/note; sleep 3600"], volumeMounts: [{ name: late, mountPath: /late }] }
  volumes: [{ name: late, persistentVolumeClaim: { claimName: late } }]
`);
  await waitFor('the Pod unscheduled for its missing claim', async () => (await unscheduled()).includes('persistentvolumeclaim "late" not found'), 120_000);
  await apply(t, 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: { name: late, namespace: storage }\nspec: { storageClassName: manual, accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } } }\n');
  await waitFor('the Pod unscheduled for its unbound claim', async () => (await unscheduled()).includes('persistentvolumeclaim "late" is not bound'), 120_000);
  t.is((await server.client.get('Pod', 'storage', 'reader'))!.spec.nodeName, undefined);
  await apply(t, `apiVersion: v1\nkind: PersistentVolume\nmetadata: { name: late-shelf }\nspec: { capacity: { storage: 1Gi }, accessModes: [ReadWriteOnce], storageClassName: manual, hostPath: { path: "${later}" } }\n`);
  t.is((await k(['wait', '--for=condition=Ready', 'pod/reader', '-n', 'storage', '--timeout=120s'])).code, 0);
  await waitFor('the note in the written volume', async () => existsSync(path.join(later, 'note')), 120_000);
  t.is(readFileSync(path.join(later, 'note'), 'utf8'), 'found\n');
  t.is((await k(['delete', 'pod', 'reader', '-n', 'storage', '--wait=false'])).code, 0);
});
