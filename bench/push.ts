// bench/push: the time from a signed GitHub webhook's arrival to the first container of the new
// revision running, against creating and starting one container with plain dockerode, in the same
// run. Needs dockerd and git; everything runs on 127.0.0.1.
import Docker from 'dockerode';
import { execFile, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HttpClient } from '../src/api/http-client.js';
import { label } from '../src/runtime/labels.js';
import { serve } from '../src/server/serve.js';
import { gitHttpBackend } from '../src/sync/git-http-backend.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const image = 'gouvernail-example/busybox:1';
const secret = 'bench-push-secret';
const docker = new Docker();
const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));
execFileSync('bash', [path.join(root, 'manifests-example', 'offline', 'build-image.sh'), image], { stdio: 'ignore' });

// A Git server (git http-backend) and a repository with one Deployment.
const gitRoot = tmp('gouvernail-bench-git-');
const gitServer = http.createServer((req, res) => gitHttpBackend(gitRoot, new URL(req.url!, 'http://x').pathname, req, res));
await new Promise<void>((r) => gitServer.listen(0, '127.0.0.1', r));
const repoUrl = `http://127.0.0.1:${(gitServer.address() as { port: number }).port}/bench.git`;
execFileSync('git', ['init', '-q', '--bare', '-b', 'main', path.join(gitRoot, 'bench.git')]);
const work = tmp('gouvernail-bench-work-');
const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args], { cwd: work, encoding: 'utf8' }).trim();
git('init', '-q', '-b', 'main');
git('remote', 'add', 'origin', repoUrl);
const commit = async (round: number) => {
  writeFileSync(path.join(work, 'app.yaml'), `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: app, namespace: default }\nspec:\n  strategy: { type: Recreate }\n  selector: { matchLabels: { app: bench } }\n  template:\n    metadata: { labels: { app: bench } }\n    spec:\n      containers: [{ name: main, image: "${image}", command: ["sleep", "${3600 + round}"] }]\n`);
  git('add', '-A');
  git('commit', '-q', '-m', `round ${round}`);
  await promisify(execFile)('git', ['push', '-q', 'origin', 'main'], { cwd: work });
  return git('rev-parse', 'HEAD');
};

const server = await serve({ dataDir: tmp('gouvernail-bench-push-'), host: '127.0.0.1', port: 0, quiet: true, nodeName: 'bench-node', webhookSecret: secret, insecureHttp: true });
const client = new HttpClient(server.server, server.token);
const ours = `${label.managedBy}=${server.installation}`;
await commit(0);
await client.apply({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'bench', namespace: 'default' }, spec: { source: { repoURL: repoUrl, targetRevision: 'main', path: '.' }, syncPolicy: { automated: true, interval: '1h' } } });
const waitRunning = async (command: string, since: number) => {
  for (;;) {
    const list = await docker.listContainers({ filters: { label: [ours], status: ['running'] } });
    for (const c of list) if (c.Command.includes(command)) return performance.now() - since;
    await new Promise((r) => setTimeout(r, 10));
  }
};
await waitRunning('sleep 3600', performance.now());

const rounds = Number(process.env.ROUNDS ?? 5);
const pushes: number[] = [];
const alone: number[] = [];
for (let round = 1; round <= rounds; round++) {
  const t0 = performance.now();
  const c = await docker.createContainer({ Image: image, Cmd: ['sleep', '60'], Labels: { bench: 'push' } });
  await c.start();
  alone.push(performance.now() - t0);
  await c.remove({ force: true });

  const sha = await commit(round);
  const body = JSON.stringify({ ref: 'refs/heads/main', after: sha, repository: { full_name: 'bench/bench', clone_url: repoUrl, default_branch: 'main' } });
  const arrived = performance.now();
  const res = await fetch(`${server.server}/api/webhooks/github`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': `bench-${round}`, 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` } });
  if (res.status !== 202) throw new Error(`the webhook answered ${res.status}`);
  pushes.push(await waitRunning(`sleep ${3600 + round}`, arrived));
  console.log(`round ${round}: webhook to first new container running ${pushes.at(-1)!.toFixed(0)} ms; one container alone ${alone.at(-1)!.toFixed(0)} ms`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`bench/push: median of ${rounds}: webhook to first new container running ${median(pushes).toFixed(0)} ms; a container created and started alone ${median(alone).toFixed(0)} ms; overhead ${(median(pushes) - median(alone)).toFixed(0)} ms`);
await client.delete('Application', 'default', 'bench');
await client.delete('Deployment', 'default', 'app');
await new Promise((r) => setTimeout(r, 1500));
await server.close();
for (const c of await docker.listContainers({ all: true, filters: { label: [ours] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
gitServer.close();
