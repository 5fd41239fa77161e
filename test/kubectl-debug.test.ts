import test from 'ava';
import { readFileSync } from 'node:fs';
import { containersOf, docker, image, isReady, startServer, waitFor } from './docker-helpers.js';
import { kubectl } from './kubectl-helpers.js';

test('kubectl debug adds an ephemeral container to a running Pod: it sees its target\'s processes, -i attaches to it, it is never restarted, and Pod Security holds it to the namespace\'s level', async (t) => {
  t.timeout(600_000);
  const server = await startServer();
  t.teardown(() => server.destroy());
  const k = kubectl(server.kubeconfig, '1.33');
  t.is((await k(['run', 'debugged', `--image=${image}`, '--command', '--', 'sleep', '3600'])).code, 0);
  await waitFor('the target running', async () => isReady((await server.client.get('Pod', 'default', 'debugged'))!), 180_000).catch(async (err) => {
    t.log((await k(['describe', 'pod', 'debugged'])).out);
    throw err;
  });
  const status = async (name: string) => ((await server.client.get('Pod', 'default', 'debugged'))!.status.ephemeralContainerStatuses ?? []).find((s: { name: string }) => s.name === name);

  const debug = await k(['debug', 'debugged', `--image=${image}`, '--target=debugged', '--container=probe', '--', 'sh', '-c', 'ps -o pid,args; echo from-debug']);
  t.is(debug.code, 0, debug.err);
  t.regex(debug.out + debug.err, /Targeting container "debugged"/);
  const ended = await waitFor('the probe ended', async () => (await status('probe'))?.state?.terminated, 120_000);
  t.is(ended.exitCode, 0);
  const logs = await k(['logs', 'debugged', '-c', 'probe']);
  t.regex(logs.out, /from-debug/);
  t.regex(logs.out, /^\s*1 sleep 3600$/m, 'PID 1 is the target\'s program: the same process namespace');
  const described = await k(['describe', 'pod', 'debugged']);
  t.regex(described.out, /Ephemeral Containers:\n\s+probe:\n\s+Container ID:\s+docker:\/\//);

  t.log('ran a probe');
  // -i: kubectl waits for it to run, then attaches to it and prints what it writes.
  const interactive = await k(['debug', '-i', 'debugged', `--image=${image}`, '--container=shell', '--', 'sh', '-c', 'sleep 2; echo interactive-$((6*7))']);
  t.is(interactive.code, 0, interactive.err);
  t.regex(interactive.out, /interactive-42/, interactive.err);

  // Ended, they stay ended: nothing restarts or remakes them.
  const probe = (await containersOf(server.installation, 'default')).find((c) => c.Labels['gouvernail.io/container'] === 'probe')!;
  await new Promise((r) => setTimeout(r, 3000));
  const info = await docker.getContainer(probe.Id).inspect();
  t.is(info.State.Status, 'exited');
  t.is(info.RestartCount, 0);
  t.is(info.HostConfig.RestartPolicy?.Name, 'no');
  t.true(isReady((await server.client.get('Pod', 'default', 'debugged'))!), 'the Pod stays Ready');

  // The namespace's Pod Security level (baseline) refuses a debug profile that adds capabilities.
  const general = await k(['debug', 'debugged', `--image=${image}`, '--profile=general', '--', 'true']);
  t.not(general.code, 0);
  t.regex(general.err, /violates PodSecurity "baseline:latest": non-default capabilities \(ephemeralContainer "debugger-\w+" must not include "SYS_PTRACE"/);
});

test('kubectl debug --copy-to makes a copy of a Pod with a debugging container beside its own, and kubectl debug node/NAME runs a Pod on the node\'s namespaces with its root at /host (in a privileged namespace only)', async (t) => {
  t.timeout(600_000);
  const server = await startServer();
  t.teardown(() => server.destroy());
  const k = kubectl(server.kubeconfig, '1.33');
  // The Pod as a manifest gives it what a copy has to carry over: env from a ConfigMap, a probe, a volume.
  t.is((await k(['create', 'configmap', 'settings', '--from-literal=MODE=copied'])).code, 0);
  const applied = await k(['apply', '-f', '-'], { input: `apiVersion: v1
kind: Pod
metadata: { name: original, labels: { app: original } }
spec:
  containers:
  - name: app
    image: ${image}
    command: [sh, -c, 'echo mode=$MODE; exec sleep 3600']
    envFrom: [{ configMapRef: { name: settings } }]
    readinessProbe: { exec: { command: ['true'] }, periodSeconds: 2 }
    volumeMounts: [{ name: scratch, mountPath: /scratch }]
    securityContext: { allowPrivilegeEscalation: false }
  volumes: [{ name: scratch, emptyDir: {} }]
` });
  t.is(applied.code, 0, applied.err);
  await waitFor('the original ready', async () => isReady((await server.client.get('Pod', 'default', 'original'))!), 180_000);

  // --share-processes: the debugging container sees the app's processes.
  const copied = await k(['debug', 'original', '--copy-to=original-debug', '--share-processes', `--image=${image}`, '--container=dbg', '--', 'sh', '-c', 'echo debugging; for i in $(seq 60); do ps -o args | grep -q "^sleep 3600" && break; sleep 1; done; echo "app processes seen: $(ps -o args | grep -c "^sleep 3600")"; exec sleep 600']);
  t.is(copied.code, 0, copied.err);
  const copy = await waitFor('the copy ready', async () => {
    const p = await server.client.get('Pod', 'default', 'original-debug');
    return p && isReady(p) ? p : undefined;
  }, 180_000);
  t.deepEqual(copy.spec.containers.map((c: { name: string }) => c.name), ['app', 'dbg']);
  const app = copy.spec.containers[0];
  t.deepEqual(app.envFrom, [{ configMapRef: { name: 'settings' } }]);
  t.like(app.readinessProbe, { exec: { command: ['true'] }, periodSeconds: 2 });
  t.is(app.securityContext.allowPrivilegeEscalation, false, 'a false that protobuf carries stays false');
  t.deepEqual(copy.spec.volumes, [{ name: 'scratch', emptyDir: {} }]);
  t.is(copy.metadata.labels?.app, undefined, 'the copy leaves the labels behind, so no Service sends it traffic');
  t.is((await k(['logs', 'original-debug', '-c', 'app'])).out, 'mode=copied\n');
  t.true(copy.spec.shareProcessNamespace);
  t.is(await waitFor('the debugging container\'s report', async () => {
    const out = (await k(['logs', 'original-debug', '-c', 'dbg'])).out;
    return out.includes('seen') ? out : undefined;
  }, 120_000), 'debugging\napp processes seen: 1\n');

  // A node debugging Pod shares the host's namespaces and mounts its root: baseline refuses it.
  const node = (await server.client.list('Node'))[0]!.metadata.name;
  const refused = await k(['debug', `node/${node}`, `--image=${image}`, '--', 'true']);
  t.not(refused.code, 0);
  t.regex(refused.err, /violates PodSecurity "baseline:latest": host namespaces \(hostNetwork=true, hostPID=true, hostIPC=true\), hostPath volumes/);
  t.is((await k(['create', 'namespace', 'node-debug'])).code, 0);
  t.is((await k(['label', 'namespace', 'node-debug', 'pod-security.kubernetes.io/enforce=privileged'])).code, 0);
  const debugged = await k(['debug', `node/${node}`, '-n', 'node-debug', `--image=${image}`, '--', 'sh', '-c', 'cat /host/etc/hostname; ls /proc 2>/dev/null | grep -c "^[0-9]"']);
  t.is(debugged.code, 0, debugged.err);
  const [pod] = await waitFor('the node debugger', async () => {
    const pods = await server.client.list('Pod', 'node-debug');
    return pods.length && pods[0]!.status?.phase === 'Succeeded' ? pods : undefined;
  }, 180_000);
  t.like(pod!.spec, { hostNetwork: true, hostPID: true, hostIPC: true, nodeName: node, restartPolicy: 'Never' });
  const [hostname, processes] = (await k(['logs', pod!.metadata.name, '-n', 'node-debug'])).out.trim().split('\n');
  t.is(hostname, readFileSync('/etc/hostname', 'utf8').trim(), 'the host\'s own /etc/hostname, under /host');
  t.true(Number(processes) > 10, `the host's processes are seen (${processes})`);
});
