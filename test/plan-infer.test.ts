import test from 'ava';
import { describeWait, plan } from '../src/apply/plan.js';
import { hostsIn } from '../src/apply/infer.js';
import { planGraph, toDot, toMermaid } from '../src/apply/plan-graph.js';
import { displayKey } from '../src/manifest/keys.js';
import { loadManifests } from '../src/manifest/load.js';
import { formatProblem } from '../src/manifest/problems.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorsOf, fixture, parseOne, tempDir } from './helpers.js';

const service = (name: string, namespace = 'default', app = name) => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace} }
spec: { selector: { app: ${app} }, ports: [{ port: 5432 }] }
`;
const deployment = (name: string, container: object, namespace = 'default', annotations: Record<string, string> = {}) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${namespace}, annotations: ${JSON.stringify(annotations)} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers: [${JSON.stringify({ name: 'c', image: 'busybox:1', ...container })}]
`;

function planOf(text: string) {
  const set = parseOne(text);
  if (errorsOf(set).length) throw new Error(errorsOf(set).map(formatProblem).join('\n'));
  const p = plan(set.manifests);
  const waveOf = (key: string) => p.waves.findIndex((w) => w.steps.some((s) => s.key === key));
  const waitsOf = (key: string) => p.waves.flatMap((w) => w.steps).find((s) => s.key === key)!.waitsFor.map(describeWait);
  return { ...p, waveOf, waitsOf, names: p.waves.map((w) => w.steps.map((s) => displayKey(s.key, 'default'))) };
}

test("the Kubernetes tutorial's WordPress, as published: MySQL's Deployment a wave before WordPress's, for the reason its env gives", async (t) => {
  const set = await loadManifests(fixture('k8s-wordpress-tutorial'));
  t.deepEqual(errorsOf(set), []);
  const p = plan(set.manifests);
  t.deepEqual(p.problems.filter((x) => x.severity === 'error'), []);
  const waveOf = (key: string) => p.waves.findIndex((w) => w.steps.some((s) => s.key === key));
  t.true(waveOf('Deployment/default/wordpress-mysql') < waveOf('Deployment/default/wordpress'));
  const wp = p.waves.flatMap((w) => w.steps).find((s) => s.key === 'Deployment/default/wordpress')!;
  const reasons = wp.waitsFor.map(describeWait);
  t.true(reasons.includes('after Service/wordpress-mysql has a ready endpoint (inferred: env WORDPRESS_DB_HOST names Service/wordpress-mysql)'), reasons.join('\n'));
  t.true(reasons.includes('after Deployment/wordpress-mysql is healthy (inferred: env WORDPRESS_DB_HOST names Service/wordpress-mysql, which selects its Pods)'), reasons.join('\n'));
  // MYSQL_DATABASE=wordpress is a database name, not the Service "wordpress": no edge back.
  const mysql = p.waves.flatMap((w) => w.steps).find((s) => s.key === 'Deployment/default/wordpress-mysql')!;
  t.false(mysql.waitsFor.some((w) => w.reason === 'inferred'));
});

const forms: [string, object, string][] = [
  ['host in a host variable', { env: [{ name: 'DB_HOST', value: 'db' }] }, 'env DB_HOST names Service/db'],
  ['host:port', { env: [{ name: 'DATABASE', value: 'db:5432' }] }, 'env DATABASE names Service/db'],
  ['scheme://user@host:port/path', { env: [{ name: 'DATABASE', value: 'postgres://app:pw@db:5432/shop?sslmode=disable' }] }, 'env DATABASE names Service/db'],
  ['svc.ns', { env: [{ name: 'TARGET', value: 'db.default' }] }, 'env TARGET names Service/db'],
  ['svc.ns.svc.cluster.local in args', { args: ['--db=db.default.svc.cluster.local:5432'] }, 'args[0] of container c names Service/db'],
  ['a URL in the command', { command: ['sh', '-c', 'wget -q http://db:5432/health && exec app'] }, 'command[2] of container c names Service/db'],
];

for (const [form, container, reason] of forms) {
  test(`inferred from ${form}`, (t) => {
    const p = planOf(`${service('db')}---\n${deployment('db', {})}---\n${deployment('api', container)}`);
    t.true(p.waveOf('Deployment/default/db') < p.waveOf('Deployment/default/api'), JSON.stringify(p.names));
    t.true(p.waitsOf('Deployment/default/api').includes(`after Service/db has a ready endpoint (inferred: ${reason})`), p.waitsOf('Deployment/default/api').join('\n'));
  });
}

test('a Service of another namespace is named with its namespace; the bare name there is not it', (t) => {
  const p = planOf(`${service('db', 'data')}---\n${deployment('db', {}, 'data')}---\n${deployment('api', { env: [{ name: 'DB_HOST', value: 'db.data.svc' }] }, 'shop')}---\n${deployment('other', { env: [{ name: 'DB_HOST', value: 'db' }] }, 'shop')}`);
  t.true(p.waitsOf('Deployment/shop/api').includes('after Service/data/db has a ready endpoint (inferred: env DB_HOST names Service/db.data)'), p.waitsOf('Deployment/shop/api').join('\n'));
  t.false(p.waitsOf('Deployment/shop/other').some((w) => w.includes('inferred')));
});

test('a bare word outside a host variable, the command or the args is not a host', (t) => {
  const p = planOf(`${service('db')}---\n${deployment('db', {})}---\n${deployment('api', { env: [{ name: 'DATABASE_NAME', value: 'db' }], args: ['db'] })}`);
  t.deepEqual(p.names, [['Service/db', 'Deployment/api', 'Deployment/db']]);
});

test("a host named by a workload's name, with no Service of that name, is warned about where it is written, as kompose's output of a compose service without ports has it", (t) => {
  const p = planOf(`${service('web')}---\n${deployment('db', {})}---\n${deployment('web', { env: [{ name: 'WORDPRESS_DB_HOST', value: 'db:3306' }] })}`);
  t.deepEqual(p.problems.filter((x) => x.severity === 'error'), []);
  const warnings = p.problems.filter((x) => x.severity === 'warning').map(formatProblem);
  t.deepEqual(warnings, [
    'inline.yaml:24:87: Deployment/web: spec.template.spec.containers[0].env[0].value: env WORDPRESS_DB_HOST names db, and no Service is named so: a Pod reaches another by a Service\'s name, not by its workload\'s (Deployment/db) as in Docker Compose; add a Service db that selects its Pods (kubectl expose deployment db --port=3306)',
  ]);
  // No edge is made of it: the plan is as without the variable.
  t.false(p.waitsOf('Deployment/default/web').some((w) => w.includes('inferred')));
  // A StatefulSet's name, in a host variable without a port, in a folder with no Service at all.
  const sts = planOf(`apiVersion: apps/v1\nkind: StatefulSet\nmetadata: { name: cache }\nspec: { serviceName: cache, selector: { matchLabels: { app: cache } }, template: { metadata: { labels: { app: cache } }, spec: { containers: [{ name: c, image: busybox:1 }] } } }\n---\n${deployment('api', { env: [{ name: 'REDIS_HOST', value: 'cache' }] })}`);
  t.deepEqual(sts.problems.map((x) => x.message), ["env REDIS_HOST names cache, and no Service is named so: a Pod reaches another by a Service's name, not by its workload's (StatefulSet/cache) as in Docker Compose; add a Service cache that selects its Pods"]);
});

test('no warning where the name resolves or is not surely a host: a Service of that name, one that exists already, a bare word outside a host variable, its own name, inference off', (t) => {
  const quiet = (text: string, existing?: Set<string>) => {
    const set = parseOne(text);
    return plan(set.manifests, { existing }).problems.map(formatProblem);
  };
  t.deepEqual(quiet(`${service('db')}---\n${deployment('db', {})}---\n${deployment('web', { env: [{ name: 'DB_HOST', value: 'db:3306' }] })}`), []);
  t.deepEqual(quiet(`${deployment('db', {})}---\n${deployment('web', { env: [{ name: 'DB_HOST', value: 'db' }] })}`, new Set(['Service/default/db'])), []);
  t.deepEqual(quiet(`${deployment('db', {})}---\n${deployment('web', { env: [{ name: 'DB_NAME', value: 'db' }, { name: 'OTEL_SERVICE_NAME', value: 'db' }] })}`), []);
  t.deepEqual(quiet(deployment('web', { env: [{ name: 'HOSTNAME', value: 'web' }] })), []);
  t.deepEqual(quiet(`${deployment('db', {})}---\n${deployment('web', { env: [{ name: 'DB_HOST', value: 'db:3306' }] }, 'default', { 'gouvernail.io/infer': 'false' })}`), []);
});

test('the opt-outs: depends-on: none, and infer: "false" (which a kustomization can set for its folder)', (t) => {
  const none = planOf(`${service('db')}---\n${deployment('db', {})}---\n${deployment('api', { env: [{ name: 'DB_HOST', value: 'db' }] }, 'default', { 'gouvernail.io/depends-on': 'none' })}`);
  t.deepEqual(none.names, [['Service/db', 'Deployment/api', 'Deployment/db']]);
  const off = planOf(`${service('db')}---\n${deployment('db', {})}---\n${deployment('api', { env: [{ name: 'DB_HOST', value: 'db' }] }, 'default', { 'gouvernail.io/infer': 'false' })}`);
  t.deepEqual(off.names, [['Service/db', 'Deployment/api', 'Deployment/db']]);
});

test('a cycle of inferred edges is broken with a warning that names it, never an error', (t) => {
  const p = planOf(`${service('a')}---\n${service('b')}---\n${deployment('a', { env: [{ name: 'PEER_HOST', value: 'b' }] })}---\n${deployment('b', { env: [{ name: 'PEER_HOST', value: 'a' }] })}`);
  t.deepEqual(p.problems.filter((x) => x.severity === 'error'), []);
  const warnings = p.problems.filter((x) => x.severity === 'warning').map(formatProblem);
  t.is(warnings.length >= 1, true);
  t.regex(warnings[0]!, /inferred dependencies make a cycle \(Deployment\/a -\(inferred: env PEER_HOST names Service\/b, which selects its Pods\)-> Deployment\/b -\(inferred: env PEER_HOST names Service\/a, which selects its Pods\)-> Deployment\/a\); the inferred edge to Deployment\/b is ignored/);
  t.true(p.waves.length >= 2, 'the rest of the order is kept');
});

test('an object of an earlier sync wave pulls the unannotated Namespace it needs before it, not into a cycle', (t) => {
  const p = planOf(`apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
${deployment('cache', {}, 'shop', { 'argocd.argoproj.io/sync-wave': '-1' })}---
${deployment('web', {}, 'shop')}`);
  t.deepEqual(p.problems, []);
  t.deepEqual(p.names, [['Namespace/shop'], ['Deployment/shop/cache'], ['Deployment/shop/web']]);
});

test('a cycle of explicit annotations is an error naming the annotations', (t) => {
  const set = parseOne(`${deployment('first', {}, 'default', { 'gouvernail.io/sync-wave': '1' })}---\n${deployment('second', {}, 'default', { 'gouvernail.io/depends-on': 'Deployment/first', 'gouvernail.io/sync-wave': '0' })}`);
  const p = plan(set.manifests);
  t.is(p.problems[0]!.code, 'PlanCycle');
  t.regex(p.problems[0]!.message, /gouvernail\.io\/depends-on: "Deployment\/first"/);
  t.regex(p.problems[0]!.message, /gouvernail\.io\/sync-wave: "1"/);
});

test('hosts are read from the forms people write', (t) => {
  t.deepEqual(hostsIn('postgres://u:p@db.shop.svc.cluster.local:5432/x'), ['db.shop.svc.cluster.local']);
  t.deepEqual(hostsIn('jdbc:mysql://mysql:3306/app'), ['mysql']);
  t.deepEqual(hostsIn('a:1,b:2;c'), ['a', 'b', 'c']);
  t.deepEqual(hostsIn('REDIS=redis:6379 exec app', false), ['redis']);
  t.deepEqual(hostsIn('just words here', false), []);
});

test('a kustomization turns inference off for its folder with commonAnnotations', async (t) => {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'app'));
  writeFileSync(path.join(dir, 'app', 'all.yaml'), `${service('db')}---\n${deployment('db', {})}---\n${deployment('api', { env: [{ name: 'DB_HOST', value: 'db' }] })}`);
  writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources: [app/all.yaml]\ncommonAnnotations: { gouvernail.io/infer: "false" }\n');
  const set = await loadManifests(dir);
  t.deepEqual(errorsOf(set), []);
  const p = plan(set.manifests);
  t.false(p.waves.flatMap((w) => w.steps).some((s) => s.waitsFor.some((w) => w.reason === 'inferred')));
});

test('plan -o dot and -o mermaid draw the graph: waves as ranks, edges with their reasons', async (t) => {
  const set = await loadManifests(fixture('k8s-wordpress-tutorial'));
  const graph = planGraph(plan(set.manifests));
  const dot = toDot(graph);
  t.regex(dot, /subgraph cluster_wave_2 \{\n    label="wave 2";\n    rank=same;\n    "Deployment\/default\/wordpress-mysql"/);
  t.regex(dot, /"Service\/default\/wordpress-mysql" -> "Deployment\/default\/wordpress" \[label="env WORDPRESS_DB_HOST names Service\/wordpress-mysql"\];/);
  const mermaid = toMermaid(graph);
  t.regex(mermaid, /^flowchart LR\n  subgraph wave1\["wave 1"\]/);
  t.regex(mermaid, /n\d+ -->\|"env WORDPRESS_DB_HOST names Service\/wordpress-mysql"\| n\d+/);
  t.is(graph.nodes.find((n) => n.id === 'Deployment/default/wordpress')!.wave, 3);
});
