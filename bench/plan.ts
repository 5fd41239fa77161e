// bench/plan: 10,000 objects across 100 namespaces, with dependencies. Prints the time of each
// stage (read + parse + validate + default, plan, diff) and the process's peak memory.
// Goal (issue 10) on the 2-core reference machine: under 300 ms in-process, under 1 s as a whole
// process, peak memory under 250 MB.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { plan } from '../src/apply/plan.js';
import { diff } from '../src/diff/diff.js';
import { keyOf } from '../src/manifest/keys.js';
import { hasErrors, loadManifests } from '../src/manifest/load.js';
import { cacheParsedDocuments } from '../src/manifest/document-cache.js';
import type { KubeObject } from '../src/manifest/types.js';

const namespaces = Number(process.env.NAMESPACES ?? 100);
const perNamespace = 33; // a ConfigMap, a Deployment and a Service each, plus the Namespace: 100

function namespaceFile(ns: string): string {
  const docs = [`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`];
  for (let i = 0; i < perNamespace; i++) {
    const dep = i > 0 && i % 3 === 0 ? `\n  annotations:\n    gouvernail.io/depends-on: "Deployment/app-${i - 1}, Service/app-${i - 1}"` : '';
    docs.push(`apiVersion: v1
kind: ConfigMap
metadata:
  name: app-${i}-config
  namespace: ${ns}
data:
  LOG_LEVEL: info
  index.html: "<h1>app ${i}</h1>"
`);
    docs.push(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
  namespace: ${ns}
  labels: { app: app-${i}, tier: backend }${dep}
spec:
  replicas: ${1 + (i % 3)}
  selector:
    matchLabels: { app: app-${i} }
  template:
    metadata:
      labels: { app: app-${i}, tier: backend }
    spec:
      containers:
        - name: main
          image: registry.example/app-${i}:1.${i}
          args: ["--port", "8080"]
          ports:
            - { name: http, containerPort: 8080 }
          envFrom:
            - configMapRef: { name: app-${i}-config }
          env:
            - { name: NAMESPACE, value: ${ns} }${i % 3 === 1 ? `\n            - { name: UPSTREAM_URL, value: "http://app-${i - 1}.${ns}:80/api" }` : ''}
          readinessProbe:
            httpGet: { path: /healthz, port: http }
          resources:
            limits: { memory: 128Mi, cpu: 500m }
`);
    docs.push(`apiVersion: v1
kind: Service
metadata:
  name: app-${i}
  namespace: ${ns}
spec:
  selector: { app: app-${i} }
  ports:
    - { port: 80, targetPort: http }
`);
  }
  return docs.join('---\n');
}

/**
 * The live side as a store holds it (read back from JSON, as the store's rows are): every object,
 * with server metadata, status, the cluster IPs the server assigned and the labels and annotations
 * Gouvernail writes; 1 in 100 Deployments runs an older image.
 */
function liveOf(desired: KubeObject[]): KubeObject[] {
  return desired.map((o, i) => {
    const l = JSON.parse(JSON.stringify(o)) as KubeObject;
    l.metadata = { ...l.metadata, uid: `uid-${i}`, resourceVersion: String(i + 1), generation: 1, creationTimestamp: '2026-01-01T00:00:00Z', annotations: { ...l.metadata.annotations, 'gouvernail.io/applied-by': 'bench' }, labels: { ...l.metadata.labels, 'app.gouvernail.io/instance': 'bench' } };
    if (o.kind === 'Deployment') l.status = { observedGeneration: 1, replicas: l.spec.replicas, readyReplicas: l.spec.replicas, conditions: [{ type: 'Available', status: 'True' }] };
    if (o.kind === 'Service') l.spec = { ...l.spec, clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`, clusterIPs: [`10.96.${(i >> 8) & 255}.${i & 255}`] };
    if (o.kind === 'Deployment' && i % 100 === 2) l.spec.template.spec.containers[0].image += '-old';
    return JSON.parse(JSON.stringify(l)) as KubeObject;
  });
}

interface Save {
  read: number;
  plan: number;
  diff: number;
  updates: number;
}

/**
 * What serve does, in a process of its own as serve has: its cache of parsed documents on from the
 * start, a first read (the sync at start), then a save that changes one file, five times over.
 */
async function serveSaves(dir: string): Promise<Save[]> {
  cacheParsedDocuments();
  const start = await loadManifests(dir);
  plan(start.manifests);
  const live = liveOf(start.manifests.map((m) => m.object));
  const prunable = new Set(live.map(keyOf));
  diff(start.manifests.map((m) => m.object), live, prunable);
  const edited = path.join(dir, 'ns-000.yaml');
  const saves: Save[] = [];
  for (let save = 0; save < 5; save++) {
    writeFileSync(edited, readFileSync(edited, 'utf8').replace(/LOG_LEVEL: \w+/, `LOG_LEVEL: level${save}`));
    const r0 = performance.now();
    const again = await loadManifests(dir);
    const r1 = performance.now();
    plan(again.manifests);
    const r2 = performance.now();
    const result = diff(again.manifests.map((m) => m.object), live, prunable);
    const r3 = performance.now();
    saves.push({ read: r1 - r0, plan: r2 - r1, diff: r3 - r2, updates: result.counts.update });
  }
  return saves;
}

// `--write DIR` only writes the folder, to profile the stages by hand (`node --cpu-prof`).
if (process.argv[2] === '--write') {
  for (let n = 0; n < namespaces; n++) writeFileSync(path.join(process.argv[3]!, `ns-${String(n).padStart(3, '0')}.yaml`), namespaceFile(`team-${n}`));
  process.exit(0);
}
if (process.argv[2] === '--serve') {
  console.log(JSON.stringify(await serveSaves(process.argv[3]!)));
  process.exit(0);
}

const dir = mkdtempSync(path.join(tmpdir(), 'gouvernail-bench-plan-'));
for (let n = 0; n < namespaces; n++) writeFileSync(path.join(dir, `ns-${String(n).padStart(3, '0')}.yaml`), namespaceFile(`team-${n}`));
const baseRss = process.memoryUsage().rss;

const t0 = performance.now();
const set = await loadManifests(dir);
const t1 = performance.now();
if (hasErrors(set.problems)) throw new Error(`generated manifests are invalid: ${JSON.stringify(set.problems.slice(0, 3))}`);
const result = plan(set.manifests);
const t2 = performance.now();
if (result.problems.length) throw new Error(`plan failed: ${result.problems[0]!.message}`);

const desired = set.manifests.map((m) => m.object);
const live = liveOf(desired);
const t3 = performance.now();
const prunable = new Set(live.map(keyOf));
const result2 = diff(desired.slice(0, desired.length - 100), live, prunable);
const t4 = performance.now();

// Peak memory of one run, before the runs below keep more in memory.
const peak = process.resourceUsage().maxRSS * 1024;
// The same again in this process, its code now compiled and optimised, without serve's cache: what a
// process that plans more than once (serve, a CI job planning several Applications) pays each time.
const warmRuns: Save[] = [];
for (let run = 0; run < 3; run++) {
  const w0 = performance.now();
  const again = await loadManifests(dir);
  const w1 = performance.now();
  plan(again.manifests);
  const w2 = performance.now();
  const result3 = diff(again.manifests.map((m) => m.object).slice(0, again.manifests.length - 100), live, prunable);
  const w3 = performance.now();
  warmRuns.push({ read: w1 - w0, plan: w2 - w1, diff: w3 - w2, updates: result3.counts.update });
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const total = t1 - t0 + (t2 - t1) + (t4 - t3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const warm = (pick: (s: Save) => number) => ms(median(warmRuns.map(pick))).padStart(7);
console.log(`bench/plan: ${set.manifests.length} objects in ${namespaces} namespaces, ${result.waves.length} waves`);
console.log(`  in-process: the first run in a fresh process (cold), and the median of ${warmRuns.length} more in it (warm, no cache)`);
console.log(`    read + parse + validate + default  ${ms(t1 - t0).padStart(7)}  ${warm((s) => s.read)}`);
console.log(`    plan                               ${ms(t2 - t1).padStart(7)}  ${warm((s) => s.plan)}`);
console.log(`    diff                               ${ms(t4 - t3).padStart(7)}  ${warm((s) => s.diff)}  (${result2.counts.update} updates, ${result2.counts.prune} prunes, ${result2.counts.unchanged} unchanged)`);
console.log(`    total                              ${ms(total).padStart(7)}  ${warm((s) => s.read + s.plan + s.diff)}   (goal: under 300 ms)`);
console.log(`  peak RSS                           ${mb(peak)}  (goal: under 250 MB; ${mb(baseRss)} before the work)`);
// The same folder through the CLI, as a person runs it: a whole process, start to exit. The median
// of three, and node's own start beside it, measured alike: one process start is noisy.
const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const processTimes: number[] = [];
const nodeTimes: number[] = [];
for (let run = 0; run < 3; run++) {
  const p0 = performance.now();
  const planned = spawnSync(process.execPath, [cli, 'plan', '-f', dir, '-o', 'json'], { maxBuffer: 256 * 1024 * 1024 });
  const p1 = performance.now();
  if (planned.status !== 0) throw new Error(`gouvernail plan failed: ${planned.stderr}`);
  spawnSync(process.execPath, ['-e', '0']);
  processTimes.push(p1 - p0);
  nodeTimes.push(performance.now() - p1);
}
const range = (xs: number[]) => `${ms(Math.min(...xs))} to ${ms(Math.max(...xs))}`;
console.log(`  gouvernail plan -f DIR (a process)  ${ms(median(processTimes))}   (goal: under 1000 ms; the median of ${processTimes.length}, ${range(processTimes)}; node -e 0 alone: ${ms(median(nodeTimes))})`);
// serve reads a folder again on each save (a Git source on each revision): with its cache of parsed
// documents on, only the changed file is parsed again.
const serving = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--serve', dir], { encoding: 'utf8' });
if (serving.status !== 0) throw new Error(`the serve measurement failed: ${serving.stderr}`);
const saves = JSON.parse(serving.stdout) as Save[];
const firstSave = saves[0]!;
const stage = (pick: (s: Save) => number) => `${ms(pick(firstSave)).padStart(7)}  ${ms(median(saves.map(pick))).padStart(7)}`;
console.log(`  serve (a process of its own): a save that changes one file, read again; the first save, the median of ${saves.length}`);
console.log(`    read + parse + validate + default  ${stage((s) => s.read)}`);
console.log(`    plan                               ${stage((s) => s.plan)}`);
console.log(`    diff                               ${stage((s) => s.diff)}  (${firstSave.updates} updates)`);
console.log(`    total                              ${stage((s) => s.read + s.plan + s.diff)}   (goal: under 300 ms)`);
rmSync(dir, { recursive: true, force: true });
