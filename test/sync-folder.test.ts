import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { clientFromKubeconfig } from '../src/cli/client.js';
import path from 'node:path';
import { containersOf, ensureImage, image, removeDockerObjects, runCli, startServer, waitFor, serveFlags, stopProcess } from './docker-helpers.js';
import { root, tempDir } from './helpers.js';
import type { KubeObject } from '../src/manifest/types.js';

const configMap = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings, namespace: folder-app }\ndata: { mode: "${value}" }\n`;
const namespace = 'apiVersion: v1\nkind: Namespace\nmetadata: { name: folder-app }\n';
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: folder-app }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: "${image}", command: ["sleep", "3600"] }]
`;

test.serial('a folder Application applies on save, refuses a broken revision, prunes a removed file, and never empties by accident', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const dir = tempDir();
  await writeFile(path.join(dir, 'ns.yaml'), namespace);
  await writeFile(path.join(dir, 'config.yaml'), configMap('one'));
  await writeFile(path.join(dir, 'web.yaml'), deployment);
  // A suspended CronJob (it makes no Pod) with a field Gouvernail does not act on, and a host that
  // is the Deployment's name with no Service of that name: both applied, and warned about.
  await writeFile(path.join(dir, 'cron.yaml'), `apiVersion: batch/v1
kind: CronJob
metadata: { name: report, namespace: folder-app }
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          runtimeClassName: gvisor
          containers: [{ name: report, image: "${image}", env: [{ name: API_HOST, value: "web:8080" }] }]
`);
  await client.apply({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'dev', namespace: 'default' }, spec: { source: { path: dir }, syncPolicy: { automated: true, prune: true } } });
  const app = () => client.get('Application', 'default', 'dev');
  const synced = await waitFor('the first sync', async () => {
    const a = await app();
    return a?.status?.sync?.status === 'Synced' ? a : undefined;
  });
  // The suspended CronJob is applied and not waited for; the Application's health says it is there.
  t.is(synced.status.health.status, 'Suspended');
  t.is(synced.status.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'True');
  const warned = (a: KubeObject): string[] => (a.status?.conditions ?? []).find((c: { type: string }) => c.type === 'ManifestWarning')?.message.split('\n') ?? [];
  const firstWarnings = warned(synced);
  t.is(firstWarnings.length, 2, firstWarnings.join('\n'));
  t.regex(firstWarnings.join('\n'), /cron\.yaml:\d+:\d+: CronJob\/report: spec\.jobTemplate\.spec\.template\.spec\.runtimeClassName: /);
  t.regex(firstWarnings.join('\n'), /cron\.yaml:\d+:\d+: CronJob\/report: spec\.jobTemplate\.spec\.template\.spec\.containers\[0\]\.env\[0\]\.value: env API_HOST names web, and no Service is named so/);
  const events = await client.list('Event', 'default');
  const event = events.find((e) => e.reason === 'ManifestWarnings' && (e.involvedObject as { name: string }).name === 'dev');
  t.regex(String(event?.message), /^revision folder-[0-9a-f]{12} was applied with 2 warnings: cron\.yaml/);
  t.is(event?.type, 'Warning');
  const web = await client.get('Deployment', 'folder-app', 'web');
  t.is(web!.metadata.labels!['app.gouvernail.io/instance'], 'dev');
  t.is((await containersOf(server.installation, 'folder-app')).filter((c) => c.State === 'running').length, 1);

  // A save is applied within about a second.
  const saved = Date.now();
  await writeFile(path.join(dir, 'config.yaml'), configMap('two'));
  await waitFor('the saved change', async () => (await client.get('ConfigMap', 'folder-app', 'settings'))?.data?.mode === 'two', 10_000, 50);
  const took = Date.now() - saved;
  t.log(`saved change applied in ${took} ms`);
  t.true(took < 2000, `took ${took} ms`);

  // A broken file stops the whole revision: nothing from it is applied.
  await writeFile(path.join(dir, 'config.yaml'), configMap('three'));
  await writeFile(path.join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n');
  const stalled = await waitFor('the Application to stall', async () => {
    const a = await app();
    return a?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Stalled' && c.status === 'True') ? a : undefined;
  });
  t.regex(stalled.status.operation.message, /broken\.yaml:\d+:\d+: YAML/);
  t.not(stalled.status.lastAttemptedRevision, stalled.status.lastAppliedRevision, 'the last good revision stays the applied one');
  t.is((await client.get('ConfigMap', 'folder-app', 'settings'))!.data!.mode, 'two', 'nothing from the broken revision ran');
  t.is(stalled.status.sync.status, 'OutOfSync');

  await rm(path.join(dir, 'broken.yaml'));
  await waitFor('the fixed revision', async () => (await client.get('ConfigMap', 'folder-app', 'settings'))?.data?.mode === 'three');

  // A removed file's objects are pruned.
  await rm(path.join(dir, 'web.yaml'));
  await waitFor('the Deployment pruned', async () => !(await client.get('Deployment', 'folder-app', 'web')));
  await waitFor('its container gone', async () => (await containersOf(server.installation, 'folder-app')).length === 0);
  // The host no longer names a workload of the folder: that warning is gone, the other stays.
  const pruned = await waitFor('the warnings of the revision without web', async () => {
    const a = await app();
    return a?.status?.sync?.status === 'Synced' && warned(a).length === 1 ? a : undefined;
  });
  t.regex(warned(pruned)[0]!, /runtimeClassName/);

  // An emptied folder is not taken as "delete everything".
  await rm(path.join(dir, 'config.yaml'));
  await rm(path.join(dir, 'cron.yaml'));
  await rm(path.join(dir, 'ns.yaml'));
  const empty = await waitFor('the empty source refused', async () => {
    const a = await app();
    return /has no manifests; nothing was pruned/.test(a?.status?.operation?.message ?? '') ? a : undefined;
  });
  t.truthy(empty);
  t.truthy(await client.get('ConfigMap', 'folder-app', 'settings'), 'nothing was pruned');
  const history = (await app())!.status.history;
  t.true(history.length >= 5 && history.length <= 10);
  t.deepEqual(Object.keys(history[0]).sort(), ['durationMs', 'finishedAt', 'message', 'result', 'revision', 'startedAt']);
});

test.serial("a Deployment an autoscaler scales keeps the autoscaler's replicas: its scaling is no drift, even with selfHeal, and a later sync does not scale it back", async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const dir = tempDir();
  await writeFile(path.join(dir, 'ns.yaml'), namespace);
  await writeFile(path.join(dir, 'config.yaml'), configMap('one'));
  await writeFile(path.join(dir, 'web.yaml'), `${deployment}---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: web, namespace: folder-app }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }
  minReplicas: 1
  maxReplicas: 5
  metrics: [{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 50 } } }]
`);
  await client.apply({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'scaled', namespace: 'default' }, spec: { source: { path: dir }, syncPolicy: { automated: true, selfHeal: true } } });
  const app = () => client.get('Application', 'default', 'scaled');
  await waitFor('the first sync', async () => (await app())?.status?.sync?.status === 'Synced');
  // Scaled as the autoscaler scales it, through the scale subresource.
  await client.patch('Deployment', 'folder-app', 'web', 'merge', { spec: { replicas: 3 } }, { subresource: 'scale' });
  await waitFor('three Pods', async () => (await client.list('Pod', 'folder-app')).filter((p) => !p.metadata.deletionTimestamp).length === 3, 120_000);
  // A change of the folder syncs again: the Deployment keeps 3.
  await writeFile(path.join(dir, 'config.yaml'), configMap('two'));
  await waitFor('the saved change', async () => (await client.get('ConfigMap', 'folder-app', 'settings'))?.data?.mode === 'two');
  await waitFor('synced', async () => (await app())?.status?.sync?.status === 'Synced');
  t.is((await client.get('Deployment', 'folder-app', 'web'))!.spec.replicas, 3);
  const drift = (await client.list('Event', 'default')).filter((e) => e.reason === 'Drift');
  t.deepEqual(drift.map((e) => e.message), [], 'the scaling is not drift');
});

test.serial('gouvernail serve --watch DIR applies the folder as you save it; app list, sync and history show it', async (t) => {
  await ensureImage();
  const dataDir = tempDir();
  const dir = path.join(tempDir(), 'my-stack');
  await mkdir(dir);
  await writeFile(path.join(dir, 'config.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: watched }\ndata: { v: "1" }\n');
  const serve = spawn(process.execPath, [path.join(root, 'dist', 'src', 'cli', 'main.js'), 'serve', '--watch', dir, '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--node-name', 'test-node', ...serveFlags(dataDir)], { stdio: 'ignore' });
  t.teardown(async () => {
    await stopProcess(serve);
    await removeDockerObjects(readFileSync(path.join(dataDir, 'installation-id'), 'utf8').trim());
  });
  const kubeconfig = path.join(dataDir, 'kubeconfig');
  await waitFor('the kubeconfig', async () => existsSync(kubeconfig));
  const client = clientFromKubeconfig(kubeconfig);
  await waitFor('the first apply', async () => (await client.get('ConfigMap', 'default', 'watched'))?.data?.v === '1');
  await writeFile(path.join(dir, 'config.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: watched }\ndata: { v: "2" }\n');
  await waitFor('the saved change', async () => (await client.get('ConfigMap', 'default', 'watched'))?.data?.v === '2', 10_000, 50);
  const list = await runCli('app', 'list', '--kubeconfig', kubeconfig);
  t.regex(list.out, /NAME\s+SYNC STATUS\s+HEALTH STATUS\s+AGE\nmy-stack\s+Synced\s+Healthy\s+/);
  const sync = await runCli('app', 'sync', 'my-stack', '--kubeconfig', kubeconfig);
  t.is(sync.out.trim(), 'sync of my-stack started');
  await waitFor('three syncs in the history', async () => ((await client.get('Application', 'default', 'my-stack'))?.status?.history?.length ?? 0) >= 3);
  // app get prints the Application as kubectl get -o yaml does: without who wrote which field.
  const got = await runCli('app', 'get', 'my-stack', '--kubeconfig', kubeconfig);
  t.regex(got.out, /^apiVersion: gouvernail\.io\/v1\nkind: Application\n/);
  t.regex(got.out, /lastAppliedRevision: folder-[0-9a-f]{12}/);
  t.notRegex(got.out, /managedFields/);
  const history = await runCli('app', 'history', 'my-stack', '--kubeconfig', kubeconfig);
  t.regex(history.out, /STARTED\s+DURATION\s+RESULT\s+REVISION\s+MESSAGE\n.*Succeeded\s+folder-[0-9a-f]{12}/);
});
