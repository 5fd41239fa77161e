import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkPodSecurity, normaliseHostPath } from '../src/api/pod-security.js';
import { containersOf, execIn, runCli, startServer, waitFor } from './docker-helpers.js';
import { makeRepo, startGitServer } from './git-helpers.js';
import { tempDir } from './helpers.js';
import { kubectl } from './kubectl-helpers.js';

const pod = (spec: object) => ({ containers: [{ name: 'c', image: 'busybox:1' }], ...spec });
const controls = (spec: object, level: 'baseline' | 'restricted' | 'privileged') => checkPodSecurity(spec, level).map((v) => v.control);

test('baseline refuses privileged, host namespaces, hostPath (whatever its spelling) and added capabilities; privileged allows them', (t) => {
  const cases: [object, string][] = [
    [pod({ containers: [{ name: 'c', image: 'i', securityContext: { privileged: true } }] }), 'privileged'],
    [pod({ hostNetwork: true }), 'host namespaces'],
    [pod({ hostPID: true }), 'host namespaces'],
    [pod({ volumes: [{ name: 'root', hostPath: { path: '/' } }] }), 'hostPath volumes'],
    [pod({ volumes: [{ name: 'root', hostPath: { path: '//' } }] }), 'hostPath volumes'],
    [pod({ volumes: [{ name: 'sock', hostPath: { path: '/var/run/../run/docker.sock' } }] }), 'hostPath volumes'],
    [pod({ volumes: [{ name: 'run', hostPath: { path: '/var/run' } }] }), 'hostPath volumes'],
    [pod({ containers: [{ name: 'c', image: 'i', securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }] }), 'non-default capabilities'],
    [pod({ containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, hostPort: 8080 }] }] }), 'hostPort'],
  ];
  for (const [spec, control] of cases) {
    t.deepEqual(controls(spec, 'baseline'), [control], JSON.stringify(spec));
    t.deepEqual(controls(spec, 'privileged'), []);
  }
  t.deepEqual(controls(pod({ containers: [{ name: 'c', image: 'i', securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } } }] }), 'baseline'), []);
  t.deepEqual(checkPodSecurity(pod({ containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, hostPort: 8080 }] }] }), 'baseline', { allowedHostPorts: [8080] }), []);
  t.is(normaliseHostPath('/var/run/../run/docker.sock'), '/var/run/docker.sock');
  t.is(normaliseHostPath('/var/./run//docker.sock/'), '/var/run/docker.sock');
  t.is(normaliseHostPath('//'), '/');
  t.is(normaliseHostPath('/.'), '/');
});

test('restricted wants runAsNonRoot, no privilege escalation, every capability dropped and a seccomp profile', (t) => {
  t.deepEqual(controls(pod({}), 'restricted'), ['allowPrivilegeEscalation != false', 'unrestricted capabilities', 'runAsNonRoot != true', 'seccompProfile']);
  const locked = pod({ securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [{ name: 'c', image: 'i', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }] });
  t.deepEqual(controls(locked, 'restricted'), []);
});

test('the namespace level is enforced on Pods and workload templates from kubectl and gouvernail apply, with the rule named', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const dir = tempDir();
  const file = path.join(dir, 'psa.yaml');
  writeFileSync(file, `apiVersion: v1
kind: Namespace
metadata: { name: psa-base }
---
apiVersion: v1
kind: Namespace
metadata: { name: psa-strict, labels: { pod-security.kubernetes.io/enforce: restricted } }
---
apiVersion: v1
kind: Namespace
metadata: { name: psa-open, labels: { pod-security.kubernetes.io/enforce: privileged } }
---
apiVersion: v1
kind: Namespace
metadata: { name: psa-audit, labels: { pod-security.kubernetes.io/warn: restricted, pod-security.kubernetes.io/audit: restricted } }
`);
  const k = kubectl(server.kubeconfig);
  t.is((await k(['apply', '-f', file])).code, 0);
  const podIn = (ns: string, extra: string) => {
    const f = path.join(dir, `${ns}-${Math.random().toString(16).slice(2)}.yaml`);
    writeFileSync(f, `apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: ${ns} }\nspec:\n  containers: [{ name: c, image: gouvernail-example/busybox:1, command: [sleep, '60']${extra} }]\n`);
    return f;
  };
  const privileged = ', securityContext: { privileged: true }';
  const refused = await k(['apply', '-f', podIn('psa-base', privileged)]);
  t.is(refused.code, 1);
  t.regex(refused.err, /pods "p" is forbidden: violates PodSecurity "baseline:latest": privileged \(container "c" must not set securityContext\.privileged=true\)/);
  const strict = await k(['apply', '-f', podIn('psa-strict', '')]);
  t.is(strict.code, 1);
  t.regex(strict.err, /violates PodSecurity "restricted:latest": .*runAsNonRoot != true/);
  t.is((await k(['apply', '-f', podIn('psa-open', privileged)])).code, 0, 'privileged allows it');
  // ... and a Pod in the host's PID namespace runs so. (A privileged container cannot start on a
  // machine whose dockerd lacks capabilities, as the test machines' does, so it is not run here.)
  const hostPidFile = path.join(dir, 'hostpid.yaml');
  writeFileSync(hostPidFile, 'apiVersion: v1\nkind: Pod\nmetadata: { name: hostpid, namespace: psa-open }\nspec:\n  hostPID: true\n  containers: [{ name: c, image: gouvernail-example/busybox:1, command: [sleep, "600"] }]\n');
  t.is((await k(['apply', '-f', hostPidFile])).code, 0);
  const running = (pod: string) => waitFor(`${pod} running`, async () => (await containersOf(server.installation, 'psa-open')).find((c) => c.Labels['gouvernail.io/pod'] === pod && c.State === 'running'));
  t.not((await execIn((await running('hostpid')).Id, ['cat', '/proc/1/comm'])).out.trim(), 'sleep', "PID 1 is the host's, not the container's");
  const hostNetFile = path.join(dir, 'hostnet.yaml');
  writeFileSync(hostNetFile, 'apiVersion: v1\nkind: Pod\nmetadata: { name: hostnet, namespace: psa-open }\nspec:\n  hostNetwork: true\n  containers: [{ name: c, image: gouvernail-example/busybox:1, command: [sleep, "600"] }]\n');
  t.is((await k(['apply', '-f', hostNetFile])).code, 0);
  const interfaces = (text: string) => text.trim().split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).sort();
  t.deepEqual(interfaces((await execIn((await running('hostnet')).Id, ['cat', '/proc/net/dev'])).out), interfaces(readFileSync('/proc/net/dev', 'utf8')), "the host's interfaces");
  const nodeAddress = (await server.client.get('Node', undefined, 'test-node'))!.status.addresses.find((a: { type: string }) => a.type === 'InternalIP').address;
  await waitFor('the hostNetwork Pod has the node address', async () => (await server.client.get('Pod', 'psa-open', 'hostnet'))?.status?.podIP === nodeAddress || undefined);
  // warn and audit: accepted under baseline, with kubectl's Warning and a note in the audit log.
  const warned = await k(['apply', '-f', podIn('psa-audit', '')]);
  t.is(warned.code, 0, warned.err);
  t.regex(warned.err, /Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  const audit = readFileSync(path.join(server.dataDir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.truthy(audit.find((e) => e.namespace === 'psa-audit' && e.verb === 'create' && /would violate PodSecurity "restricted:latest"/.test(e.annotations?.['pod-security.kubernetes.io/audit-violations'] ?? '')));

  const deploy = path.join(dir, 'deploy');
  mkdirSync(deploy);
  writeFileSync(path.join(deploy, 'd.yaml'), `apiVersion: apps/v1
kind: Deployment
metadata: { name: rooted, namespace: psa-base }
spec:
  selector: { matchLabels: { app: rooted } }
  template:
    metadata: { labels: { app: rooted } }
    spec:
      containers: [{ name: c, image: gouvernail-example/busybox:1, volumeMounts: [{ name: host, mountPath: /host }] }]
      volumes: [{ name: host, hostPath: { path: //var/run/../run/docker.sock } }]
`);
  const applied = await runCli('apply', '-f', deploy, '--kubeconfig', server.kubeconfig, '--timeout', '30s');
  t.not(applied.code, 0);
  t.regex(applied.out + applied.err, /violates PodSecurity "baseline:latest": hostPath volumes \(volume "host" mounts the host's \/var\/run\/docker\.sock\)/);
  t.is(await server.client.get('Deployment', 'psa-base', 'rooted'), undefined, 'nothing of it runs');

  // A namespace that does not exist is named, with what to do.
  const elsewhere = path.join(dir, 'elsewhere');
  mkdirSync(elsewhere);
  writeFileSync(path.join(elsewhere, 'c.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c, namespace: nowhere }\n');
  const missing = await runCli('apply', '-f', elsewhere, '--kubeconfig', server.kubeconfig);
  t.regex(missing.err, /ConfigMap\/nowhere\/c was not applied: namespaces "nowhere" not found \(add a Namespace manifest for it to the folder, or create it first\)/);

  // From a source: the revision stalls with the rule named, and nothing of it runs.
  await server.client.create({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'rooted', namespace: 'psa-base' }, spec: { source: { path: deploy }, syncPolicy: { automated: true, interval: '1h' } } });
  const stalled = await waitFor('the Application stalled', async () => {
    const a = await server.client.get('Application', 'psa-base', 'rooted');
    return a?.status?.conditions?.find((c: { type: string; status: string }) => c.type === 'Stalled' && c.status === 'True') ? a : undefined;
  });
  t.regex(stalled.status.operation.message, /violates PodSecurity "baseline:latest": hostPath volumes/);
  t.is(await server.client.get('Deployment', 'psa-base', 'rooted'), undefined);
  t.deepEqual((await containersOf(server.installation, 'psa-base')).filter((c) => c.Labels['gouvernail.io/pod']?.startsWith('rooted')), []);

  // The same from a Git repository.
  const git = await startGitServer();
  t.teardown(() => git.close());
  const repo = makeRepo(git, 'psa.git');
  repo.write('deploy/pod.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: { name: escaper, namespace: psa-base }\nspec:\n  hostPID: true\n  containers: [{ name: c, image: gouvernail-example/busybox:1, command: [sleep, "60"] }]\n');
  await repo.commit('a Pod that wants the host PIDs');
  await server.client.create({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'from-git', namespace: 'psa-base' }, spec: { source: { repoURL: git.url('psa.git'), targetRevision: 'main', path: 'deploy' }, syncPolicy: { automated: true, interval: '1h' } } });
  const gitStalled = await waitFor('the Git Application stalled', async () => {
    const a = await server.client.get('Application', 'psa-base', 'from-git');
    return a?.status?.conditions?.find((c: { type: string; status: string }) => c.type === 'Stalled' && c.status === 'True') ? a : undefined;
  });
  t.regex(gitStalled.status.operation.message, /violates PodSecurity "baseline:latest": host namespaces \(hostPID=true\)/);
  t.is(await server.client.get('Pod', 'psa-base', 'escaper'), undefined);
});
