import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { resources, resourcePath } from '../src/api/resources.js';
import { clientFromKubeconfig } from '../src/cli/client.js';
import { containersOf, ensureImage, image, removeDockerObjects, startServer, waitFor, serveFlags, stopProcess } from './docker-helpers.js';
import { root, tempDir } from './helpers.js';

const value = 'sw0rdfish-7f3a9c';

test('a Secret value is found nowhere but in the Secret: no other kind, Table, page, metric, audit line or store byte carries it', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vault' } });
  await client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'vault' }, stringData: { password: value } });
  await client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'vault' }, spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'], env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] }] } });
  await waitFor('the Pod running', async () => (await containersOf(server.installation, 'vault')).find((c) => c.State === 'running'));

  const forms = [value, Buffer.from(value).toString('base64')];
  const get = (urlPath: string, accept = 'application/json', auth = `Bearer ${server.token}`) =>
    new Promise<string>((resolve, reject) => {
      https.get(`${server.url}${urlPath}`, { ca: server.ca, headers: { authorization: auth, accept } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
  const carries = (text: string) => forms.some((f) => text.includes(f));

  t.true(carries(await get('/api/v1/namespaces/vault/secrets/db')), 'the Secret itself holds it (the sweep can find it)');
  for (const r of resources.filter((x) => !x.virtual && x.kind !== 'Secret')) {
    t.false(carries(await get(resourcePath(r))), `${r.plural} (JSON)`);
    t.false(carries(await get(resourcePath(r), 'application/json;as=Table;v=v1;g=meta.k8s.io')), `${r.plural} (Table)`);
  }
  t.false(carries(await get('/api/v1/namespaces/vault/secrets', 'application/json;as=Table;v=v1;g=meta.k8s.io')), 'the Secrets Table shows no data');
  t.false(carries(await get('/', 'text/html', `Basic ${Buffer.from(`admin:${server.token}`).toString('base64')}`)), 'the status page');
  t.false(carries(await get('/metrics', 'text/plain')), 'the metrics');
  const audit = path.join(server.dataDir, 'audit.log');
  t.false(existsSync(audit) && carries(readFileSync(audit, 'utf8')), 'the audit log');
  const store = ['state.db', 'state.db-wal'].map((f) => path.join(server.dataDir, f)).filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('');
  t.false(carries(store), 'the SQLite files');
});

test("a Secret value is in none of serve's log lines, even when its Pod and a bad write carry it", async (t) => {
  await ensureImage();
  const dataDir = tempDir();
  let log = '';
  const serve = spawn(process.execPath, [path.join(root, 'dist', 'src', 'cli', 'main.js'), 'serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--node-name', 'test-node', ...serveFlags(dataDir)], { stdio: ['ignore', 'pipe', 'pipe'] });
  serve.stdout!.on('data', (b) => (log += b));
  serve.stderr!.on('data', (b) => (log += b));
  t.teardown(async () => {
    await stopProcess(serve);
    await removeDockerObjects(readFileSync(path.join(dataDir, 'installation-id'), 'utf8').trim()).catch(() => {});
  });
  const kubeconfig = path.join(dataDir, 'kubeconfig');
  await waitFor('serve writes its kubeconfig', async () => existsSync(kubeconfig) || undefined);
  const client = clientFromKubeconfig(kubeconfig);
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vault' } });
  await client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'vault' }, stringData: { password: value } });
  await t.throwsAsync(client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bad', namespace: 'vault' }, data: { password: 42 } } as never));
  await client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'vault' }, spec: { containers: [{ name: 'c', image, command: ['sh', '-c', 'exit 1'], env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] }] } });
  await waitFor('the Pod crash-looping', async () => ((await client.get('Pod', 'vault', 'app'))?.status?.containerStatuses?.[0]?.restartCount ?? 0) > 0 || undefined);
  t.true(log.length > 0, 'serve logged');
  for (const form of [value, Buffer.from(value).toString('base64')]) t.false(log.includes(form));
});
