import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { resources, resourcePath } from '../src/api/resources.js';
import { containersOf, image, startServer, waitFor } from './docker-helpers.js';

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
