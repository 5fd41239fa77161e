import test from 'ava';
import { diff, hidden, renderDiff } from '../src/diff/diff.js';
import { plainlySame } from '../src/diff/normalize.js';
import { keyOf } from '../src/manifest/keys.js';
import type { KubeObject } from '../src/manifest/types.js';
import { parseOne } from './helpers.js';

const objects = (text: string): KubeObject[] => parseOne(text).manifests.map((m) => m.object);

const web = (image: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: ${image}
${extra}`;

/** What a server hands back: the object with server-written metadata and status. */
function asLive(o: KubeObject): KubeObject {
  return { ...structuredClone(o), metadata: { ...o.metadata, uid: 'u1', resourceVersion: '42', generation: 3, creationTimestamp: '2026-01-01T00:00:00Z' }, status: { replicas: 1 } };
}

test('no-op: the same objects, as stored by a server, are unchanged', (t) => {
  const desired = objects(web('busybox:1'));
  const result = diff(desired, desired.map(asLive));
  t.deepEqual(result.counts, { create: 0, update: 0, unchanged: 1, prune: 0 });
});

test('a frozen desired object found unchanged is compared again once the live object is written again', (t) => {
  // serve hands out the same frozen object for an unchanged file on every read.
  const desired = objects(web('busybox:1')).map((o) => Object.freeze(o));
  const live = asLive(objects(web('busybox:1'))[0]!);
  t.is(diff(desired, [live]).changes[0]!.action, 'unchanged');
  t.is(diff(desired, [structuredClone(live)]).changes[0]!.action, 'unchanged', 'the same resourceVersion: the same object');
  // kubectl set image: a new resourceVersion, a new image.
  const edited = structuredClone(live);
  edited.metadata.resourceVersion = '43';
  edited.spec.template.spec.containers[0].image = 'busybox:9';
  const result = diff(desired, [edited]);
  t.is(result.changes[0]!.action, 'update');
  t.deepEqual(result.changes[0]!.fields.map((f) => [f.path, f.before, f.after]), [['spec.template.spec.containers[web].image', 'busybox:9', 'busybox:1']]);
  // Another object of the same name (deleted and made again): another uid.
  const remade = { ...structuredClone(edited), metadata: { ...edited.metadata, uid: 'u2', resourceVersion: '42' } };
  t.is(diff(desired, [remade]).changes[0]!.action, 'update');
});

test('an image change is an update with a field-level diff, by container name', (t) => {
  const result = diff(objects(web('busybox:2')), objects(web('busybox:1')).map(asLive));
  t.is(result.changes[0]!.action, 'update');
  t.deepEqual(result.changes[0]!.fields, [{ path: 'spec.template.spec.containers[web].image', op: 'change', before: 'busybox:1', after: 'busybox:2' }]);
  t.regex(renderDiff(result), /~ spec\.template\.spec\.containers\[web\]\.image: "busybox:1" -> "busybox:2"/);
});

test('a difference only in defaults is no difference', (t) => {
  const explicit = web('busybox:1', '          imagePullPolicy: IfNotPresent\n          ports: [{ containerPort: 80, protocol: TCP }]\n').replace('spec:\n  selector', 'spec:\n  replicas: 1\n  strategy: { type: RollingUpdate, rollingUpdate: { maxSurge: 25%, maxUnavailable: 25% } }\n  selector');
  const implicit = web('busybox:1', '          ports: [{ containerPort: 80 }]\n');
  const result = diff(objects(explicit), objects(implicit).map(asLive));
  t.deepEqual(result.counts, { create: 0, update: 0, unchanged: 1, prune: 0 });
});

test('a removed object is pruned only when the inventory says it was applied from here', (t) => {
  const live = objects(`${web('busybox:1')}---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: old }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: someone-elses }\n`).map(asLive);
  const desired = objects(web('busybox:1'));
  const inventory = new Set(['Deployment/default/web', 'ConfigMap/default/old']);
  const result = diff(desired, live, inventory);
  t.deepEqual(result.changes.map((c) => [c.name, c.action]), [['web', 'unchanged'], ['old', 'prune']]);
  t.regex(renderDiff(result), /- ConfigMap\/default\/old \(prune\)/);
});

test('a new object is a create', (t) => {
  const result = diff(objects('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: new }\n'), []);
  t.deepEqual(result.changes.map((c) => c.action), ['create']);
});

test('secret data is masked in every diff, plain or stringData', (t) => {
  const live = objects('apiVersion: v1\nkind: Secret\nmetadata: { name: s }\nstringData: { password: old-secret-value, same: kept }\n').map(asLive);
  const desired = objects('apiVersion: v1\nkind: Secret\nmetadata: { name: s }\nstringData: { password: new-secret-value, same: kept, added: brand-new-value }\n');
  const result = diff(desired, live);
  t.is(result.changes[0]!.action, 'update');
  t.deepEqual(result.changes[0]!.fields, [
    { path: 'data.added', op: 'add', after: hidden },
    { path: 'data.password', op: 'change', before: hidden, after: hidden },
  ]);
  const text = renderDiff(result) + JSON.stringify(result);
  for (const secret of ['old-secret-value', 'new-secret-value', 'brand-new-value', Buffer.from('new-secret-value').toString('base64')]) {
    t.false(text.includes(secret), `diff shows ${secret}`);
  }
  t.is(keyOf(desired[0]!), 'Secret/default/s');
});

test('status-only and server-metadata changes are not drift', (t) => {
  const desired = objects(web('busybox:1'));
  const live = desired.map(asLive);
  live[0]!.status = { replicas: 5, readyReplicas: 2 };
  live[0]!.metadata.annotations = { 'deployment.kubernetes.io/revision': '4' };
  t.is(diff(desired, live).counts.unchanged, 1);
});

test('the quick comparison settles only what the full one would call unchanged', (t) => {
  const service = objects(`apiVersion: v1
kind: Service
metadata: { name: web, labels: { app: web } }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
`)[0]!;
  // The server assigned the cluster IP and Gouvernail wrote its own label and annotation: unchanged,
  // without a copy.
  const live: KubeObject = {
    ...asLive(service),
    metadata: { ...asLive(service).metadata, labels: { app: 'web', 'app.gouvernail.io/instance': 'shop' }, annotations: { 'gouvernail.io/applied-by': 'app shop' } },
    spec: { ...structuredClone(service.spec), clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7'] },
  };
  t.true(plainlySame(live, service));
  t.is(diff([service], [live]).counts.unchanged, 1);
  // A label the user added, a port changed, a cluster IP the manifest pins: not settled quickly,
  // and the full comparison finds each.
  const cases: [string, (o: KubeObject) => void, string][] = [
    ['label', (o) => (o.metadata.labels!.tier = 'front'), 'metadata.labels.tier'],
    ['port', (o) => (o.spec.ports[0].targetPort = 9090), 'spec.ports[0].targetPort'],
    ['pinned cluster IP', (o) => (o.spec.clusterIP = '10.96.0.8'), 'spec.clusterIP'],
  ];
  for (const [name, change, path] of cases) {
    const desired = structuredClone(service);
    change(desired);
    t.false(plainlySame(live, desired), name);
    t.deepEqual(diff([desired], [live]).changes[0]!.fields.map((f) => f.path), [path], name);
  }
  // Not settled quickly, but unchanged in full: the live side lacks a default the manifest spells out.
  const explicit = structuredClone(service);
  explicit.spec.sessionAffinity = 'None';
  const bare = structuredClone(live);
  delete bare.spec.sessionAffinity;
  t.is(diff([explicit], [bare]).counts.unchanged, 1);
});

test('what the server writes into a Pod its manifest leaves out (its node, its priority) is not drift; a priority written in the manifest is compared', (t) => {
  const text = 'apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: default }\nspec:\n  containers: [{ name: c, image: "busybox:1" }]\n';
  const live = asLive(objects(text)[0]!);
  live.spec = { ...live.spec, nodeName: 'node-1', priority: 0, preemptionPolicy: 'PreemptLowerPriority' };
  t.deepEqual(diff(objects(text), [live]).counts, { create: 0, update: 0, unchanged: 1, prune: 0 });
  const named = diff(objects(text.replace('spec:\n', 'spec:\n  priorityClassName: batch\n')), [live]);
  t.deepEqual(named.changes[0]!.fields.map((f) => f.path), ['spec.priorityClassName']);
});
