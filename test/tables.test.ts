import test from 'ava';
import { humanDuration, renderTable, toTable } from '../src/api/tables.js';
import type { KubeObject } from '../src/manifest/types.js';

test('lengths of time read as kubectl prints them (apimachinery HumanDuration)', (t) => {
  const s = 1000;
  const cases: [number, string][] = [
    [-1500, '0s'],
    [-3000, '<invalid>'],
    [0, '0s'],
    [119 * s, '119s'],
    [120 * s, '2m'],
    [200 * s, '3m20s'],
    [10 * 60 * s, '10m'],
    [179 * 60 * s, '179m'],
    [3 * 3600 * s, '3h'],
    [(5 * 3600 + 10 * 60) * s, '5h10m'],
    [20 * 3600 * s, '20h'],
    [(3 * 24 + 4) * 3600 * s, '3d4h'],
    [30 * 24 * 3600 * s, '30d'],
    [(2 * 365 + 40) * 24 * 3600 * s, '2y40d'],
    [9 * 365 * 24 * 3600 * s, '9y'],
  ];
  for (const [ms, printed] of cases) t.is(humanDuration(ms), printed, `${ms} ms`);
});

test('Events print without a name column, which -o wide shows last, as Kubernetes prints them', (t) => {
  const now = Date.parse('2026-12-02T12:00:00Z');
  const event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web-1.17a', namespace: 'default', creationTimestamp: '2026-12-02T11:50:00Z' },
    involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{web}' },
    reason: 'BackOff',
    type: 'Warning',
    message: 'Back-off restarting failed container web\n',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: '2026-12-02T11:50:00Z',
    lastTimestamp: '2026-12-02T11:59:00Z',
    count: 7,
  } as unknown as KubeObject;
  const table = toTable('Event', [event], { now });
  const plain = renderTable(table, {}).split('\n');
  t.regex(plain[0]!, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
  t.regex(plain[1]!, /^60s\s+Warning\s+BackOff\s+pod\/web-1\s+Back-off restarting failed container web$/);
  const wide = renderTable(table, { wide: true }).split('\n');
  t.regex(wide[0]!, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+SUBOBJECT\s+SOURCE\s+MESSAGE\s+FIRST SEEN\s+COUNT\s+NAME$/);
  t.regex(wide[1]!, /spec\.containers\{web\}\s+kubelet, node-1\s+Back-off restarting failed container web\s+10m\s+7\s+web-1\.17a$/);
  t.is(table.columnDefinitions.find((c) => c.format === 'name')?.name, 'Name');
});

test('RESTARTS says how long ago the last restart was; while a Pod initializes, it counts its init containers', (t) => {
  const now = Date.parse('2026-12-02T12:00:00Z');
  const pod = (status: object, initContainers?: object[]) =>
    ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', creationTimestamp: '2026-12-02T11:00:00Z' }, spec: { nodeName: 'n', containers: [{ name: 'a' }, { name: 'b' }], initContainers }, status }) as unknown as KubeObject;
  const restartsOf = (p: KubeObject) => toTable('Pod', [p], { now }).rows[0]!.cells[3];
  const ran = { running: { startedAt: '2026-12-02T11:59:00Z' } };
  t.is(restartsOf(pod({ phase: 'Running', containerStatuses: [{ name: 'a', restartCount: 0, state: ran }] })), '0');
  t.is(
    restartsOf(pod({
      phase: 'Running',
      containerStatuses: [
        { name: 'a', restartCount: 2, state: ran, lastState: { terminated: { exitCode: 1, finishedAt: '2026-12-02T11:56:40Z' } } },
        { name: 'b', restartCount: 3, state: ran, lastState: { terminated: { exitCode: 1, finishedAt: '2026-12-02T11:58:50Z' } } },
      ],
    })),
    '5 (70s ago)',
  );
  // An init container failing again and again: its restarts, while the Pod is Init:CrashLoopBackOff.
  t.is(
    restartsOf(pod({
      phase: 'Pending',
      initContainerStatuses: [{ name: 'setup', restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: '2026-12-02T11:50:00Z' } } }],
      containerStatuses: [{ name: 'a', restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
    }, [{ name: 'setup' }])),
    '4 (10m ago)',
  );
});

test('a quota prints its use per resource, limits.* in LIMIT; a kind without columns prints when it was made', (t) => {
  const quota = {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: 'q', creationTimestamp: '2026-12-02T11:59:00.250Z' },
    status: { hard: { pods: '10', 'requests.cpu': '1', 'limits.memory': '1Gi' }, used: { pods: '2', 'requests.cpu': '500m' } },
  } as unknown as KubeObject;
  const now = Date.parse('2026-12-02T12:00:00Z');
  t.deepEqual(toTable('ResourceQuota', [quota], { now }).rows[0]!.cells, ['q', '59s', 'pods: 2/10, requests.cpu: 500m/1', 'limits.memory: 0/1Gi']);
  const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', creationTimestamp: '2026-12-02T11:59:00.250Z' } } as unknown as KubeObject;
  const table = toTable('Role', [role], { now });
  t.deepEqual(table.columnDefinitions.map((c) => [c.name, c.type]), [['Name', 'string'], ['Created At', 'date']]);
  t.deepEqual(table.rows[0]!.cells, ['r', '2026-12-02T11:59:00Z']);
});

test('a Pod being deleted prints Terminating, unless it had ended, as Kubernetes prints it', (t) => {
  const pod = (phase: string, state: object) =>
    ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', deletionTimestamp: '2026-12-02T12:00:00Z' }, spec: { nodeName: 'n', containers: [{ name: 'a' }] }, status: { phase, containerStatuses: [{ name: 'a', state }] } }) as unknown as KubeObject;
  const status = (p: KubeObject) => toTable('Pod', [p]).rows[0]!.cells[2];
  t.is(status(pod('Running', { running: {} })), 'Terminating');
  t.is(status(pod('Succeeded', { terminated: { exitCode: 0, reason: 'Completed' } })), 'Completed');
  t.is(status(pod('Failed', { terminated: { exitCode: 1, reason: 'Error' } })), 'Error');
});

test("a Job's COMPLETIONS: succeeded of completions, or of one when it has none, with its parallelism", (t) => {
  const job = (spec: object, succeeded?: number) => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec, status: { succeeded } }) as unknown as KubeObject;
  const completions = (j: KubeObject) => toTable('Job', [j]).rows[0]!.cells[2];
  t.is(completions(job({ completions: 3, parallelism: 2 }, 2)), '2/3');
  t.is(completions(job({ parallelism: 4 })), '0/1 of 4');
  t.is(completions(job({ parallelism: 1 }, 1)), '1/1');
});
