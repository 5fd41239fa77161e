import test from 'ava';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clientFromKubeconfig } from '../src/cli/client.js';
import { label } from '../src/runtime/labels.js';
import { containersOf, ensureImage, execIn, freePort, image, removeDockerObjects, spawnServe, waitFor, stopProcess } from './docker-helpers.js';
import { tempDir } from './helpers.js';

const ns = 'resume-test';



test.serial('a sync interrupted by kill -9 is resumed after the last wave it wrote, not started over', async (t) => {
  await ensureImage();
  const dataDir = tempDir();
  const folder = path.join(tempDir(), 'resumable');
  mkdirSync(folder);
  writeFileSync(path.join(folder, 'app.yaml'), `apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: first, namespace: ${ns}, annotations: { gouvernail.io/sync-wave: "0" } }
data: { v: "from the folder" }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: gate, namespace: ${ns}, annotations: { gouvernail.io/sync-wave: "0" } }
spec:
  replicas: 1
  selector: { matchLabels: { app: gate } }
  template:
    metadata: { labels: { app: gate } }
    spec:
      containers:
        - name: c
          image: ${image}
          command: ["sleep", "3600"]
          readinessProbe: { exec: { command: ["test", "-f", "/tmp/go"] }, periodSeconds: 1 }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: last, namespace: ${ns}, annotations: { gouvernail.io/sync-wave: "1" } }
data: { v: "after the gate" }
`);
  const port = await freePort();
  let serve = spawnServe(dataDir, { port, args: ['--watch', folder] });
  t.teardown(async () => {
    await stopProcess(serve, 'SIGKILL');
    if (existsSync(path.join(dataDir, 'installation-id'))) await removeDockerObjects(readFileSync(path.join(dataDir, 'installation-id'), 'utf8').trim());
  });
  const kubeconfig = path.join(dataDir, 'kubeconfig');
  await waitFor('serve started', async () => existsSync(kubeconfig), 120_000);
  let client = clientFromKubeconfig(kubeconfig);
  const application = () => client.get('Application', 'default', 'resumable');
  const waiting = await waitFor('the sync waiting after its first written wave', async () => {
    const a = await application();
    return a?.status?.operation?.phase === 'Running' && a.status.operation.wavesApplied >= 2 ? a : undefined;
  }, 120_000);
  const wave = waiting.status.operation.wavesApplied as number;
  // Changed by hand while the sync waits: a sync started over would write it back.
  const first = (await client.get('ConfigMap', ns, 'first'))!;
  await client.update({ ...first, data: { v: 'by hand' } });

  serve.kill('SIGKILL');
  await new Promise((r) => serve.once('exit', r));
  serve = spawnServe(dataDir, { port, args: ['--watch', folder] });
  await waitFor('serve started again', async () => existsSync(kubeconfig), 120_000);
  client = clientFromKubeconfig(kubeconfig);
  const installation = readFileSync(path.join(dataDir, 'installation-id'), 'utf8').trim();
  const gate = await waitFor('the gate running', async () => (await containersOf(installation, ns)).find((c) => c.State === 'running' && c.Labels[label.pod]?.startsWith('gate-')), 120_000);
  await waitFor('the resumed sync waiting for the gate', async () => /resuming revision .* after wave \d+|wave \d+ of \d+: waiting for/.test((await application())?.status?.operation?.message ?? ''));
  await execIn(gate.Id, ['touch', '/tmp/go']);
  const done = await waitFor('the resumed sync finished', async () => {
    const a = await application();
    return a?.status?.operation?.phase === 'Succeeded' ? a : undefined;
  }, 120_000);
  t.regex(done.status.history[0].message, new RegExp(`applied \\(resumed after wave ${wave}, where a restart interrupted it\\)`));
  t.is((await client.get('ConfigMap', ns, 'last'))?.data?.v, 'after the gate', 'the waves after it were written');
  t.is((await client.get('ConfigMap', ns, 'first'))?.data?.v, 'by hand', 'the waves before it were not written again');
});
