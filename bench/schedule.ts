// bench/schedule: the scheduler's cost per Pod, for 1,000 Pods over 50 fake nodes (binding only:
// no engine). Prints the decision time (filters and scores, pure), the binding time (through the
// API pipeline into the store) and, as the baseline of the same run, the same 1,000 bindings
// written straight to the store with no decision and no pipeline.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ObjectStore } from '../src/store/object-store.js';
import { ApiServer } from '../src/api/api-server.js';
import { TokenAuthenticator } from '../src/api/authenticate.js';
import { InProcessClient } from '../src/api/client.js';
import { identities } from '../src/api/identity.js';
import { schedule } from '../src/runtime/scheduler.js';
import type { KubeObject } from '../src/manifest/types.js';

const nodeCount = Number(process.env.NODES ?? 50);
const podCount = Number(process.env.PODS ?? 1000);

function nodes(): KubeObject[] {
  return Array.from({ length: nodeCount }, (_, i) => {
    const capacity = { cpu: String(4 + (i % 4) * 4), memory: `${16 + (i % 3) * 16}Gi`, pods: '110' };
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: `node-${String(i).padStart(2, '0')}`, labels: { 'kubernetes.io/hostname': `node-${i}`, zone: `z${i % 3}` } },
      spec: i % 10 === 9 ? { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } : {},
      status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True' }] },
    };
  });
}

function pods(): KubeObject[] {
  return Array.from({ length: podCount }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `app-${Math.floor(i / 10)}-${i % 10}`, namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `app-${Math.floor(i / 10)}`, uid: `rs-${Math.floor(i / 10)}`, controller: true }] },
    spec: {
      containers: [{ name: 'main', image: 'app:1', resources: { requests: { cpu: `${100 + (i % 5) * 50}m`, memory: `${128 + (i % 4) * 64}Mi` } } }],
      ...(i % 7 === 0 ? { nodeSelector: { zone: 'z1' } } : {}),
    },
  }));
}

async function run(label: string, bind: (store: ObjectStore, client: InProcessClient, pod: KubeObject, node: string) => Promise<void>, decide: boolean) {
  const dir = mkdtempSync(path.join(tmpdir(), 'gouvernail-bench-schedule-'));
  const store = ObjectStore.open(path.join(dir, 'state.db'));
  const api = new ApiServer({ store, authenticator: new TokenAuthenticator([]) });
  const admin = new InProcessClient(api, identities.admin);
  const scheduler = new InProcessClient(api, identities.scheduler);
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, spec: {} });
  for (const n of nodes()) await new InProcessClient(api, identities.apiServer).create(n);
  const created: KubeObject[] = [];
  for (const p of pods()) created.push(await admin.create(p));
  const t0 = performance.now();
  const decisions = decide ? schedule({ nodes: store.list({ kind: 'Node' }), pods: store.list({ kind: 'Pod' }) }) : created.map((pod, i) => ({ pod, node: `node-${String(i % nodeCount).padStart(2, '0')}` }));
  const t1 = performance.now();
  let unscheduled = 0;
  for (const d of decisions) {
    if (!d.node) unscheduled++;
    else await bind(store, scheduler, d.pod, d.node);
  }
  const t2 = performance.now();
  const spreadOk = decide ? new Set(store.list({ kind: 'Pod' }).map((p) => p.spec.nodeName)).size : 0;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  const per = (ms: number) => `${((ms * 1000) / podCount).toFixed(0)} µs`;
  console.log(`${label.padEnd(34)} decide ${per(t1 - t0).padStart(8)}/Pod   bind ${per(t2 - t1).padStart(8)}/Pod   total ${(t2 - t0).toFixed(0).padStart(6)} ms${decide ? `   (${unscheduled} unscheduled, ${spreadOk} nodes used)` : ''}`);
}

console.log(`bench/schedule: ${podCount} Pods over ${nodeCount} fake nodes, binding only`);
await run('scheduler + binding subresource', async (_store, client, pod, node) => {
  await client.bind('default', pod.metadata.name, node);
}, true);
await run('baseline: nodeName written directly', async (store, _client, pod, node) => {
  const live = store.get('Pod', 'default', pod.metadata.name)!;
  store.update({ ...live, spec: { ...live.spec, nodeName: node } });
}, false);
