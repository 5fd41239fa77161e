import test from 'ava';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { startServer, waitFor } from './docker-helpers.js';
import { makeRepo, startGitServer } from './git-helpers.js';

const secret = 'e2e-webhook-secret';
const pushExample = (createRequire(import.meta.url)('@octokit/webhooks-examples') as { name: string; examples: any[] }[]).find((e) => e.name === 'push')!.examples[4];

const cm = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: from-git, namespace: default }\ndata: { value: "${value}" }\n`;

test.serial('a Git Application follows pushes; a broken commit and an unreachable server apply and delete nothing', async (t) => {
  const git = await startGitServer();
  const server = await startServer(undefined, { webhookSecret: secret, insecureHttp: true });
  t.teardown(async () => {
    await server.destroy();
    await git.close().catch(() => {});
  });
  const repo = makeRepo(git, 'deploy.git');
  repo.write('manifests/config.yaml', cm('v1'));
  repo.write('manifests/extra.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: extra }\n');
  repo.write('docs/notes.yaml', 'not: a manifest the app reads');
  const first = await repo.commit('first deploy');
  const { client } = server;
  await client.apply({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'gitapp', namespace: 'default' }, spec: { source: { repoURL: git.url('deploy.git'), targetRevision: 'main', path: 'manifests' }, syncPolicy: { automated: true, prune: true, interval: '1h' } } });
  const app = () => client.get('Application', 'default', 'gitapp');
  const applied = (sha: string) => waitFor(`revision ${sha.slice(0, 7)} applied`, async () => {
    const a = await app();
    return a?.status?.lastAppliedRevision === sha && a.status.sync.status === 'Synced' ? a : undefined;
  });
  const a1 = await applied(first);
  t.deepEqual(a1.status.lastAppliedCommit, { sha: first, message: 'first deploy', author: 'Dev <dev@example.com>' });
  t.is((await client.get('ConfigMap', 'default', 'from-git'))!.data!.value, 'v1');
  t.is((await client.get('ConfigMap', 'default', 'from-git'))!.metadata.labels!['app.gouvernail.io/instance'], 'gitapp');

  repo.write('manifests/config.yaml', cm('v2'));
  repo.remove('manifests/extra.yaml');
  const second = await repo.commit('second deploy');
  // The push arrives as GitHub signs it: its published example, pointed at our repository.
  const payload = structuredClone(pushExample);
  payload.repository.clone_url = git.url('deploy.git');
  payload.ref = 'refs/heads/main';
  payload.after = second;
  const body = JSON.stringify(payload);
  const hook = await fetch(`${server.url}/api/webhooks/github`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'e2e-1', 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` },
  });
  t.is(hook.status, 202);
  t.deepEqual((await hook.json()).matched, ['default/gitapp']);
  await applied(second);
  t.is((await client.get('ConfigMap', 'default', 'from-git'))!.data!.value, 'v2');
  t.is(await client.get('ConfigMap', 'default', 'extra'), undefined, 'pruned');

  repo.write('manifests/config.yaml', cm('v3'));
  repo.write('manifests/bad.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: Bad }\nspec: {}\n');
  const broken = await repo.commit('broken');
  await client.request('POST', '/api/v1/applications/gitapp/sync');
  const stalled = await waitFor('the broken revision refused', async () => {
    const a = await app();
    return a?.status?.lastAttemptedRevision === broken && a.status.conditions?.some((c: { type: string; status: string }) => c.type === 'Stalled' && c.status === 'True') ? a : undefined;
  });
  t.regex(stalled.status.operation.message, /bad\.yaml:3:\d+: Deployment\/Bad: metadata\.name/);
  t.is(stalled.status.lastAppliedRevision, second);
  t.is((await client.get('ConfigMap', 'default', 'from-git'))!.data!.value, 'v2', 'nothing from the broken commit ran');

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.regex(metrics, /gouvernail_syncs_total\{result="Succeeded"\} [1-9]/);
  t.regex(metrics, /gouvernail_syncs_total\{result="Failed"\} [1-9]/);
  t.regex(metrics, /gouvernail_sync_duration_seconds_bucket\{result="Succeeded",le="\+Inf"\} [1-9]/);
  t.regex(metrics, /gouvernail_webhook_deliveries_total\{provider="github",result="202"\} 1/);
  t.regex(metrics, /gouvernail_applications\{sync="OutOfSync",health="Healthy"\} 1/);
  t.regex(metrics, /gouvernail_sync_queue_depth 0/);
  t.is((await fetch(`${server.url}/healthz`)).status, 200);

  await git.close();
  await client.request('POST', '/api/v1/applications/gitapp/sync');
  const unreachable = await waitFor('the fetch failure reported', async () => {
    const a = await app();
    return /cannot fetch/.test(a?.status?.operation?.message ?? '') ? a : undefined;
  });
  t.regex(unreachable.status.operation.message, /the last applied revision keeps running/);
  t.is((await client.get('ConfigMap', 'default', 'from-git'))!.data!.value, 'v2', 'nothing was deleted');
  t.is(unreachable.status.lastAppliedRevision, second);
});
