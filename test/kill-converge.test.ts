import test from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { clientFromKubeconfig } from '../src/cli/client.js';
import { label } from '../src/runtime/labels.js';
import { containersOf, docker, execIn, image, runCli, startKillableServe, waitFor } from './docker-helpers.js';
import { tempDir } from './helpers.js';

const ns = 'chaos';
const deployments = 9;

/** 30 objects: a Namespace, 10 ConfigMaps, 10 Secrets and 9 Deployments that mount and read them. */
function manifests(revision: number): string {
  const docs = [`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns} }\n`];
  for (let i = 0; i < 10; i++) {
    docs.push(`apiVersion: v1\nkind: ConfigMap\nmetadata: { name: conf-${i}, namespace: ${ns} }\ndata: { file: "revision ${revision} of conf-${i}" }\n`);
    docs.push(`apiVersion: v1\nkind: Secret\nmetadata: { name: secret-${i}, namespace: ${ns} }\nstringData: { token: "token-${revision}-${i}" }\n`);
  }
  for (let i = 0; i < deployments; i++) {
    docs.push(`apiVersion: apps/v1
kind: Deployment
metadata: { name: app-${i}, namespace: ${ns} }
spec:
  replicas: 1
  selector: { matchLabels: { app: app-${i} } }
  template:
    metadata: { labels: { app: app-${i} }, annotations: { revision: "${revision}" } }
    spec:
      # sleep as PID 1 ignores SIGTERM: without this each replaced Pod would take the 30 s default to stop.
      terminationGracePeriodSeconds: 1
      containers:
        - name: c
          image: ${image}
          command: ["sh", "-c", "test -f /conf/file || exit 3; sleep 3600"]
          env: [{ name: TOKEN, valueFrom: { secretKeyRef: { name: secret-${i}, key: token } } }]
          volumeMounts: [{ name: conf, mountPath: /conf }]
      volumes: [{ name: conf, configMap: { name: conf-${i} } }]
`);
  }
  return docs.join('---\n');
}

/** A small seeded generator (mulberry32), so the kill points are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}



test.serial('kill -9 of serve at 20 seeded random points of an apply of 30 objects: each time it converges to exactly the desired containers, each with its files', async (t) => {
  t.timeout(40 * 60_000);
  const serve = await startKillableServe(t);
  const { dataDir, kubeconfig, installation } = serve;
  const dir = tempDir();
  const file = path.join(dir, 'app.yaml');
  const random = seeded(20261129);
  const killedDuring: string[] = [];

  for (let revision = 1; revision <= 20; revision++) {
    writeFileSync(file, manifests(revision));
    const killAfter = Math.floor(random() * 2500);
    const applying = runCli('apply', '-f', dir, '--kubeconfig', kubeconfig, '--timeout', '120s');
    const outcome = await Promise.race([applying.then(() => 'finished'), new Promise((r) => setTimeout(() => r('killed'), killAfter))]);
    await serve.kill();
    const first = await applying;
    killedDuring.push(outcome === 'killed' ? `${killAfter} ms` : `${killAfter} ms (after the apply)`);

    await serve.start();
    const again = await runCli('apply', '-f', dir, '--kubeconfig', kubeconfig, '--timeout', '180s');
    t.is(again.code, 0, `revision ${revision}, killed at ${killAfter} ms: ${again.out}${again.err}\n(first try: ${first.err})`);

    const client = clientFromKubeconfig(kubeconfig);
    const containers = await waitFor(`revision ${revision}: one running container per desired Pod`, async () => {
      const pods = (await client.list('Pod', ns)).filter((p) => !p.metadata.deletionTimestamp);
      const list = await containersOf(installation, ns);
      const uids = new Set(pods.map((p) => p.metadata.uid));
      const current = pods.every((p) => p.metadata.annotations?.revision === String(revision));
      return pods.length === deployments && current && list.length === deployments && list.every((c) => c.State === 'running' && uids.has(c.Labels[label.uid]!)) ? list : undefined;
    }, 180_000);
    t.is(new Set(containers.map((c) => c.Labels[label.uid])).size, deployments, `revision ${revision}: no duplicate`);
    for (const c of containers) {
      const i = c.Labels[label.pod]!.replace(/^app-(\d+)-.*$/, '$1');
      const read = await execIn(c.Id, ['sh', '-c', 'cat /conf/file; echo; echo $TOKEN']).catch(async (err) => {
        const info = await docker.getContainer(c.Id).inspect();
        await new Promise((r) => setTimeout(r, 3000));
        t.log(JSON.stringify((await client.list('Pod', ns)).map((p) => [p.metadata.name, p.metadata.uid, p.metadata.annotations?.revision, p.metadata.deletionTimestamp, p.metadata.ownerReferences?.[0]?.name])));
        t.log(JSON.stringify((await client.list('ReplicaSet', ns)).map((p) => [p.metadata.name, p.spec.replicas, p.status])));
        t.log(JSON.stringify((await containersOf(installation, ns)).map((x) => [x.Names[0], x.Id.slice(0, 12), x.State, x.Labels[label.uid]])));
        t.log(c.Id, c.Labels[label.uid], path.join(dataDir, 'serve.log'));
        throw new Error(`revision ${revision} (killed at ${killAfter} ms): ${c.Names[0]} cannot be read (${(err as Error).message}); its state: ${JSON.stringify(info.State)}, restarts ${info.RestartCount}`);
      });
      t.is(read.out, `revision ${revision} of conf-${i}\ntoken-${revision}-${i}\n`, `revision ${revision}: ${c.Names[0]} has its files and its Secret`);
    }
  }
  t.log(`killed at: ${killedDuring.join(', ')}`);
});
