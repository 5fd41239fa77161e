import test from 'ava';
import { containersOf, docker, execIn, image, startServer, waitFor } from './docker-helpers.js';
import { parseOne } from './helpers.js';
import { formatProblem } from '../src/manifest/problems.js';

test('a container with runAsUser 1000, a read-only root and every capability dropped runs so, seen from inside', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const ns = 'locked';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'locked', namespace: ns },
    spec: {
      securityContext: { supplementalGroups: [3000] },
      containers: [{ name: 'app', image, command: ['sleep', '3600'], securityContext: { runAsUser: 1000, runAsGroup: 2000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    },
  });
  await client.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'rootimage', namespace: ns }, spec: { containers: [{ name: 'app', image, command: ['sleep', '3600'], securityContext: { runAsNonRoot: true } }] } });
  const c = await waitFor('the locked container running', async () => (await containersOf(server.installation, ns)).find((x) => x.Labels['gouvernail.io/pod'] === 'locked' && x.State === 'running'));
  t.is((await execIn(c.Id, ['id', '-u'])).out.trim(), '1000');
  t.is((await execIn(c.Id, ['id', '-g'])).out.trim(), '2000');
  t.regex((await execIn(c.Id, ['id', '-G'])).out, /\b3000\b/);
  const write = await execIn(c.Id, ['sh', '-c', 'echo x > /written']);
  t.not(write.code, 0);
  t.regex(write.out, /Read-only file system/);
  const status = (await execIn(c.Id, ['cat', '/proc/1/status'])).out;
  t.regex(status, /^CapEff:\s+0000000000000000$/m);
  t.regex(status, /^NoNewPrivs:\s+1$/m);
  t.is((await docker.getContainer(c.Id).inspect()).Config.User, '1000:2000');

  // runAsNonRoot without a user, on an image whose user is root: not started, and the Pod says why.
  const refused = await waitFor('the root image refused', async () => {
    const p = await client.get('Pod', ns, 'rootimage');
    return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError' ? p : undefined;
  });
  t.regex(refused.status.containerStatuses[0].state.waiting.message, /runAsNonRoot and image will run as root/);
  t.falsy((await containersOf(server.installation, ns)).find((x) => x.Labels['gouvernail.io/pod'] === 'rootimage'));
});

test('an emptyDir and a claim are writable by a Pod that runs as another user than root, as the kubelet and local-path make them: open to all, and with fsGroup owned by that group', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const ns = 'nonroot';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'writer', namespace: ns },
    spec: {
      securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000 },
      // The init container writes, as user 1000; the app container reads it and writes beside it.
      initContainers: [{ name: 'init', image, command: ['sh', '-c', 'echo from init > /work/a'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
      containers: [{ name: 'app', image, command: ['sh', '-c', 'cat /work/a > /work/b; echo plain > /scratch/c; exec sleep 3600'], volumeMounts: [{ name: 'work', mountPath: '/work' }, { name: 'scratch', mountPath: '/scratch' }] }],
      volumes: [{ name: 'work', emptyDir: {} }, { name: 'scratch', emptyDir: { medium: 'Memory' } }],
    },
  });
  // A claim of the default class, as k3s's local-path makes its volumes: open to all too.
  await client.apply({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'kept', namespace: ns }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  await client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'plain', namespace: ns },
    spec: { containers: [{ name: 'app', image, command: ['sh', '-c', 'echo x > /data/x; echo y > /kept/y; exec sleep 3600'], securityContext: { runAsUser: 1000 }, volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'kept', mountPath: '/kept' }] }], volumes: [{ name: 'data', emptyDir: {} }, { name: 'kept', persistentVolumeClaim: { claimName: 'kept' } }] },
  });
  // Opened once, when made: what an init container (as root) made of it stays for the app container.
  await client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'owned', namespace: ns },
    spec: {
      initContainers: [{ name: 'init', image, command: ['sh', '-c', 'chown 1000 /own && chmod 700 /own'], volumeMounts: [{ name: 'own', mountPath: '/own' }] }],
      containers: [{ name: 'app', image, command: ['sh', '-c', 'echo mine > /own/m; exec sleep 3600'], securityContext: { runAsUser: 1000 }, volumeMounts: [{ name: 'own', mountPath: '/own' }] }],
      volumes: [{ name: 'own', emptyDir: {} }],
    },
  });
  const running = (pod: string) => waitFor(`${pod} running`, async () => (await containersOf(server.installation, ns)).find((x) => x.Labels['gouvernail.io/pod'] === pod && x.Labels['gouvernail.io/container'] === 'app' && x.State === 'running'));
  const writer = await running('writer');
  await waitFor('the app container wrote its files', async () => (await execIn(writer.Id, ['cat', '/work/b', '/scratch/c'])).code === 0);
  t.is((await execIn(writer.Id, ['cat', '/work/b'])).out, 'from init\n');
  t.regex((await execIn(writer.Id, ['ls', '-ldn', '/work'])).out, /^drwxrwsrwx\s+\d+\s+0\s+2000\s/);
  // medium Memory: a tmpfs, open to all as Kubernetes' is (1777).
  t.regex((await execIn(writer.Id, ['ls', '-ldn', '/scratch'])).out, /^drwxrwxrwt\s/);
  const plain = await running('plain');
  await waitFor('the plain Pod wrote its files', async () => (await execIn(plain.Id, ['cat', '/data/x', '/kept/y'])).code === 0);
  t.regex((await execIn(plain.Id, ['ls', '-ldn', '/data'])).out, /^drwxrwxrwx\s+\d+\s+0\s+0\s/);
  t.regex((await execIn(plain.Id, ['ls', '-ldn', '/kept'])).out, /^drwxrwxrwx\s+\d+\s+0\s+0\s/);
  const owned = await running('owned');
  await waitFor('the owned Pod wrote its file', async () => (await execIn(owned.Id, ['cat', '/own/m'])).code === 0);
  t.regex((await execIn(owned.Id, ['ls', '-ldn', '/own'])).out, /^drwx------\s+\d+\s+1000\s+0\s/);
});

test('a container with a read-only root gets its ConfigMap and Secret files (a whole volume and a subPath file), kept current, and a writable emptyDir', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const ns = 'readonly';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'conf', namespace: ns }, data: { 'app.conf': 'level=1\n', 'other.conf': 'other\n' } });
  await client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'auth', namespace: ns }, stringData: { password: 'pw-1' } });
  await client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'hardened', namespace: ns },
    spec: {
      securityContext: { runAsUser: 1001, runAsNonRoot: true, fsGroup: 1001 },
      containers: [{
        name: 'app', image, command: ['sh', '-c', 'echo ok > /tmp/written && exec sleep 3600'],
        securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        volumeMounts: [{ name: 'conf', mountPath: '/etc/app' }, { name: 'auth', mountPath: '/run/password', subPath: 'password' }, { name: 'tmp', mountPath: '/tmp' }],
      }],
      volumes: [{ name: 'conf', configMap: { name: 'conf' } }, { name: 'auth', secret: { secretName: 'auth' } }, { name: 'tmp', emptyDir: {} }],
    },
  });
  const c = await waitFor('the read-only container running', async () => (await containersOf(server.installation, ns)).find((x) => x.Labels['gouvernail.io/pod'] === 'hardened' && x.State === 'running'), 120_000);
  t.is((await execIn(c.Id, ['cat', '/etc/app/app.conf', '/etc/app/other.conf', '/run/password'])).out, 'level=1\nother\npw-1');
  // Only the ConfigMap's files where it is mounted, as a Kubernetes volume shows them.
  t.is((await execIn(c.Id, ['ls', '/etc/app'])).out.trim().split(/\s+/).join(' '), 'app.conf other.conf');
  // (Running in Docker's words is not yet its program: that waits for the Pod's network.)
  await waitFor('the program writing into its emptyDir', async () => (await execIn(c.Id, ['cat', '/tmp/written'])).out === 'ok\n', 60_000);
  const write = await execIn(c.Id, ['sh', '-c', 'echo x > /etc/passwd-new']);
  t.regex(write.out, /Read-only file system/);
  // A change of the ConfigMap reaches the running container, as the kubelet refreshes the volume.
  await client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'conf', namespace: ns }, data: { 'app.conf': 'level=2\n', 'other.conf': 'other\n' } });
  await waitFor('the new ConfigMap in the container', async () => (await execIn(c.Id, ['cat', '/etc/app/app.conf'])).out === 'level=2\n', 120_000);
  const pod = await client.get('Pod', ns, 'hardened');
  t.is(pod!.status.containerStatuses[0].restartCount, 0);
});

test('a container Docker refuses to create says why in its status and a Warning event, is tried again after a back-off, and its Pod is Initialized once its init containers ran', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const ns = 'refused';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  // Docker refuses a memory limit under 6 MB when it creates the container; Kubernetes takes it.
  await client.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'tiny', namespace: ns },
    spec: {
      initContainers: [{ name: 'prepare', image, command: ['true'] }],
      containers: [{ name: 'app', image, command: ['sleep', '3600'], resources: { limits: { memory: '1Mi' } } }],
    },
  });
  const pod = await waitFor('the app container refused', async () => {
    const p = await client.get('Pod', ns, 'tiny');
    return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerError' ? p : undefined;
  }, 120_000);
  t.regex(pod.status.containerStatuses[0].state.waiting.message, /memory/i);
  t.is(pod.status.conditions.find((c: { type: string }) => c.type === 'Initialized')?.status, 'True');
  // One Warning event, counted again at each try: the second comes after the kubelet's first back-off (10 s), not at once.
  const failed = await waitFor('the event of a second try', async () => {
    const e = (await client.list('Event', ns)).find((x) => x.reason === 'Failed' && (x.involvedObject as { name: string }).name === 'tiny') as { count: number; message: string; type: string; firstTimestamp: string; lastTimestamp: string } | undefined;
    return e && e.count >= 2 ? e : undefined;
  }, 120_000);
  t.regex(failed.message, /^Error: .*memory/i);
  t.is(failed.type, 'Warning');
  t.true(Date.parse(failed.lastTimestamp) - Date.parse(failed.firstTimestamp) >= 9_000, `${failed.firstTimestamp} to ${failed.lastTimestamp}, count ${failed.count}`);
});

test('securityContext fields Docker does only in part are warned about where they are written; a bad capability is an error', (t) => {
  const pod = (containerContext: string) => `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  securityContext: { fsGroup: 2000, seccompProfile: { type: Localhost, localhostProfile: x.json } }
  containers:
    - name: c
      image: busybox:1
      securityContext: ${containerContext}
`;
  const warned = parseOne(pod('{ seLinuxOptions: { level: s0 } }')).problems.map((p) => `${p.severity} ${formatProblem(p)}`);
  t.false(warned.some((l) => l.startsWith('error')), warned.join('\n'));
  t.true(warned.some((l) => /^warning inline\.yaml:5:\d+: Pod\/p: spec\.securityContext\.fsGroup: is added to the containers' groups, and a volume Gouvernail makes for the Pod \(an emptyDir, a claim's\) is given to the group; files already in a volume are not/.test(l)), warned.join('\n'));
  t.true(warned.some((l) => /^warning .*spec\.securityContext\.seccompProfile\.type: Localhost profiles are not loaded on Docker/.test(l)), warned.join('\n'));
  t.true(warned.some((l) => /^warning .*spec\.containers\[0\]\.securityContext\.seLinuxOptions: is not acted on by Gouvernail yet/.test(l)), warned.join('\n'));
  const refused = parseOne(pod('{ capabilities: { add: ["net admin"] } }')).problems.map((p) => `${p.severity} ${formatProblem(p)}`);
  t.true(refused.some((l) => /^error .*spec\.containers\[0\]\.securityContext\.capabilities\.add\[0\]: must be a capability name/.test(l)), refused.join('\n'));
});
