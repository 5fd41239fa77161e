import test from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, waitFor } from './docker-helpers.js';
import { tempDir } from './helpers.js';

test("an Application that names a ServiceAccount applies as it: a team's folder cannot write another team's namespace", async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const { client } = server;
  for (const ns of ['team-a', 'team-b']) await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: 'team-a' } });
  await client.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'deployer-edit', namespace: 'team-a' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'team-a' }] });
  const dir = tempDir();
  writeFileSync(path.join(dir, 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a, namespace: team-a }\ndata: { x: "1" }\n');
  writeFileSync(path.join(dir, 'b.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: b, namespace: team-b }\ndata: { x: "1" }\n');
  await client.create({ apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'site', namespace: 'team-a' }, spec: { source: { path: dir }, serviceAccountName: 'deployer', syncPolicy: { automated: true, interval: '1h' } } });

  const failed = await waitFor('the sync refused', async () => {
    const a = await client.get('Application', 'team-a', 'site');
    return a?.status?.operation?.phase === 'Failed' ? a : undefined;
  });
  t.regex(failed.status.operation.message, /User "system:serviceaccount:team-a:deployer" cannot \w+ resource "configmaps" in API group "" in the namespace "team-b"/);
  t.is(await client.get('ConfigMap', 'team-b', 'b'), undefined);

  rmSync(path.join(dir, 'b.yaml'));
  await waitFor('the sync of team-a alone', async () => {
    const a = await client.get('Application', 'team-a', 'site');
    return a?.status?.sync?.status === 'Synced' ? a : undefined;
  });
  t.is((await client.get('ConfigMap', 'team-a', 'a'))!.data!.x, '1');
});
