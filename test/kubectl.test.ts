import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { startServer, type TestServer } from './docker-helpers.js';
import { tempDir } from './helpers.js';
import { kubectl } from './kubectl-helpers.js';

const image = 'gouvernail-example/busybox:1';

/** A namespace's manifests: a Deployment serving HTTP, its Service, a ConfigMap, a Secret and a claim. */
function writeApp(ns: string): string {
  const dir = tempDir('gouvernail-kubectl-app-');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'app.yaml'), `apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: ${ns} }
data: { greeting: hello }
---
apiVersion: v1
kind: Secret
metadata: { name: creds, namespace: ${ns} }
stringData: { password: s3cret }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: data, namespace: ${ns} }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 10Mi } }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${ns}, labels: { app: web } }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: ${image}
          command: [sh, -c, 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www']
          ports: [{ containerPort: 8080, name: http }]
          readinessProbe: { httpGet: { path: /, port: http }, periodSeconds: 1 }
        - name: sidecar
          image: ${image}
          command: [sleep, '3600']
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${ns} }
spec:
  selector: { app: web }
  ports: [{ port: 8080 }]
`);
  return dir;
}

let server: TestServer;
test.before(async () => {
  server = await startServer();
});
test.after.always(async () => {
  await server?.destroy();
});

for (const version of ['1.27', '1.30', '1.33']) {
  test.serial(`kubectl ${version}: discovery, get, create, apply, diff, edit, patch, label, scale, wait, describe, delete`, async (t) => {
    const k = kubectl(server.kubeconfig, version);
    const ns = `kc-${version.replace('.', '-')}`;
    const ok = async (args: string[], options?: Parameters<typeof k>[1]) => {
      const r = await k(args, options);
      t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.out}${r.err}`);
      return r.out;
    };

    t.regex((await k(['version', '-o', 'json'])).out, new RegExp(`"gitVersion": "v${version.replace('.', '\\.')}\\.`));
    t.regex(await ok(['get', 'nodes']), /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\ntest-node\s+Ready\s+control-plane\s+\S+\s+v1\.32\.0-gouvernail\n$/);
    t.regex(await ok(['api-resources']), /deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
    t.regex(await ok(['api-versions']), /^apps\/v1$/m);
    // (kubectl 1.27 reads OpenAPI v2 as protobuf for explain and validation; later ones read v3.)
    const explained = await ok(['explain', 'deployment.spec.strategy']);
    t.regex(explained, /rollingUpdate\s+<Object>/);
    t.regex(explained, /RollingUpdate/);

    const nsFile = path.join(tempDir(), 'ns.yaml');
    writeFileSync(nsFile, `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns} }\n`);
    t.regex(await ok(['create', '-f', nsFile]), new RegExp(`namespace/${ns} created`));
    const app = writeApp(ns);
    const first = await ok(['apply', '-f', app]);
    t.regex(first, /deployment\.apps\/web created/);
    t.regex(first, /secret\/creds created/);
    t.regex(await ok(['apply', '-f', app]), /deployment\.apps\/web unchanged[\s\S]*service\/web unchanged/);
    t.regex(await ok(['wait', '--for=condition=Available', 'deployment/web', '-n', ns, '--timeout=150s']), /deployment\.apps\/web condition met/);

    t.regex(await ok(['get', 'pods', '-n', ns]), /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nweb-\S+\s+2\/2\s+Running\s+0\s+/);
    t.regex(await ok(['get', 'pods', '-A']), new RegExp(`^${ns}\\s+web-\\S+\\s+2/2\\s+Running`, 'm'));
    const wide = await ok(['get', 'deploy,svc,cm,secret,pvc', '-n', ns, '-o', 'wide']);
    t.regex(wide, /deployment\.apps\/web\s+1\/1\s+1\s+1\s+\S+\s+web,sidecar\s+gouvernail-example\/busybox:1,gouvernail-example\/busybox:1\s+app=web/);
    t.regex(wide, /service\/web\s+ClusterIP\s+\S+\s+<none>\s+8080\/TCP\s+\S+\s+app=web/);
    t.regex(wide, /persistentvolumeclaim\/data\s+Bound/);
    t.regex(wide, /secret\/creds\s+Opaque\s+1/);
    const asYaml = parse(await ok(['get', 'deploy,svc,cm,secret,pvc,ns', '-n', ns, '-o', 'yaml']));
    t.is(asYaml.kind, 'List');
    t.true(asYaml.items.some((o: { kind: string; metadata: { name: string } }) => o.kind === 'Secret' && o.metadata.name === 'creds'));
    const asJson = JSON.parse(await ok(['get', 'deploy', 'web', '-n', ns, '-o', 'json']));
    t.is(asJson.spec.template.spec.containers.length, 2);
    t.is(asJson.status.availableReplicas, 1);
    t.regex(await ok(['get', 'deploy,svc,cm,secret,pvc,ns', '-n', ns, '-o', 'name']), /^deployment\.apps\/web\nservice\/web\nconfigmap\/settings\nsecret\/creds\npersistentvolumeclaim\/data\nnamespace\/default/m);
    const all = await ok(['get', 'all', '-n', ns]);
    // In Kubernetes' order: Pods, Services, Deployments, ReplicaSets (each group's resources listed by name).
    const at = [/pod\/web-/, /service\/web/, /deployment\.apps\/web/, /replicaset\.apps\/web-/].map((name) => all.search(name));
    t.false(at.includes(-1), all);
    t.deepEqual([...at].sort((a, b) => a - b), at, all);
    // Named as Kubernetes names them: the template's hash and a suffix in its name alphabet, never hex.
    t.regex(all, /pod\/web-[456789bcdf]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}\s/);

    // kubectl debug without -i (a PATCH of pods/NAME/ephemeralcontainers, which kubectl 1.27 sends
    // too) adds a container that runs once beside the Pod's.
    const debugTarget = (await ok(['get', 'pods', '-n', ns, '-o', 'name'])).trim().split('\n')[0]!;
    const debugged = await k(['debug', debugTarget, '-n', ns, '--image=gouvernail-example/busybox:1', '--container=once', '--', 'sh', '-c', 'echo debugged']);
    t.is(debugged.code, 0, debugged.err);
    const debugDeadline = Date.now() + 120_000;
    while (!/"exitCode":0/.test(await ok(['get', debugTarget, '-n', ns, '-o', 'jsonpath={.status.ephemeralContainerStatuses[0].state.terminated}']))) {
      if (Date.now() > debugDeadline) throw new Error('timed out waiting for the ephemeral container to end');
      await new Promise((r) => setTimeout(r, 500));
    }
    t.is(await ok(['logs', debugTarget, '-n', ns, '-c', 'once']), 'debugged\n');

    // get -w prints the list, then each change as it happens.
    const watcher = k.spawn(['get', 'configmaps', '-n', ns, '-w']);
    t.teardown(() => watcher.proc.kill());
    await waitFor(() => /settings/.test(watcher.output()));
    const cmFile = path.join(tempDir(), 'cm.yaml');
    writeFileSync(cmFile, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: watched, namespace: ${ns} }\ndata: { a: "1" }\n`);
    await ok(['create', '-f', cmFile]);
    await waitFor(() => /watched\s+1\s+/.test(watcher.output()));
    watcher.proc.kill();

    // The three patch types, label, annotate, scale.
    await ok(['patch', 'configmap', 'settings', '-n', ns, '--type=merge', '-p', '{"data":{"merged":"yes"}}']);
    await ok(['patch', 'configmap', 'settings', '-n', ns, '--type=json', '-p', '[{"op":"replace","path":"/data/greeting","value":"bonjour"}]']);
    await ok(['patch', 'deployment', 'web', '-n', ns, '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"MODE","value":"patched"}]}]}}}}']);
    const cm = JSON.parse(await ok(['get', 'configmap', 'settings', '-n', ns, '-o', 'json']));
    t.deepEqual(cm.data, { greeting: 'bonjour', merged: 'yes' });
    const patched = JSON.parse(await ok(['get', 'deployment', 'web', '-n', ns, '-o', 'json']));
    t.deepEqual(patched.spec.template.spec.containers.map((c: { name: string }) => c.name), ['web', 'sidecar'], 'the strategic merge patch kept the other container');
    t.deepEqual(patched.spec.template.spec.containers[0].env, [{ name: 'MODE', value: 'patched' }]);
    t.regex(await ok(['label', 'deployment', 'web', '-n', ns, 'tier=front']), /deployment\.apps\/web labeled/);
    t.regex(await ok(['annotate', 'deployment', 'web', '-n', ns, 'owner=team-a']), /deployment\.apps\/web annotated?\n/);
    t.regex(await ok(['scale', 'deployment', 'web', '-n', ns, '--replicas=2']), /deployment\.apps\/web scaled/);
    const scaled = JSON.parse(await ok(['get', 'deployment', 'web', '-n', ns, '-o', 'json']));
    t.is(scaled.spec.replicas, 2);
    t.is(scaled.metadata.labels.tier, 'front');
    t.is(scaled.metadata.annotations.owner, 'team-a');

    // diff shows what apply would change (the replicas and the env added by hand), exit 1.
    const d = await k(['diff', '-f', app]);
    t.is(d.code, 1, d.err);
    t.regex(d.out, /-\s+replicas: 2\n\+\s+replicas: 1/);
    // Server-side apply: the replicas kubectl scale set are another manager's; forcing takes them.
    const conflicted = await k(['apply', '--server-side', '-f', app]);
    t.is(conflicted.code, 1);
    // The manager of a write that names none is its client's, from its User-Agent, as in Kubernetes
    // (kubectl's is its program's name: here kubectl.1.33, the binary run).
    t.regex(conflicted.err, /conflict with "kubectl[.\d]*" using apps\/v1: \.spec\.replicas/);
    t.regex(await ok(['apply', '--server-side', '--force-conflicts', '-f', app]), /deployment\.apps\/web serverside-applied/);
    t.is(JSON.parse(await ok(['get', 'deployment', 'web', '-n', ns, '-o', 'json'])).spec.replicas, 1);

    // edit through an editor that changes one annotation.
    await ok(['edit', 'deployment', 'web', '-n', ns], { env: { KUBE_EDITOR: 'sed -i s/owner:\\ team-a/owner:\\ team-b/' } });
    t.is(JSON.parse(await ok(['get', 'deployment', 'web', '-n', ns, '-o', 'json'])).metadata.annotations.owner, 'team-b');

    // A misspelt field, however deep, is refused, as kubectl's strict field validation asks; nothing is made.
    const typo = path.join(tempDir(), 'typo.yaml');
    writeFileSync(typo, `apiVersion: v1\nkind: Pod\nmetadata: { name: typo, namespace: ${ns} }\nspec:\n  containers: [{ name: c, image: "x:1", ports: [{ containerPort: 80, protocl: TCP }] }]\n`);
    const misspelt = await k(['apply', '-f', typo]);
    t.not(misspelt.code, 0);
    t.regex(misspelt.err, /unknown field "spec\.containers\[0\]\.ports\[0\]\.protocl"/);
    t.not((await k(['get', 'pod', 'typo', '-n', ns])).code, 0);

    // An object made by kubectl create and unchanged since diffs as nothing: the dry run's
    // `annotations: {}` is no annotation, as Kubernetes stores it.
    const made = path.join(tempDir(), 'made.yaml');
    writeFileSync(made, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: made, namespace: ${ns} }\ndata: { a: "1" }\n`);
    await ok(['create', '-f', made]);
    const same = await k(['diff', '-f', made]);
    t.is(same.code, 0, same.out + same.err);
    t.is(same.out, '');

    const described = await ok(['describe', 'deployment', 'web', '-n', ns]);
    t.regex(described, /Name:\s+web/);
    t.regex(described, /Replicas:\s+1 desired/);
    t.regex(described, /Labels:\s+app=web/);
    // Its Service's port has no name: describe reads the endpoints' port names all the same.
    const service = await ok(['describe', 'service', 'web', '-n', ns]);
    t.regex(service, /Port:\s+<unset>\s+8080\/TCP/);
    t.regex(service, /Endpoints:\s+\d+\.\d+\.\d+\.\d+:8080/);

    const pod = (await ok(['get', 'pods', '-n', ns, '-o', 'name'])).trim().split('\n')[0]!;
    t.regex(await ok(['delete', '-n', ns, pod]), /pod "web-\S+" deleted/);
    t.regex(await ok(['delete', '-f', app]), /deployment\.apps "web" deleted/);
    t.regex(await ok(['delete', 'ns', ns]), new RegExp(`namespace "${ns}" deleted`));
    const gone = await k(['get', 'ns', ns]);
    t.is(gone.code, 1);
    t.regex(gone.err, /NotFound/);
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
