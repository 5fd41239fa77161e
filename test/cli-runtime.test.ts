import test from 'ava';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { image, isReady, runCli, startServer, waitFor } from './docker-helpers.js';
import { root } from './helpers.js';

const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');

test.serial('kubectl-style commands against a running server: run, get, logs, exec, scale, rollout, describe, delete', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const k = (cmd: string, ...args: string[]) => runCli(cmd, '--kubeconfig', server.kubeconfig, ...args);

  const run = await k('run', 'hello', '--image', image, '--env', 'GREETING=bonjour', '--', 'sh', '-c', 'echo "$GREETING from hello"; exec sleep 3600');
  t.is(run.code, 0, run.err);
  t.is(run.out.trim(), 'pod/hello created');
  await waitFor('hello ready', async () => {
    const p = await server.client.get('Pod', 'default', 'hello');
    return p && isReady(p);
  });

  const pods = await k('get', 'pods');
  t.regex(pods.out, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nhello\s+1\/1\s+Running\s+0\s+\d+s\n$/);
  const wide = await k('get', 'pods', '-A', '-o', 'wide');
  t.regex(wide.out, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\ndefault\s+hello\s+1\/1\s+Running\s+0\s+\d+s\s+\d+\.\d+\.\d+\.\d+\s+test-node\s+<none>\s+<none>\n(kube-system\s+\S+-test-node\s+1\/1\s+Running\s+.*\n){7}$/);
  const json = JSON.parse((await k('get', 'pod', 'hello', '-o', 'json')).out);
  t.is(json.kind, 'Pod');
  t.is((await k('get', 'nodes')).out.split('\n')[1]!.split(/\s+/).slice(0, 3).join(' '), 'test-node Ready control-plane');
  t.is((await k('get', 'pods', '-o', 'name')).out.trim(), 'pod/hello');

  const logs = await k('logs', 'hello');
  t.is(logs.out, 'bonjour from hello\n');

  const exec = await k('exec', 'hello', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3');
  t.is(exec.code, 3);
  t.is(exec.out, 'out\n');
  t.is(exec.err, 'err\n');

  // stdin is streamed: the answer to the first line arrives before the second is sent.
  const child = spawn(process.execPath, [cli, 'exec', '--kubeconfig', server.kubeconfig, '-i', 'hello', '--', 'sh', '-c', 'while read l; do echo "got $l"; done; exit 7']);
  let streamed = '';
  child.stdout.on('data', (c) => (streamed += c));
  const closed = new Promise<number | null>((r) => child.on('close', r));
  child.stdin.write('one\n');
  await waitFor('the first answer', async () => streamed === 'got one\n', 20_000, 50);
  child.stdin.write('two\n');
  await waitFor('the second answer', async () => streamed === 'got one\ngot two\n', 20_000, 50);
  child.stdin.end();
  t.is(await closed, 7);
  const tty = await k('exec', '-t', 'hello', '--', 'tty');
  t.regex(tty.out, /^\/dev\/pts\/\d+\r?\n$/);
  t.regex((await k('exec', 'hello', '--', 'tty')).out, /not a tty/);

  await server.client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', namespace: 'default' }, stringData: { value: 'very-secret-token' } });
  t.false((await k('get', 'secrets')).out.includes('very-secret'));
  t.false((await k('describe', 'secret', 'token')).out.includes(Buffer.from('very-secret-token').toString('base64')));
  t.regex((await k('describe', 'secret', 'token')).out, /value: <17 bytes>/);
  t.regex((await k('get', 'secret', 'token', '-o', 'yaml')).out, new RegExp(Buffer.from('very-secret-token').toString('base64')));

  await server.client.apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image, command: ['sleep', '3600'] }] } } },
  });
  const status = await k('rollout', 'status', 'deployment', 'web', '--timeout', '60s');
  t.is(status.code, 0, status.err);
  t.regex(status.out, /deployment "web" successfully rolled out/);
  t.is((await k('scale', 'deployment', 'web', '--replicas', '3')).out.trim(), 'deployment.apps/web scaled');
  await k('rollout', 'status', 'deployment', 'web', '--timeout', '60s');
  t.regex((await k('get', 'deploy', 'web')).out, /web\s+3\/3\s+3\s+3\s+/);

  const d = (await server.client.get('Deployment', 'default', 'web'))!;
  d.spec.template.spec.containers[0].command = ['sleep', '3601'];
  await server.client.apply(d);
  await k('rollout', 'status', 'deployment', 'web', '--timeout', '60s');
  t.regex((await k('rollout', 'history', 'deployment', 'web')).out, /REVISION\s+IMAGES\n1\s+gouvernail-example\/busybox:1\n2\s+/);
  t.regex((await k('rollout', 'undo', 'deployment', 'web')).out, /rolled back \(to revision 1\)/);
  await k('rollout', 'status', 'deployment', 'web', '--timeout', '60s');
  t.deepEqual((await server.client.get('Deployment', 'default', 'web'))!.spec.template.spec.containers[0].command, ['sleep', '3600']);
  t.regex((await k('describe', 'deployment', 'web')).out, /Health:\s+Healthy \(3 of 3 replicas available\)/);

  t.is((await k('delete', 'pod', 'hello')).out.trim(), 'pod "hello" deleted');
  const missing = await k('get', 'pod', 'hello');
  t.is(missing.code, 1);
  t.regex(missing.err, /Error from server \(NotFound\): pods "hello" not found/);
});
