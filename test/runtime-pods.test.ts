import test from 'ava';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import { resourcePath } from '../src/api/resources.js';
import { containersOf, docker, execIn, freePort, isReady, runCli, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { root, tempDir } from './helpers.js';
import { image } from './docker-helpers.js';
import { kubectl } from './kubectl-helpers.js';
import type { KubeObject } from '../src/manifest/types.js';

/** A test image with Node.js (test/build-node-image.sh), for a UDP server. */
const nodeImage = 'gouvernail-test/node:1';

test.serial('a two-container Pod shares localhost and an emptyDir; a memory emptyDir is a tmpfs of its sizeLimit; a ConfigMap is a file and a Secret an env var', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const ns = 'pods-share';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data: { 'app.conf': 'mode=test\n' } });
  await client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: ns }, stringData: { password: 'p4ss-from-secret' } });
  await client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'pair', namespace: ns },
    spec: {
      containers: [
        { name: 'server', image, command: ['sh', '-c', 'mkdir -p /www && echo served-on-localhost > /www/index.html && exec httpd -f -p 8080 -h /www'], volumeMounts: [{ name: 'shared', mountPath: '/shared' }, { name: 'config', mountPath: '/etc/app' }, { name: 'scratch', mountPath: '/scratch' }] },
        {
          name: 'sidecar',
          image,
          command: ['sh', '-c', 'echo from-sidecar > /shared/note; exec sleep 3600'],
          env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }],
          volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
        },
      ],
      volumes: [{ name: 'shared', emptyDir: {} }, { name: 'config', configMap: { name: 'settings' } }, { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } }],
    },
  });
  const pod = await waitFor('the Pod to be ready', async () => {
    const p = await client.get('Pod', ns, 'pair');
    return p && isReady(p) ? p : undefined;
  });
  t.is(pod.status.phase, 'Running');
  t.truthy(pod.status.podIP);
  const containers = await containersOf(server.installation, ns);
  const server_ = containers.find((c) => c.Labels['gouvernail.io/container'] === 'server')!;
  const sidecar = containers.find((c) => c.Labels['gouvernail.io/container'] === 'sidecar')!;
  t.is((await execIn(sidecar.Id, ['wget', '-q', '-O', '-', 'http://127.0.0.1:8080/'])).out, 'served-on-localhost\n');
  await waitFor('the sidecar note', async () => (await execIn(server_.Id, ['cat', '/shared/note'])).out === 'from-sidecar\n');
  t.is((await execIn(server_.Id, ['cat', '/etc/app/app.conf'])).out, 'mode=test\n');
  t.is((await execIn(sidecar.Id, ['sh', '-c', 'echo "$PASSWORD"'])).out, 'p4ss-from-secret\n');
  t.regex((await execIn(server_.Id, ['grep', ' /scratch ', '/proc/mounts'])).out, /^\S+ \/scratch tmpfs \S*size=8192k/);
  t.notRegex((await execIn(server_.Id, ['grep', ' /shared ', '/proc/mounts'])).out, /tmpfs/);
});

test.serial('a Deployment scales 1 -> 3 -> 1', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const ns = 'scale';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await client.apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image, command: ['sleep', '3600'] }] } } },
  });
  const running = async (n: number) =>
    waitFor(`${n} running containers`, async () => {
      const list = (await containersOf(server.installation, ns)).filter((c) => c.State === 'running');
      const d = await client.get('Deployment', ns, 'web');
      return list.length === n && d?.status?.readyReplicas === n && (await containersOf(server.installation, ns)).length === n ? list : undefined;
    });
  await running(1);
  const scale = (n: number) => client.request('PATCH', resourcePath(client.resource('deployments'), ns, 'web'), { spec: { replicas: n } }, 'application/merge-patch+json');
  await scale(3);
  t.is((await running(3)).length, 3);
  await scale(1);
  t.is((await running(1)).length, 1);
  t.is((await client.list('Pod', ns)).length, 1);
});

test.serial('a container killed by hand is restarted, one removed is recreated, a clashing container not ours is left alone', async (t) => {
  const server = await startServer();
  t.teardown(async () => {
    await server.destroy();
    await docker.getContainer('gv_heal_squatter_main').remove({ force: true }).catch(() => {});
  });
  const { client } = server;
  const ns = 'heal';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  // Two containers: the second shares the first's network (Docker's container:FIRST).
  const serving = (text: string, port: number) => ['sh', '-c', `mkdir -p /w; echo ${text} > /w/index.html; exec httpd -f -p ${port} -h /w`];
  await client.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pet', namespace: ns }, spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'main', image, command: serving('pet', 8080) }, { name: 'side', image, command: serving('side', 8081) }] } });
  const main = async () => (await containersOf(server.installation, ns)).find((c) => c.State === 'running' && c.Labels['gouvernail.io/container'] === 'main');
  const first = await waitFor('the container', main);
  // The Pod's address answers from this host (its node), before and after each restart, for both
  // containers: the second is restarted into the first's new network namespace.
  const ip = await waitFor('the Pod address', async () => (await client.get('Pod', ns, 'pet'))?.status?.podIP as string | undefined);
  const answer = (port: number, text: string) => waitFor(`the Pod answering on ${ip}:${port}`, async () => (await fetch(`http://${ip}:${port}/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => '')) === `${text}\n`);
  const answers = async () => {
    await answer(8080, 'pet');
    await answer(8081, 'side');
  };
  await answers();

  await docker.getContainer(first.Id).kill();
  await waitFor('the killed container to run again', async () => (await docker.getContainer(first.Id).inspect()).State.Running);
  // A new network namespace, given the Pod's address again.
  await answers();
  t.is((await client.get('Pod', ns, 'pet'))!.status.podIP, ip, 'the Pod keeps its address');

  await docker.getContainer(first.Id).remove({ force: true });
  const second = await waitFor('a new container', async () => {
    const c = await main();
    return c && c.Id !== first.Id ? c : undefined;
  });
  t.not(second.Id, first.Id);
  await answers();

  // Somebody else's container holds the name the next Pod needs.
  const squatter = await docker.createContainer({ name: 'gv_heal_squatter_main', Image: image, Cmd: ['sleep', '3600'], Labels: { owner: 'someone-else' } });
  await squatter.start();
  await client.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'squatter', namespace: ns }, spec: { containers: [{ name: 'main', image, command: ['sleep', '3600'] }] } });
  const reported = await waitFor('the clash on the Pod', async () => {
    const p = await client.get('Pod', ns, 'squatter');
    return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerNameConflict' ? p : undefined;
  });
  t.regex(reported.status.containerStatuses[0].state.waiting.message, /gv_heal_squatter_main exists and is not Gouvernail's/);
  const info = await squatter.inspect();
  t.true(info.State.Running);
  t.deepEqual(info.Config.Labels, { owner: 'someone-else' });
  await client.delete('Pod', ns, 'squatter');
  await new Promise((r) => setTimeout(r, 2000));
  t.true((await squatter.inspect()).State.Running, 'deleting the Pod leaves the container that is not ours');
});

test.serial("a Service name resolves only to ready Pods; a Pod made after the Service has its variables (enableServiceLinks)", async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const ns = 'svc-ready';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await client.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'backend', namespace: ns }, spec: { selector: { app: 'backend' }, ports: [{ port: 8080 }] } });
  await client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'backend-0', namespace: ns, labels: { app: 'backend' } },
    spec: { containers: [{ name: 'b', image, command: ['sh', '-c', 'mkdir -p /www; echo backend > /www/index.html; exec httpd -f -p 8080 -h /www'], readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 } }] },
  });
  await client.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client', namespace: ns }, spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'] }] } });
  const id = async (pod: string) => (await containersOf(server.installation, ns)).find((c) => c.Labels['gouvernail.io/pod'] === pod && c.State === 'running')?.Id;
  const clientId = await waitFor('the client', () => id('client'));
  const backendId = await waitFor('the backend', () => id('backend-0'));
  const clusterIP = (await client.get('Service', ns, 'backend'))!.spec.clusterIP;
  t.is((await execIn(clientId, ['sh', '-c', 'echo $BACKEND_SERVICE_HOST $BACKEND_SERVICE_PORT $BACKEND_PORT'])).out, `${clusterIP} 8080 tcp://${clusterIP}:8080\n`);
  const ask = async () => (await execIn(clientId, ['sh', '-c', 'timeout 3 wget -q -O - http://backend:8080/ 2>/dev/null'])).out;
  await new Promise((r) => setTimeout(r, 2000));
  t.is(await ask(), '', 'not ready: the name does not resolve');
  await execIn(backendId, ['touch', '/tmp/ready']);
  await waitFor('the name to resolve once ready', async () => (await ask()) === 'backend\n', 30_000, 500);
  await execIn(backendId, ['rm', '/tmp/ready']);
  await waitFor('the name to stop resolving once not ready', async () => (await ask()) === '', 30_000, 500);
  t.pass();
});

test.serial('limits become Docker limits, a hostPort is published (TCP and UDP, on loopback too), and a crashing container is CrashLoopBackOff', async (t) => {
  execFileSync('bash', [path.join(root, 'test', 'build-node-image.sh'), nodeImage], { stdio: 'inherit' });
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const ns = 'limits';
  // Pod Security's baseline allows only the hostPorts the namespace lists.
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, annotations: { 'gouvernail.io/allowed-host-ports': '18089,18053' } } });
  // A UDP server (a DNS server's kind of port): each datagram answered with "pong" and its text.
  const pong = "const s = require('dgram').createSocket('udp4'); s.on('message', (m, r) => s.send('pong ' + m, r.port, r.address)); s.bind(5353);";
  await client.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'udp', namespace: ns }, spec: { containers: [{ name: 'c', image: nodeImage, command: ['node', '-e', pong], ports: [{ containerPort: 5353, hostPort: 18053, protocol: 'UDP' }] }] } });
  await client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'limited', namespace: ns },
    spec: { containers: [{ name: 'web', image, command: ['sh', '-c', 'mkdir -p /www; echo published > /www/index.html; exec httpd -f -p 8080 -h /www'], ports: [{ containerPort: 8080, hostPort: 18089 }], resources: { limits: { memory: '64Mi', cpu: '250m' } } }] },
  });
  await client.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'crasher', namespace: ns }, spec: { containers: [{ name: 'c', image, command: ['sh', '-c', 'echo failing; exit 3'] }] } });
  const limited = await waitFor('the limited container', async () => (await containersOf(server.installation, ns)).find((c) => c.Labels['gouvernail.io/pod'] === 'limited' && c.State === 'running'));
  const info = await docker.getContainer(limited.Id).inspect();
  t.is(info.HostConfig.Memory, 64 * 1024 * 1024);
  t.is(info.HostConfig.NanoCpus, 250_000_000);
  await waitFor('the hostPort answering', async () => (await fetch('http://127.0.0.1:18089/').then((r) => r.text(), () => '')) === 'published\n');
  const udp = dgram.createSocket('udp4');
  t.teardown(() => udp.close());
  let answer = '';
  udp.on('message', (m) => (answer = m.toString()));
  await waitFor('the UDP hostPort answering on loopback', async () => {
    udp.send('ping', 18053, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 300));
    return answer === 'pong ping';
  }, 120_000, 200);
  const crashing = await waitFor('CrashLoopBackOff', async () => {
    const p = await client.get('Pod', ns, 'crasher');
    return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? p : undefined;
  });
  t.true(crashing.status.containerStatuses[0].restartCount >= 1);
  // Between back-offs Docker runs it again for a moment, so the listing is read until it shows the loop.
  const listed = await waitFor('get pods showing CrashLoopBackOff', async () => {
    const r = await runCli('get', 'pods', '-n', ns, '--kubeconfig', server.kubeconfig);
    return /crasher\s+0\/1\s+CrashLoopBackOff\s+[1-9]/.test(r.out) ? r : undefined;
  });
  t.regex(listed.out, /crasher\s+0\/1\s+CrashLoopBackOff\s+[1-9]/);
});

test.serial('a failing liveness probe restarts the container in place, at once the first time, then after a back-off (CrashLoopBackOff in between; under restartPolicy Never the Pod fails), and RESTARTS counts each restart once, across a restart of serve', async (t) => {
  const dataDir = tempDir();
  // The same port after the restart: the Pod's API address (in its env) stays, so does its container.
  const port = await freePort();
  let server = await startServer(dataDir, { port });
  t.teardown(() => server.destroy());
  const ns = 'liveness';
  await server.client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  // Healthy for two seconds after each start, then the probe's file is gone.
  await server.client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'flaky', namespace: ns },
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['sh', '-c', 'touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600'], livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2 } }] },
  });
  // The same under restartPolicy Never: killed once, never started again, and the Pod fails.
  await server.client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${ns}-never` } });
  await server.client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'once', namespace: `${ns}-never` },
    spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['sh', '-c', 'touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600'], livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2 } }] },
  });
  const restarts = async (s: TestServer) => ((await s.client.get('Pod', ns, 'flaky'))?.status?.containerStatuses?.[0]?.restartCount as number | undefined) ?? 0;
  const first = await waitFor('the container', async () => (await containersOf(server.installation, ns)).find((c) => c.State === 'running'));
  await waitFor('a restart counted', async () => (await restarts(server)) >= 1, 60_000);
  // The first restart is at once, as the kubelet's, and counted once; killed again, it waits out
  // the back-off (10 s) before it starts again.
  const once = await docker.getContainer(first.Id).inspect();
  t.true(Date.parse(once.State.StartedAt) - Date.parse(once.State.FinishedAt) < 9_000, `the first restart ${Date.parse(once.State.StartedAt) - Date.parse(once.State.FinishedAt)} ms after the kill`);
  t.is(await restarts(server), 1);
  const backingOff = await waitFor('CrashLoopBackOff while it backs off', async () => {
    const status = (await server.client.get('Pod', ns, 'flaky'))?.status?.containerStatuses?.[0];
    return status?.state?.waiting?.reason === 'CrashLoopBackOff' ? status : undefined;
  }, 30_000);
  t.is(backingOff.ready, false);
  const [container] = await containersOf(server.installation, ns);
  t.is(container!.Id, first.Id, 'the same container, started again');
  const started = await waitFor('started again after the back-off', async () => {
    const info = await docker.getContainer(first.Id).inspect();
    return (await restarts(server)) >= 2 && info.State.Running && Date.parse(info.State.StartedAt) > Date.parse(info.State.FinishedAt) ? info : undefined;
  }, 60_000);
  const stoppedFor = Date.parse(started.State.StartedAt) - Date.parse(started.State.FinishedAt);
  t.true(stoppedFor >= 9_000, `started again ${stoppedFor} ms after it was stopped`);
  const failed = await waitFor('the Never Pod failed', async () => {
    const pod = await server.client.get('Pod', `${ns}-never`, 'once');
    return pod?.status?.phase === 'Failed' ? pod : undefined;
  }, 60_000);
  t.is(failed.status.containerStatuses[0].restartCount, 0);
  t.truthy(failed.status.containerStatuses[0].state.terminated, JSON.stringify(failed.status.containerStatuses[0].state));
  const [never] = await containersOf(server.installation, `${ns}-never`);
  t.is(never!.State, 'exited');
  const reasons = (await server.client.list('Event', ns)).map((e) => `${e.reason}: ${e.message}`);
  t.true(reasons.some((r) => r === 'Unhealthy: Liveness probe failed: exec [cat /tmp/healthy] failed'), reasons.join('\n'));
  t.true(reasons.some((r) => r === 'Killing: Container c failed liveness probe, will be restarted'), reasons.join('\n'));
  const listed = await runCli('get', 'pods', '-n', ns, '--kubeconfig', server.kubeconfig);
  t.regex(listed.out, /flaky\s+\d\/1\s+\S+\s+[1-9]\d* \(\w+ ago\)\s/);

  // serve restarts: the count goes on from where the status had it.
  const before = await restarts(server);
  await server.close();
  server = await startServer(dataDir, { port });
  t.is((await containersOf(server.installation, ns))[0]!.Id, first.Id, 'the container was kept');
  let lowest = Infinity;
  await waitFor('a restart counted after serve restarted', async () => {
    const n = await restarts(server);
    lowest = Math.min(lowest, n);
    return n > before;
  }, 60_000);
  t.true(lowest >= before, `RESTARTS went back from ${before} to ${lowest}`);
  t.is((await containersOf(server.installation, `${ns}-never`))[0]!.State, 'exited', 'the Never Pod\'s container was not started again');
});

test.serial('a container that ends leaves its termination message: the file it wrote (at /dev/termination-log, or its own path as another user), else with FallbackToLogsOnError the end of its log when it failed', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const ns = 'term-msg';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const pod = (name: string, command: string, extra: Record<string, unknown> = {}, podExtra: Record<string, unknown> = {}) =>
    client.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { restartPolicy: 'Never', ...podExtra, containers: [{ name: 'c', image, command: ['sh', '-c', command], ...extra }] } });
  await pod('written', 'echo "disk full on /data" > /dev/termination-log; exit 2');
  await pod('own-path', 'echo done as $(id -u) > /tmp/result; exit 0', { terminationMessagePath: '/tmp/result' }, { securityContext: { runAsUser: 1000 } });
  // Both lines on stderr: Docker reads a container's two streams apart, so lines on both come out
  // of its log in either order when written at once.
  await pod('from-log', 'echo starting >&2; echo "cannot open /data/db: permission denied" >&2; exit 1', { terminationMessagePolicy: 'FallbackToLogsOnError' });
  await pod('log-on-success', 'echo all good', { terminationMessagePolicy: 'FallbackToLogsOnError' });
  await pod('silent', 'echo only a log line; exit 3');
  const ended = async (name: string) =>
    waitFor(`${name} to end`, async () => {
      const p = await client.get('Pod', ns, name);
      return p?.status?.containerStatuses?.[0]?.state?.terminated;
    }, 90_000);
  const written = await ended('written');
  t.is(written.exitCode, 2);
  t.is(written.message, 'disk full on /data\n');
  t.is((await ended('own-path')).message, 'done as 1000\n');
  t.is((await ended('from-log')).message, 'starting\ncannot open /data/db: permission denied\n');
  t.is((await ended('log-on-success')).message, undefined, 'the log is the message only when the container failed');
  t.is((await ended('silent')).message, undefined, 'a container that wrote no file has no message');
  // kubectl describe reads it from the status; so does gouvernail describe.
  t.regex((await runCli('describe', 'pod', 'written', '-n', ns, '--kubeconfig', server.kubeconfig)).out, /message: \|\n\s+disk full on \/data\n/);

  // A crash-looping container: the message of the run that ended, while it waits for its restart.
  await client.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'looping', namespace: ns }, spec: { containers: [{ name: 'c', image, command: ['sh', '-c', 'echo "crashed at $(date +%s)" > /dev/termination-log; exit 1'] }] } });
  const last = await waitFor('the crash in lastState', async () => {
    const s = (await client.get('Pod', ns, 'looping'))?.status?.containerStatuses?.[0];
    return s?.state?.waiting?.reason === 'CrashLoopBackOff' && s.lastState?.terminated?.message ? s.lastState.terminated : undefined;
  }, 90_000);
  t.regex(last.message, /^crashed at \d+\n$/);
});

test.serial("a readiness gate holds a Pod back from Ready until its condition is True, and the condition its controller wrote stays; a Pod past its activeDeadlineSeconds fails (DeadlineExceeded) and its container stops", async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const k = kubectl(server.kubeconfig, '1.33');
  const applied = await k(['apply', '-f', '-'], { input: `apiVersion: v1
kind: Pod
metadata: { name: gated }
spec:
  readinessGates: [{ conditionType: example.com/load-balancer-ready }]
  containers: [{ name: app, image: "${image}", command: [sleep, "3600"] }]
` });
  t.is(applied.code, 0, applied.err);
  const condition = (p: KubeObject | undefined, type: string) => p?.status?.conditions?.find((c: { type: string }) => c.type === type)?.status;
  await waitFor('its container ready', async () => condition(await server.client.get('Pod', 'default', 'gated'), 'ContainersReady') === 'True', 180_000);
  t.is(condition(await server.client.get('Pod', 'default', 'gated'), 'Ready'), 'False', 'the gate is not passed yet');
  t.regex((await k(['get', 'pod', 'gated', '-o', 'wide'])).out, /gated\s+1\/1\s+Running.*\s0\/1\s*$/m);
  const patched = await k(['patch', 'pod', 'gated', '--subresource=status', '--type=json', '-p', '[{"op":"add","path":"/status/conditions/-","value":{"type":"example.com/load-balancer-ready","status":"True"}}]']);
  t.is(patched.code, 0, patched.err);
  await waitFor('Ready once the gate is passed', async () => condition(await server.client.get('Pod', 'default', 'gated'), 'Ready') === 'True', 120_000);
  t.regex((await k(['get', 'pod', 'gated', '-o', 'wide'])).out, /gated\s+1\/1\s+Running.*\s1\/1\s*$/m);
  t.is(condition(await server.client.get('Pod', 'default', 'gated'), 'example.com/load-balancer-ready'), 'True', 'the node keeps the condition it did not write');

  const bounded = await k(['apply', '-f', '-'], { input: `apiVersion: v1
kind: Pod
metadata: { name: bounded }
spec:
  activeDeadlineSeconds: 5
  containers: [{ name: app, image: "${image}", command: [sleep, "3600"] }]
` });
  t.is(bounded.code, 0, bounded.err);
  const failed = await waitFor('the Pod failed at its deadline', async () => {
    const p = await server.client.get('Pod', 'default', 'bounded');
    return p?.status?.phase === 'Failed' ? p : undefined;
  }, 120_000);
  t.like(failed.status, { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' });
  t.true(Date.now() - Date.parse(failed.status.startTime) >= 5000, 'not before its deadline');
  await waitFor('its container stopped', async () => !(await containersOf(server.installation, 'default')).some((c) => c.Labels['gouvernail.io/pod'] === 'bounded' && c.State === 'running'), 60_000);
  t.regex((await k(['get', 'pod', 'bounded'])).out, /bounded\s+0\/1\s+DeadlineExceeded\s+0/);
  t.regex((await k(['get', 'events', '--field-selector', 'involvedObject.name=bounded'])).out, /DeadlineExceeded\s+pod\/bounded\s+Pod was active on the node longer than the specified deadline/);
  // Nothing starts it again.
  const [stopped] = (await containersOf(server.installation, 'default')).filter((c) => c.Labels['gouvernail.io/pod'] === 'bounded');
  t.is((await docker.getContainer(stopped!.Id).inspect()).HostConfig.RestartPolicy?.Name, 'no');
});
