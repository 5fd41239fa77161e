import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { label } from '../src/runtime/labels.js';
import { clusterCidrFor, containersOf, docker, image, runCli, serviceRangeFor, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { tempDir } from './helpers.js';

const ns = 'restore-test';
const deployment = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'many', namespace: ns },
  spec: { replicas, selector: { matchLabels: { app: 'many' } }, template: { metadata: { labels: { app: 'many' } }, spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'] }] } } },
});

test.serial('a snapshot taken online and restored into a new data folder: the same 20 containers keep running, none restarted or duplicated, and a change applies', async (t) => {
  const oldDir = tempDir();
  let server: TestServer = await startServer(oldDir);
  t.teardown(() => server.destroy());
  const port = Number(new URL(server.url).port);
  await server.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await server.client.create(deployment(20));
  const running = () => containersOf(server.installation, ns).then((list) => list.filter((c) => c.State === 'running'));
  const before = await waitFor('20 containers running', async () => ((await running()).length === 20 ? running() : undefined), 180_000);
  await waitFor('the Deployment available', async () => (await server.client.get('Deployment', ns, 'many'))?.status?.availableReplicas === 20, 120_000);

  const snapshot = path.join(tempDir(), 'store.db');
  const backup = await runCli('backup', snapshot, '--data-dir', oldDir);
  t.is(backup.code, 0, backup.err);
  t.regex(backup.out, /^snapshot .*store\.db: \d+ objects up to resourceVersion \d+, \d+ bytes/);
  t.regex(backup.err, /keep it as safe as the data folder/);
  const started = new Map(await Promise.all(before.map(async (c) => [c.Id, (await docker.getContainer(c.Id).inspect()).State.StartedAt] as const)));

  await server.close();
  const newDir = tempDir();
  const restore = await runCli('restore', snapshot, '--data-dir', newDir);
  t.is(restore.code, 0, restore.err);
  t.regex(restore.out, /restored \d+ objects and 6 key files into/);
  const again = await runCli('restore', snapshot, '--data-dir', newDir);
  t.not(again.code, 0);
  t.regex(again.err, /state\.db exists; restore into a new data folder/);

  // Restored with the same flags: the same service and Pod ranges as the folder it came from.
  server = await startServer(newDir, { port, serviceClusterIPRange: serviceRangeFor(oldDir), clusterCidr: clusterCidrFor(oldDir) });
  t.is(server.installation, before[0]!.Labels[label.managedBy], 'the same installation');
  // A change after the restore applies normally (and proves the node agent has made its passes).
  const live = (await server.client.get('Deployment', ns, 'many'))!;
  await server.client.update({ ...live, spec: { ...live.spec, replicas: 21 } });
  await waitFor('21 containers running', async () => (await running()).length === 21, 120_000);
  await waitFor('the Deployment available', async () => (await server.client.get('Deployment', ns, 'many'))?.status?.availableReplicas === 21, 120_000);
  const after = await running();
  t.is((await containersOf(server.installation, ns)).length, 21, 'no duplicate, no leftover');
  for (const [id, startedAt] of started) {
    const info = await docker.getContainer(id).inspect();
    t.true(info.State.Running, `${info.Name} still runs`);
    t.is(info.State.StartedAt, startedAt, `${info.Name} was not restarted`);
    t.is(info.RestartCount, 0);
  }
  t.is(after.filter((c) => started.has(c.Id)).length, 20, 'the same 20 containers');
  t.is((await server.client.list('Pod', ns)).length, 21);
});

test.serial('scheduled snapshots: taken on the cron schedule, the newest kept', async (t) => {
  const dataDir = tempDir();
  const server = await startServer(dataDir, { insecureHttp: true, snapshots: { schedule: '* * * * * *', retention: 2 } });
  t.teardown(() => server.destroy());
  const dir = path.join(dataDir, 'snapshots');
  const files = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.db')) : []);
  await waitFor('three snapshots taken', async () => {
    const names = new Set(files());
    return names.size >= 2 && [...names].every((n) => /^gouvernail-snapshot-\d{8}T\d{6}Z\.db$/.test(n)) ? names : undefined;
  });
  const first = files().sort()[0];
  await waitFor('the oldest pruned', async () => !files().includes(first!));
  t.true(files().length <= 2);
  const restored = tempDir();
  const r = await runCli('restore', path.join(dir, files().sort().at(-1)!), '--data-dir', restored);
  t.is(r.code, 0, r.err);
});
