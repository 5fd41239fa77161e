import test from 'ava';
import type { KubeObject } from '../src/manifest/types.js';
import { podRequests, schedule } from '../src/runtime/scheduler.js';

// Pure: nodes and Pods as objects, the decisions out. No store, no engine.

function node(name: string, o: { cpu?: string; memory?: string; pods?: string; ready?: boolean; unschedulable?: boolean; labels?: Record<string, string>; taints?: unknown[] } = {}): KubeObject {
  const capacity = { cpu: o.cpu ?? '2', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { ...(o.unschedulable ? { unschedulable: true } : {}), ...(o.taints ? { taints: o.taints } : {}) },
    status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

let seq = 0;
function pod(name: string, o: { requests?: Record<string, string>; limits?: Record<string, string>; node?: string; owner?: string; spec?: Record<string, unknown>; hostPort?: number } = {}): KubeObject {
  seq++;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', creationTimestamp: `2026-01-01T00:00:${String(seq % 60).padStart(2, '0')}Z`, ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: o.owner, controller: true }] } : {}) },
    spec: {
      ...(o.node ? { nodeName: o.node } : {}),
      containers: [{ name: 'c', image: 'x', resources: { ...(o.requests ? { requests: o.requests } : {}), ...(o.limits ? { limits: o.limits } : {}) }, ...(o.hostPort ? { ports: [{ containerPort: 80, hostPort: o.hostPort }] } : {}) }],
      ...o.spec,
    },
  };
}

test('requests: containers summed, a limit stands for a missing request, the largest init container counts', (t) => {
  const p = pod('p', { requests: { cpu: '250m', memory: '64Mi' } });
  p.spec.containers.push({ name: 'd', image: 'x', resources: { limits: { cpu: '1', memory: '1Gi' } } });
  p.spec.initContainers = [{ name: 'i', image: 'x', resources: { requests: { cpu: '2' } } }];
  t.deepEqual(podRequests(p), { cpu: 2000, memory: 64 * 2 ** 20 + 2 ** 30 });
});

test('six replicas of one owner spread 2/2/2 over three equal nodes', (t) => {
  const nodes = [node('a'), node('b'), node('c')];
  const pods = Array.from({ length: 6 }, (_, i) => pod(`web-${i}`, { owner: 'rs1' }));
  const by: Record<string, number> = {};
  for (const d of schedule({ nodes, pods })) by[d.node!] = (by[d.node!] ?? 0) + 1;
  t.deepEqual(by, { a: 2, b: 2, c: 2 });
});

test('spread counts Pods already bound; then the least requested node wins', (t) => {
  const nodes = [node('a'), node('b')];
  const bound = [pod('old-1', { owner: 'rs1', node: 'a' }), pod('heavy', { node: 'b', requests: { cpu: '1500m', memory: '6Gi' } })];
  t.is(schedule({ nodes, pods: [...bound, pod('new', { owner: 'rs1' })] })[0]!.node, 'b', 'the owner has one on a, none on b');
  t.is(schedule({ nodes, pods: [...bound, pod('other')] })[0]!.node, 'a', 'b has most of its CPU and memory requested');
});

test('a Pod that fits nowhere gets kube-scheduler\'s message, counted and sorted', (t) => {
  const nodes = [node('a', { unschedulable: true }), node('b', { memory: '23Gi' }), node('c', { memory: '23Gi' })];
  const [d] = schedule({ nodes, pods: [pod('big', { requests: { memory: '900Gi' } })] });
  t.is(d!.node, undefined);
  t.is(d!.message, '0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient memory.');
  const [cpu] = schedule({ nodes: [node('a', { cpu: '2' })], pods: [pod('many', { requests: { cpu: '3', memory: '20Gi' } })] });
  t.is(cpu!.message, '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.');
  const [full] = schedule({ nodes: [node('a', { pods: '1' })], pods: [pod('x', { node: 'a' }), pod('y')] });
  t.is(full!.message, '0/1 nodes are available: 1 Too many pods.');
});

test('taints and tolerations, NotReady nodes', (t) => {
  const nodes = [node('gpu', { taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }] }), node('down', { ready: false })];
  t.is(schedule({ nodes, pods: [pod('plain')] })[0]!.message, "0/2 nodes are available: 1 node(s) had untolerated taint {gpu: yes}, 1 node(s) were not ready.");
  const tolerant = pod('tolerant', { spec: { tolerations: [{ key: 'gpu', operator: 'Equal', value: 'yes', effect: 'NoSchedule' }] } });
  t.is(schedule({ nodes, pods: [tolerant] })[0]!.node, 'gpu');
  const anything = pod('anything', { spec: { tolerations: [{ operator: 'Exists' }] } });
  t.is(schedule({ nodes, pods: [anything] })[0]!.node, 'gpu');
  // PreferNoSchedule only steers.
  const soft = [node('a', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }), node('b')];
  t.is(schedule({ nodes: soft, pods: [pod('p')] })[0]!.node, 'b');
  t.is(schedule({ nodes: [soft[0]!], pods: [pod('p')] })[0]!.node, 'a');
});

test('nodeSelector, required and preferred node affinity', (t) => {
  const nodes = [node('a', { labels: { disk: 'hdd', zone: 'z1' } }), node('b', { labels: { disk: 'ssd', zone: 'z2' } }), node('c', { labels: { zone: 'z3' } })];
  t.is(schedule({ nodes, pods: [pod('sel', { spec: { nodeSelector: { disk: 'ssd' } } })] })[0]!.node, 'b');
  const notIn = pod('aff', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['z1', 'z2'] }] }] } } } } });
  t.is(schedule({ nodes, pods: [notIn] })[0]!.node, 'c');
  const none = pod('none', { spec: { nodeSelector: { disk: 'nvme' } } });
  t.is(schedule({ nodes, pods: [none] })[0]!.message, "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.");
  const preferred = pod('pref', { spec: { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }, { key: 'zone', operator: 'In', values: ['z1'] }] } }] } } } });
  t.is(schedule({ nodes, pods: [preferred] })[0]!.node, 'a');
  const byName = pod('field', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['c'] }] }] } } } } });
  t.is(schedule({ nodes, pods: [byName] })[0]!.node, 'c');
});

test("spec.os places a Pod only on a node of that system (its kubernetes.io/os label)", (t) => {
  const nodes = [node('l1', { labels: { 'kubernetes.io/os': 'linux' } }), node('w1', { labels: { 'kubernetes.io/os': 'windows' } })];
  t.is(schedule({ nodes, pods: [pod('lin', { spec: { os: { name: 'linux' } } })] })[0]!.node, 'l1');
  t.is(schedule({ nodes, pods: [pod('win', { spec: { os: { name: 'windows' } } })] })[0]!.node, 'w1');
  t.is(schedule({ nodes: [nodes[0]!], pods: [pod('win2', { spec: { os: { name: 'windows' } } })] })[0]!.message, "0/1 nodes are available: 1 node(s) didn't run the Pod's os (windows).");
});

test('a Pod with scheduling gates is held back, not placed and preempting nothing; the others are placed', (t) => {
  const nodes = [node('a', { cpu: '1' })];
  const gated = pod('gated', { requests: { cpu: '2' }, spec: { schedulingGates: [{ name: 'example.com/quota' }], priority: 1000 } });
  const [held, placed] = schedule({ nodes, pods: [gated, pod('free')] });
  t.like(held, { gated: true, message: 'Scheduling is blocked due to non-empty scheduling gates' });
  t.is(held!.node, undefined);
  t.falsy(held!.preempt);
  t.is(placed!.node, 'a');
});

test('host ports are free or the node is skipped; a claim\'s volume pins its Pods', (t) => {
  const nodes = [node('a'), node('b')];
  const decisions = schedule({ nodes, pods: [pod('one', { hostPort: 8080 }), pod('two', { hostPort: 8080 }), pod('three', { hostPort: 8080 })] });
  t.deepEqual(decisions.map((d) => d.node ?? d.message), ['a', 'b', "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports."]);
  const withClaim = pod('db', { spec: { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] } });
  t.is(schedule({ nodes, pods: [withClaim], claimNode: () => 'b' })[0]!.node, 'b');
  t.is(schedule({ nodes: [node('a')], pods: [withClaim], claimNode: () => 'b' })[0]!.message, "0/1 nodes are available: 1 node(s) didn't match PersistentVolume's node affinity.");
});

test('finished Pods free what they requested; deleting ones are not scheduled', (t) => {
  const done = pod('done', { node: 'a', requests: { memory: '8Gi' } });
  done.status = { phase: 'Succeeded' };
  const going = pod('going');
  going.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  const decisions = schedule({ nodes: [node('a')], pods: [done, going, pod('next', { requests: { memory: '8Gi' } })] });
  t.deepEqual(decisions.map((d) => [d.pod.metadata.name, d.node]), [['next', 'a']]);
});

test('a Pod that names another scheduler is left to it, as kube-scheduler leaves it; default-scheduler is this one', (t) => {
  const decisions = schedule({ nodes: [node('a')], pods: [pod('mine', { spec: { schedulerName: 'default-scheduler' } }), pod('theirs', { spec: { schedulerName: 'my-scheduler' } }), pod('unnamed')] });
  t.deepEqual(decisions.map((d) => d.pod.metadata.name).sort(), ['mine', 'unnamed']);
});

test('the highest priority is placed first; a Pod that fits nowhere preempts the fewest, lowest-priority Pods, sparing what it can', (t) => {
  const n1 = node('n1', { cpu: '2' });
  const n2 = node('n2', { cpu: '2' });
  const low = (name: string, on: string, cpu: string, priority = 0) => pod(name, { node: on, requests: { cpu }, spec: { priority } });
  const bound = [low('a1', 'n1', '1', 100), low('a2', 'n1', '1', 10), low('b1', 'n2', '1', 500), low('b2', 'n2', '1', 500)];
  // Two pending Pods want the last free core... there is none: the later, higher one goes first.
  const first = pod('first', { requests: { cpu: '1' }, spec: { priority: 1000 } });
  const second = pod('second', { requests: { cpu: '1' }, spec: { priority: 2000 } });
  const decisions = schedule({ nodes: [n1, n2], pods: [...bound, first, second] });
  t.deepEqual(decisions.map((d) => d.pod.metadata.name), ['second', 'first'], 'higher priority decided first');
  const d = decisions[0]!;
  t.is(d.node, undefined);
  t.regex(d.message!, /0\/2 nodes are available: 2 Insufficient cpu/);
  // n1's victims top out at 10 (a2 alone frees a core); n2's would be 500.
  t.is(d.preempt?.node, 'n1');
  t.deepEqual(d.preempt?.victims.map((v) => v.metadata.name), ['a2']);
});

test('while preempted Pods stop, the Pod waits on their node and nothing more is preempted; preemptionPolicy Never and equal priorities preempt nothing', (t) => {
  const n1 = node('n1', { cpu: '1' });
  const stopping = pod('old', { node: 'n1', requests: { cpu: '1' }, spec: { priority: 0 } });
  stopping.metadata.deletionTimestamp = '2026-01-01T00:01:00Z';
  const waiting = schedule({ nodes: [n1], pods: [stopping, pod('new', { requests: { cpu: '1' }, spec: { priority: 100 } })] })[0]!;
  t.is(waiting.nominated, 'n1');
  t.is(waiting.preempt, undefined);
  const running = pod('running', { node: 'n1', requests: { cpu: '1' }, spec: { priority: 0 } });
  t.is(schedule({ nodes: [n1], pods: [running, pod('polite', { requests: { cpu: '1' }, spec: { priority: 100, preemptionPolicy: 'Never' } })] })[0]!.preempt, undefined);
  t.is(schedule({ nodes: [n1], pods: [running, pod('peer', { requests: { cpu: '1' }, spec: { priority: 0 } })] })[0]!.preempt, undefined);
  // A node that fails for another reason than room is no candidate.
  const tainted = node('t', { cpu: '1', taints: [{ key: 'k', effect: 'NoSchedule' }] });
  const onTainted = pod('x', { node: 't', requests: { cpu: '1' }, spec: { priority: 0 } });
  t.is(schedule({ nodes: [tainted], pods: [onTainted, pod('y', { requests: { cpu: '1' }, spec: { priority: 100 } })] })[0]!.preempt, undefined);
});

test('required pod anti-affinity on the hostname puts one per node and leaves the rest Pending; required affinity follows its target; the anti-affinity of Pods already there holds', (t) => {
  const nodes = [node('n1'), node('n2'), node('n3')];
  const anti = { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' }] } } };
  const db = (name: string) => {
    const p = pod(name, { spec: anti });
    p.metadata.labels = { app: 'db' };
    return p;
  };
  const decisions = schedule({ nodes, pods: [db('db-0'), db('db-1'), db('db-2'), db('db-3')] });
  t.deepEqual(decisions.slice(0, 3).map((d) => d.node).sort(), ['n1', 'n2', 'n3']);
  t.is(decisions[3]!.node, undefined);
  t.is(decisions[3]!.message, "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.");

  const cache = pod('cache', { node: 'n2' });
  cache.metadata.labels = { app: 'cache' };
  const near = pod('web', { spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'kubernetes.io/hostname' }] } } } });
  t.is(schedule({ nodes, pods: [cache, near] })[0]!.node, 'n2');
  t.regex(schedule({ nodes, pods: [near] })[0]!.message!, /3 node\(s\) didn't match pod affinity rules/);
  // The first of a group that wants to be near its own kind goes anywhere.
  const self = pod('first', { spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'first' } }, topologyKey: 'kubernetes.io/hostname' }] } } } });
  self.metadata.labels = { app: 'first' };
  t.truthy(schedule({ nodes, pods: [self] })[0]!.node);

  const loner = pod('loner', { node: 'n1', spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { noisy: 'yes' } }, topologyKey: 'kubernetes.io/hostname' }] } } } });
  const noisy = pod('noisy', { spec: { nodeSelector: { 'kubernetes.io/hostname': 'n1' } } });
  noisy.metadata.labels = { noisy: 'yes' };
  t.regex(schedule({ nodes, pods: [loner, noisy] })[0]!.message!, /node\(s\) didn't satisfy existing pods anti-affinity rules/);
});

test('topology spread: DoNotSchedule keeps the skew within maxSkew over zones, ScheduleAnyway prefers the emptiest; preferred anti-affinity leans away from a matching Pod', (t) => {
  const zone = (name: string, z: string) => node(name, { labels: { 'topology.kubernetes.io/zone': z } });
  const nodes = [zone('a1', 'a'), zone('a2', 'a'), zone('b1', 'b')];
  const spread = (name: string, when: string) => {
    const p = pod(name, { requests: { cpu: '100m' }, spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: when, labelSelector: { matchLabels: { app: 'web' } } }] } });
    p.metadata.labels = { app: 'web' };
    return p;
  };
  const zoneOf = (n?: string) => (n === 'b1' ? 'b' : n ? 'a' : undefined);
  const strict = schedule({ nodes, pods: [1, 2, 3, 4].map((i) => spread(`web-${i}`, 'DoNotSchedule')) });
  const counts = { a: 0, b: 0 };
  for (const d of strict) counts[zoneOf(d.node) as 'a' | 'b']++;
  t.deepEqual(counts, { a: 2, b: 2 }, 'two zones, two each, although zone a has two nodes');
  // Zone b full of CPU: DoNotSchedule then refuses zone a past the skew.
  const busy = pod('busy', { node: 'b1', requests: { cpu: '2' } });
  const refused = schedule({ nodes, pods: [busy, ...[1, 2, 3].map((i) => spread(`w-${i}`, 'DoNotSchedule'))] });
  t.deepEqual(refused.map((d) => zoneOf(d.node)), ['a', undefined, undefined]);
  t.regex(refused[1]!.message!, /0\/3 nodes are available: 1 Insufficient cpu, 2 node\(s\) didn't match pod topology spread constraints\./);
  // ScheduleAnyway places them all, zone b's first.
  const anyway = schedule({ nodes, pods: [busy, ...[1, 2].map((i) => spread(`s-${i}`, 'ScheduleAnyway'))] });
  t.true(anyway.every((d) => d.node !== undefined));
  const earlier = spread('earlier', 'ScheduleAnyway');
  earlier.spec.nodeName = 'a1';
  t.is(zoneOf(schedule({ nodes, pods: [earlier, spread('later', 'ScheduleAnyway')] })[0]!.node), 'b', 'the emptier zone');

  const other = pod('other', { node: 'a1' });
  other.metadata.labels = { team: 'x' };
  const shy = pod('shy', { spec: { nodeSelector: { 'topology.kubernetes.io/zone': 'a' }, affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { team: 'x' } }, topologyKey: 'kubernetes.io/hostname' } }] } } } });
  t.is(schedule({ nodes, pods: [other, shy] })[0]!.node, 'a2');
});

test('preemption breaks a PodDisruptionBudget only when it must: of two equal nodes it picks the one whose victim no budget protects', (t) => {
  const nodes = [node('n1', { cpu: '1' }), node('n2', { cpu: '1' })];
  const readyPod = (name: string, on: string, labels: Record<string, string>) => {
    const p = pod(name, { node: on, requests: { cpu: '1' }, spec: { priority: 0 } });
    p.metadata.labels = labels;
    p.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
    return p;
  };
  const guarded = readyPod('guarded', 'n1', { app: 'db' });
  const free = readyPod('free', 'n2', { app: 'batch' });
  const pdb = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'db', namespace: 'default' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'db' } } } };
  const urgent = pod('urgent', { requests: { cpu: '1' }, spec: { priority: 100 } });
  // n1 sorts first by name: without the budget it would be chosen.
  t.is(schedule({ nodes, pods: [guarded, free, urgent] })[0]!.preempt?.node, 'n1');
  t.deepEqual(schedule({ nodes, pods: [guarded, free, urgent], budgets: [pdb] })[0]!.preempt?.victims.map((v) => v.metadata.name), ['free']);
  // With no other way, the budget is broken, as kube-scheduler breaks it.
  t.deepEqual(schedule({ nodes: [nodes[0]!], pods: [guarded, urgent], budgets: [pdb] })[0]!.preempt?.victims.map((v) => v.metadata.name), ['guarded']);
});

test('a spread constraint with matchLabelKeys counts only the Pods sharing the incoming Pod\'s values (a rollout\'s new revision spreads on its own)', (t) => {
  const nodes = [node('n1'), node('n2')];
  const web = (name: string, hash: string, on?: string) => {
    const p = pod(name, { ...(on ? { node: on } : {}), spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, matchLabelKeys: ['pod-template-hash'] }] } });
    p.metadata.labels = { app: 'web', 'pod-template-hash': hash };
    return p;
  };
  // Two old Pods on n1: counted without matchLabelKeys, the new Pod could only go to n2.
  const old = [web('old-1', 'aaa', 'n1'), web('old-2', 'aaa', 'n1')];
  const fresh = [web('new-1', 'bbb'), web('new-2', 'bbb')];
  const nodesOf = schedule({ nodes, pods: [...old, ...fresh] }).map((d) => d.node).sort();
  t.deepEqual(nodesOf, ['n1', 'n2'], 'the new revision spreads over both nodes, whatever the old one holds');
});

test('a Pod whose claim is missing, being deleted or unbound is placed nowhere, with the claim\'s reason, and preempts nothing', (t) => {
  const volumes = (claim: string) => ({ spec: { priority: 1000, volumes: [{ name: 'd', persistentVolumeClaim: { claimName: claim } }] } });
  const problems: Record<string, string> = { gone: 'persistentvolumeclaim "gone" not found', going: 'persistentvolumeclaim "going" is being deleted' };
  const low = pod('low', { node: 'a' });
  const decisions = schedule({ nodes: [node('a'), node('b')], pods: [low, pod('p1', volumes('gone')), pod('p2', volumes('going')), pod('p3', volumes('fine'))], claimProblem: (ns, name) => (ns === 'default' ? problems[name] : undefined) });
  const by = new Map(decisions.map((d) => [d.pod.metadata.name, d]));
  t.is(by.get('p1')!.node, undefined);
  t.is(by.get('p1')!.message, '0/2 nodes are available: persistentvolumeclaim "gone" not found.');
  t.is(by.get('p2')!.message, '0/2 nodes are available: persistentvolumeclaim "going" is being deleted.');
  t.is(by.get('p2')!.preempt, undefined);
  t.truthy(by.get('p3')!.node);
});
