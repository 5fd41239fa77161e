// bench/service: requests per second and latency through a Service's cluster IP against straight
// to the Pod's address, side by side in the same run; the added latency at the median and p99.
// Each request is a new TCP connection (the cluster IP's translation is per connection). Needs
// dockerd; the requests go from this host to a Pod the bench creates.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { HttpClient } from '../src/api/http-client.js';
import { serve } from '../src/server/serve.js';
import Docker from 'dockerode';
import { removeHostNetwork } from '../src/runtime/host-network-removal.js';
import type { KubeObject } from '../src/manifest/types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const image = 'gouvernail-example/busybox:1';
execFileSync('bash', [path.join(root, 'manifests-example', 'offline', 'build-image.sh'), image], { stdio: 'ignore' });
const seconds = Number(process.env.SECONDS_EACH ?? 5);
const concurrency = Number(process.env.CONCURRENCY ?? 8);

const server = await serve({ dataDir: mkdtempSync(path.join(tmpdir(), 'gouvernail-bench-service-')), host: '127.0.0.1', port: 0, quiet: true, nodeName: 'bench-node', insecureHttp: true, serviceClusterIPRange: '10.111.250.0/24' });
const client = new HttpClient(server.server, server.token);
await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-service' } } as KubeObject);
await client.apply({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'bench-service', labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image, command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'], ports: [{ containerPort: 8080 }] }] },
} as KubeObject);
await client.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'bench-service' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } } as KubeObject);

const once = (host: string, port: number) =>
  new Promise<number>((resolve, reject) => {
    const start = performance.now();
    const req = http.get({ host, port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - start));
    });
    req.on('error', reject);
  });
const waitUntil = async (what: string, f: () => Promise<boolean>) => {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (await f().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
};
let podIP = '';
await waitUntil('the Pod', async () => {
  podIP = (await client.get('Pod', 'bench-service', 'web'))?.status?.podIP ?? '';
  return !!podIP && (await once(podIP, 8080)) >= 0;
});
const clusterIP = (await client.get('Service', 'bench-service', 'web'))!.spec.clusterIP as string;
await waitUntil('the cluster IP', async () => (await once(clusterIP, 80)) >= 0);

/** Sequential requests for latency, then `concurrency` loops for throughput, for `seconds` each. */
async function measure(host: string, port: number) {
  const latencies: number[] = [];
  let end = performance.now() + seconds * 1000;
  while (performance.now() < end) latencies.push(await once(host, port));
  let count = 0;
  end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await once(host, port);
      count++;
    }
  }));
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { rps: count / seconds, p50: at(0.5), p99: at(0.99) };
}

// Alternated, so that the machine's noise falls on both.
const direct = await measure(podIP, 8080);
const viaService = await measure(clusterIP, 80);
const direct2 = await measure(podIP, 8080);
const viaService2 = await measure(clusterIP, 80);
const avg = (a: { rps: number; p50: number; p99: number }, b: typeof a) => ({ rps: (a.rps + b.rps) / 2, p50: (a.p50 + b.p50) / 2, p99: (a.p99 + b.p99) / 2 });
const d = avg(direct, direct2);
const s = avg(viaService, viaService2);
const row = (name: string, r: typeof d) => console.log(`${name.padEnd(36)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms`);
console.log(`bench/service: one busybox httpd Pod, a new connection per request, ${concurrency} at once for throughput, ${seconds} s each, twice`);
row(`straight to the Pod ${podIP}:8080`, d);
row(`the cluster IP ${clusterIP}:80`, s);
console.log(`added by the cluster IP: ${(s.p50 - d.p50).toFixed(3)} ms at the median, ${(s.p99 - d.p99).toFixed(3)} ms at p99; throughput ${((s.rps / d.rps) * 100).toFixed(1)}% of direct`);
await server.close();
await removeHostNetwork(new Docker(), server.installation);
execFileSync('sh', ['-c', `docker ps -aq --filter label=gouvernail.io/managed-by=${server.installation} | xargs -r docker rm -f`], { stdio: 'ignore' });
process.exit(0);
