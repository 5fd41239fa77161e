import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { runCli, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { tempDir } from './helpers.js';
import { kubectl } from './kubectl-helpers.js';

let server: TestServer;
test.before(async () => {
  server = await startServer();
  for (const ns of ['shop', 'billing']) await server.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await server.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'card', namespace: 'billing' }, stringData: { number: '4111' } });
});
test.after.always(async () => {
  await server?.destroy();
});

/** `gouvernail token create`, its kubeconfig written to a file. */
async function tokenFor(user: string, ns: string, role: string, ...extra: string[]): Promise<string> {
  const r = await runCli('token', 'create', user, '--namespace', ns, '--role', role, '--kubeconfig', server.kubeconfig, ...extra);
  if (r.code !== 0) throw new Error(`token create failed: ${r.out}${r.err}`);
  const file = path.join(tempDir(), 'kubeconfig');
  writeFileSync(file, r.out);
  return file;
}

test.serial('a token with role edit in shop may deploy there, and is refused Secrets of billing and Nodes; can-i and whoami say so', async (t) => {
  const aliceConfig = await tokenFor('alice', 'shop', 'edit');
  const k = kubectl(aliceConfig);
  const manifest = path.join(tempDir(), 'web.yaml');
  writeFileSync(manifest, `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: gouvernail-example/busybox:1, command: [sleep, '3600'] }] }
`);
  const applied = await k(['apply', '-f', manifest]);
  t.is(applied.code, 0, applied.err);
  t.regex(applied.out, /deployment\.apps\/web created/);

  const secrets = await k(['get', 'secrets', '-n', 'billing']);
  t.is(secrets.code, 1);
  t.regex(secrets.err, /Error from server \(Forbidden\): secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "billing"/);
  const nodes = await k(['get', 'nodes']);
  t.is(nodes.code, 1);
  t.regex(nodes.err, /nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope/);
  t.is((await k(['get', 'secret', 'card', '-n', 'billing', '-o', 'json'])).out, '', 'nothing of the Secret is shown');

  t.is((await k(['auth', 'can-i', 'create', 'deployments', '-n', 'shop'])).out.trim(), 'yes');
  // kubectl top of the namespace's Pods, as metrics-server's aggregated reader role allows it.
  t.is((await k(['auth', 'can-i', 'list', 'pods.metrics.k8s.io', '-n', 'shop'])).out.trim(), 'yes');
  t.is((await k(['auth', 'can-i', 'list', 'pods.metrics.k8s.io', '-n', 'billing'])).out.trim(), 'no');
  const no = await k(['auth', 'can-i', 'get', 'secrets', '-n', 'billing']);
  t.is(no.out.trim(), 'no');
  t.is(no.code, 1);
  t.regex((await k(['auth', 'can-i', '--list', '-n', 'shop'])).out, /^deployments\.apps\s+\[\]\s+\[\]\s+\[create delete deletecollection patch update get list watch\]$/m);
  t.regex((await k(['auth', 'whoami'])).out, /Username\s+alice/);

  // The audit log says who did what, allowed or not.
  const audit = readFileSync(path.join(server.dataDir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.truthy(audit.find((e) => e.user === 'alice' && e.verb === 'list' && e.resource === 'secrets' && e.namespace === 'billing' && e.code === 403));
  t.truthy(audit.find((e) => e.user === 'alice' && e.verb === 'create' && e.resource === 'deployments.apps' && e.namespace === 'shop' && e.code === 201));

  // The status page shows alice what she may read: shop's Application, not billing's, no nodes.
  for (const ns of ['shop', 'billing']) await server.client.create({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: `${ns}-site`, namespace: ns }, spec: { source: { path: tempDir() }, syncPolicy: { automated: false } } });
  const token = /token: (\S+)/.exec(readFileSync(aliceConfig, 'utf8'))![1]!;
  const html = await pageAs(token);
  t.regex(html, /shop\/shop-site/);
  t.notRegex(html, /billing/);
  t.notRegex(html, /<h2>Nodes<\/h2>/);
  t.regex(await pageAs(server.token), /billing\/billing-site[\s\S]*<h2>Nodes<\/h2>/, 'the admin sees everything');
});

/** A GET over HTTPS with these headers: its status and body. */
function get(at: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(`${server.url}${at}`, { ca: server.ca, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** The status page over HTTPS, with a token as the Basic password. */
async function pageAs(token: string): Promise<string> {
  const page = await get('/', { authorization: `Basic ${Buffer.from(`viewer:${token}`).toString('base64')}` });
  if (page.status !== 200) throw new Error(`HTTP ${page.status}: ${page.body}`);
  return page.body;
}

test.serial('kubectl --as and --as-group act as another user when the requester may impersonate; others are refused; the audit log names both', async (t) => {
  const admin = kubectl(server.kubeconfig);
  // The admin (cluster-admin) may impersonate anyone, and then has only that identity's rights.
  const asDave = await admin(['get', 'pods', '-n', 'shop', '--as=dave']);
  t.is(asDave.code, 1);
  t.regex(asDave.err, /pods is forbidden: User "dave" cannot list resource "pods" in API group "" in the namespace "shop"/);
  t.is((await admin(['auth', 'can-i', 'get', 'secrets', '-n', 'billing', '--as=dave'])).out.trim(), 'no');
  t.is((await admin(['auth', 'can-i', 'get', 'secrets', '-n', 'billing', '--as=dave', '--as-group=system:masters'])).out.trim(), 'yes');
  t.regex((await admin(['auth', 'whoami', '--as=system:serviceaccount:shop:builder'])).out, /Username\s+system:serviceaccount:shop:builder\nGroups\s+\[system:serviceaccounts system:serviceaccounts:shop system:authenticated\]/);
  const uid = await admin(['get', 'pods', '-n', 'shop', '--as=dave', '--as-uid=1234']);
  t.is(uid.code, 1);
  t.regex(uid.err, /Impersonate-Uid \(kubectl --as-uid\) is not served/);
  // An editor of shop may not impersonate: nothing is done, as anyone.
  const erinConfig = await tokenFor('erin', 'shop', 'edit');
  const refused = await kubectl(erinConfig)(['get', 'secrets', '-n', 'billing', '--as=admin', '--as-group=system:masters']);
  t.is(refused.code, 1);
  t.regex(refused.err, /Error from server \(Forbidden\)/);
  // (kubectl's discovery, refused first, prints the refusal as "unknown", as it does with Kubernetes.)
  const token = /token: (\S+)/.exec(readFileSync(erinConfig, 'utf8'))![1]!;
  const answer = await get('/api/v1/namespaces/billing/secrets', { authorization: `Bearer ${token}`, 'impersonate-user': 'admin' });
  t.is(answer.status, 403);
  t.regex(answer.body, /users \\"admin\\" is forbidden: User \\"erin\\" cannot impersonate resource \\"users\\" in API group \\"\\" at the cluster scope/);
  const audit = readFileSync(path.join(server.dataDir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.truthy(audit.find((e) => e.user === 'admin' && e.impersonatedUser?.user === 'dave' && e.verb === 'list' && e.resource === 'pods' && e.code === 403));
  t.false(audit.some((e) => e.user === 'erin' && e.resource === 'secrets'), 'a refused impersonation reaches no resource');
});

test.serial('a view token cannot write; a revoked or expired token is refused', async (t) => {
  const viewer = kubectl(await tokenFor('bob', 'shop', 'view'));
  t.is((await viewer(['get', 'deployments', '-n', 'shop'])).code, 0);
  const del = await viewer(['delete', 'deployment', 'web', '-n', 'shop']);
  t.is(del.code, 1);
  t.regex(del.err, /User "bob" cannot delete resource "deployments" in API group "apps" in the namespace "shop"/);

  const listed = await runCli('token', 'list', '--kubeconfig', server.kubeconfig);
  t.regex(listed.out, /bob\s+[0-9a-f]{10}\s+view in shop\s+never/);
  t.regex((await runCli('token', 'revoke', 'bob', '--kubeconfig', server.kubeconfig)).out, /revoked 1 token of bob/);
  const after = await viewer(['get', 'deployments', '-n', 'shop']);
  t.is(after.code, 1);
  t.regex(after.err, /Unauthorized|must be logged in/);

  const brief = kubectl(await tokenFor('carol', 'shop', 'view', '--ttl', '2s'));
  t.is((await brief(['get', 'deployments', '-n', 'shop'])).code, 0, 'valid before its expiry');
  const expired = await waitFor('the expired token to be refused', async () => {
    const r = await brief(['get', 'deployments', '-n', 'shop']);
    return r.code === 1 ? r : undefined;
  });
  t.regex(expired.err, /Unauthorized|must be logged in/);
});

test.serial('a client certificate signed by the cluster CA authenticates its CN and groups; RBAC binds the group', async (t) => {
  const r = await runCli('cert', 'create', 'dana', '--group', 'ops', '--data-dir', server.dataDir);
  t.is(r.code, 0, r.err);
  const file = path.join(tempDir(), 'kubeconfig');
  writeFileSync(file, r.out);
  const k = kubectl(file);
  const whoami = (await k(['auth', 'whoami'])).out;
  t.regex(whoami, /Username\s+dana/);
  t.regex(whoami, /Groups\s+\[ops system:authenticated\]/);
  const before = await k(['get', 'deployments', '-n', 'shop']);
  t.is(before.code, 1);
  t.regex(before.err, /User "dana" cannot list resource "deployments"/);
  await server.client.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'ops-view' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'ops' }] });
  const after = await k(['get', 'deployments', '-n', 'shop']);
  t.is(after.code, 0, after.err);
  t.regex(after.out, /^web\s/m);
});
