import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { clientFromKubeconfig } from '../src/cli/client.js';
import { claimVolumeName, label } from '../src/runtime/labels.js';
import { containersOf, docker, image, runCli, startKillableServe, startServer, waitFor } from './docker-helpers.js';
import { fixture, tempDir } from './helpers.js';
import type { KubeObject } from '../src/manifest/types.js';

const volume = claimVolumeName('pvc-app', 'data');

function readVolume(): string {
  return execFileSync('docker', ['run', '--rm', '-v', `${volume}:/d`, image, 'cat', '/d/boots'], { encoding: 'utf8' });
}

test.serial('data on a PVC volume survives the Pod being recreated and the prune of its Deployment; the claim opts in to deletion', async (t) => {
  const server = await startServer();
  t.teardown(async () => {
    await server.destroy();
    await docker.getVolume(volume).remove().catch(() => {});
  });
  const dir = path.join(tempDir(), 'app');
  await cp(fixture('pvc-app'), dir, { recursive: true });
  const apply = async (...extra: string[]) => {
    const r = await runCli('apply', '-f', dir, '--kubeconfig', server.kubeconfig, '--timeout', '60s', ...extra);
    t.is(r.code, 0, r.out + r.err);
    return r.out;
  };
  const lines = () => readVolume().trim().split('\n').length;
  const runningWriter = () => waitFor('the writer running', async () => (await containersOf(server.installation, 'pvc-app')).find((c) => c.State === 'running'));

  await apply();
  const first = await runningWriter();
  await waitFor('one boot written', async () => lines() === 1);
  const [pod] = await server.client.list('Pod', 'pvc-app');
  await server.client.delete('Pod', 'pvc-app', pod!.metadata.name);
  await waitFor('a new writer', async () => (await containersOf(server.installation, 'pvc-app')).find((c) => c.State === 'running' && c.Id !== first.Id));
  await waitFor('two boots written', async () => lines() === 2);

  const file = path.join(dir, 'app.yaml');
  const original = await readFile(file, 'utf8');
  const [ns, pvc] = original.split('---\n');
  await writeFile(file, `${ns}---\n${pvc}`);
  t.regex(await apply('--prune'), /Deployment\/pvc-app\/writer pruned/);
  await waitFor('the writer gone', async () => (await containersOf(server.installation, 'pvc-app')).length === 0);
  t.truthy(await docker.getVolume(volume).inspect());

  await writeFile(file, original);
  await apply();
  await waitFor('three boots written', async () => lines() === 3);

  await writeFile(file, ns!);
  t.regex(await apply('--prune'), /PersistentVolumeClaim\/pvc-app\/data pruned/);
  await waitFor('the writer gone', async () => (await containersOf(server.installation, 'pvc-app')).length === 0);
  await new Promise((r) => setTimeout(r, 1500));
  t.truthy(await docker.getVolume(volume).inspect(), 'a pruned claim keeps its volume by default');

  await writeFile(file, original.replace('  name: data\n  namespace: pvc-app\n', '  name: data\n  namespace: pvc-app\n  annotations: { gouvernail.io/delete-volume: "true" }\n'));
  await apply();
  await waitFor('four boots written', async () => lines() === 4);
  await writeFile(file, ns!);
  await apply('--prune');
  await waitFor('the volume removed', async () => !(await docker.getVolume(volume).inspect().catch(() => undefined)));
  t.pass();
});

/** What a person would look at when the apply after a restart does not converge. */
async function whyNotConverged(kubeconfig: string, dataDir: string, installation: string, ns: string): Promise<string> {
  const client = clientFromKubeconfig(kubeconfig);
  const pods = await client.list('Pod', ns).catch((): KubeObject[] => []);
  const shown = pods.map((p) => `${p.metadata.name} ${p.metadata.uid} ${JSON.stringify(p.status ?? {})}`).join('\n');
  const containers = (await containersOf(installation, ns)).map((c) => `${c.Names[0]} ${c.State} ${c.Status} uid=${c.Labels[label.uid]}`).join('\n');
  const log = readFileSync(path.join(dataDir, 'serve.log'), 'utf8').split('\n').filter((l) => /"level":(40|50|60)|replacing|conflict|error/i.test(l)).slice(-60).join('\n');
  return `Pods:\n${shown}\nContainers:\n${containers}\nserve's warnings and errors:\n${log}`;
}

test.serial('kill -9 of gouvernail serve during an apply, then a restart: the apply converges with no duplicate and no orphan', async (t) => {
  const serve = await startKillableServe(t);
  const { dataDir, kubeconfig, installation } = serve;
  const dir = tempDir();
  const deployment = (replicas: number) => `apiVersion: v1
kind: Namespace
metadata: { name: crash }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: many, namespace: crash }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: many } }
  template:
    metadata: { labels: { app: many } }
    spec:
      containers: [{ name: c, image: "${image}", command: ["sleep", "3600"] }]
`;
  await writeFile(path.join(dir, 'app.yaml'), deployment(6));
  const applying = runCli('apply', '-f', dir, '--kubeconfig', kubeconfig, '--timeout', '60s');
  await waitFor('the first containers', async () => (await containersOf(installation, 'crash')).length >= 1, 30_000, 20);
  await serve.kill();
  const interrupted = await applying;
  t.not(interrupted.code, 0);

  await serve.start();
  const again = await runCli('apply', '-f', dir, '--kubeconfig', kubeconfig, '--timeout', '60s');
  t.is(again.code, 0, again.code === 0 ? '' : again.out + again.err + (await whyNotConverged(kubeconfig, dataDir, installation, 'crash')));
  const client = clientFromKubeconfig(kubeconfig);
  const pods = await client.list('Pod', 'crash');
  t.is(pods.length, 6);
  const containers = await waitFor('one running container per Pod', async () => {
    const list = await containersOf(installation, 'crash');
    return list.length === 6 && list.every((c) => c.State === 'running') ? list : undefined;
  });
  const uids = new Set(pods.map((p) => p.metadata.uid));
  t.true(containers.every((c) => uids.has(c.Labels[label.uid]!)), 'no orphan container');
  t.is(new Set(containers.map((c) => c.Labels[label.uid])).size, 6, 'no duplicate container');
});

test.serial('a Pod made again under its name while the earlier one stops, then a kill -9 of serve: after the restart the earlier container goes and the new Pod runs', async (t) => {
  t.timeout(300_000);
  const serve = await startKillableServe(t);
  const { installation } = serve;
  const client = clientFromKubeconfig(serve.kubeconfig);
  const ns = 'twins';
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const pod = (command: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'twin', namespace: ns }, spec: { terminationGracePeriodSeconds: 30, containers: [{ name: 'c', image, command: ['sh', '-c', command] }] } });
  // The first ignores SIGTERM: it stops only at the end of its grace period.
  await client.apply(pod('trap "" TERM; while true; do sleep 1; done'));
  const earlier = await waitFor('the first container', async () => (await containersOf(installation, ns)).find((c) => c.State === 'running'));
  const earlierUid = earlier.Labels[label.uid];
  // Deleted at once (kubectl delete --force --grace-period=0): its container still stops, in the
  // background, while a Pod of the same name is made.
  await client.delete('Pod', ns, 'twin', { gracePeriodSeconds: 0 });
  await waitFor('the Pod made again', async () => client.apply(pod('exec sleep 3600')).then(() => true, () => false));
  await waitFor('the new Pod waiting for the earlier container', async () => {
    const p = await client.get('Pod', ns, 'twin');
    return p?.metadata.uid !== earlierUid && /still stopping/.test(p?.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '');
  });
  await serve.kill();
  t.true((await docker.getContainer(earlier.Id).inspect()).State.Running, 'the earlier container outlives serve');

  await serve.start();
  const [now] = await waitFor('the earlier container gone and the new Pod running', async () => {
    const list = await containersOf(installation, ns);
    return list.length === 1 && list[0]!.Id !== earlier.Id && list[0]!.State === 'running' ? list : undefined;
  }, 150_000);
  t.not(now!.Labels[label.uid], earlierUid);
});
