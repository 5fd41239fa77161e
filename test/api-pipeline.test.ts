import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ApiServer, type WatchEvent } from '../src/api/api-server.js';
import { TokenAuthenticator } from '../src/api/authenticate.js';
import type { Attributes } from '../src/api/authorize.js';
import { InProcessClient } from '../src/api/client.js';
import { ApiError } from '../src/api/errors.js';
import { identities } from '../src/api/identity.js';
import { impersonationOf } from '../src/api/impersonate.js';
import { jsonPatch, strategicMergePatch } from '../src/api/patch.js';
import { resourceForKind } from '../src/api/resources.js';
import { ObjectStore } from '../src/store/object-store.js';
import { diff } from '../src/diff/diff.js';
import { root, tempDir } from './helpers.js';

function setup(authorize?: (a: Attributes) => boolean) {
  const store = ObjectStore.open(path.join(tempDir(), 'state.db'));
  const seen: Attributes[] = [];
  const api = new ApiServer({ store, authenticator: new TokenAuthenticator([]), authorizer: { authorize: (a) => (seen.push(a), { allowed: authorize ? authorize(a) : true }) } });
  const admin = new InProcessClient(api, identities.admin);
  return { store, api, admin, seen };
}

const pod = (containers: object[]) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'two', namespace: 'default' }, spec: { containers } });
const podSchema = resourceForKind('Pod')!.info.schema;

test('a strategic merge patch that changes one container image keeps the other container', (t) => {
  const live = pod([{ name: 'web', image: 'web:1', env: [{ name: 'A', value: '1' }] }, { name: 'sidecar', image: 'side:1' }]);
  const patched = strategicMergePatch(live, { spec: { containers: [{ name: 'web', image: 'web:2' }] } }, podSchema) as any;
  t.deepEqual(patched.spec.containers, [{ name: 'web', image: 'web:2', env: [{ name: 'A', value: '1' }] }, { name: 'sidecar', image: 'side:1' }]);
});

test('strategic merge patch directives: $patch delete and replace, $retainKeys, $setElementOrder, $deleteFromPrimitiveList, null', (t) => {
  const live = { ...pod([{ name: 'a', image: 'a', ports: [{ containerPort: 80 }, { containerPort: 81 }] }, { name: 'b', image: 'b' }]), metadata: { name: 'two', labels: { x: '1', y: '2' }, finalizers: ['f1', 'f2'] } };
  const out = strategicMergePatch(live, {
    metadata: { labels: { y: null }, $deleteFromPrimitiveList: undefined, '$deleteFromPrimitiveList/finalizers': ['f1'] },
    spec: {
      '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
      containers: [{ name: 'a', ports: [{ containerPort: 80, $patch: 'delete' }] }, { name: 'c', image: 'c' }],
    },
  }, podSchema) as any;
  t.deepEqual(out.metadata.labels, { x: '1' });
  t.deepEqual(out.metadata.finalizers, ['f2']);
  t.deepEqual(out.spec.containers.map((c: { name: string }) => c.name), ['b', 'a', 'c']);
  t.deepEqual(out.spec.containers[1].ports, [{ containerPort: 81 }]);
  const replaced = strategicMergePatch(live, { spec: { containers: [{ name: 'only', image: 'o' }, { $patch: 'replace' }] } }, podSchema) as any;
  t.deepEqual(replaced.spec.containers, [{ name: 'only', image: 'o' }]);
  const retained = strategicMergePatch({ spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } }, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, undefined) as any;
  t.deepEqual(retained.spec.strategy, { type: 'Recreate' });
});

test('JSON patch applies add, replace, remove, move, copy and test, and fails on a failed test', (t) => {
  const out = jsonPatch({ a: { b: [1, 2] }, c: 'x' }, [
    { op: 'add', path: '/a/b/1', value: 9 },
    { op: 'replace', path: '/c', value: 'y' },
    { op: 'copy', from: '/c', path: '/d' },
    { op: 'move', from: '/d', path: '/e' },
    { op: 'remove', path: '/a/b/0' },
    { op: 'test', path: '/e', value: 'y' },
  ]);
  t.deepEqual(out, { a: { b: [9, 2] }, c: 'y', e: 'y' });
  const err = t.throws(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]), { instanceOf: ApiError });
  t.is(err!.code, 422);
});

test('every request passes the authorizer with its identity; a refusal is 403 in Kubernetes words', async (t) => {
  const { admin, api, store, seen } = setup((a) => !(a.identity.user === 'admin' && a.verb === 'delete'));
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const rs = await t.throwsAsync(admin.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r', namespace: 'default' }, spec: {} } as never), { instanceOf: ApiError });
  t.is(rs!.code, 422);
  t.regex(rs!.message, /spec\.selector: is required/);
  await admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: {} });
  const err = await t.throwsAsync(admin.delete('ConfigMap', 'default', 'c'), { instanceOf: ApiError });
  t.is(err!.code, 403);
  t.is(err!.message, 'configmaps "c" is forbidden: User "admin" cannot delete resource "configmaps" in API group "" in the namespace "default"');
  t.truthy(store.get('ConfigMap', 'default', 'c'));
  const scheduler = new InProcessClient(api, identities.scheduler);
  await store.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
  await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i:1' }] } });
  await scheduler.bind('default', 'p', 'n1');
  t.like(seen.at(-1), { verb: 'create', resource: 'pods', subresource: 'binding', name: 'p', identity: identities.scheduler });
  t.is(store.get('Pod', 'default', 'p')!.spec.nodeName, 'n1');
});

test('impersonation: each Impersonate-Group header a group; the user and each group authorized as impersonate; a service account gets its groups; a uid or groups without a user are refused', (t) => {
  const { api, seen } = setup((a) => a.verb !== 'impersonate' || a.name !== 'root');
  const alice = { user: 'alice', groups: ['system:authenticated'] };
  const asked = impersonationOf(['Authorization', 'Bearer x', 'Impersonate-User', 'bob', 'Impersonate-Group', 'ops', 'Impersonate-Group', 'dev, qa'])!;
  t.deepEqual(api.actingAs(alice, asked), { user: 'bob', groups: ['ops', 'dev, qa', 'system:authenticated'], impersonatedBy: alice });
  t.deepEqual(seen.map((a) => [a.verb, a.resource, a.name]), [['impersonate', 'users', 'bob'], ['impersonate', 'groups', 'ops'], ['impersonate', 'groups', 'dev, qa']]);
  t.like(api.actingAs(alice, impersonationOf(['Impersonate-User', 'system:serviceaccount:shop:ci'])!), { groups: ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated'] });
  t.like(seen.at(-1), { verb: 'impersonate', resource: 'serviceaccounts', namespace: 'shop', name: 'ci' });
  t.is(impersonationOf(['Authorization', 'Bearer x']), undefined);
  const refused = (raw: string[]) => t.throws(() => api.actingAs(alice, impersonationOf(raw)), { instanceOf: ApiError })!.message;
  t.regex(refused(['Impersonate-User', 'root']), /users "root" is forbidden: User "alice" cannot impersonate resource "users"/);
  t.regex(refused(['Impersonate-Group', 'ops']), /Impersonate-Group was sent without Impersonate-User/);
  t.regex(refused(['Impersonate-User', 'bob', 'Impersonate-Uid', '42']), /Impersonate-Uid \(kubectl --as-uid\) is not served/);
  t.regex(refused(['Impersonate-User', 'bob', 'impersonate-extra-scopes', 'x']), /Impersonate-Extra-Scopes is not served/);
});

test('admission: a missing namespace is 404, a terminating one refuses new objects, a ReplicaSet is checked whoever writes it', async (t) => {
  const { admin, api } = setup();
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'nowhere' }, data: {} };
  const missing = await t.throwsAsync(admin.create(cm), { instanceOf: ApiError });
  t.like(missing, { code: 404, message: 'namespaces "nowhere" not found' });
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'nowhere' } });
  await admin.create(cm);
  t.true(await admin.delete('Namespace', undefined, 'nowhere'));
  const ns = await admin.get('Namespace', undefined, 'nowhere');
  t.is(ns!.status.phase, 'Terminating');
  const refused = await t.throwsAsync(admin.create({ ...cm, metadata: { name: 'd', namespace: 'nowhere' } }), { instanceOf: ApiError });
  t.is(refused!.code, 403);
  const controller = new InProcessClient(api, identities.controllerManager);
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const rs = await t.throwsAsync(admin.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r', namespace: 'default' }, spec: {} } as never), { instanceOf: ApiError });
  t.is(rs!.code, 422);
  t.regex(rs!.message, /spec\.selector: is required/);
  await t.notThrowsAsync(controller.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r', namespace: 'default' }, spec: { replicas: 0, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } } } } as never));
});

test('server-side apply: a field another manager set is a conflict unless forced; a field the applier drops is removed', async (t) => {
  const { admin, api } = setup();
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const rs = await t.throwsAsync(admin.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r', namespace: 'default' }, spec: {} } as never), { instanceOf: ApiError });
  t.is(rs!.code, 422);
  t.regex(rs!.message, /spec\.selector: is required/);
  const apply = (manager: string, data: Record<string, string>, force = false) =>
    api.handle({ identity: identities.admin, verb: 'patch', resource: resourceForKind('ConfigMap')!, namespace: 'default', name: 'c', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data }, options: { patchType: 'apply', fieldManager: manager, force } });
  t.is(apply('alice', { a: '1', b: '2' }).code, 201);
  const err = t.throws(() => apply('bob', { a: 'other' }), { instanceOf: ApiError });
  t.is(err!.code, 409);
  t.regex(err!.message, /conflict with "alice"/);
  t.is(err!.details!.causes![0]!.field, '.data.a');
  t.is(apply('bob', { a: 'other' }, true).body.data.a, 'other');
  t.deepEqual(apply('alice', { b: '2' }).body.data, { a: 'other', b: '2' }, "alice no longer owns a: bob's value stays");
  t.deepEqual(apply('alice', {}).body.data, { a: 'other' }, 'b, dropped by its only manager, is removed');
});

test('lists page with limit and continue; a watch from a compacted resourceVersion gets 410 Expired', async (t) => {
  const { admin, api, store } = setup();
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const rs = await t.throwsAsync(admin.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r', namespace: 'default' }, spec: {} } as never), { instanceOf: ApiError });
  t.is(rs!.code, 422);
  t.regex(rs!.message, /spec\.selector: is required/);
  for (const n of ['a', 'b', 'c']) await admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n, namespace: 'default' }, data: {} });
  const resource = resourceForKind('ConfigMap')!;
  const page1 = api.handle({ identity: identities.admin, verb: 'list', resource, options: { limit: 2 } }).body;
  t.deepEqual(page1.items.map((o: { metadata: { name: string } }) => o.metadata.name), ['a', 'b']);
  t.is(page1.metadata.remainingItemCount, 1);
  const page2 = api.handle({ identity: identities.admin, verb: 'list', resource, options: { limit: 2, continue: page1.metadata.continue } }).body;
  t.deepEqual(page2.items.map((o: { metadata: { name: string } }) => o.metadata.name), ['c']);
  t.is(page2.metadata.continue, undefined);
  store.compact(1);
  const events: WatchEvent[] = [];
  api.watch({ identity: identities.admin, verb: 'watch', resource, options: { resourceVersion: '1' } }, (e) => events.push(e));
  t.like(events[0], { type: 'ERROR', object: { code: 410, reason: 'Expired' } });
});

test('dry run writes nothing; generateName gets a name', async (t) => {
  const { admin, store } = setup();
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const rs = await t.throwsAsync(admin.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r', namespace: 'default' }, spec: {} } as never), { instanceOf: ApiError });
  t.is(rs!.code, 422);
  t.regex(rs!.message, /spec\.selector: is required/);
  const rv = store.resourceVersion();
  const dry = await admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' }, data: {} }, { dryRun: true });
  t.truthy(dry.metadata.uid);
  t.is(store.resourceVersion(), rv);
  t.is(store.get('ConfigMap', 'default', 'x'), undefined);
  const generated = await admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '', generateName: 'job-', namespace: 'default' }, data: {} });
  t.regex(generated.metadata.name, /^job-[a-z0-9]{5}$/);
});

test('no module of apply/, sync/ or runtime/ imports cli/ or server/: they reach the API through the Client port', (t) => {
  const offenders: string[] = [];
  for (const dir of ['apply', 'sync', 'runtime', 'api', 'store', 'manifest', 'diff', 'health']) {
    for (const file of readdirSync(path.join(root, 'src', dir))) {
      const text = readFileSync(path.join(root, 'src', dir, file), 'utf8');
      for (const m of text.matchAll(/from '(\.\.\/(?:cli|server)\/[^']+)'/g)) offenders.push(`src/${dir}/${file} imports ${m[1]}`);
    }
  }
  t.deepEqual(offenders, []);
});

test('a token written into an Application repoURL is moved into a Secret; no answer carries it', async (t) => {
  const { admin, api, store } = setup();
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const rs = await t.throwsAsync(admin.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r', namespace: 'default' }, spec: {} } as never), { instanceOf: ApiError });
  t.is(rs!.code, 422);
  t.regex(rs!.message, /spec\.selector: is required/);
  const token = 'ghp_S3cr3tT0kenValue';
  const app = { apiVersion: 'gouvernail.io/v1', kind: 'Application', metadata: { name: 'shop', namespace: 'default' }, spec: { source: { repoURL: `https://deploy:${token}@git.example.com/team/shop.git`, path: 'deploy' } } };
  const created = api.handle({ identity: identities.admin, verb: 'create', resource: resourceForKind('Application')!, namespace: 'default', body: app });
  t.false(JSON.stringify(created.body).includes(token));
  t.is(created.body.spec.source.repoURL, 'https://git.example.com/team/shop.git');
  t.deepEqual(created.body.spec.source.credentials, { secretRef: { name: 'shop-repo-credentials' } });
  t.regex(created.warnings.join('\n'), /moved into the Secret shop-repo-credentials/);
  t.false(JSON.stringify(await admin.get('Application', 'default', 'shop')).includes(token));
  t.false(JSON.stringify(await admin.list('Application')).includes(token));
  const secret = store.get('Secret', 'default', 'shop-repo-credentials')!;
  t.is(Buffer.from(secret.data!.password!, 'base64').toString(), token);
  t.is(Buffer.from(secret.data!.username!, 'base64').toString(), 'deploy');
  const changes = store.changesSince(0).filter((c) => c.object.kind === 'Application');
  t.false(JSON.stringify(changes).includes(token), 'nor the change feed');
});

test('LimitRange defaults and bounds containers; ResourceQuota refuses what would pass its limits, with the numbers', async (t) => {
  const { admin } = setup();
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  await admin.create({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'limits', namespace: 'team' }, spec: { limits: [{ type: 'Container', default: { cpu: '200m', memory: '64Mi' }, max: { memory: '256Mi' } }] } } as never);
  await admin.create({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'small', namespace: 'team' }, spec: { hard: { pods: '2', 'requests.memory': '1Gi' } } } as never);
  const pod = (name: string, resources?: object) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'team' }, spec: { containers: [{ name: 'c', image: 'busybox:1', ...(resources ? { resources } : {}) }] } });
  const first = await admin.create(pod('a'));
  t.deepEqual(first.spec.containers[0].resources, { limits: { cpu: '200m', memory: '64Mi' }, requests: { cpu: '200m', memory: '64Mi' } });
  const big = await t.throwsAsync(admin.create(pod('big', { limits: { memory: '1Gi' } })), { instanceOf: ApiError });
  t.is(big!.code, 403);
  t.regex(big!.message, /maximum memory usage per Container is 256Mi, but container "c" has limit 1Gi/);
  await admin.create(pod('b'));
  const third = await t.throwsAsync(admin.create(pod('c')), { instanceOf: ApiError });
  t.is(third!.code, 403);
  t.is(third!.message, 'pods "c" is forbidden: exceeded quota: small, requested: pods=1, used: pods=2, limited: pods=2');
});

test('Priority admission: a Pod gets its class\'s value and preemption policy, or the global default\'s, or 0; an unknown class or a hand-written priority is refused; classes keep their values and the system\'s names', async (t) => {
  const { admin } = setup();
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, spec: {} });
  const cls = (name: string, value: number, extra: Record<string, unknown> = {}) => ({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, ...extra });
  const p = (name: string, spec: Record<string, unknown> = {}) => admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec } });
  t.like((await p('plain')).spec, { priority: 0, preemptionPolicy: 'PreemptLowerPriority' });
  await admin.create(cls('high', 1000, { preemptionPolicy: 'Never' }));
  t.like((await p('high', { priorityClassName: 'high' })).spec, { priority: 1000, preemptionPolicy: 'Never' });
  const unknown = await p('lost', { priorityClassName: 'nope' }).catch((e: ApiError) => e);
  t.is((unknown as ApiError).code, 403);
  t.regex((unknown as ApiError).message, /no PriorityClass with name nope was found/);
  const forged = await p('forged', { priorityClassName: 'high', priority: 5 }).catch((e: ApiError) => e);
  t.regex((forged as ApiError).message, /the integer value of priority \(5\) must not be provided in pod spec; priority admission controller computed 1000/);
  await admin.create(cls('normal', 10, { globalDefault: true }));
  t.like((await p('defaulted')).spec, { priority: 10, priorityClassName: 'normal' });
  t.regex(((await admin.create(cls('another', 20, { globalDefault: true })).catch((e: ApiError) => e)) as ApiError).message, /PriorityClass normal is already marked as default/);
  t.regex(((await admin.create(cls('huge', 2_000_000_000)).catch((e: ApiError) => e)) as ApiError).message, /value: must be no greater than 1000000000/);
  t.regex(((await admin.create(cls('system-mine', 5)).catch((e: ApiError) => e)) as ApiError).message, /'system-' prefix are reserved/);
  const high = (await admin.get('PriorityClass', undefined, 'high'))!;
  t.regex(((await admin.update({ ...high, value: 5 }).catch((e: ApiError) => e)) as ApiError).message, /value: field is immutable/);
});

test('scheduling gates may only be removed once the Pod exists, and none is left on a Pod bound to a node', async (t) => {
  const { admin } = setup();
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, spec: {} });
  const refused = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e: ApiError) => e)) as ApiError | undefined)?.message ?? 'accepted';
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'g', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'x' }], schedulingGates: [{ name: 'a' }, { name: 'b' }] } };
  t.regex(await refused(admin.create({ ...pod, metadata: { ...pod.metadata, name: 'bound' }, spec: { ...pod.spec, nodeName: 'n1' } })), /spec\.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared/);
  await admin.create(pod);
  t.regex(await refused(admin.patch('Pod', 'default', 'g', 'merge', { spec: { schedulingGates: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } })), /spec\.schedulingGates: Forbidden: only deletion is allowed, but found new scheduling gate 'c'/);
  await admin.patch('Pod', 'default', 'g', 'merge', { spec: { schedulingGates: [{ name: 'b' }] } });
  await admin.patch('Pod', 'default', 'g', 'json', [{ op: 'remove', path: '/spec/schedulingGates' }]);
  t.deepEqual((await admin.get('Pod', 'default', 'g'))!.spec.schedulingGates ?? [], []);
});

test('ephemeral containers come only through pods/NAME/ephemeralcontainers, only added, without ports, probes or resources, each naming a container of the Pod; an update that leaves them out keeps them', async (t) => {
  const { admin } = setup();
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, spec: {} });
  const refused = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e: ApiError) => e)) as ApiError | undefined)?.message ?? 'accepted';
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'x' }] } };
  t.regex(await refused(admin.create({ ...pod, spec: { ...pod.spec, ephemeralContainers: [{ name: 'd', image: 'x' }] } })), /spec\.ephemeralContainers: Forbidden: cannot be set on create/);
  await admin.create(pod);
  const add = (containers: object[]) => admin.patch('Pod', 'default', 'p', 'strategic', { spec: { ephemeralContainers: containers } }, { subresource: 'ephemeralcontainers' });
  await add([{ name: 'debugger', image: 'x', targetContainerName: 'app', resources: {} }]);
  t.deepEqual((await admin.get('Pod', 'default', 'p'))!.spec.ephemeralContainers.map((c: { name: string }) => c.name), ['debugger']);
  t.regex(await refused(add([{ name: 'debugger', image: 'y' }])), /existing ephemeral containers "debugger" may not be changed or removed/);
  t.regex(await refused(add([{ name: 'web', image: 'x', ports: [{ containerPort: 80 }] }])), /spec\.ephemeralContainers\[1\]\.ports: Forbidden: cannot be set for an Ephemeral Container/);
  t.regex(await refused(add([{ name: 'big', image: 'x', resources: { limits: { cpu: '1' } } }])), /resources: Forbidden/);
  t.regex(await refused(add([{ name: 'app', image: 'x' }])), /name: Duplicate value: "app"/);
  t.regex(await refused(add([{ name: 'lost', image: 'x', targetContainerName: 'nope' }])), /targetContainerName: Not found: "nope"/);
  t.regex(await refused(add([{ name: 'another', image: 'x' }]).then(() => admin.patch('Pod', 'default', 'p', 'merge', { spec: { containers: [{ name: 'app', image: 'y' }] } }, { subresource: 'ephemeralcontainers' }))), /may only add ephemeral containers/);
  // As the subresource of Kubernetes: the rest of the object is left as it was.
  await admin.patch('Pod', 'default', 'p', 'merge', { metadata: { labels: { a: 'b' } } }, { subresource: 'ephemeralcontainers' });
  t.is((await admin.get('Pod', 'default', 'p'))!.metadata.labels?.a, undefined);
  // The Pod's own update path: what leaves them out keeps them, what changes them is refused.
  const live = (await admin.get('Pod', 'default', 'p'))!;
  const { ephemeralContainers: _dropped, ...rest } = live.spec;
  const updated = await admin.update({ ...live, metadata: { ...live.metadata, labels: { tier: 'web' } }, spec: rest });
  t.deepEqual(updated.spec.ephemeralContainers.map((c: { name: string }) => c.name), ['debugger', 'another']);
  t.regex(await refused(admin.update({ ...updated, spec: { ...updated.spec, ephemeralContainers: [] } })), /may only be changed through the ephemeralcontainers subresource/);
});

test('a manifest applied again keeps what the server and controllers wrote on the live object: a claim\'s volume, its default class, its node and finalizer; the manifest\'s own fields win', async (t) => {
  const { admin } = setup();
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  await admin.create({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'gouvernail.io/local-volume' } as never);
  const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'default', annotations: { team: 'a' } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
  const made = await admin.create(structuredClone(claim));
  t.deepEqual(made.metadata.finalizers, ['kubernetes.io/pvc-protection']);
  // A claim that names no class gets the default one's name (DefaultStorageClass); an empty name asks for none and is kept.
  t.is(made.spec.storageClassName, 'fast');
  const classless = await admin.create({ ...structuredClone(claim), metadata: { name: 'classless', namespace: 'default' }, spec: { ...claim.spec, storageClassName: '' } });
  t.is(classless.spec.storageClassName, '');
  t.deepEqual(diff([claim as never], [made], new Set()).counts.update, 0, 'the class admission named is no drift');
  // What the binder and scheduler write.
  const bound = await admin.update({ ...made, spec: { ...made.spec, volumeName: 'shelf' }, metadata: { ...made.metadata, annotations: { ...made.metadata.annotations, 'volume.kubernetes.io/selected-node': 'n1' } } });
  // The manifest changed in Git (a label added, its own annotation changed): applied over the live claim.
  t.is(await admin.applyKnown({ ...claim, metadata: { ...claim.metadata, labels: { tier: 'db' }, annotations: { team: 'b' } } }, bound), 'configured');
  const after = (await admin.get('PersistentVolumeClaim', 'default', 'data'))!;
  t.is(after.spec.volumeName, 'shelf');
  t.is(after.spec.storageClassName, 'fast');
  t.deepEqual(after.metadata.annotations, { team: 'b', 'volume.kubernetes.io/selected-node': 'n1' });
  t.deepEqual(after.metadata.labels, { tier: 'db' });
  t.deepEqual(after.metadata.finalizers, ['kubernetes.io/pvc-protection']);
});

test('apply over an object someone wrote since it was read reads it again and writes over it, as kubectl apply; other failures are not retried', async (t) => {
  const { admin } = setup();
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { v: '1' } };
  await admin.create(cm);
  const read = (await admin.get('ConfigMap', 'default', 'c'))!;
  // A controller's write in between: what was read is stale.
  await admin.update({ ...read, metadata: { ...read.metadata, labels: { by: 'controller' } } });
  t.is(await admin.applyKnown({ ...cm, data: { v: '2' } }, read), 'configured');
  t.deepEqual((await admin.get('ConfigMap', 'default', 'c'))!.data, { v: '2' });
  // Created by someone else since it was found missing.
  await admin.create({ ...cm, metadata: { name: 'd', namespace: 'default' } });
  t.is(await admin.applyKnown({ ...cm, metadata: { name: 'd', namespace: 'default' }, data: { v: '3' } }, undefined), 'configured');
  t.deepEqual((await admin.get('ConfigMap', 'default', 'd'))!.data, { v: '3' });
  const refused = await t.throwsAsync(admin.applyKnown({ ...cm, metadata: { name: 'e', namespace: 'nowhere' } }, undefined));
  t.is((refused as ApiError).code, 404);
});
