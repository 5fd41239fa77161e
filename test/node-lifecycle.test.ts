import test from 'ava';
import path from 'node:path';
import { ObjectStore } from '../src/store/object-store.js';
import { ApiServer } from '../src/api/api-server.js';
import { TokenAuthenticator } from '../src/api/authenticate.js';
import { InProcessClient } from '../src/api/client.js';
import { identities } from '../src/api/identity.js';
import { NodeLifecycleController } from '../src/runtime/node-lifecycle.js';
import type { KubeObject } from '../src/manifest/types.js';
import { tempDir } from './helpers.js';

// The node lifecycle controller's decisions, with a clock the test moves: no engine is involved.

async function setup() {
  const store = ObjectStore.open(path.join(tempDir(), 'state.db'));
  const api = new ApiServer({ store, authenticator: new TokenAuthenticator([]) });
  const system = new InProcessClient(api, identities.apiServer);
  const admin = new InProcessClient(api, identities.admin);
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, spec: {} });
  let now = Date.parse('2026-01-01T00:00:00Z');
  const heartbeat = async (name: string, at: number) => {
    const node = store.get('Node', undefined, name) ?? (await system.create({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: {} }));
    const iso = new Date(at).toISOString();
    await system.updateStatus({ ...node, metadata: { ...node.metadata, resourceVersion: undefined }, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: iso, lastTransitionTime: iso }] } });
  };
  const pod = async (name: string, node: string, extra: Record<string, unknown> = {}) => {
    await admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }], ...extra } });
    await system.bind('default', name, node);
    const p = store.get('Pod', 'default', name)!;
    await system.updateStatus({ ...p, metadata: { ...p.metadata, resourceVersion: undefined }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
  };
  const events: string[] = [];
  const controller = new NodeLifecycleController({ store, client: new InProcessClient(api, identities.controllerManager), log: () => {}, events: { record: (o: KubeObject, _t: string, reason: string) => events.push(`${o.metadata.name} ${reason}`) }, monitorGraceMs: 40_000, evictionTimeoutMs: 300_000, lastError: () => 'connect ECONNREFUSED', now: () => now });
  return { store, controller, heartbeat, pod, events, at: (ms: number) => (now = ms), get now() { return now; } };
}

const ready = (n: KubeObject) => n.status.conditions.find((c: { type: string }) => c.type === 'Ready');
const taintKeys = (n: KubeObject) => (n.spec.taints ?? []).map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`);

test('a node silent past the grace period is Unknown and tainted; its Pods are not Ready; they go after the eviction timeout unless they tolerate it', async (t) => {
  const s = await setup();
  const start = s.now;
  await s.heartbeat('a', start);
  await s.heartbeat('b', start);
  await s.pod('on-a', 'a');
  await s.pod('tolerant', 'a', { tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }] });
  await s.pod('on-b', 'b');

  s.at(start + 39_000);
  await s.controller.pass();
  t.is(ready(s.store.get('Node', undefined, 'a')!).status, 'True', 'within the grace period nothing moves');

  s.at(start + 41_000);
  await s.heartbeat('b', start + 41_000);
  await s.controller.pass();
  const a = s.store.get('Node', undefined, 'a')!;
  t.is(ready(a).status, 'Unknown');
  t.regex(ready(a).message, /has not answered for 41s: connect ECONNREFUSED/);
  t.is(ready(s.store.get('Node', undefined, 'b')!).status, 'True');
  t.is(ready(s.store.get('Pod', 'default', 'on-a')!).status, 'False');
  t.is(ready(s.store.get('Pod', 'default', 'on-b')!).status, 'True');
  await s.controller.pass();
  t.deepEqual(taintKeys(s.store.get('Node', undefined, 'a')!), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
  t.true(s.events.includes('a NodeNotReady'));

  s.at(start + 41_000 + 299_000);
  await s.controller.pass();
  t.truthy(s.store.get('Pod', 'default', 'on-a'), 'not before the eviction timeout');
  s.at(start + 41_000 + 301_000);
  await s.controller.pass();
  // Deleted, as taint-based eviction deletes: Terminating until its node's agent has stopped it
  // (or the Node is removed); its owner makes another elsewhere meanwhile.
  t.truthy(s.store.get('Pod', 'default', 'on-a')?.metadata.deletionTimestamp, 'marked for deletion');
  t.truthy(s.store.get('Pod', 'default', 'tolerant'), 'a Pod that tolerates the taint for ever stays');
  t.truthy(s.store.get('Pod', 'default', 'on-b'));
  t.true(s.events.includes('on-a TaintManagerEviction'));

  // The heartbeat comes back: Ready, and the taints go.
  await s.heartbeat('a', s.now);
  await s.controller.pass();
  t.deepEqual(taintKeys(s.store.get('Node', undefined, 'a')!), []);
  t.true(s.events.includes('a NodeReady'));
});

test('Pods bound to a Node that was deleted are deleted', async (t) => {
  const s = await setup();
  await s.heartbeat('gone', s.now);
  await s.pod('orphan', 'gone');
  s.store.delete('Node', undefined, 'gone');
  await s.controller.pass();
  t.falsy(s.store.get('Pod', 'default', 'orphan'));
});
