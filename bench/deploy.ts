// bench/deploy: 50 independent single-container Deployments applied cold through Gouvernail,
// against plain dockerode creating and starting the same 50 containers in parallel on a
// user-defined network, in the same run: until the containers run (target: ratio at most 1.10)
// and until the Pods have their address on the Pod network (target: under 0.50). Docker's own
// floor is printed beside them: the same 50 containers with no network at all. Then a no-op
// re-apply of 1,000 objects: time and Docker write calls (target: under 100 ms, zero writes).
// Needs a running Docker engine.
import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { applyManifests } from '../src/apply/apply.js';
import { HttpClient } from '../src/api/http-client.js';
import { InProcessClient } from '../src/api/client.js';
import { identities } from '../src/api/identity.js';
import { parseSnapshot } from '../src/manifest/load.js';
import { label } from '../src/runtime/labels.js';
import { serve } from '../src/server/serve.js';
import { removeHostNetwork } from '../src/runtime/host-network-removal.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const image = 'gouvernail-example/busybox:1';
const count = 50;
const docker = new Docker();
let writes = 0;
const dial = docker.modem.dial.bind(docker.modem);
docker.modem.dial = ((opts: { method?: string }, cb: unknown) => {
  if (opts.method && !['GET', 'HEAD'].includes(opts.method)) writes++;
  return dial(opts as never, cb as never);
}) as typeof docker.modem.dial;

async function waitRunning(filter: string[], n: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${n} containers were not running after 120 s; see the serve log`);
    const list = await docker.listContainers({ filters: { label: filter, status: ['running'] } });
    if (list.length >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function removeAll(filter: string[]): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: filter } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
}

async function baseline(round: number): Promise<number> {
  const network = `bench-baseline-${round}`;
  await docker.createNetwork({ Name: network, Labels: { bench: 'baseline' } });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const c = await docker.createContainer({ name: `bench-baseline-${round}-${i}`, Image: image, Cmd: ['sleep', '3600'], Labels: { bench: 'baseline' }, HostConfig: { NetworkMode: network, RestartPolicy: { Name: 'always' } } });
      await c.start();
    }),
  );
  const ms = performance.now() - t0;
  await removeAll(['bench=baseline']);
  await docker.getNetwork(network).remove();
  return ms;
}

/** The same containers with no network at all: what no Pod network can go under. */
async function floor(round: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const c = await docker.createContainer({ name: `bench-floor-${round}-${i}`, Image: image, Cmd: ['sleep', '3600'], Labels: { bench: 'floor' }, HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'always' } } });
      await c.start();
    }),
  );
  const ms = performance.now() - t0;
  await removeAll(['bench=floor']);
  return ms;
}

function deployments(ns: string): string {
  const docs = [`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${ns} }\n`];
  for (let i = 0; i < count; i++) {
    docs.push(`apiVersion: apps/v1
kind: Deployment
metadata: { name: app-${i}, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: app-${i} } }
  template:
    metadata: { labels: { app: app-${i} } }
    spec:
      containers: [{ name: main, image: "${image}", command: ["sleep", "3600"] }]
`);
  }
  return docs.join('---\n');
}

const configMaps = (ns: string, n: number) => Array.from({ length: n }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings-${i}, namespace: ${ns} }\ndata: { index: "${i}" }\n`).join('---\n');

const quiet = () => {};
execFileSync('bash', [path.join(root, 'manifests-example', 'offline', 'build-image.sh'), image], { stdio: 'ignore' });
const server = await serve({ dataDir: mkdtempSync(path.join(tmpdir(), 'gouvernail-bench-deploy-')), host: '127.0.0.1', port: 0, quiet: true, docker, nodeName: 'bench-node' });
const client = new HttpClient(server.server, server.token, { ca: server.ca });
const ours = [`${label.managedBy}=${server.installation}`];

const rounds = Number(process.env.ROUNDS ?? 5);
const results: { baseline: number; gouvernail: number; addressed: number; floor: number }[] = [];

async function waitAddressed(ns: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (server.store.list({ kind: 'Pod', namespace: ns }).filter((p) => p.status?.podIP).length < count) {
    if (Date.now() > deadline) throw new Error(`${count} Pods had no address after 120 s; see the network component's log (kubectl logs -n kube-system gouvernail-network-bench-node)`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
try {
  for (let round = 0; round < rounds; round++) {
    const b = await baseline(round);
    const f = await floor(round);
    const ns = `bench-${round}`;
    const set = parseSnapshot([{ path: 'deploy.yaml', text: deployments(ns) }]);
    const t0 = performance.now();
    await applyManifests(client, set.manifests, { inventory: `bench-${round}`, prune: false, wait: false, waveTimeoutMs: 60_000, progress: quiet, pollMs: 50 });
    const tApplied = performance.now() - t0;
    const milestones: Record<string, number> = {};
    // Milestones only when asked: listing the store every 20 ms costs the process being measured.
    const watch = setInterval(() => {
      if (!process.env.VERBOSE) return;
      const pods = server.store.list({ kind: 'Pod', namespace: ns });
      if (pods.length >= count) milestones.pods ??= performance.now() - t0;
      if (pods.filter((p) => p.spec.nodeName).length >= count) milestones.bound ??= performance.now() - t0;
    }, 20);
    await waitRunning([...ours, `${label.namespace}=${ns}`], count);
    clearInterval(watch);
    const g = performance.now() - t0;
    // A Pod is started once it has its address too (the network component wired it).
    await waitAddressed(ns);
    const a = performance.now() - t0;
    if (process.env.VERBOSE) console.log(`  written ${tApplied.toFixed(0)} ms, ${count} Pods ${milestones.pods?.toFixed(0)} ms, bound ${milestones.bound?.toFixed(0)} ms, running ${g.toFixed(0)} ms, addressed ${a.toFixed(0)} ms`);
    results.push({ baseline: b, gouvernail: g, addressed: a, floor: f });
    console.log(`round ${round + 1}: dockerode ${b.toFixed(0)} ms (no network: ${f.toFixed(0)} ms), gouvernail ${g.toFixed(0)} ms (containers running), ${a.toFixed(0)} ms (Pods with their address); ratios ${(g / b).toFixed(2)}, ${(a / b).toFixed(2)}`);
    await applyManifests(client, set.manifests, { inventory: `bench-${round}`, prune: false, wait: true, waveTimeoutMs: 60_000, progress: quiet, pollMs: 50 });
    for (const m of set.manifests.reverse()) await client.delete(m.object.kind, m.object.metadata.namespace, m.object.metadata.name);
    await removeAll([...ours, `${label.namespace}=${ns}`]);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mb = median(results.map((r) => r.baseline));
  const mg = median(results.map((r) => r.gouvernail));
  const ratio = median(results.map((r) => r.gouvernail / r.baseline));
  const ma = median(results.map((r) => r.addressed));
  const addressedRatio = median(results.map((r) => r.addressed / r.baseline));
  console.log(`bench/deploy: ${count} Deployments cold, median of ${rounds}: dockerode ${mb.toFixed(0)} ms (${count} containers on a user-defined network), gouvernail ${mg.toFixed(0)} ms (apply to ${count} containers running); median of the rounds' ratios ${ratio.toFixed(2)} (target at most 1.10)`);
  console.log(`bench/deploy: ${count} Pods cold on one node with their address on the Pod network: median ${ma.toFixed(0)} ms; median ratio to dockerode ${addressedRatio.toFixed(2)} (target under 0.50); Docker's floor, the same containers with no network: ${median(results.map((r) => r.floor / r.baseline)).toFixed(2)}`);

  // No-op re-apply of 1,000 objects: 50 Deployments (running) and 950 ConfigMaps.
  const ns = 'bench-noop';
  const set = parseSnapshot([{ path: 'deploy.yaml', text: deployments(ns) }, { path: 'config.yaml', text: configMaps(ns, 1000 - count - 1) }]);
  await applyManifests(client, set.manifests, { inventory: 'bench-noop', prune: false, wait: true, waveTimeoutMs: 120_000, progress: quiet, pollMs: 100 });
  await new Promise((r) => setTimeout(r, 1500));
  // In-process, as an Application sync runs it: through the pipeline, not over HTTP.
  const inProcess = new InProcessClient(server.api, identities.applicationController);
  const samples: { ms: number; writes: number; storeWrites: number }[] = [];
  for (let i = 0; i < 5; i++) {
    writes = 0;
    const rv = server.store.resourceVersion();
    const t0 = performance.now();
    await applyManifests(inProcess, set.manifests, { inventory: 'bench-noop', prune: false, wait: false, waveTimeoutMs: 10_000, progress: quiet });
    const ms = performance.now() - t0;
    const storeWrites = server.store.resourceVersion() - rv;
    await new Promise((r) => setTimeout(r, 1200)); // a node-agent pass or more, to catch any write it would make
    samples.push({ ms, writes, storeWrites });
  }
  console.log(`bench/deploy: no-op sync of ${set.manifests.length} objects in-process: median ${median(samples.map((s) => s.ms)).toFixed(0)} ms (target under 100 ms), store writes ${Math.max(...samples.map((s) => s.storeWrites))} (target 0), Docker write calls ${Math.max(...samples.map((s) => s.writes))} (target 0)`);
  for (const m of set.manifests.reverse()) await client.delete(m.object.kind, m.object.metadata.namespace, m.object.metadata.name);
  await new Promise((r) => setTimeout(r, 1500));
} finally {
  await server.close();
  await removeHostNetwork(docker, server.installation);
  await removeAll(ours);
  for (const n of await docker.listNetworks({ filters: { label: ours } })) await docker.getNetwork(n.Id).remove().catch(() => {});
}
