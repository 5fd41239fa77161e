import test from 'ava';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { containersOf, execIn, image, isReady, startServer, waitFor } from './docker-helpers.js';
import { root } from './helpers.js';

const nodeImage = 'gouvernail-test/node:1';

/** From inside the Pod: an HTTPS GET to the API as its ServiceAccount, checking the cluster CA and the name. */
const callApi = (apiPath: string) => `
const fs = require('fs'), https = require('https');
const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
https.get({ host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, path: ${JSON.stringify(apiPath)},
  ca: fs.readFileSync(dir + '/ca.crt'), headers: { authorization: 'Bearer ' + fs.readFileSync(dir + '/token', 'utf8') } }, (res) => {
  let body = ''; res.on('data', (c) => body += c); res.on('end', () => { console.log(res.statusCode + ' ' + body); });
}).on('error', (e) => { console.log('error ' + e.message); process.exitCode = 1; });`;

test('a Pod calls the API as its ServiceAccount over TLS it verifies: it may list the Pods of its namespace and nothing else', async (t) => {
  execFileSync('bash', [path.join(root, 'test', 'build-node-image.sh'), nodeImage], { stdio: 'inherit' });
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  const ns = 'sa-test';
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await waitFor('the default ServiceAccount', () => client.get('ServiceAccount', ns, 'default'));
  await client.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'default-view', namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }] });
  await client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'caller', namespace: ns }, spec: { containers: [{ name: 'c', image: nodeImage, command: ['sleep', '3600'] }] } });
  await client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'tokenless', namespace: ns }, spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image, command: ['sleep', '3600'] }] } });
  // Ready, as kubectl wait sees it: its container runs its program, with the Pod's network wired
  // (Docker says running earlier, while the container still waits for its address).
  const running = async (pod: string) => {
    await waitFor(`${pod} ready`, async () => isReady((await client.get('Pod', ns, pod))!));
    return waitFor(`${pod}'s container`, async () => (await containersOf(server.installation, ns)).find((c) => c.Labels['gouvernail.io/pod'] === pod && c.State === 'running'));
  };
  const caller = await running('caller');
  t.is((await execIn(caller.Id, ['cat', '/var/run/secrets/kubernetes.io/serviceaccount/namespace'])).out, ns);
  const call = async (apiPath: string) => (await execIn(caller.Id, ['node', '-e', callApi(apiPath)])).out;

  const listed = await call(`/api/v1/namespaces/${ns}/pods`);
  t.regex(listed, /^200 /);
  t.regex(listed, /"kind":"PodList"/);
  t.regex(listed, /"name":"caller"/);
  t.regex(await call('/api/v1/namespaces/default/pods'), /^403 .*User \\?"system:serviceaccount:sa-test:default\\?" cannot list resource \\?"pods\\?"/);
  t.regex(await call(`/api/v1/namespaces/${ns}/secrets`), /^403 /);

  const tokenless = await running('tokenless');
  t.not((await execIn(tokenless.Id, ['ls', '/var/run/secrets/kubernetes.io/serviceaccount'])).code, 0, 'no token where automountServiceAccountToken is false');

  // The token is bound to the Pod: once the Pod is gone (its container stopped, then the Pod
  // deleted by its node), it opens nothing.
  const token = (await execIn(caller.Id, ['cat', '/var/run/secrets/kubernetes.io/serviceaccount/token'])).out;
  await client.delete('Pod', ns, 'caller');
  await waitFor('the Pod gone', async () => (await client.get('Pod', ns, 'caller')) === undefined, 90_000);
  const refused = await fetchAsToken(server.url, server.ca!, token, `/api/v1/namespaces/${ns}/pods`);
  t.is(refused, 401);
});

async function fetchAsToken(base: string, ca: string, token: string, apiPath: string): Promise<number> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    https.get(`${base}${apiPath}`, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}
