import test from 'ava';
import path from 'node:path';
import { containersOf, docker, execIn, runCli, startServer } from './docker-helpers.js';
import { fixture, root } from './helpers.js';
import { kubectl } from './kubectl-helpers.js';

function apply(kubeconfig: string, dir: string) {
  return runCli('apply', '-f', dir, '--kubeconfig', kubeconfig, '--timeout', '90s');
}

async function startedAt(id: string): Promise<number> {
  return Date.parse((await docker.getContainer(id).inspect()).State.StartedAt);
}

test.serial('a web Pod that exits unless db answers comes up in one apply, db first, with no restart', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const r = await apply(server.kubeconfig, fixture('stack-pods'));
  t.is(r.code, 0, r.out + r.err);
  t.regex(r.out, /wave \d of \d: waiting for Pod\/db-0 is healthy \(depends-on\)/);
  t.regex(r.out, /all objects are healthy/);
  const containers = await containersOf(server.installation, 'stack-pods');
  const db = containers.find((c) => c.Labels['gouvernail.io/pod'] === 'db-0')!;
  const web = containers.find((c) => c.Labels['gouvernail.io/pod'] === 'web')!;
  t.is(web.State, 'running');
  t.is((await docker.getContainer(web.Id).inspect()).RestartCount, 0);
  t.true((await startedAt(db.Id)) < (await startedAt(web.Id)));
  const pod = await server.client.get('Pod', 'stack-pods', 'web');
  t.is(pod!.status.containerStatuses[0].restartCount, 0);
});

test.serial('the offline example of manifests-example comes up the same way', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const r = await apply(server.kubeconfig, path.join(root, 'manifests-example', 'offline'));
  t.is(r.code, 0, r.out + r.err);
  const order = r.out.indexOf('Deployment/demo/db created');
  t.true(order >= 0 && order < r.out.indexOf('Deployment/demo/web created'));
  const containers = await containersOf(server.installation, 'demo');
  const web = containers.filter((c) => c.Labels['gouvernail.io/pod']!.startsWith('web-'));
  t.is(web.length, 2);
  for (const c of web) {
    t.is((await docker.getContainer(c.Id).inspect()).RestartCount, 0);
    const page = await execIn(c.Id, ['wget', '-q', '-O', '-', 'http://127.0.0.1:8080/']);
    t.regex(page.out, /web is up; db says:\ndb is up/);
  }
  // The NodePort Service publishes web on the node, from the port 8080 of its ready Pods.
  const page = await (await fetch('http://127.0.0.1:30081/')).text();
  t.regex(page, /web is up; db says:\ndb is up/);
  const deployment = await server.client.get('Deployment', 'demo', 'web');
  t.like(deployment!.status, { replicas: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2 });
});

test.serial('apply waits for every object of an earlier sync wave to be healthy', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const r = await apply(server.kubeconfig, fixture('sync-waves'));
  t.is(r.code, 0, r.out + r.err);
  t.regex(r.out, /wave 2 of 2: waiting for Pod\/first is healthy \(an earlier sync wave\)[\s\S]*ConfigMap\/second created/);
  const pod = (await server.client.get('Pod', 'default', 'first'))!;
  const cm = (await server.client.get('ConfigMap', 'default', 'second'))!;
  const ready = pod.status.conditions.find((c: { type: string }) => c.type === 'Ready').lastTransitionTime;
  t.true(Date.parse(cm.metadata.creationTimestamp!) >= Date.parse(ready), `${cm.metadata.creationTimestamp} before ${ready}`);
});

test.serial('kubectl apply -f of the offline example brings up the same stack as gouvernail apply', async (t) => {
  const server = await startServer();
  t.teardown(() => server.destroy());
  const k = kubectl(server.kubeconfig);
  const r = await k(['apply', '-f', path.join(root, 'manifests-example', 'offline')]);
  t.is(r.code, 0, r.out + r.err);
  t.regex(r.out, /namespace\/demo created[\s\S]*deployment\.apps\/web created/);
  // kubectl writes everything at once; web's Pods wait (restarting) until db answers, then are ready.
  const waited = await k(['wait', '--for=condition=Available', 'deployment/web', 'deployment/db', '-n', 'demo', '--timeout=150s']);
  t.is(waited.code, 0, waited.out + waited.err);
  const page = await (await fetch('http://127.0.0.1:30081/')).text();
  t.regex(page, /web is up; db says:\ndb is up/);
  const deployment = await server.client.get('Deployment', 'demo', 'web');
  t.like(deployment!.status, { replicas: 2, readyReplicas: 2, availableReplicas: 2 });
});
