import test from 'ava';
import { image, startServer, waitFor, type TestServer } from './docker-helpers.js';
import { kubectl } from './kubectl-helpers.js';

let server: TestServer;
test.before(async () => {
  server = await startServer();
});
test.after.always(async () => {
  await server?.destroy();
});

const components = ['kube-apiserver', 'kube-scheduler', 'kube-controller-manager', 'gouvernail-node-agent', 'gouvernail-application-controller', 'gouvernail-service-proxy'];

test.serial("kubectl get pods -n kube-system lists serve's own components, Running and read-only; kubectl logs streams each one's lines", async (t) => {
  const k = kubectl(server.kubeconfig, '1.33');
  const listed = await k(['get', 'pods', '-n', 'kube-system']);
  t.is(listed.code, 0, listed.err);
  for (const c of components) t.regex(listed.out, new RegExp(`^${c}-test-node\\s+1/1\\s+Running\\s+0\\s+\\d+s`, 'm'));
  const wide = await k(['get', 'pods', '-n', 'kube-system', '-o', 'wide']);
  t.regex(wide.out, /kube-scheduler-test-node\s+1\/1\s+Running\s+0\s+\S+\s+127\.0\.0\.1\s+test-node/);

  const refused = await k(['delete', 'pod', '-n', 'kube-system', 'kube-scheduler-test-node']);
  t.not(refused.code, 0);
  t.regex(refused.err, /is part of gouvernail serve itself and is read-only/);
  const patched = await k(['label', 'pod', '-n', 'kube-system', 'kube-apiserver-test-node', 'x=y']);
  t.not(patched.code, 0);

  // The scheduler's log, followed: a Pod created afterwards shows up in it.
  const podName = `scheduled-${Date.now().toString(36)}`;
  const follow = k.spawn(['logs', '-f', '-n', 'kube-system', 'kube-scheduler-test-node']);
  await server.client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace: 'default' }, spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'] }] } });
  await waitFor("the binding in the scheduler log", async () => follow.output().split("\n").some((l) => l.includes("Successfully bound pod to node") && l.includes(`default/${podName}`)));
  follow.proc.kill();
  const agent = await k(['logs', '-n', 'kube-system', 'gouvernail-node-agent-test-node', '--tail=50']);
  t.is(agent.code, 0, agent.err);
  await waitFor('the node agent starting the container', async () => /started container/.test((await k(['logs', '-n', 'kube-system', 'gouvernail-node-agent-test-node'])).out)).catch(async (err) => {
    t.log((await k(['logs', '-n', 'kube-system', 'gouvernail-node-agent-test-node'])));
    t.log(JSON.stringify((await server.client.get('Pod', 'default', podName))?.status));
    throw err;
  });
  const described = await k(['describe', 'pod', '-n', 'kube-system', 'kube-controller-manager-test-node']);
  t.regex(described.out, /Status:\s+Running/);
});

test.serial('a restart of serve shows as a restart of every component', async (t) => {
  const dataDir = server.dataDir;
  await server.close();
  server = await startServer(dataDir);
  const k = kubectl(server.kubeconfig, '1.33');
  const listed = await k(['get', 'pods', '-n', 'kube-system']);
  for (const c of components) t.regex(listed.out, new RegExp(`^${c}-test-node\\s+1/1\\s+Running\\s+1 \\(\\S+ ago\\)|^${c}-test-node\\s+1/1\\s+Running\\s+1\\s`, 'm'));
});
