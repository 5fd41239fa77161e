import test from 'ava';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadManifests } from '../src/manifest/load.js';
import { formatProblem } from '../src/manifest/problems.js';
import { nearestName } from '../src/manifest/schema.js';
import { errorsOf, fixture, parseOne, tempDir } from './helpers.js';

test('every error of a folder is reported together, each with file, line, column, object and field', async (t) => {
  const set = await loadManifests(fixture('invalid'));
  const errors = errorsOf(set).map(formatProblem);
  t.deepEqual(errors, [
    'broken-deployment.yaml:6:3: Deployment/web: spec.replicas: must be an integer, not a string',
    'broken-deployment.yaml:16:11: Deployment/web: spec.template.spec.containers[0].image: is required',
    'broken-deployment.yaml:18:15: Deployment/web: spec.template.spec.containers[0].ports[0].containerPort: must be at most 65535 (got 70000)',
    'second-file.yaml:11:3: Service/Bad_Name: metadata.name: must be a DNS-1035 label: lowercase letters, digits and "-", starting with a letter (got "Bad_Name")',
    'second-file.yaml:17:1: Widget/w: kind: unknown kind "Widget" (example.com/v1): a custom resource; no controller for it runs on Docker, so Gouvernail will never apply it; drop it from the source',
  ]);
  t.deepEqual(set.manifests.map((m) => m.object.metadata.name), ['ok-config']);
});

test('the Kubernetes WordPress tutorial manifests are accepted as they are', async (t) => {
  const set = await loadManifests(fixture('k8s-wordpress-tutorial'));
  t.deepEqual(errorsOf(set), []);
  t.deepEqual(
    set.manifests.map((m) => `${m.object.kind}/${m.object.metadata.name}`),
    ['Service/wordpress-mysql', 'PersistentVolumeClaim/mysql-pv-claim', 'Deployment/wordpress-mysql', 'Secret/mysql-pass', 'Service/wordpress', 'PersistentVolumeClaim/wp-pv-claim', 'Deployment/wordpress'],
  );
  const mysql = set.manifests[2]!.object;
  t.is(mysql.spec.strategy.type, 'Recreate');
  t.is(mysql.spec.replicas, 1);
});

test('a secret value never appears in an error', (t) => {
  const set = parseOne(`apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  password: "hunter2-is-not-base64!"
---
apiVersion: v1
kind: Secret
metadata:
  name: creds2
stringData:
  token: 12345678
  mode: [ "hunter3" ]
`);
  const errors = errorsOf(set);
  t.is(errors.length, 3);
  for (const e of errors) {
    t.notRegex(formatProblem(e), /hunter|12345678/);
  }
  t.is(errors[0]!.field, 'data.password');
  t.is(errors[0]!.line, 6);
});

test('a selector that does not match the template labels is an error at the labels', (t) => {
  const errors = errorsOf(parseOne(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: api }
    spec:
      containers: [{ name: web, image: "busybox:1" }]
`));
  t.is(errors.length, 1);
  t.is(errors[0]!.field, 'spec.template.metadata.labels');
  t.is(errors[0]!.line, 10);
  t.regex(errors[0]!.message, /do not match spec.selector/);
});

test('references inside a Pod are checked: volume mounts, probe ports, duplicate names', (t) => {
  const errors = errorsOf(parseOne(`apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: a
      image: busybox
      volumeMounts: [{ name: missing, mountPath: /data }]
      readinessProbe:
        httpGet: { port: http }
    - name: a
      image: busybox
`));
  t.deepEqual(errors.map((e) => e.field), [
    'spec.containers[0].volumeMounts[0].name',
    'spec.containers[0].readinessProbe.httpGet.port',
    'spec.containers[1].name',
  ]);
});

test("an env var takes one source: a container's resources through resourceFieldRef, of a container the Pod has", (t) => {
  const pod = (valueFrom: string) => parseOne(`apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - name: a
      image: busybox
      env: [{ name: X, valueFrom: ${valueFrom} }]
`);
  t.deepEqual(errorsOf(pod('{ resourceFieldRef: { resource: limits.memory, divisor: 1Mi } }')), []);
  t.deepEqual(errorsOf(pod('{ resourceFieldRef: { containerName: b, resource: limits.cpu } }')).map((e) => [e.field, e.message]), [['spec.containers[0].env[0].valueFrom.resourceFieldRef.containerName', 'names no container of the Pod ("b")']]);
  t.deepEqual(errorsOf(pod('{ resourceFieldRef: { resource: limits.gpu } }')).map((e) => e.field), ['spec.containers[0].env[0].valueFrom.resourceFieldRef.resource']);
  t.deepEqual(errorsOf(pod('{ resourceFieldRef: { resource: limits.cpu }, fieldRef: { fieldPath: metadata.name } }')).map((e) => e.message), ['needs exactly one of secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef']);
});

test('a cluster-scoped kind with a namespace and a bad apiVersion are errors', (t) => {
  const errors = errorsOf(parseOne('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  namespace: b\n---\napiVersion: apps/v1beta1\nkind: Deployment\nmetadata:\n  name: d\n'));
  t.deepEqual(errors.map((e) => `${e.line} ${e.field}`), ['5 metadata.namespace', '7 apiVersion']);
});

test('the same object defined twice names both places', async (t) => {
  const dir = tempDir();
  await writeFile(path.join(dir, 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n');
  await writeFile(path.join(dir, 'b.yaml'), '# again\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: default\n');
  const errors = errorsOf(await loadManifests(dir));
  t.is(errors.length, 1);
  t.is(formatProblem(errors[0]!), 'b.yaml:2:1: ConfigMap/c: is defined twice: here and at a.yaml:1');
});

test('an unknown kind says why Gouvernail will never run it, or that it does not know it, once per kind', (t) => {
  const doc = (apiVersion: string, kind: string, name: string) => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n`;
  const set = parseOne([doc('helm.toolkit.fluxcd.io/v2', 'HelmRelease', 'podinfo'), doc('helm.toolkit.fluxcd.io/v2', 'HelmRelease', 'redis'), doc('helm.toolkit.fluxcd.io/v2', 'HelmRelease', 'nginx'), doc('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com'), doc('v1', 'Gizmo', 'g')].join('---\n'));
  const messages = errorsOf(set).map((p) => `${p.object}: ${p.message}`);
  t.deepEqual(messages, [
    'HelmRelease/podinfo: unknown kind "HelmRelease" (helm.toolkit.fluxcd.io/v2): a custom resource of Flux; no controller for it runs on Docker, so Gouvernail will never apply it; drop it from the source; also 2 more objects of this kind',
    'CustomResourceDefinition/widgets.example.com: unknown kind "CustomResourceDefinition" (apiextensions.k8s.io/v1): it extends or configures a Kubernetes API server, which Gouvernail will never apply; drop it from the source (a kustomize patch with $patch: delete does)',
    messages[2]!,
  ]);
  t.regex(messages[2]!, /^Gizmo\/g: unknown kind "Gizmo"; Gouvernail knows v1 Namespace, /);
});

test('fields Gouvernail does not act on are kept and reported once as a warning', (t) => {
  const doc = (name: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: gvisor
  containers: [{ name: a, image: "busybox:1" }]
`;
  const set = parseOne(`${doc('one')}---\n${doc('two')}`);
  t.deepEqual(errorsOf(set), []);
  const warnings = set.problems.filter((p) => p.severity === 'warning');
  t.is(warnings.length, 1);
  t.is(warnings[0]!.field, 'spec.runtimeClassName');
  t.regex(warnings[0]!.message, /not acted on.*also in 1 more place/);
  t.is(set.manifests[1]!.object.spec.runtimeClassName, 'gvisor');
});

test('a misspelt field inside a container, a probe, a selector or a Service port is named as a field Kubernetes does not define; one Kubernetes defines and Gouvernail does not act on is said so', (t) => {
  const set = parseOne(`apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabel: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: "busybox:1"
          ports: [{ containerPort: 80, protocl: TCP }]
          env: [{ name: A, valu: x }]
          readinessProbe: { httpGet: { port: 80, paht: /healthz } }
          resources: { limits: { cpu: 100m }, claims: [{ name: gpu }] }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  ports: [{ port: 80, targetport: 8080 }]
`);
  const warnings = new Map(set.problems.filter((p) => p.severity === 'warning').map((p) => [p.field, p.message]));
  const typo = 'is not a field Kubernetes defines here (kept as written, not acted on)';
  // Each with the field it most likely meant.
  t.is(warnings.get('spec.selector.matchLabel'), `${typo}; did you mean "matchLabels"?`);
  t.is(warnings.get('spec.template.spec.containers[0].ports[0].protocl'), `${typo}; did you mean "protocol"?`);
  t.is(warnings.get('spec.template.spec.containers[0].env[0].valu'), `${typo}; did you mean "value"?`);
  t.is(warnings.get('spec.template.spec.containers[0].readinessProbe.httpGet.paht'), `${typo}; did you mean "path"?`);
  t.is(warnings.get('spec.ports[0].targetport'), `${typo}; did you mean "targetPort"?`);
  t.is(warnings.get('spec.template.spec.containers[0].resources.claims'), 'is not acted on by Gouvernail yet (kept as written)');
});

test('a field named like a property every JavaScript object has (constructor, toString) is reported, not taken for a known one', (t) => {
  const set = parseOne('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  constructor: x\n  toString: y\n');
  const fields = set.problems.filter((p) => p.severity === 'warning').map((p) => p.field);
  t.deepEqual(fields.sort(), ['metadata.constructor', 'metadata.toString']);
});

test("a Service's externalIPs are IPv4 addresses, each refused at its place otherwise", (t) => {
  const set = parseOne('apiVersion: v1\nkind: Service\nmetadata: { name: x }\nspec:\n  externalIPs: [192.0.2.1, "300.1.1.1", "2001:db8::1"]\n  ports: [{ port: 80 }]\n');
  t.deepEqual(errorsOf(set).map((e) => `${e.line}:${e.column} ${e.field}`), ['5:28 spec.externalIPs[1]', '5:41 spec.externalIPs[2]']);
  t.regex(errorsOf(set)[0]!.message, /must be an IPv4 address/);
});

test('externalTrafficPolicy on a Service no outside traffic reaches is refused at its place, as Kubernetes refuses it', (t) => {
  const doc = (spec: string) => `apiVersion: v1\nkind: Service\nmetadata: { name: x }\nspec:\n  externalTrafficPolicy: Local\n${spec}  ports: [{ port: 80 }]\n`;
  t.like(errorsOf(parseOne(doc('')))[0], { line: 5, field: 'spec.externalTrafficPolicy' });
  t.deepEqual(errorsOf(parseOne(doc('  type: NodePort\n'))), []);
  t.deepEqual(errorsOf(parseOne(doc('  externalIPs: [192.0.2.1]\n'))), []);
});

test('a List is read as its items', (t) => {
  const set = parseOne('apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: { name: a }\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: { name: "B" }\n');
  t.deepEqual(set.manifests.map((m) => m.object.metadata.name), ['a']);
  t.is(errorsOf(set)[0]!.line, 9);
});

test('a volume mount subPath is taken inside the volume; one that climbs out is refused where it is written', (t) => {
  const set = parseOne('apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers:\n    - name: c\n      image: busybox\n      volumeMounts: [{ name: v, mountPath: /data, subPath: sub }, { name: v, mountPath: /up, subPath: ../etc }]\n  volumes: [{ name: v, emptyDir: {} }]\n');
  t.deepEqual(set.problems.map((p) => [p.severity, p.field, p.message]), [['error', 'spec.containers[0].volumeMounts[1].subPath', 'must be a relative path inside the volume (got "../etc")']]);
});

test('initContainers and a sidecar are taken as they are; restartPolicy on an app container is refused where it is written', (t) => {
  const set = parseOne('apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  initContainers: [{ name: init, image: busybox:1 }, { name: side, image: busybox:1, restartPolicy: Always }]\n  containers: [{ name: c, image: busybox:1, restartPolicy: Always, lifecycle: { preStop: { sleep: { seconds: 2 } } } }]\n');
  const lines = set.problems.map((p) => `${p.severity} ${formatProblem(p)}`);
  t.deepEqual(lines.filter((l) => l.includes('initContainers')), []);
  t.true(lines.some((l) => /^error inline\.yaml:6:\d+: Pod\/p: spec\.containers\[0\]\.restartPolicy: may only be set on an init container/.test(l)), lines.join('\n'));
  t.false(lines.some((l) => l.includes('lifecycle')), lines.join('\n'));
});

test("an emptyDir's sizeLimit is its tmpfs's size under medium Memory, and warned about on disk, where nothing enforces it", (t) => {
  const pod = (emptyDir: string) => `apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: busybox }]\n  volumes:\n  - name: scratch\n    emptyDir: ${emptyDir}\n`;
  t.deepEqual(parseOne(pod('{ medium: Memory, sizeLimit: 8Mi }')).problems, []);
  const onDisk = parseOne(pod('{ sizeLimit: 1Gi }')).problems;
  t.like(onDisk[0], { severity: 'warning', line: 8, field: 'spec.volumes[0].emptyDir.sizeLimit' });
  t.regex(onDisk[0]!.message, /not enforced on a disk emptyDir/);
});

test('a Pod that names another scheduler is warned about where it says so: it stays Pending until that scheduler binds it', (t) => {
  const pod = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  schedulerName: ${name}\n  containers: [{ name: c, image: busybox }]\n`;
  t.deepEqual(parseOne(pod('default-scheduler')).problems, []);
  t.like(parseOne(pod('my-scheduler')).problems[0], { severity: 'warning', line: 5, field: 'spec.schedulerName' });
});

test('SCTP on a Service port or a hostPort is warned about where it is written: only TCP and UDP are carried', (t) => {
  const svc = (protocol: string) => `apiVersion: v1\nkind: Service\nmetadata: { name: s }\nspec:\n  selector: { app: a }\n  ports:\n    - port: 9\n      protocol: ${protocol}\n`;
  t.deepEqual(parseOne(svc('UDP')).problems, []);
  t.like(parseOne(svc('SCTP')).problems[0], { severity: 'warning', line: 8, field: 'spec.ports[0].protocol' });
  const pod = (hostPort: string) => `apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers:\n    - name: c\n      image: busybox\n      ports:\n        - containerPort: 9\n          protocol: SCTP${hostPort}\n`;
  t.deepEqual(parseOne(pod('')).problems, [], 'a containerPort alone publishes nothing: nothing to warn about');
  t.like(parseOne(pod('\n          hostPort: 9')).problems[0], { severity: 'warning', line: 10, field: 'spec.containers[0].ports[0].protocol' });
});

test('ephemeralContainers are refused in a manifest and in a Pod template, where they are written: kubectl debug adds them to a running Pod', (t) => {
  const pod = 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: busybox }]\n  ephemeralContainers: [{ name: d, image: busybox }]\n';
  t.like(errorsOf(parseOne(pod))[0], { line: 6, field: 'spec.ephemeralContainers' });
  t.regex(errorsOf(parseOne(pod))[0]!.message, /cannot be set in a manifest: kubectl debug adds an ephemeral container to a running Pod/);
  const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d }\nspec:\n  selector: { matchLabels: { a: b } }\n  template:\n    metadata: { labels: { a: b } }\n    spec:\n      containers: [{ name: c, image: busybox }]\n      ephemeralContainers: [{ name: d, image: busybox }]\n';
  t.like(errorsOf(parseOne(deployment))[0], { line: 10, field: 'spec.template.spec.ephemeralContainers' });
});

test("a Job's podFailurePolicy is checked where it is written: restartPolicy Never, one matcher per rule, no FailIndex (no backoffLimitPerIndex), no 0 under In", (t) => {
  const job = (restart: string, rules: string) => parseOne(`apiVersion: batch/v1
kind: Job
metadata: { name: j }
spec:
  podFailurePolicy:
    rules: ${rules}
  template:
    spec:
      restartPolicy: ${restart}
      containers: [{ name: c, image: busybox }]
`);
  t.deepEqual(errorsOf(job('Never', '[{ action: FailJob, onExitCodes: { operator: In, values: [42] } }, { action: Ignore, onPodConditions: [{ type: DisruptionTarget }] }]')), []);
  const bad = errorsOf(job('OnFailure', '[{ action: FailIndex, onExitCodes: { operator: In, values: [0, 1] }, onPodConditions: [{ type: DisruptionTarget }] }]')).map((e) => [e.field, e.message]);
  t.deepEqual(bad, [
    ['spec.podFailurePolicy.rules[0]', 'must have exactly one of onExitCodes and onPodConditions'],
    ['spec.podFailurePolicy.rules[0].action', 'FailIndex needs backoffLimitPerIndex, which Gouvernail does not act on; use FailJob, Ignore or Count'],
    ['spec.podFailurePolicy.rules[0].onExitCodes.values', 'may not contain 0 with the In operator (a container that exits 0 has not failed)'],
    ['spec.template.spec.restartPolicy', 'must be Never when podFailurePolicy is set (its rules read the exit codes of Pods that ended)'],
  ]);
});

test("a downward API file of a container's resources names that container, in a downwardAPI or projected volume", (t) => {
  const pod = (items: string) => parseOne(`apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers: [{ name: a, image: busybox }]
  volumes:
  - { name: d, downwardAPI: { items: ${items} } }
  - { name: p, projected: { sources: [{ downwardAPI: { items: ${items} } }] } }
`);
  t.deepEqual(errorsOf(pod('[{ path: mem, resourceFieldRef: { containerName: a, resource: limits.memory } }]')), []);
  t.deepEqual(errorsOf(pod('[{ path: mem, resourceFieldRef: { resource: limits.memory } }]')).map((e) => [e.field, e.message]), [
    ['spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName', 'is required in a volume: name the container whose resources the file holds'],
    ['spec.volumes[1].projected.sources[0].downwardAPI.items[0].resourceFieldRef.containerName', 'is required in a volume: name the container whose resources the file holds'],
  ]);
  t.deepEqual(errorsOf(pod('[{ path: mem, resourceFieldRef: { containerName: b, resource: limits.memory } }]')).map((e) => e.message), ['names no container of the Pod ("b")', 'names no container of the Pod ("b")']);
});

test('an unknown field is named with the one it most likely meant, only when one is near enough and no other is as near', (t) => {
  const near = (name: string, names: string[]) => nearestName(name, names);
  t.is(near('replica', ['replicas', 'selector', 'template']), 'replicas');
  t.is(near('imagepullpolicy', ['image', 'imagePullPolicy']), 'imagePullPolicy');
  t.is(near('contianers', ['containers', 'initContainers']), 'containers');
  t.is(near('hots', ['host', 'hosts']), undefined, 'two as near');
  t.is(near('colour', ['command', 'args']), undefined, 'none near enough');
  t.is(near('nam', ['name']), 'name');
  t.is(near('xy', ['name']), undefined);
});
