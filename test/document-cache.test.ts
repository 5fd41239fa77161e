import test from 'ava';
import { cacheParsedDocuments, DocumentCache, parsedDocuments } from '../src/manifest/document-cache.js';
import { parseSnapshot } from '../src/manifest/load.js';
import { errorsOf, parseOne } from './helpers.js';

test('a cached document comes back equal each time, as a copy its reader may change', (t) => {
  const cache = new DocumentCache(1024 * 1024);
  const text = 'kind: ConfigMap\ndata: { a: "1" }\n';
  cache.put(text, { kind: 'ConfigMap', data: { a: '1' } });
  const first = cache.get(text) as { data: Record<string, string> };
  first.data.a = 'changed by a reader';
  t.deepEqual(cache.get(text), { kind: 'ConfigMap', data: { a: '1' } });
  t.is(cache.get('kind: Other\n'), undefined);
});

test('values JSON cannot give back as they are (.inf, .nan, -0) are not cached', (t) => {
  const cache = new DocumentCache(1024 * 1024);
  cache.put('a: .inf\n', { a: Infinity });
  cache.put('a: .nan\n', { a: NaN });
  cache.put('a: -0\n', { a: -0 });
  t.is(cache.size, 0);
  cache.put('a: 1.5\n', { a: 1.5 });
  t.deepEqual(cache.get('a: 1.5\n'), { a: 1.5 });
});

test('the cache keeps to its bound, letting the least recently used go first', (t) => {
  const cache = new DocumentCache(400);
  const doc = (n: number) => `name: doc-${n}\n${'x'.repeat(40)}\n`;
  for (let n = 0; n < 3; n++) cache.put(doc(n), { name: `doc-${n}` });
  t.is(cache.size, 3);
  // doc-0 is read, so doc-1 is now the least recently used.
  t.truthy(cache.get(doc(0)));
  for (let n = 3; n < 6; n++) cache.put(doc(n), { name: `doc-${n}` });
  t.is(cache.get(doc(1)), undefined);
  t.deepEqual(cache.get(doc(0)), { name: 'doc-0' });
  t.true(cache.size < 6);
});

test('asking for the parsed value of a document kept checked gives nothing and does not keep it longer', (t) => {
  const cache = new DocumentCache(1000);
  const doc = (n: number) => `name: doc-${n}\n${'x'.repeat(40)}\n`;
  cache.putChecked(doc(0), { name: 'doc-0' } as never, []);
  t.deepEqual(cache.getChecked(doc(0))?.object, { name: 'doc-0' } as never);
  for (let n = 1; n < 3; n++) cache.put(doc(n), { name: `doc-${n}` });
  t.is(cache.get(doc(0)), undefined, 'kept checked: only getChecked hands it out');
  for (let n = 3; n < 13; n++) cache.put(doc(n), { name: `doc-${n}` });
  t.is(cache.getChecked(doc(0)), undefined, 'still the least recently used, so the first to go');
  t.deepEqual(cache.get(doc(12)), { name: 'doc-12' });
});

test('with the cache on (as serve has it), a folder read again gives the same objects and the same problems at the same lines', (t) => {
  cacheParsedDocuments();
  const text = `apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { mode: fast }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: many
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: busybox }] }
`;
  const before = parsedDocuments()!.size;
  const first = parseOne(text);
  // The ConfigMap is kept, validated and defaulted; the Deployment, invalid, is checked each time.
  t.is(parsedDocuments()!.size, before + 1);
  // A checked object is handed out itself, frozen: a reader that wrote into it would change
  // every later read, so the write throws.
  t.throws(() => {
    first.manifests[0]!.object.data!.mode = 'changed';
  }, { instanceOf: TypeError });
  const again = parseOne(text);
  t.is(parsedDocuments()!.size, before + 1, 'nothing more kept');
  t.is(again.manifests[0]!.object, first.manifests[0]!.object, 'the same object, not parsed nor copied again');
  t.is(again.manifests[0]!.object.data!.mode, 'fast');
  t.deepEqual(again.problems, parseOne(text).problems);
  const [problem] = errorsOf(again);
  t.like(problem, { file: 'inline.yaml', line: 10, field: 'spec.replicas', object: 'Deployment/web' });
});

test('a document kept checked comes back defaulted, with its warnings at their lines, and a kustomization still transforms it', (t) => {
  cacheParsedDocuments();
  const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: kept }
spec:
  selector: { matchLabels: { app: kept } }
  template:
    metadata: { labels: { app: kept } }
    spec:
      containers:
        - name: web
          image: busybox
          colour: blue
`;
  const plain = () => parseSnapshot([{ path: 'deploy.yaml', text: deployment }]);
  const first = plain();
  const again = plain();
  t.deepEqual(again.manifests.map((m) => m.object), first.manifests.map((m) => m.object));
  t.is(again.manifests[0]!.object.spec.replicas, 1, 'defaulted');
  t.is(again.manifests[0]!.object.spec.template.spec.containers[0].imagePullPolicy, 'Always');
  const warning = again.problems.find((p) => p.field?.endsWith('colour'));
  t.like(warning, { severity: 'warning', file: 'deploy.yaml', line: 12 });
  t.deepEqual(again.problems, first.problems);
  // The same text under a kustomization is read as written, then renamed and labelled.
  const kustomized = parseSnapshot([
    { path: 'deploy.yaml', text: deployment },
    { path: 'kustomization.yaml', text: 'resources: [deploy.yaml]\nnamePrefix: prod-\ncommonLabels: { team: blue }\n' },
  ]);
  t.is(kustomized.manifests[0]!.object.metadata.name, 'prod-kept');
  t.is(kustomized.manifests[0]!.object.metadata.labels?.team, 'blue');
  // And the plain folder again is as it was, not what the kustomization made of it.
  const third = plain();
  t.is(third.manifests[0]!.object.metadata.name, 'kept');
  t.is(third.manifests[0]!.object.metadata.labels?.team, undefined);
});
