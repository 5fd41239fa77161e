import test from 'ava';
import cron from 'node-cron';
import { applyDefaults } from '../src/manifest/defaults.js';
import type { KubeObject } from '../src/manifest/types.js';
import type { ControllerContext } from '../src/runtime/controller-context.js';
import { reconcileJob } from '../src/runtime/job-controller.js';
import { reconcileStatefulSet } from '../src/runtime/stateful-set-controller.js';
import { reconcileDaemonSet } from '../src/runtime/daemon-set-controller.js';
import { recordRevision } from '../src/runtime/controller-revisions.js';
import { lastDue } from '../src/runtime/cron-job-controller.js';
import { cronScheduleProblem } from '../src/manifest/cron-schedule.js';
import { validateObject } from '../src/manifest/validate.js';
import { nameSuffix, podTemplateHash } from '../src/manifest/pod-template.js';

// The controllers' logic, from fixtures, against an in-memory context (the evidence on Docker is
// test/workloads-docker.test.ts).

function memory(now = Date.parse('2026-11-29T10:00:00Z')) {
  const objects: KubeObject[] = [];
  const events: string[] = [];
  let uid = 0;
  const ctx: ControllerContext & { clock: number; wakes: number[] } = {
    clock: now,
    wakes: [],
    list: ({ kind, namespace }) => objects.filter((o) => o.kind === kind && (!namespace || o.metadata.namespace === namespace)),
    create: async (o) => {
      const made = { ...o, metadata: { ...o.metadata, uid: `u${++uid}`, creationTimestamp: new Date(ctx.clock + uid).toISOString() } };
      objects.push(made);
      return made;
    },
    update: async (o) => {
      const at = objects.findIndex((x) => x.metadata.uid === o.metadata.uid);
      if (at >= 0) objects[at] = o;
      return o;
    },
    remove: async (o) => void objects.splice(objects.findIndex((x) => x.metadata.uid === o.metadata.uid), 1),
    writeStatus: async (o, status) => void (objects.find((x) => x.metadata.uid === o.metadata.uid)!.status = status),
    event: (about, _type, reason, message) => void events.push(`${about.metadata.name} ${reason}: ${message}`),
    log: () => {},
    now: () => ctx.clock,
    wakeAt: (at) => void ctx.wakes.push(at),
  };
  const add = (o: KubeObject) => {
    const made = applyDefaults({ ...o, metadata: { namespace: 'default', uid: `own-${o.metadata.name}`, generation: 1, creationTimestamp: new Date(now).toISOString(), ...o.metadata } });
    objects.push(made);
    return made;
  };
  const pods = () => objects.filter((o) => o.kind === 'Pod');
  const finish = (pod: KubeObject, phase: 'Succeeded' | 'Failed' | 'Running', ready = false) => {
    pod.status = { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], containerStatuses: [{ name: 'c', restartCount: 0, state: phase === 'Running' ? { running: {} } : { terminated: { exitCode: phase === 'Failed' ? 1 : 0, finishedAt: new Date(ctx.clock).toISOString() } } }] };
  };
  const latest = (o: KubeObject) => objects.find((x) => x.metadata.uid === o.metadata.uid)!;
  return { ctx, objects, events, add, pods, finish, latest };
}

const podTemplate = (labels: Record<string, string>, restartPolicy = 'Always') => ({ metadata: { labels }, spec: { restartPolicy, containers: [{ name: 'c', image: 'busybox:1' }] } });

test('a Job with completions 3 and parallelism 2 runs two Pods at a time until three succeed', async (t) => {
  const m = memory();
  const job = m.add({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'work' }, spec: { completions: 3, parallelism: 2, template: podTemplate({}, 'Never') } });
  await reconcileJob(m.latest(job), m.ctx);
  t.is(m.pods().length, 2);
  t.true(m.pods().every((p) => p.metadata.labels?.['job-name'] === 'work' && /^work-[a-z0-9]{5}$/.test(p.metadata.name)));
  m.finish(m.pods()[0]!, 'Succeeded');
  await reconcileJob(m.latest(job), m.ctx);
  t.is(m.pods().length, 3, 'one more Pod for the third completion');
  for (const p of m.pods()) m.finish(p, 'Succeeded');
  await reconcileJob(m.latest(job), m.ctx);
  const done = m.latest(job);
  t.is(done.status.succeeded, 3);
  t.like(done.status.conditions.find((c: { type: string }) => c.type === 'Complete'), { status: 'True' });
  t.truthy(done.status.completionTime);
  t.true(m.events.includes('work Completed: Job completed'));
});

test('a Job fails past its backoffLimit, after a backoff between tries, and its TTL deletes it', async (t) => {
  const m = memory();
  const job = m.add({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'flaky' }, spec: { backoffLimit: 1, ttlSecondsAfterFinished: 30, template: podTemplate({}, 'Never') } });
  await reconcileJob(m.latest(job), m.ctx);
  m.finish(m.pods()[0]!, 'Failed');
  await reconcileJob(m.latest(job), m.ctx);
  t.is(m.pods().length, 1, 'no new Pod during the backoff');
  t.deepEqual(m.ctx.wakes.at(-1), m.ctx.clock + 10_000);
  m.ctx.clock += 10_000;
  await reconcileJob(m.latest(job), m.ctx);
  t.is(m.pods().length, 2);
  m.finish(m.pods()[1]!, 'Failed');
  await reconcileJob(m.latest(job), m.ctx);
  const failed = m.latest(job).status.conditions.find((c: { type: string }) => c.type === 'Failed');
  t.like(failed, { status: 'True', reason: 'BackoffLimitExceeded' });
  t.is(m.ctx.wakes.at(-1), m.ctx.clock + 30_000);
  m.ctx.clock += 30_000;
  await reconcileJob(m.latest(job), m.ctx);
  t.false(m.objects.some((o) => o.kind === 'Job'), 'deleted after ttlSecondsAfterFinished');
});

test('podFailurePolicy: an ignored failure is replaced at once and not counted; a FailJob exit code fails the Job at once, saying which container and rule', async (t) => {
  const m = memory();
  const rules = [{ action: 'Ignore', onExitCodes: { operator: 'In', values: [3] } }, { action: 'FailJob', onExitCodes: { containerName: 'c', operator: 'In', values: [42] } }, { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }];
  const job = m.add({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'picky' }, spec: { backoffLimit: 0, podFailurePolicy: { rules }, template: podTemplate({}, 'Never') } });
  const fail = (pod: KubeObject, exitCode: number, conditions: object[] = []) => {
    m.finish(pod, 'Failed');
    pod.status.containerStatuses[0].state.terminated.exitCode = exitCode;
    pod.status.conditions.push(...conditions);
  };
  await reconcileJob(m.latest(job), m.ctx);
  fail(m.pods()[0]!, 3);
  await reconcileJob(m.latest(job), m.ctx);
  t.is(m.pods().length, 2, 'replaced at once, past a backoffLimit of 0');
  t.is(m.latest(job).status.failed, undefined);
  fail(m.pods()[1]!, 1, [{ type: 'DisruptionTarget', status: 'True' }]);
  await reconcileJob(m.latest(job), m.ctx);
  t.is(m.pods().length, 3, 'a disruption ignored too');
  fail(m.pods()[2]!, 42);
  await reconcileJob(m.latest(job), m.ctx);
  const failed = m.latest(job).status.conditions.find((c: { type: string }) => c.type === 'Failed');
  t.like(failed, { status: 'True', reason: 'PodFailurePolicy', message: `Container c for pod default/${m.pods()[2]!.metadata.name} failed with exit code 42 matching FailJob rule at index 1` });
  // Without a rule that matches, the failure counts: past a backoffLimit of 0, BackoffLimitExceeded.
  const plain = m.add({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'plain' }, spec: { backoffLimit: 0, podFailurePolicy: { rules }, template: podTemplate({}, 'Never') } });
  await reconcileJob(m.latest(plain), m.ctx);
  fail(m.pods().find((p) => p.metadata.name.startsWith('plain'))!, 7);
  await reconcileJob(m.latest(plain), m.ctx);
  t.like(m.latest(plain).status.conditions.find((c: { type: string }) => c.type === 'Failed'), { reason: 'BackoffLimitExceeded' });
});

test('a Job past activeDeadlineSeconds fails with DeadlineExceeded and its running Pods go', async (t) => {
  const m = memory();
  const job = m.add({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'slow' }, spec: { activeDeadlineSeconds: 60, template: podTemplate({}, 'OnFailure') } });
  await reconcileJob(m.latest(job), m.ctx);
  t.is(m.ctx.wakes.at(-1), m.ctx.clock + 60_000);
  m.ctx.clock += 60_000;
  await reconcileJob(m.latest(job), m.ctx);
  t.like(m.latest(job).status.conditions.find((c: { type: string }) => c.type === 'Failed'), { reason: 'DeadlineExceeded' });
  t.is(m.pods().length, 0);
});

test('an Indexed Job gives each Pod its index, and completes when every index succeeded', async (t) => {
  const m = memory();
  const job = m.add({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'idx' }, spec: { completions: 3, parallelism: 3, completionMode: 'Indexed', template: podTemplate({}, 'Never') } });
  await reconcileJob(m.latest(job), m.ctx);
  const indexes = m.pods().map((p) => p.spec.containers[0].env.find((e: { name: string }) => e.name === 'JOB_COMPLETION_INDEX').value).sort();
  t.deepEqual(indexes, ['0', '1', '2']);
  for (const p of m.pods()) m.finish(p, 'Succeeded');
  await reconcileJob(m.latest(job), m.ctx);
  t.is(m.latest(job).status.completedIndexes, '0-2');
});

test('a StatefulSet makes web-0, web-1, web-2 in order, each once the one before is ready, with its own claim', async (t) => {
  const m = memory();
  const sts = m.add({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web' }, spec: { replicas: 3, serviceName: 'nginx', selector: { matchLabels: { app: 'web' } }, template: podTemplate({ app: 'web' }), volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } }] } });
  const names = () => m.pods().map((p) => p.metadata.name).sort();
  await reconcileStatefulSet(m.latest(sts), m.ctx);
  t.deepEqual(names(), ['web-0']);
  await reconcileStatefulSet(m.latest(sts), m.ctx);
  t.deepEqual(names(), ['web-0'], 'web-1 waits for web-0 to be ready');
  m.finish(m.pods()[0]!, 'Running', true);
  await reconcileStatefulSet(m.latest(sts), m.ctx);
  t.deepEqual(names(), ['web-0', 'web-1']);
  m.finish(m.pods().find((p) => p.metadata.name === 'web-1')!, 'Running', true);
  await reconcileStatefulSet(m.latest(sts), m.ctx);
  t.deepEqual(names(), ['web-0', 'web-1', 'web-2']);
  const web2 = m.pods().find((p) => p.metadata.name === 'web-2')!;
  t.like(web2.spec, { hostname: 'web-2', subdomain: 'nginx' });
  t.deepEqual(web2.spec.volumes.find((v: { name: string }) => v.name === 'data'), { name: 'data', persistentVolumeClaim: { claimName: 'data-web-2' } });
  t.deepEqual(m.objects.filter((o) => o.kind === 'PersistentVolumeClaim').map((c) => c.metadata.name).sort(), ['data-web-0', 'data-web-1', 'data-web-2']);

  // Scale down: the highest ordinal goes, its claim stays.
  m.finish(web2, 'Running', true);
  m.latest(sts).spec.replicas = 2;
  await reconcileStatefulSet(m.latest(sts), m.ctx);
  t.deepEqual(names(), ['web-0', 'web-1']);
  t.is(m.objects.filter((o) => o.kind === 'PersistentVolumeClaim').length, 3);
  t.like(m.latest(sts).status, { replicas: 2, readyReplicas: 2 });
});

test('a StatefulSet rolling update replaces Pods from the highest ordinal down to the partition', async (t) => {
  const m = memory();
  const sts = m.add({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 3, podManagementPolicy: 'Parallel', updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } }, selector: { matchLabels: { app: 'db' } }, template: podTemplate({ app: 'db' }) } });
  await reconcileStatefulSet(m.latest(sts), m.ctx);
  t.is(m.pods().length, 3, 'Parallel makes them all at once');
  for (const p of m.pods()) m.finish(p, 'Running', true);
  m.latest(sts).spec.template.spec.containers[0].image = 'busybox:2';
  await reconcileStatefulSet(m.latest(sts), m.ctx);
  t.deepEqual(m.pods().map((p) => p.metadata.name).sort(), ['db-0', 'db-1'], 'db-2 replaced first');
  await reconcileStatefulSet(m.latest(sts), m.ctx);
  const db2 = m.pods().find((p) => p.metadata.name === 'db-2')!;
  t.is(db2.spec.containers[0].image, 'busybox:2');
  m.finish(db2, 'Running', true);
  await reconcileStatefulSet(m.latest(sts), m.ctx);
  t.false(m.pods().some((p) => p.metadata.name === 'db-1'), 'then db-1');
  await reconcileStatefulSet(m.latest(sts), m.ctx);
  m.finish(m.pods().find((p) => p.metadata.name === 'db-1')!, 'Running', true);
  await reconcileStatefulSet(m.latest(sts), m.ctx);
  t.is(m.pods().find((p) => p.metadata.name === 'db-0')!.spec.containers[0].image, 'busybox:1', 'db-0 is below the partition');
});

test('a DaemonSet puts one Pod on each node it fits, pinned there, and none on a tainted one', async (t) => {
  const m = memory();
  const node = (name: string, extra: Partial<KubeObject['spec']> = {}, labels: Record<string, string> = {}) => m.objects.push({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: extra } as KubeObject);
  node('a', {}, { disk: 'ssd' });
  node('b', {}, { disk: 'ssd' });
  node('c', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }, { disk: 'ssd' });
  node('d', {}, { disk: 'hdd' });
  const ds = m.add({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: { ...podTemplate({ app: 'agent' }), spec: { ...podTemplate({}).spec, nodeSelector: { disk: 'ssd' } } } } });
  await reconcileDaemonSet(m.latest(ds), m.ctx);
  const pinned = m.pods().map((p) => p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values[0]).sort();
  t.deepEqual(pinned, ['a', 'b']);
  await reconcileDaemonSet(m.latest(ds), m.ctx);
  t.is(m.pods().length, 2, 'no duplicates');
  t.like(m.latest(ds).status, { desiredNumberScheduled: 2, currentNumberScheduled: 2 });
});

test('ControllerRevisions: one per template, numbered as rolled out; a template that comes back is numbered last again; beyond the history limit the oldest unused go', async (t) => {
  const m = memory();
  const ds = m.add({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { revisionHistoryLimit: 1, selector: { matchLabels: { app: 'agent' } }, template: podTemplate({ app: 'agent' }) } });
  const history = () => m.ctx.list({ kind: 'ControllerRevision', namespace: 'default' }).map((r) => `${r.metadata.name}=${String(r.revision)}`).sort();
  await recordRevision(ds, 'agent-aaa', new Set(), m.ctx);
  const [made] = m.ctx.list({ kind: 'ControllerRevision', namespace: 'default' });
  // What kubectl rollout undo sends back as a strategic merge patch.
  t.deepEqual(made!.data, { spec: { template: { ...ds.spec.template, $patch: 'replace' } } } as unknown);
  t.like(made!.metadata, { labels: { app: 'agent', 'controller-revision-hash': 'aaa' }, ownerReferences: [{ kind: 'DaemonSet', name: 'agent', uid: 'own-agent', controller: true }] });
  await recordRevision(ds, 'agent-aaa', new Set(['agent-aaa']), m.ctx);
  t.deepEqual(history(), ['agent-aaa=1'], 'the same template, the same revision');
  await recordRevision(ds, 'agent-bbb', new Set(['agent-aaa']), m.ctx);
  t.deepEqual(history(), ['agent-aaa=1', 'agent-bbb=2']);
  await recordRevision(ds, 'agent-aaa', new Set(['agent-bbb']), m.ctx);
  t.deepEqual(history(), ['agent-aaa=3', 'agent-bbb=2'], 'undone: the first template is the latest revision');
  await recordRevision(ds, 'agent-ccc', new Set(['agent-aaa', 'agent-bbb']), m.ctx);
  t.deepEqual(history(), ['agent-aaa=3', 'agent-bbb=2', 'agent-ccc=4'], 'revisions Pods still run are kept');
  await recordRevision(ds, 'agent-ccc', new Set(['agent-ccc']), m.ctx);
  t.deepEqual(history(), ['agent-aaa=3', 'agent-ccc=4'], 'one old revision kept, the newest');
});

test('CronJob schedules: Kubernetes macros and five fields, node-cron matching in the time zone', (t) => {
  t.is(cronScheduleProblem('*/5 * * * *'), undefined);
  t.is(cronScheduleProblem('@hourly'), undefined);
  t.regex(cronScheduleProblem('*/5 * * * * *')!, /five fields/);
  t.regex(cronScheduleProblem('61 * * * *')!, /minute/);
  t.regex(cronScheduleProblem('TZ=UTC 0 * * * *')!, /timeZone/);
  const task = cron.createTask('30 9 * * *', () => {}, { timezone: 'Europe/Paris' });
  t.is(lastDue(task, Date.parse('2026-11-29T00:00:00Z'), Date.parse('2026-11-29T12:00:00Z')), Date.parse('2026-11-29T08:30:00Z'));
  t.is(lastDue(task, Date.parse('2026-11-29T08:30:00Z'), Date.parse('2026-11-29T12:00:00Z')), undefined, 'not twice');
  void task.destroy();
  const bad = validateObject(applyDefaults({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'x', namespace: 'default' }, spec: { schedule: '* * *', timeZone: 'Mars/Olympus', jobTemplate: { spec: { template: podTemplate({}) } } } }));
  t.deepEqual(bad.filter((i) => !i.warning).map((i) => i.path.join('.')).sort(), ['spec.jobTemplate.spec.template.spec.restartPolicy', 'spec.schedule', 'spec.timeZone']);
});

test('a PodDisruptionBudget allows an eviction only while enough selected Pods stay healthy', async (t) => {
  const { budgetRefusing, budgetStatus } = await import('../src/api/disruption.js');
  const pod = (name: string, ready: boolean): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'zk' } }, spec: {}, status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });
  const pdb = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'zk', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'zk' } }, ...spec } });
  const three = [pod('zk-0', true), pod('zk-1', true), pod('zk-2', true)];
  t.like(budgetStatus(pdb({ maxUnavailable: 1 }), three), { expectedPods: 3, currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1 });
  t.is(budgetRefusing(three[0]!, [pdb({ maxUnavailable: 1 })], three), undefined);
  const oneDown = [pod('zk-0', true), pod('zk-1', false), pod('zk-2', true)];
  t.regex(budgetRefusing(oneDown[0]!, [pdb({ maxUnavailable: 1 })], oneDown)!.message, /needs 2 healthy pods and has 2 currently/);
  t.is(budgetRefusing(oneDown[1]!, [pdb({ maxUnavailable: 1 })], oneDown), undefined, 'an unhealthy Pod may go while the budget is met');
  t.truthy(budgetRefusing(three[0]!, [pdb({ minAvailable: '100%' })], three));
});

test('a Pod is available once ready for minReadySeconds and not restarted in the last 10 s', async (t) => {
  const { availability } = await import('../src/runtime/controller-context.js');
  const now = Date.parse('2026-11-29T10:00:00Z');
  const pod = (readyAgoS: number, restartedAgoS?: number): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(now - readyAgoS * 1000).toISOString() }], containerStatuses: [{ name: 'c', restartCount: restartedAgoS === undefined ? 0 : 1, lastState: restartedAgoS === undefined ? {} : { terminated: { finishedAt: new Date(now - restartedAgoS * 1000).toISOString() } } }] } });
  t.deepEqual(availability(pod(1), 0, now), { available: true });
  t.deepEqual(availability(pod(1), 5, now), { available: false, at: now + 4000 });
  t.deepEqual(availability(pod(30, 3), 0, now), { available: false, at: now + 7000 }, 'restarted 3 s ago: not counted for 7 s more');
  t.deepEqual(availability(pod(30, 20), 0, now), { available: true });
});

test("a Deployment's pod-template-hash and a generated name's suffix are made of Kubernetes' name alphabet, the hash stable for a template", (t) => {
  const template = podTemplate({ app: 'web' });
  const hash = podTemplateHash(template);
  t.regex(hash, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  t.is(podTemplateHash(JSON.parse(JSON.stringify(template))), hash);
  t.not(podTemplateHash(podTemplate({ app: 'other' })), hash);
  // The decimal digits of a 32-bit hash, mapped: only 4 to 9 and b, c, d, f appear.
  t.regex(hash, /^[456789bcdf]+$/);
  const suffixes = Array.from({ length: 50 }, () => nameSuffix());
  t.true(suffixes.every((s) => /^[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(s)), suffixes.join(' '));
  t.true(new Set(suffixes).size > 45);
});
