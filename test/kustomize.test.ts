import test from 'ava';
import { parseSnapshot } from '../src/manifest/load.js';
import type { SourceFile } from '../src/manifest/read-folder.js';

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: nginx:1.25
          envFrom: [{ configMapRef: { name: settings } }]
          env: [{ name: PASSWORD, valueFrom: { secretKeyRef: { name: creds, key: password } } }]
`;
const service = 'apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: { selector: { app: web }, ports: [{ port: 80 }] }\n';

test('a kustomization: resources, namespace, commonLabels, images and generators with hashed names and rewritten references', (t) => {
  const files: SourceFile[] = [
    { path: 'kustomization.yaml', text: `resources: [base, extra.yaml]\nnamespace: shop\ncommonLabels: { team: blue }\nimages: [{ name: nginx, newName: registry.local/nginx, newTag: "1.27" }]\nconfigMapGenerator: [{ name: settings, literals: [MODE=prod, LEVEL=info] }]\nsecretGenerator: [{ name: creds, literals: [password=s3cret] }]\n` },
    { path: 'base/kustomization.yaml', text: 'resources: [deployment.yaml]\n' },
    { path: 'base/deployment.yaml', text: deployment },
    { path: 'extra.yaml', text: service },
    { path: 'unlisted.yaml', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: not-in-the-kustomization }\n' },
  ];
  const set = parseSnapshot(files);
  t.deepEqual(set.problems, []);
  const byKind = Object.fromEntries(set.manifests.map((m) => [m.object.kind, m.object]));
  t.deepEqual(set.manifests.map((m) => m.object.kind).sort(), ['ConfigMap', 'Deployment', 'Secret', 'Service']);
  const cm = byKind.ConfigMap!;
  t.regex(cm.metadata.name, /^settings-[0-9a-f]{10}$/);
  t.deepEqual(cm.data, { MODE: 'prod', LEVEL: 'info' });
  t.is(cm.metadata.namespace, 'shop');
  const d = byKind.Deployment!;
  t.is(d.metadata.namespace, 'shop');
  t.deepEqual(d.metadata.labels, { team: 'blue' });
  t.deepEqual(d.spec.selector.matchLabels, { app: 'web', team: 'blue' });
  t.deepEqual(d.spec.template.metadata.labels, { app: 'web', team: 'blue' });
  const c = d.spec.template.spec.containers[0];
  t.is(c.image, 'registry.local/nginx:1.27');
  t.is(c.envFrom[0].configMapRef.name, cm.metadata.name);
  t.is(c.env[0].valueFrom.secretKeyRef.name, byKind.Secret!.metadata.name);
  t.is(Buffer.from(byKind.Secret!.data!.password!, 'base64').toString(), 's3cret');
  t.deepEqual(byKind.Service!.spec.selector, { app: 'web', team: 'blue' });
});

test('an unsupported kustomization field is an error naming it; nothing is applied', (t) => {
  const set = parseSnapshot([
    { path: 'kustomization.yaml', text: 'resources: [a.yaml]\npatches:\n  - path: patch.yaml\n' },
    { path: 'a.yaml', text: service },
  ]);
  const errors = set.problems.filter((p) => p.severity === 'error');
  t.is(errors.length, 1);
  t.is(errors[0]!.file, 'kustomization.yaml');
  t.is(errors[0]!.line, 2);
  t.regex(errors[0]!.message, /kustomization field patches is not supported/);
});

test('a resource outside the source or missing is an error', (t) => {
  const set = parseSnapshot([{ path: 'kustomization.yaml', text: 'resources: [../secret.yaml, https://example.test/x.yaml, missing.yaml]\n' }]);
  t.deepEqual(set.problems.map((p) => p.code), ['ManifestOutsideRoot', 'ManifestOutsideRoot', 'ManifestInvalid']);
});
