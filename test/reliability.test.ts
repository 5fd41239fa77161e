import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ObjectStore } from '../src/store/object-store.js';
import { DockerRecords } from '../src/store/docker-records.js';
import { planPod } from '../src/runtime/pod-containers.js';
import { claimVolumeName, containerName, label } from '../src/runtime/labels.js';
import { hostInterface } from '../src/network/wiring.js';
import type { KubeObject } from '../src/manifest/types.js';
import { containersOf, docker, execIn, image, isReady, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { tempDir } from './helpers.js';

/** The host's network interfaces, as `ip link` lists them. */
const hostLinks = () => execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });

const cm = (name: string, value: string, namespace = 'default') => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: ${namespace} }\ndata: { v: "${value}" }\n`;
const app = (name: string, source: object, syncPolicy: object) => ({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name, namespace: 'default' }, spec: { source, syncPolicy: { automated: true, interval: '1h', ...syncPolicy } } });
const condition = (a: KubeObject | undefined, type: string) => (a?.status?.conditions ?? []).find((c: { type: string }) => c.type === type)?.status;

function gitRepo() {
  const work = tempDir();
  const run = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], { cwd: work, encoding: 'utf8' }).trim();
  run('init', '-q', '-b', 'main');
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
    writeFileSync(path.join(work, file), text);
  };
  const commit = (message: string) => {
    run('add', '-A');
    run('commit', '-qm', message);
    return run('rev-parse', 'HEAD');
  };
  return { work, run, write, commit };
}

test.serial('with allowEmpty, a commit that renames the path prunes nothing: SyncFailed, the path named', async (t) => {
  const server = await startServer(undefined, { insecureHttp: true });
  t.teardown(() => server.destroy());
  const repo = gitRepo();
  repo.write('deploy/a.yaml', cm('renamed-a', '1'));
  repo.write('deploy/b.yaml', cm('renamed-b', '1'));
  const first = repo.commit('first');
  await server.client.apply(app('renamer', { repoURL: repo.work, targetRevision: 'main', path: 'deploy' }, { prune: true, allowEmpty: true }));
  const get = () => server.client.get('Application', 'default', 'renamer');
  await waitFor('the first revision applied', async () => (await get())?.status?.lastAppliedRevision === first);
  repo.run('mv', 'deploy', 'renamed');
  const moved = repo.commit('rename the folder');
  await server.client.request('POST', '/api/v1/applications/renamer/sync');
  const failed = await waitFor('the rename refused', async () => {
    const a = await get();
    return a?.status?.lastAttemptedRevision === moved && condition(a, 'Stalled') === 'True' ? a : undefined;
  });
  t.regex(failed.status.operation.message, /the source path deploy does not exist in this revision; nothing was applied or pruned/);
  t.is(failed.status.lastAppliedRevision, first);
  t.truthy(await server.client.get('ConfigMap', 'default', 'renamed-a'), 'nothing pruned');
  t.truthy(await server.client.get('ConfigMap', 'default', 'renamed-b'), 'nothing pruned');
  // An emptied path, with allowEmpty, does prune: that is what allowEmpty is for.
  repo.run('mv', 'renamed', 'deploy');
  repo.run('rm', '-qf', 'deploy/a.yaml', 'deploy/b.yaml');
  repo.write('deploy/README.md', 'emptied on purpose');
  const emptied = repo.commit('empty it');
  await server.client.request('POST', '/api/v1/applications/renamer/sync');
  await waitFor('the emptied revision applied', async () => (await get())?.status?.lastAppliedRevision === emptied);
  t.is(await server.client.get('ConfigMap', 'default', 'renamed-a'), undefined);
});

test.serial("containers carrying this installation's label that serve did not create are reported on the node, never deleted", async (t) => {
  const server = await startServer(undefined, { insecureHttp: true });
  const handMade: string[] = [];
  t.teardown(async () => {
    for (const id of handMade) await docker.getContainer(id).remove({ force: true }).catch(() => {});
    await server.destroy();
  });
  const labelsOnly = { [label.managedBy]: server.installation };
  const ghostPod = { ...labelsOnly, [label.pod]: 'ghost', [label.uid]: 'no-such-pod-uid', [label.namespace]: 'default', [label.container]: 'c' };
  for (const [name, labels] of [['hand-made-plain', labelsOnly], ['hand-made-ghost', ghostPod]] as const) {
    const c = await docker.createContainer({ name: `${name}-${server.installation}`, Image: image, Cmd: ['sleep', '3600'], Labels: labels });
    await c.start();
    handMade.push(c.id);
  }
  // A Pod of serve's own, made and removed: its container goes, the hand-made ones stay.
  await server.client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'owned', namespace: 'default' }, spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'] }] } });
  await waitFor('the Pod ready', async () => isReady((await server.client.get('Pod', 'default', 'owned'))!));
  const events = await waitFor('both reported on the node', async () => {
    const list = (await server.client.list('Event', 'default')).filter((e) => e.reason === 'UnrecordedContainer' && (e.involvedObject as { kind: string }).kind === 'Node');
    return list.length === 2 ? list : undefined;
  });
  for (const e of events) t.regex(String(e.message), /carries this installation's label .* but Gouvernail did not create it; it is left alone/);
  await server.client.delete('Pod', 'default', 'owned');
  await waitFor("the Pod's own container removed", async () => (await containersOf(server.installation, 'default')).every((c) => c.Labels[label.pod] !== 'owned'));
  for (const id of handMade) t.is((await docker.getContainer(id).inspect()).State.Running, true, 'a container serve did not create is still there, running');
  t.is((await server.client.list('Event', 'default')).filter((e) => e.reason === 'UnrecordedContainer').length, 2, 'reported once each');
});

test.serial('without selfHeal drift stays (OutOfSync) until a new revision; drift records and webhook deliveries survive a restart', async (t) => {
  const dataDir = tempDir();
  const secret = 'reliability-secret';
  let server: TestServer = await startServer(dataDir, { insecureHttp: true, webhookSecret: secret });
  t.teardown(() => server.destroy());
  const dir = tempDir();
  writeFileSync(path.join(dir, 'config.yaml'), cm('drift-kept', 'git-1'));
  await server.client.apply(app('drifty', { path: dir }, { prune: true }));
  const get = () => server.client.get('Application', 'default', 'drifty');
  const first = await waitFor('applied', async () => ((await get())?.status?.sync?.status === 'Synced' ? get() : undefined));
  const live = (await server.client.get('ConfigMap', 'default', 'drift-kept'))!;
  await server.client.update({ ...live, data: { v: 'by hand' } });
  const outOfSync = await waitFor('OutOfSync', async () => ((await get())?.status?.sync?.status === 'OutOfSync' ? get() : undefined));
  t.regex(outOfSync!.status.sync.message, /ConfigMap\/default\/drift-kept was changed outside the source/);
  // A save of the same content makes the folder sync: the revision is applied, the drift is left.
  const checkedBefore = outOfSync!.status.reconciledAt;
  writeFileSync(path.join(dir, 'config.yaml'), cm('drift-kept', 'git-1'));
  writeFileSync(path.join(dir, 'notes.txt'), 'a save that changes no manifest');
  await waitFor('the source checked again', async () => (await get())?.status?.reconciledAt !== checkedBefore);
  t.is((await server.client.get('ConfigMap', 'default', 'drift-kept'))!.data!.v, 'by hand', 'drift left alone without selfHeal');
  t.is((await get())!.status.sync.status, 'OutOfSync');
  t.is((await get())!.status.lastAppliedRevision, first!.status.lastAppliedRevision);

  // A webhook without its event header is refused, and the refusal is in the deliveries.
  const body = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: 'https://example.com/x.git' } });
  const hook = await fetch(`${server.url}/api/webhooks/github`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-delivery': 'no-event-1', 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` } });
  t.is(hook.status, 400);
  t.regex((await hook.json()).outcome, /the event header is missing \(X-GitHub-Event\)/);

  await server.close();
  const restartedAt = new Date().toISOString();
  server = await startServer(dataDir, { insecureHttp: true, webhookSecret: secret });
  const basic = `Basic ${Buffer.from(`admin:${server.token}`).toString('base64')}`;
  const page = await (await fetch(`${server.url}/applications/default/drifty`, { headers: { authorization: basic } })).text();
  t.regex(page, /data\.v: &quot;by hand&quot; -&gt; &quot;git-1&quot;/, 'the drift is shown after the restart');
  const deliveries = (await server.client.request('GET', '/api/v1/webhook-deliveries')) as { items: { status: number; id: string }[] };
  t.true(deliveries.items.some((d) => d.status === 400), 'the deliveries are kept');
  await waitFor('the source checked after the restart', async () => (await get())?.status?.reconciledAt > restartedAt);
  t.is((await server.client.get('ConfigMap', 'default', 'drift-kept'))!.data!.v, 'by hand', 'a restart puts nothing back either');

  writeFileSync(path.join(dir, 'config.yaml'), cm('drift-kept', 'git-2'));
  await waitFor('the new revision applied', async () => (await server.client.get('ConfigMap', 'default', 'drift-kept'))?.data?.v === 'git-2');
  t.is((await get())!.status.sync.status, 'Synced');
});

test.serial('across a restart: a claim deleted while serve was down loses its volume, a container never made ready is made again with its files; a namespace takes its network; a crash-looping Pod has no IP', async (t) => {
  const dataDir = tempDir();
  let server: TestServer = await startServer(dataDir, { insecureHttp: true });
  t.teardown(() => server.destroy());
  const ns = 'rel-restart';
  const c = server.client;
  await c.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'conf', namespace: ns }, data: { greeting: 'hello from the ConfigMap' } });
  await c.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: ns, annotations: { 'gouvernail.io/delete-volume': 'true' } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  // A short grace period: `sleep` as PID 1 ignores SIGTERM, and each stop would wait the 30 s default.
  const pod = (name: string, volumes: object[], mounts: object[], command = ['sleep', '3600']) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'c', image, command, volumeMounts: mounts }], volumes } });
  await c.create(pod('claimer', [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }], [{ name: 'd', mountPath: '/data' }]));
  await c.create(pod('reader', [{ name: 'conf', configMap: { name: 'conf' } }], [{ name: 'conf', mountPath: '/conf' }]));
  await c.create(pod('crasher', [], [], ['sh', '-c', 'sleep 0.3; exit 1']));
  await waitFor('claimer and reader ready', async () => isReady((await c.get('Pod', ns, 'claimer'))!) && isReady((await c.get('Pod', ns, 'reader'))!));
  const volume = claimVolumeName(ns, 'data');
  t.truthy(await docker.getVolume(volume).inspect());
  const crashing = await waitFor('the crash loop shown without an address', async () => {
    const p = await c.get('Pod', ns, 'crasher');
    const s = p?.status?.containerStatuses?.[0];
    return s?.restartCount >= 1 && s.state.waiting?.reason === 'CrashLoopBackOff' && !p!.status.podIP ? p : undefined;
  });
  t.deepEqual(crashing!.status.podIPs, []);
  const reader = (await c.get('Pod', ns, 'reader'))!;

  await server.close();
  // While serve is down: the claim and its Pod are deleted (as a request just before a kill -9
  // would leave them), and the reader's container is as a crash between the create and the copy
  // of its files would leave it: created, not started, no files, recorded only as an intent.
  const store = ObjectStore.open(path.join(dataDir, 'state.db'));
  store.delete('Pod', ns, 'claimer');
  store.delete('PersistentVolumeClaim', ns, 'data');
  const name = containerName(ns, 'reader', 'c');
  await docker.getContainer(name).remove({ force: true });
  const plan = planPod(store.get('Pod', ns, 'reader')!, { configMap: (n) => store.get('ConfigMap', ns, n), secret: () => undefined }, server.installation);
  const half = await docker.createContainer(plan.containers[0]!.options);
  new DockerRecords(store.db, 'test-node').put('container', name, 'creating', reader.metadata.uid!);
  store.close();

  server = await startServer(dataDir, { insecureHttp: true });
  await waitFor('the released volume removed', async () => !(await docker.getVolume(volume).inspect().catch(() => undefined)));
  const remade = await waitFor('the reader running again', async () => (await containersOf(server.installation, ns)).find((x) => x.Labels[label.pod] === 'reader' && x.State === 'running'));
  t.not(remade.Id, half.id, 'the container never made ready was made again');
  t.is((await execIn(remade.Id, ['cat', '/conf/greeting'])).out, 'hello from the ConfigMap');

  // The Pods' ends of the Pod network on the host (a veth pair each) go with their containers.
  const addressed = await waitFor('the reader with its address', async () => (await server.client.get('Pod', ns, 'reader'))?.status?.podIP as string | undefined);
  t.true(hostLinks().includes(hostInterface(addressed, server.installation)), "the reader's veth is on the host");
  await server.client.delete('Namespace', undefined, ns);
  // Each container goes once its grace period has passed (a Pod's containers stop in the background).
  await waitFor("the namespace's containers removed", async () => (await containersOf(server.installation, ns)).length === 0, 60_000);
  // The kernel takes a veth away with the last process of its Pod's network namespace, in a work
  // queue of its own: at once on a quiet host, but over 30 s in a CI run that tears down many
  // namespaces at the same time.
  const gone = Date.now();
  await waitFor("the reader's veth gone from the host", async () => !hostLinks().includes(hostInterface(addressed, server.installation)), 180_000);
  t.log(`the reader's veth was gone ${Date.now() - gone} ms after its containers`);
});
