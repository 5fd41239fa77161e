import test from 'ava';
import { startServer, waitFor } from './docker-helpers.js';
import { kubectl } from './kubectl-helpers.js';

test('each node renews its Lease in kube-node-lease, as kubectl describe node shows; a Lease serves leader election as client-go takes one: one holder at a time', async (t) => {
  const server = await startServer(undefined, { heartbeatMs: 1000 });
  t.teardown(() => server.destroy());
  const k = kubectl(server.kubeconfig);
  const lease = () => server.client.get('Lease', 'kube-node-lease', 'test-node');
  const first = await waitFor('the node\'s Lease', lease);
  t.is(first.spec.holderIdentity, 'test-node');
  t.is(first.spec.leaseDurationSeconds, 40);
  t.regex(first.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  t.like(first.metadata.ownerReferences![0], { kind: 'Node', name: 'test-node' });
  await waitFor('a renewal', async () => (await lease())!.spec.renewTime > first.spec.renewTime);
  const described = await k(['describe', 'node', 'test-node']);
  t.regex(described.out, /Lease:\s+HolderIdentity:\s+test-node\s+AcquireTime:\s+<unset>\s+RenewTime:\s+\w{3}, \d+ \w{3} \d{4}/, described.err);
  // The node's agent said when it started, as a kubelet does.
  t.regex(described.out, /Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n[\s\S]*Normal\s+Starting\s+\S+\s+kubelet\s+Starting kubelet\./);
  t.regex((await k(['get', 'leases', '-n', 'kube-node-lease'])).out, /^NAME\s+HOLDER\s+AGE\ntest-node\s+test-node\s+\d+s\n$/);

  // Leader election as client-go does it: create the Lease to take it; the other candidate's create
  // is refused; a renewal on a stale resourceVersion is a conflict.
  const election = (holder: string) => `apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: my-operator\n  namespace: default\nspec:\n  holderIdentity: ${holder}\n  leaseDurationSeconds: 15\n`;
  t.is((await k(['create', '-f', '-'], { input: election('pod-a') })).code, 0);
  const second = await k(['create', '-f', '-'], { input: election('pod-b') });
  t.not(second.code, 0);
  t.regex(second.err, /AlreadyExists|already exists/);
  const held = (await server.client.get('Lease', 'default', 'my-operator'))!;
  await server.client.update({ ...held, spec: { ...held.spec, renewTime: '2026-01-01T00:00:00.000000Z' } });
  const stale = await server.client.update({ ...held, spec: { ...held.spec, holderIdentity: 'pod-b' } }).then(() => undefined, (err: Error) => err);
  t.regex(String(stale?.message), /modified|conflict/i);
  t.is((await server.client.get('Lease', 'default', 'my-operator'))!.spec.holderIdentity, 'pod-a');
});
