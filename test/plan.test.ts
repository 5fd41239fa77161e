import test from 'ava';
import { describeWait, plan, pruneOrder } from '../src/apply/plan.js';
import { displayKey } from '../src/manifest/keys.js';
import { loadManifests } from '../src/manifest/load.js';
import { errorsOf, parseOne, root } from './helpers.js';
import path from 'node:path';

const deployment = (name: string, annotations: Record<string, string> = {}, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  annotations: ${JSON.stringify(annotations)}
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers: [{ name: c, image: "busybox:1" }]
${extra}`;

function waves(text: string, existing?: Set<string>) {
  const set = parseOne(text);
  if (errorsOf(set).length) throw new Error(JSON.stringify(set.problems));
  const p = plan(set.manifests, { existing });
  return { ...p, names: p.waves.map((w) => w.steps.map((s) => displayKey(s.key, 'default'))) };
}

test('independent objects share one wave, written in kind order', (t) => {
  const p = waves(`${deployment('b')}---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: z }\n---\n${deployment('a')}`);
  t.deepEqual(p.names, [['ConfigMap/z', 'Deployment/a', 'Deployment/b']]);
});

test('depends-on puts the dependency in an earlier wave and says why', (t) => {
  const p = waves(`${deployment('web', { 'gouvernail.io/depends-on': 'Deployment/db' })}---\n${deployment('db')}`);
  t.deepEqual(p.names, [['Deployment/db'], ['Deployment/web']]);
  t.deepEqual(p.waves[1]!.steps[0]!.waitsFor.map(describeWait), ['after Deployment/db is healthy (depends-on)']);
});

test('the WordPress example: MySQL before WordPress, each with its reasons', async (t) => {
  const set = await loadManifests(path.join(root, 'manifests-example', 'wordpress'));
  t.deepEqual(errorsOf(set), []);
  const p = plan(set.manifests);
  t.deepEqual(p.problems, []);
  const waveOf = (key: string) => p.waves.findIndex((w) => w.steps.some((s) => s.key === key));
  const mysqlDeploy = waveOf('Deployment/wordpress/wordpress-mysql');
  const mysqlService = waveOf('Service/wordpress/wordpress-mysql');
  const wpDeploy = waveOf('Deployment/wordpress/wordpress');
  const wpService = waveOf('Service/wordpress/wordpress');
  t.true(mysqlDeploy >= 0 && mysqlService >= 0);
  t.true(mysqlDeploy < wpDeploy && mysqlService < wpDeploy);
  t.true(mysqlDeploy < wpService && mysqlService <= wpService);
  t.is(waveOf('Namespace//wordpress'), 0);
  const wp = p.waves[wpDeploy]!.steps.find((s) => s.key === 'Deployment/wordpress/wordpress')!;
  const reasons = wp.waitsFor.map(describeWait);
  t.true(reasons.includes('after Deployment/wordpress-mysql is healthy (depends-on)'));
  t.true(reasons.includes('after Service/wordpress-mysql is healthy (depends-on)'));
  t.true(reasons.includes('after Secret/mysql-pass exists (spec.template.spec.containers[wordpress].env[WORDPRESS_DB_PASSWORD])'));
  t.true(reasons.includes('after PersistentVolumeClaim/wp-pv-claim exists (spec.template.spec.volumes[wordpress-persistent-storage])'));
});

test('a cycle is an error that prints the cycle', (t) => {
  const p = waves(`${deployment('a', { 'gouvernail.io/depends-on': 'Deployment/b' })}---\n${deployment('b', { 'gouvernail.io/depends-on': 'Deployment/a' })}`);
  t.deepEqual(p.waves, []);
  t.is(p.problems.length, 1);
  t.is(p.problems[0]!.code, 'PlanCycle');
  t.regex(p.problems[0]!.message, /dependency cycle: Deployment\/a -\(gouvernail\.io\/depends-on: "Deployment\/b"\)-> Deployment\/b -\(gouvernail\.io\/depends-on: "Deployment\/a"\)-> Deployment\/a/);
});

test('a dependency that exists nowhere is an error naming both; one that exists already is not', (t) => {
  const text = deployment('web', { 'gouvernail.io/depends-on': 'Deployment/other/db' });
  const p = waves(text);
  t.is(p.problems.length, 1);
  t.is(p.problems[0]!.code, 'PlanMissingDependency');
  t.is(p.problems[0]!.line, 5);
  t.regex(p.problems[0]!.message, /Deployment\/web depends on Deployment\/other\/db, which is in no manifest/);
  const ok = waves(text, new Set(['Deployment/other/db']));
  t.deepEqual(ok.problems, []);
  t.deepEqual(ok.waves[0]!.steps[0]!.waitsFor.map(describeWait), ['after Deployment/other/db is healthy (depends-on), already exists']);
});

test('sync waves order objects, lowest first, with Argo CD\'s annotation honoured too', (t) => {
  const p = waves([
    deployment('late', { 'gouvernail.io/sync-wave': '5' }),
    deployment('early', { 'argocd.argoproj.io/sync-wave': '-1' }),
    deployment('middle'),
    deployment('also-middle'),
  ].join('---\n'));
  t.deepEqual(p.names, [['Deployment/early'], ['Deployment/also-middle', 'Deployment/middle'], ['Deployment/late']]);
  t.deepEqual(p.waves[2]!.steps[0]!.waitsFor.map(describeWait), ['after every object of sync-wave 0 is healthy']);
});

test('an explicit edge against the sync-wave order is a cycle through the wave', (t) => {
  const p = waves([deployment('first', { 'gouvernail.io/sync-wave': '0', 'gouvernail.io/depends-on': 'Deployment/second' }), deployment('second', { 'gouvernail.io/sync-wave': '1' })].join('---\n'));
  t.regex(p.problems[0]!.message, /dependency cycle: Deployment\/first -\(gouvernail\.io\/depends-on: "Deployment\/second"\)-> Deployment\/second -\(gouvernail\.io\/sync-wave: "1"\)-> sync-wave 0 -\(an earlier sync wave\)-> Deployment\/first/);
});

test('a bad depends-on or sync-wave annotation is located', (t) => {
  const p = waves([deployment('a', { 'gouvernail.io/depends-on': 'db' }), deployment('b', { 'gouvernail.io/sync-wave': 'soon' })].join('---\n'));
  t.deepEqual(p.problems.map((x) => [x.object, x.field]), [
    ['Deployment/a', 'metadata.annotations.gouvernail.io/depends-on'],
    ['Deployment/b', 'metadata.annotations.gouvernail.io/sync-wave'],
  ]);
});

test('references make implicit edges; a missing one is only a warning', (t) => {
  const p = waves(`apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - name: c
      image: busybox
      envFrom: [{ configMapRef: { name: settings } }, { secretRef: { name: absent } }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
`);
  t.deepEqual(p.names, [['ConfigMap/settings'], ['Pod/p']]);
  t.deepEqual(p.problems.map((x) => x.severity), ['warning']);
  t.regex(p.problems[0]!.message, /Secret\/absent/);
});

test('prune order is the reverse of apply order', (t) => {
  const set = parseOne(`${deployment('web', { 'gouvernail.io/depends-on': 'Deployment/db' })}---\n${deployment('db')}---\napiVersion: v1\nkind: Namespace\nmetadata: { name: default }\n`);
  t.deepEqual(pruneOrder(set.manifests.map((m) => m.object)).map((o) => o.metadata.name), ['web', 'db', 'default']);
});

test('a Pod template naming a PriorityClass waits for it; a class in no manifest is a warning, the system\'s classes are not', (t) => {
  const cls = 'apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: { name: batch }\nvalue: 100\n';
  const withClass = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      priorityClassName: ${name}
      containers: [{ name: c, image: "busybox:1" }]
`;
  const p = waves(`${withClass('batch')}---\n${cls}`);
  t.deepEqual(p.names, [['PriorityClass/batch'], ['Deployment/web']]);
  t.deepEqual(p.waves[1]!.steps[0]!.waitsFor.map(describeWait), ['after PriorityClass/batch exists (spec.template.spec.priorityClassName)']);
  const missing = waves(withClass('batch'));
  t.is(missing.problems.length, 1);
  t.like(missing.problems[0], { severity: 'warning', code: 'PlanMissingDependency' });
  t.regex(missing.problems[0]!.message, /spec\.template\.spec\.priorityClassName refers to PriorityClass\/batch, which is in no manifest and does not exist yet; its Pods are refused until it does/);
  t.deepEqual(waves(withClass('system-cluster-critical')).problems, []);
});
