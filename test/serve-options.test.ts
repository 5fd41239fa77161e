import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clientFromKubeconfig } from '../src/cli/client.js';
import { ensureImage, removeDockerObjects, runCli, serveFlags, waitFor, stopProcess } from './docker-helpers.js';
import { makeRepo, startGitServer } from './git-helpers.js';
import { root, tempDir } from './helpers.js';

test.serial('serve --repo URL --branch --path --interval follows a repository; --config adds Applications from a file; webhooks lists deliveries', async (t) => {
  await ensureImage();
  const git = await startGitServer();
  const repo = makeRepo(git, 'ops.git');
  repo.write('deploy/a.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: from-repo-flag }\n');
  const sha = await repo.commit('ops');
  const folder = tempDir();
  writeFileSync(path.join(folder, 'b.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: from-config-file }\n');
  const config = path.join(tempDir(), 'apps.yaml');
  writeFileSync(config, `apiVersion: gouvernail.io/v1\nkind: Application\nmetadata: { name: configured }\nspec:\n  source: { path: ${folder} }\n  syncPolicy: { automated: true, interval: 1m }\n`);
  const dataDir = tempDir();
  const serve = spawn(process.execPath, [path.join(root, 'dist', 'src', 'cli', 'main.js'), 'serve', '--repo', git.url('ops.git'), '--branch', 'main', '--path', 'deploy', '--interval', '30s', '--config', config, '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--node-name', 'test-node', ...serveFlags(dataDir), '--insecure-http'], { stdio: 'ignore' });
  t.teardown(async () => {
    await stopProcess(serve);
    await git.close();
    await removeDockerObjects(readFileSync(path.join(dataDir, 'installation-id'), 'utf8').trim());
  });
  const kubeconfig = path.join(dataDir, 'kubeconfig');
  await waitFor('the kubeconfig', async () => existsSync(kubeconfig));
  const client = clientFromKubeconfig(kubeconfig);
  await waitFor('the repository applied', async () => (await client.get('Application', 'default', 'ops'))?.status?.lastAppliedRevision === sha);
  t.truthy(await client.get('ConfigMap', 'default', 'from-repo-flag'));
  const ops = (await client.get('Application', 'default', 'ops'))!;
  t.like(ops.spec.source, { targetRevision: 'main', path: 'deploy' });
  t.is(ops.spec.syncPolicy.interval, '30s');
  await waitFor('the configured Application applied', async () => !!(await client.get('ConfigMap', 'default', 'from-config-file')));
  const hooks = await runCli('webhooks', '--kubeconfig', kubeconfig);
  t.is(hooks.out.trim(), 'No webhook deliveries yet.');
  await fetch(`${client.server}/api/webhooks/github`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'x-github-event': 'push' } });
  t.regex((await runCli('webhooks', '--kubeconfig', kubeconfig)).out, /github\s+-\s+403\s+.*refused: no webhook secret is configured/);

  // A second serve from the same folder is refused before it touches anything; one on the first's
  // port, from another folder, stops what it started and ends with the reason.
  const twice = await runCli('serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--node-name', 'test-node', ...serveFlags(dataDir), '--insecure-http');
  t.is(twice.code, 2, twice.err);
  t.regex(twice.err, new RegExp(`another gouvernail serve \\(pid ${serve.pid}\\) is serving from ${dataDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}; stop it first`));
  const port = new URL(client.server).port;
  const otherDir = tempDir();
  t.teardown(async () => removeDockerObjects(readFileSync(path.join(otherDir, 'installation-id'), 'utf8').trim()));
  const taken = await runCli('serve', '--data-dir', otherDir, '--listen', `127.0.0.1:${port}`, '--node-name', 'test-node', ...serveFlags(otherDir), '--insecure-http');
  t.is(taken.code, 2, taken.err);
  t.regex(taken.err, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: another program \\(another gouvernail serve\\?\\) listens there`));
  t.is((await client.get('Application', 'default', 'ops'))?.status?.lastAppliedRevision, sha, 'the first serve still serves');
});
