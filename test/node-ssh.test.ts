import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, image, isReady, runCli, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { startEngine, type Engine } from './engines.js';
import { tempDir } from './helpers.js';
import { kubectl } from './kubectl-helpers.js';

/**
 * A node reached over SSH, as `docker -H ssh://` reaches one: a real sshd on this machine whose
 * authorized key may only run `docker system dial-stdio` against a second engine.
 */
let server: TestServer;
let engine: Engine;
let sshd: ChildProcess | undefined;
let sshPort: number;
let key: string;

test.before(async () => {
  const dir = tempDir('gouvernail-sshd-');
  sshPort = await freePort();
  [engine, server] = await Promise.all([startEngine('ssh4', 14, { images: [image] }), startServer()]);
  key = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
  const pub = execFileSync('cat', [`${key}.pub`], { encoding: 'utf8' }).trim();
  writeFileSync(path.join(dir, 'authorized_keys'), `command="DOCKER_HOST=unix://${engine.socket} docker system dial-stdio",no-pty,no-port-forwarding ${pub}\n`, { mode: 0o600 });
  writeFileSync(path.join(dir, 'sshd_config'), [`Port ${sshPort}`, 'ListenAddress 127.0.0.1', `HostKey ${path.join(dir, 'host_key')}`, `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`, `PidFile ${path.join(dir, 'sshd.pid')}`, 'PasswordAuthentication no', 'PermitRootLogin prohibit-password', 'StrictModes no', 'UsePAM no', ''].join('\n'));
  mkdirSync('/run/sshd', { recursive: true });
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: 'ignore' });
  await waitFor('sshd listening', async () => {
    try {
      execFileSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${sshPort}`]);
      return true;
    } catch {
      return false;
    }
  }, 30_000);
});
test.after.always(async () => {
  sshd?.kill();
  await server?.destroy();
  await engine?.destroy();
});

test('a node joined by ssh:// runs Pods, and exec and logs reach them', async (t) => {
  const added = await runCli('node', 'add', 'over-ssh', '--docker', `ssh://root@127.0.0.1:${sshPort}`, '--ssh-key', key, '--kubeconfig', server.kubeconfig);
  t.is(added.code, 0, added.err);
  const k = kubectl(server.kubeconfig);
  await waitFor('the ssh node Ready', async () => (await server.client.get('Node', undefined, 'over-ssh'))?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'), 180_000);
  const node = (await server.client.get('Node', undefined, 'over-ssh'))!;
  t.regex(node.status.nodeInfo.containerRuntimeVersion, /^docker:\/\//);
  t.deepEqual(node.status.addresses[0], { type: 'InternalIP', address: '127.0.0.1' });
  const run = await k(['run', 'far', `--image=${image}`, '--overrides={"spec":{"nodeSelector":{"kubernetes.io/hostname":"over-ssh"}}}', '--command', '--', 'sh', '-c', 'echo over ssh; sleep 3600']);
  t.is(run.code, 0, run.err);
  // Calls to the engine go through sshd and docker system dial-stdio: on a busy machine the first Pod took over a minute.
  await waitFor('the Pod running on the ssh node', async () => isReady((await server.client.get('Pod', 'default', 'far'))!), 180_000).catch(async (err) => {
    t.log((await k(['describe', 'pod', 'far'])).out);
    t.log((await k(['logs', '-n', 'kube-system', 'gouvernail-node-agent-test-node', '--tail=30'])).out);
    throw err;
  });
  t.is((await server.client.get('Pod', 'default', 'far'))!.spec.nodeName, 'over-ssh');
  const containers = (await engine.docker.listContainers({ filters: { label: [`gouvernail.io/managed-by=${server.installation}`] } })).filter((c) => !c.Labels['gouvernail.io/component']);
  t.is(containers.length, 1, 'the container is on the engine behind sshd');
  t.is((await k(['logs', 'far'])).out, 'over ssh\n');
  const exec = await k(['exec', 'far', '--', 'cat', '/etc/hostname']);
  t.is(exec.out.trim(), 'far', exec.err);
  // The key is in a write-only Secret.
  const secret = await server.client.get('Secret', 'kube-system', 'node-over-ssh-docker');
  t.deepEqual(secret!.data, { 'ssh-privatekey': '' });
});
