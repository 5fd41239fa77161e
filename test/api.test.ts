import test from 'ava';
import http from 'node:http';
import path from 'node:path';
import { buildApi } from '../src/server/app.js';
import { ObjectStore } from '../src/store/object-store.js';
import { tempDir } from './helpers.js';

const token = 'test-token-0123456789';
const auth = { authorization: `Bearer ${token}` };

function setup() {
  const store = ObjectStore.open(path.join(tempDir(), 'state.db'));
  for (const name of ['default', 'other']) store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: {} });
  const app = buildApi({ store, tokens: [token] });
  return { store, app };
}

const cm = (name: string, data: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

test('a request without a valid bearer token is refused with a 401 Status', async (t) => {
  const { app } = setup();
  for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'Basic abc' }]) {
    for (const [method, url] of [['GET', '/api/v1/namespaces/default/pods'], ['GET', '/api'], ['GET', '/openapi/v3'], ['GET', '/api/v1/webhook-deliveries'], ['POST', '/api/v1/applications/shop/sync'], ['POST', '/api/v1/applications/shop/rollback']] as const) {
      const r = await app.inject({ method, url, headers });
      t.is(r.statusCode, 401, `${method} ${url}`);
      t.like(r.json(), { kind: 'Status', reason: 'Unauthorized', code: 401 });
    }
  }
});

test('/healthz, /livez and /readyz answer ok to anyone, as Kubernetes does', async (t) => {
  const { app } = setup();
  for (const url of ['/healthz', '/livez', '/readyz']) {
    const r = await app.inject({ method: 'GET', url });
    t.is(r.statusCode, 200, url);
    t.is(r.body, 'ok', url);
  }
});

test('health checks are named as Kubernetes names them: ?verbose lists them, one can be asked for or excluded, and a store that fails makes them 500 without its reason', async (t) => {
  const { app, store } = setup();
  const verbose = await app.inject({ method: 'GET', url: '/readyz?verbose' });
  t.is(verbose.statusCode, 200);
  t.is(verbose.body, '[+]ping ok\n[+]store ok\nreadyz check passed\n');
  t.is((await app.inject({ method: 'GET', url: '/livez/store' })).body, 'ok');
  t.is((await app.inject({ method: 'GET', url: '/livez/nothing' })).statusCode, 404);
  store.close();
  const failed = await app.inject({ method: 'GET', url: '/readyz' });
  t.is(failed.statusCode, 500);
  t.is(failed.body, '[+]ping ok\n[-]store failed: reason withheld\nreadyz check failed\n');
  t.is((await app.inject({ method: 'GET', url: '/healthz/store' })).statusCode, 500);
  const excluded = await app.inject({ method: 'GET', url: '/livez?verbose&exclude=store' });
  t.is(excluded.statusCode, 200);
  t.is(excluded.body, '[+]ping ok\n[+]store excluded: ok\nlivez check passed\n');
});

test('create, get, list, update with resourceVersion, merge patch and delete, in Kubernetes shapes', async (t) => {
  const { app } = setup();
  const url = '/api/v1/namespaces/default/configmaps';
  const created = await app.inject({ method: 'POST', url, headers: auth, payload: cm('settings', { a: '1' }) });
  t.is(created.statusCode, 201);
  const obj = created.json();
  t.is(obj.metadata.namespace, 'default');
  t.truthy(obj.metadata.uid);

  const again = await app.inject({ method: 'POST', url, headers: auth, payload: cm('settings') });
  t.is(again.statusCode, 409);
  t.like(again.json(), { reason: 'AlreadyExists' });

  const got = await app.inject({ method: 'GET', url: `${url}/settings`, headers: auth });
  t.deepEqual(got.json().data, { a: '1' });

  const updated = await app.inject({ method: 'PUT', url: `${url}/settings`, headers: auth, payload: { ...obj, data: { a: '2' } } });
  t.is(updated.statusCode, 200);
  const stale = await app.inject({ method: 'PUT', url: `${url}/settings`, headers: auth, payload: { ...obj, data: { a: '3' } } });
  t.is(stale.statusCode, 409);
  t.like(stale.json(), { reason: 'Conflict' });

  const patched = await app.inject({ method: 'PATCH', url: `${url}/settings`, headers: { ...auth, 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ data: { b: 'x', a: null } }) });
  t.is(patched.statusCode, 200);
  t.deepEqual(patched.json().data, { b: 'x' });

  await app.inject({ method: 'POST', url: '/api/v1/namespaces/other/configmaps', headers: auth, payload: { ...cm('elsewhere'), metadata: { name: 'elsewhere', labels: { team: 'a' } } } });
  const listed = await app.inject({ method: 'GET', url: '/api/v1/configmaps?labelSelector=team%3Da', headers: auth });
  t.is(listed.json().kind, 'ConfigMapList');
  t.deepEqual(listed.json().items.map((o: { metadata: { name: string } }) => o.metadata.name), ['elsewhere']);
  const inNs = await app.inject({ method: 'GET', url: `${url}?fieldSelector=metadata.name%3Dsettings`, headers: auth });
  t.is(inNs.json().items.length, 1);

  const deleted = await app.inject({ method: 'DELETE', url: `${url}/settings`, headers: auth });
  t.is(deleted.statusCode, 200);
  const gone = await app.inject({ method: 'GET', url: `${url}/settings`, headers: auth });
  t.is(gone.statusCode, 404);
  t.like(gone.json(), { kind: 'Status', reason: 'NotFound', message: 'configmaps "settings" not found' });
});

test('admission refuses an invalid object with 422 naming the field, and defaults a valid one', async (t) => {
  const { app } = setup();
  const bad = await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments', headers: auth, payload: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web' }] } } } } });
  t.is(bad.statusCode, 422);
  t.regex(bad.json().message, /spec\.template\.spec\.containers\[0\]\.image: is required/);
  const good = await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments', headers: auth, payload: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox:1' }] } } } } });
  t.is(good.statusCode, 201);
  t.is(good.json().spec.replicas, 1);
  t.is(good.json().spec.strategy.rollingUpdate.maxSurge, '25%');
  // A ReplicaSet written by hand is taken (and defaulted), as Kubernetes takes it.
  const rs = await app.inject({ method: 'POST', url: '/apis/apps/v1/namespaces/default/replicasets', headers: auth, payload: { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'x' }, spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'x', image: 'busybox:1' }] } } } } });
  t.is(rs.statusCode, 201);
  t.is(rs.json().spec.replicas, 1);
});

test('an autoscaling/v1 HPA is served beside v2: written, read, patched and listed as v1, stored as v2', async (t) => {
  const { app } = setup();
  const v1 = '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers';
  const v2 = '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers';
  const hpa = { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 4, targetCPUUtilizationPercentage: 50 } };
  const created = await app.inject({ method: 'POST', url: v1, headers: auth, payload: hpa });
  t.is(created.statusCode, 201);
  t.like(created.json(), { apiVersion: 'autoscaling/v1', spec: { minReplicas: 1, maxReplicas: 4, targetCPUUtilizationPercentage: 50 } });
  const stored = (await app.inject({ method: 'GET', url: `${v2}/web`, headers: auth })).json();
  t.deepEqual(stored.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }]);
  // A merge patch applies to the v1 object; a v2 writer's memory metric stays, kept for v1 in an annotation.
  const withMemory = await app.inject({ method: 'PATCH', url: `${v2}/web`, headers: { ...auth, 'content-type': 'application/merge-patch+json' }, payload: { spec: { metrics: [...stored.spec.metrics, { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '64Mi' } } }] } } });
  t.is(withMemory.statusCode, 200);
  const patched = await app.inject({ method: 'PATCH', url: `${v1}/web`, headers: { ...auth, 'content-type': 'application/merge-patch+json' }, payload: { spec: { targetCPUUtilizationPercentage: 70 } } });
  t.is(patched.statusCode, 200);
  t.is(patched.json().spec.targetCPUUtilizationPercentage, 70);
  t.deepEqual((await app.inject({ method: 'GET', url: `${v2}/web`, headers: auth })).json().spec.metrics.map((m: any) => [m.resource.name, m.resource.target.averageUtilization ?? m.resource.target.averageValue]), [['cpu', 70], ['memory', '64Mi']]);
  const list = (await app.inject({ method: 'GET', url: v1, headers: auth })).json();
  t.like(list, { kind: 'HorizontalPodAutoscalerList', apiVersion: 'autoscaling/v1', items: [{ apiVersion: 'autoscaling/v1', spec: { targetCPUUtilizationPercentage: 70 } }] });
  const table = (await app.inject({ method: 'GET', url: v1, headers: { ...auth, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } })).json();
  t.deepEqual(table.rows[0].cells.slice(0, 3), ['web', 'Deployment/web', 'cpu: <unknown>/70%, memory: <unknown>/64Mi']);
  // Its own fields are checked, with its own paths; the group says v2 first, as Kubernetes prefers it.
  const bad = await app.inject({ method: 'PUT', url: `${v1}/web`, headers: auth, payload: { ...list.items[0], spec: { ...list.items[0].spec, targetCPUUtilizationPercentage: 0 } } });
  t.is(bad.statusCode, 422);
  t.regex(bad.json().message, /spec\.targetCPUUtilizationPercentage: must be at least 1/);
  const groups = (await app.inject({ method: 'GET', url: '/apis', headers: auth })).json();
  t.like(groups.groups.find((g: any) => g.name === 'autoscaling'), { versions: [{ version: 'v2' }, { version: 'v1' }], preferredVersion: { version: 'v2' } });
});

test("a Pod's ServiceAccount and node cannot change once it is made; its containers can", async (t) => {
  const { app } = setup();
  const url = '/api/v1/namespaces/default/pods';
  const made = await app.inject({ method: 'POST', url, headers: auth, payload: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { nodeName: 'a', containers: [{ name: 'web', image: 'busybox:1' }] } } });
  t.is(made.statusCode, 201);
  const patch = (spec: object) => app.inject({ method: 'PATCH', url: `${url}/web`, headers: { ...auth, 'content-type': 'application/merge-patch+json' }, payload: { spec } });
  const account = await patch({ serviceAccountName: 'bot' });
  t.is(account.statusCode, 422);
  t.regex(account.json().message, /Pod "web" is invalid: spec\.serviceAccountName: Forbidden: field is immutable on a Pod; delete the Pod and create it again/);
  t.is((await patch({ nodeName: 'b' })).statusCode, 422);
  const image = await patch({ containers: [{ name: 'web', image: 'busybox:2' }] });
  t.is(image.statusCode, 200, image.body);
  t.is(image.json().spec.containers[0].image, 'busybox:2');
});

test('watch streams newline-delimited events and resumes from a resourceVersion', async (t) => {
  const { app, store } = setup();
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  store.create({ ...cm('one'), metadata: { name: 'one', namespace: 'default' } } as never);
  const rv = store.resourceVersion();
  store.create({ ...cm('two'), metadata: { name: 'two', namespace: 'default' } } as never);

  const events: { type: string; object: { metadata: { name: string } } }[] = [];
  await new Promise<void>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`, headers: auth }, (res) => {
      t.is(res.statusCode, 200);
      let buffer = '';
      res.on('data', (chunk) => {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
          if (events.length === 1) {
            store.delete('ConfigMap', 'default', 'one');
            store.create({ ...cm('elsewhere'), metadata: { name: 'elsewhere', namespace: 'other' } } as never);
            store.create({ ...cm('three'), metadata: { name: 'three', namespace: 'default' } } as never);
          }
          if (events.length === 3) {
            req.destroy();
            resolve();
          }
        }
      });
    });
    req.on('error', (err) => ((err as { code?: string }).code === 'ECONNRESET' ? resolve() : reject(err)));
  });
  t.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED two', 'DELETED one', 'ADDED three']);
});

test('a watch answers at once, before any event: a client waiting for its answer is not held until one comes', async (t) => {
  t.timeout(40_000);
  const { app, store } = setup();
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  const rv = store.resourceVersion();
  const answered = await new Promise<{ status?: number; first: Promise<string> }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`, headers: auth }, (res) => {
      // Only once the answer has begun is there an event to send.
      const first = new Promise<string>((done) => res.once('data', (chunk) => done(String(chunk))));
      resolve({ status: res.statusCode, first });
      store.create({ ...cm('after'), metadata: { name: 'after', namespace: 'default' } } as never);
    });
    // Before the server is closed (teardowns run last first): an open watch would hold it.
    t.teardown(() => req.destroy());
    req.on('error', reject);
    // Far below the stream's 30 s keep-alive write, which would otherwise be its first byte.
    setTimeout(() => reject(new Error('the watch sent no answer within 15 s of being asked, while no event was due')), 15_000).unref();
  });
  t.is(answered.status, 200);
  t.like(JSON.parse(await answered.first), { type: 'ADDED', object: { metadata: { name: 'after' } } });
});

test('a NodePort Service without a nodePort gets a free one, passing over LoadBalancer ports; a taken one is refused', async (t) => {
  const { app } = setup();
  const svc = (name: string, nodePort?: number) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { type: 'NodePort', selector: { app: name }, ports: [{ port: 80, ...(nodePort ? { nodePort } : {}) }] } });
  const url = '/api/v1/namespaces/default/services';
  const a = await app.inject({ method: 'POST', url, headers: auth, payload: svc('a', 30000) });
  t.is(a.statusCode, 201);
  const b = await app.inject({ method: 'POST', url, headers: auth, payload: svc('b') });
  t.is(b.json().spec.ports[0].nodePort, 30001);
  const c = await app.inject({ method: 'POST', url, headers: auth, payload: svc('c', 30001) });
  t.is(c.statusCode, 422);
  t.regex(c.json().message, /30001 is already allocated/);
  // A LoadBalancer's own port is on the nodes' addresses too: the next free nodePort passes over it.
  const lb = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', selector: { app: 'lb' }, ports: [{ port: 30002, nodePort: 30010 }] } };
  t.is((await app.inject({ method: 'POST', url, headers: auth, payload: lb })).statusCode, 201);
  t.is((await app.inject({ method: 'POST', url, headers: auth, payload: svc('d') })).json().spec.ports[0].nodePort, 30003);
});

test('a deleted Pod on a node stays, Terminating, for its grace period (its own or the one asked for); forced, or on no node, it goes at once', async (t) => {
  const { store, app } = setup();
  store.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} });
  const pod = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...extra } });
  const url = '/api/v1/namespaces/default/pods';
  for (const [name, extra] of [['bound', { nodeName: 'n1', terminationGracePeriodSeconds: 12 }], ['quick', { nodeName: 'n1' }], ['forced', { nodeName: 'n1' }], ['unscheduled', {}], ['lost', { nodeName: 'gone-node' }]] as const) {
    t.is((await app.inject({ method: 'POST', url, headers: auth, payload: pod(name, extra) })).statusCode, 201, name);
  }
  const del = (name: string, query = '', payload?: object) => app.inject({ method: 'DELETE', url: `${url}/${name}${query}`, headers: auth, ...(payload ? { payload } : {}) });

  const before = Date.now();
  const r = await del('bound');
  t.is(r.statusCode, 200);
  t.is(r.json().kind, 'Pod', 'the Pod itself comes back, as it is not gone yet');
  const kept = store.get('Pod', 'default', 'bound')!;
  t.is(kept.metadata.deletionGracePeriodSeconds, 12, "the Pod's own terminationGracePeriodSeconds");
  t.true(Date.parse(kept.metadata.deletionTimestamp!) >= before + 11_000, 'deletionTimestamp is when the grace period ends');
  // Deleting it again changes nothing, nor does a longer period; a shorter one moves the deadline
  // to the first delete's time plus the new period; force (grace 0) lets it go now.
  t.is((await del('bound')).statusCode, 200);
  t.is((await del('bound', '?gracePeriodSeconds=60')).statusCode, 200);
  t.deepEqual(store.get('Pod', 'default', 'bound')!.metadata, kept.metadata);
  const shorter = await del('bound', '', { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 2 });
  t.is(shorter.statusCode, 200);
  t.is(shorter.json().metadata.deletionGracePeriodSeconds, 2);
  t.is(Date.parse(shorter.json().metadata.deletionTimestamp), Date.parse(kept.metadata.deletionTimestamp!) - 10_000);
  t.is(store.get('Pod', 'default', 'bound')!.metadata.deletionGracePeriodSeconds, 2);
  t.is((await del('bound', '?gracePeriodSeconds=0')).statusCode, 200);
  t.is(store.get('Pod', 'default', 'bound'), undefined);

  // The grace period of the request (DeleteOptions in the body, as kubectl sends it) wins.
  await del('quick', '', { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 2 });
  t.is(store.get('Pod', 'default', 'quick')?.metadata.deletionGracePeriodSeconds, 2);
  await del('forced', '', { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 });
  t.is(store.get('Pod', 'default', 'forced'), undefined);
  // Nothing runs these: gone at once.
  for (const name of ['unscheduled', 'lost']) {
    t.is((await del(name)).statusCode, 200);
    t.is(store.get('Pod', 'default', name), undefined, name);
  }
  const bad = await del('quick', '?gracePeriodSeconds=-1');
  t.is(bad.statusCode, 400);
  t.regex(bad.json().message, /gracePeriodSeconds must be a non-negative integer/);
});

test("a Pod deleted in the foreground stays, when its finalizer goes, until its node says its containers are gone; the node's word while the finalizer holds it is kept", async (t) => {
  const { store, app } = setup();
  store.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} });
  const url = '/api/v1/namespaces/default/pods';
  for (const name of ['fg', 'fg-stopped']) {
    t.is((await app.inject({ method: 'POST', url, headers: auth, payload: { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } } })).statusCode, 201);
    t.is((await app.inject({ method: 'DELETE', url: `${url}/${name}`, headers: auth, payload: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' } })).statusCode, 200);
    t.deepEqual(store.get('Pod', 'default', name)?.metadata.finalizers, ['foregroundDeletion']);
  }
  // The garbage collector lets go of it (a Pod has no dependents): its containers may still be stopping.
  const release = (name: string) => app.inject({ method: 'PATCH', url: `${url}/${name}`, headers: { ...auth, 'content-type': 'application/merge-patch+json' }, payload: { metadata: { finalizers: null } } });
  t.is((await release('fg')).statusCode, 200);
  t.is(store.get('Pod', 'default', 'fg')?.metadata.deletionGracePeriodSeconds, 30, 'still there, Terminating');
  // Its node's delete (grace 0, once the containers have stopped) lets it go.
  t.is((await app.inject({ method: 'DELETE', url: `${url}/fg?gracePeriodSeconds=0`, headers: auth })).statusCode, 200);
  t.is(store.get('Pod', 'default', 'fg'), undefined);

  // The other way round: the node is done first, the finalizer still holds it; it goes with the finalizer.
  t.is((await app.inject({ method: 'DELETE', url: `${url}/fg-stopped?gracePeriodSeconds=0`, headers: auth })).statusCode, 200);
  t.is(store.get('Pod', 'default', 'fg-stopped')?.metadata.deletionGracePeriodSeconds, 0);
  t.is((await release('fg-stopped')).statusCode, 200);
  t.is(store.get('Pod', 'default', 'fg-stopped'), undefined);
});

test('over HTTP, a delete carries its uid precondition: a different uid is a conflict and nothing is deleted', async (t) => {
  const { store, app } = setup();
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const { HttpClient } = await import('../src/api/http-client.js');
  const client = new HttpClient(address, token);
  store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept', namespace: 'default' }, data: {} });
  const uid = store.get('ConfigMap', 'default', 'kept')!.metadata.uid!;
  const refused = await client.delete('ConfigMap', 'default', 'kept', { preconditions: { uid: 'not-its-uid' } }).catch((err: Error & { code?: number }) => err);
  t.is((refused as { code?: number }).code, 409);
  t.regex((refused as Error).message, /Precondition failed: UID in precondition: not-its-uid/);
  t.truthy(store.get('ConfigMap', 'default', 'kept'));
  t.true(await client.delete('ConfigMap', 'default', 'kept', { preconditions: { uid } }));
  t.is(store.get('ConfigMap', 'default', 'kept'), undefined);
});
