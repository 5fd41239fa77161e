import test from 'ava';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startServer, waitFor } from './docker-helpers.js';
import { makeRepo, startGitServer } from './git-helpers.js';
import { tempDir } from './helpers.js';

const cm = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: healed }\ndata: { v: "${value}" }\n`;

test.serial('selfHeal puts back an object changed or deleted by hand; without it the Application shows OutOfSync', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const healing = tempDir();
  await writeFile(path.join(healing, 'cm.yaml'), cm('git'));
  const plain = tempDir();
  await writeFile(path.join(plain, 'cm.yaml'), cm('git').replace('healed', 'drifting'));
  await client.apply({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'healing', namespace: 'default' }, spec: { source: { path: healing }, syncPolicy: { automated: true, selfHeal: true } } });
  await client.apply({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'plain', namespace: 'default' }, spec: { source: { path: plain }, syncPolicy: { automated: true } } });
  await waitFor('both synced', async () => (await client.get('ConfigMap', 'default', 'healed')) && (await client.get('ConfigMap', 'default', 'drifting')));
  await new Promise((r) => setTimeout(r, 500));

  const edited = (await client.get('ConfigMap', 'default', 'healed'))!;
  await client.applyKnown({ ...edited, data: { v: 'by hand' } }, edited);
  await waitFor('the edit undone', async () => (await client.get('ConfigMap', 'default', 'healed'))?.data?.v === 'git');
  await client.delete('ConfigMap', 'default', 'healed');
  await waitFor('the deleted object back', async () => (await client.get('ConfigMap', 'default', 'healed'))?.data?.v === 'git');

  const other = (await client.get('ConfigMap', 'default', 'drifting'))!;
  await client.applyKnown({ ...other, data: { v: 'by hand' } }, other);
  const drifted = await waitFor('OutOfSync shown', async () => {
    const a = await client.get('Application', 'default', 'plain');
    return a?.status?.sync?.status === 'OutOfSync' ? a : undefined;
  });
  t.regex(drifted.status.sync.message, /ConfigMap\/default\/drifting was changed outside the source/);
  t.is((await client.get('ConfigMap', 'default', 'drifting'))!.data!.v, 'by hand', 'without selfHeal the change stays');
});

test.serial('autoRollback: a revision that does not become healthy in time is rolled back to the last healthy one', async (t) => {
  const git = await startGitServer();
  const server = await startServer();
  t.teardown(async () => {
    await server.destroy();
    await git.close();
  });
  const { client } = server;
  const repo = makeRepo(git, 'auto.git');
  repo.write('app.yaml', cm('healthy'));
  const good = await repo.commit('good');
  await client.apply({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'auto', namespace: 'default' }, spec: { source: { repoURL: git.url('auto.git'), targetRevision: 'main' }, syncPolicy: { automated: true, prune: true, autoRollback: true, timeout: '4s', interval: '1h' } } });
  await waitFor('the good revision', async () => (await client.get('Application', 'default', 'auto'))?.status?.lastAppliedRevision === good);
  repo.write('broken.yaml', `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: never-ready }\nspec:\n  selector: { matchLabels: { app: nr } }\n  template:\n    metadata: { labels: { app: nr } }\n    spec:\n      containers: [{ name: c, image: "gouvernail-example/absent:1", imagePullPolicy: Never }]\n`);
  const bad = await repo.commit('bad');
  await client.request('POST', '/api/v1/applications/auto/sync');
  const rolled = await waitFor('the rollback', async () => {
    const a = await client.get('Application', 'default', 'auto');
    return a?.metadata.annotations?.['gouvernail.io/pinned-revision'] === good && a.status?.lastAppliedRevision === good && a.status.history?.[0]?.result === 'Succeeded' ? a : undefined;
  }, 60_000);
  const failed = rolled.status.history.find((h: { revision: string; result: string }) => h.revision === bad && h.result === 'Failed');
  t.regex(failed.message, new RegExp(`autoRollback: revision ${bad} did not become healthy .*ErrImageNeverPull.*rolled back to ${good}`));
  await waitFor('the bad Deployment pruned', async () => !(await client.get('Deployment', 'default', 'never-ready')));
});
