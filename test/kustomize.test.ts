import test from 'ava';
import { parseSnapshot } from '../src/manifest/load.js';
import { kustomize } from '../src/manifest/kustomize.js';
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
  t.regex(cm.metadata.name, /^settings-[0-9a-z]{10}$/);
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
    { path: 'kustomization.yaml', text: 'resources: [a.yaml]\nreplacements:\n  - path: replacement.yaml\n' },
    { path: 'a.yaml', text: service },
  ]);
  const errors = set.problems.filter((p) => p.severity === 'error');
  t.is(errors.length, 1);
  t.is(errors[0]!.file, 'kustomization.yaml');
  t.is(errors[0]!.line, 2);
  t.regex(errors[0]!.message, /kustomization field replacements is not supported/);
});

test('a resource outside the source or missing is an error', (t) => {
  const set = parseSnapshot([{ path: 'kustomization.yaml', text: 'resources: [../secret.yaml, https://example.test/x.yaml, missing.yaml]\n' }]);
  t.deepEqual(set.problems.map((p) => p.code), ['ManifestOutsideRoot', 'ManifestOutsideRoot', 'ManifestInvalid']);
});

test('generated names carry the suffix kustomize gives them', (t) => {
  // Expected value: kustomize's documentation (kustomization buildMetadata, origin annotations), kustomize 5.
  const set = parseSnapshot([{ path: 'kustomization.yaml', text: 'configMapGenerator:\n- name: my-java-server-env-vars\n  literals:\n  - JAVA_HOME=/opt/java/jdk\n  - JAVA_TOOL_OPTIONS=-agentlib:hprof\n' }]);
  t.deepEqual(set.problems, []);
  t.is(set.manifests[0]!.object.metadata.name, 'my-java-server-env-vars-44k658k8gk');
});

test('an overlay on a base: namePrefix with references renamed, patches (strategic merge, JSON 6902 with a target), replicas, labels, a component, a merged generator', (t) => {
  const files: SourceFile[] = [
    { path: 'base/kustomization.yaml', text: 'resources: [deployment.yaml, service.yaml]\nconfigMapGenerator: [{ name: settings, literals: [MODE=dev] }]\n' },
    { path: 'base/deployment.yaml', text: deployment },
    { path: 'base/service.yaml', text: service },
    { path: 'components/audit/kustomization.yaml', text: 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations: { audit: "on" }\n' },
    { path: 'overlays/prod/kustomization.yaml', text: [
      'resources: [../../base]',
      'components: [../../components/audit]',
      'namePrefix: prod-',
      'labels: [{ pairs: { env: prod }, includeSelectors: false, includeTemplates: true }]',
      'replicas: [{ name: web, count: 3 }]',
      'configMapGenerator: [{ name: settings, behavior: merge, literals: [MODE=prod, EXTRA=1] }]',
      'patches:',
      '- path: memory.yaml',
      '- target: { kind: Deployment, name: web }',
      '  patch: |-',
      '    - { op: add, path: /spec/template/spec/containers/0/args, value: ["--verbose"] }',
      '',
    ].join('\n') },
    { path: 'overlays/prod/memory.yaml', text: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        resources: { limits: { memory: 256Mi } }\n' },
  ];
  // The Application's path is overlays/prod inside a repository: the repository is the root.
  const k = kustomize(files, undefined, 'overlays/prod');
  t.deepEqual(k.problems, []);
  const by = Object.fromEntries(k.manifests.map((m) => [m.object.kind, m.object]));
  const d = by.Deployment!;
  t.is(d.metadata.name, 'prod-web');
  t.is(d.spec.replicas, 3);
  t.deepEqual(d.metadata.labels, { env: 'prod' });
  t.deepEqual(d.spec.selector.matchLabels, { app: 'web' }, 'labels without includeSelectors leave the selector');
  t.deepEqual(d.spec.template.metadata.labels, { app: 'web', env: 'prod' });
  t.is(d.metadata.annotations?.audit, 'on', 'the component');
  const c = d.spec.template.spec.containers[0];
  t.deepEqual(c.resources, { limits: { memory: '256Mi' } }, 'the strategic merge patch, merged into the container by name');
  t.is(c.image, 'nginx:1.25');
  t.deepEqual(c.args, ['--verbose'], 'the JSON 6902 patch');
  const cm = by.ConfigMap!;
  t.deepEqual(cm.data, { MODE: 'prod', EXTRA: '1' });
  t.regex(cm.metadata.name, /^prod-settings-[a-z0-9]{10}$/);
  t.is(c.envFrom[0].configMapRef.name, cm.metadata.name, 'the reference follows the prefix and the hash');
  t.is(by.Service!.metadata.name, 'prod-web');
});
