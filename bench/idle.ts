// bench/idle: `gouvernail serve` at rest with three nodes (this machine's engine and two more
// dockerd started here) and 100 Pods. Prints serve's CPU share and memory over an idle minute and,
// as the baseline of the same run, the CPU of the three dockerd engines over the same minute.
// Target: serve under 1% of one core and 150 MB.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, runCli, spawnServe, waitFor } from '../test/docker-helpers.js';
import { startEngine } from '../test/engines.js';
import { tempDir } from '../test/helpers.js';
import { HttpClient } from '../src/api/http-client.js';

const replicas = Number(process.env.PODS ?? 100);
const idleMs = Number(process.env.IDLE_SECONDS ?? 60) * 1000;
const image = 'gouvernail-example/busybox:1';

/** user + system CPU of a process, in clock ticks (100 a second). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
function dockerdPids(): number[] {
  return execFileSync('pgrep', ['-x', 'dockerd'], { encoding: 'utf8' }).trim().split('\n').map(Number);
}

const [two, three] = await Promise.all([startEngine('bench2', 41, { images: [image] }), startEngine('bench3', 42, { images: [image] })]);
const dataDir = tempDir('gouvernail-bench-idle-');
const port = await freePort();
const serve = spawnServe(dataDir, { port });
try {
  const kubeconfig = path.join(dataDir, 'kubeconfig');
  await waitFor('serve', async () => {
    try {
      return readFileSync(kubeconfig, 'utf8').includes('server:');
    } catch {
      return false;
    }
  }, 120_000);
  const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  const ca = readFileSync(path.join(dataDir, 'pki', 'ca.crt'), 'utf8');
  const client = new HttpClient(`https://127.0.0.1:${port}`, token, { ca });
  for (const [name, engine] of [['bench2', two], ['bench3', three]] as const) {
    const r = await runCli('node', 'add', name, '--docker', engine.url, '--kubeconfig', kubeconfig);
    if (r.code !== 0) throw new Error(r.err);
  }
  await waitFor('three Ready nodes', async () => (await client.list('Node')).filter((n) => n.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')).length === 3, 120_000);
  await client.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'idle', namespace: 'default' }, spec: { replicas, selector: { matchLabels: { app: 'idle' } }, template: { metadata: { labels: { app: 'idle' } }, spec: { containers: [{ name: 'c', image, command: ['sleep', '86400'] }] } } } });
  const started = Date.now();
  await waitFor(`${replicas} ready Pods`, async () => {
    const ready = (await client.list('Pod', 'default')).filter((p) => p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')).length;
    process.stderr.write(`\r${ready}/${replicas} ready`);
    return ready === replicas;
  }, 600_000, 2000);
  process.stderr.write(`\n${replicas} Pods ready in ${((Date.now() - started) / 1000).toFixed(0)} s; settling 20 s, then an idle ${idleMs / 1000} s\n`);
  await new Promise((r) => setTimeout(r, 20_000));
  const pid = serve.pid!;
  const engines = dockerdPids();
  const before = { serve: cpuTicks(pid), engines: engines.map(cpuTicks), at: Date.now() };
  await new Promise((r) => setTimeout(r, idleMs));
  const seconds = (Date.now() - before.at) / 1000;
  const servePct = ((cpuTicks(pid) - before.serve) / 100 / seconds) * 100;
  const enginePct = engines.reduce((sum, p, i) => sum + (cpuTicks(p) - before.engines[i]!), 0) / 100 / seconds * 100;
  console.log(`bench/idle: 3 nodes, ${replicas} Pods, idle ${seconds.toFixed(0)} s`);
  console.log(`  gouvernail serve      CPU ${servePct.toFixed(2)}% of a core   RSS ${rssMb(pid).toFixed(0)} MB`);
  console.log(`  baseline: ${engines.length} dockerd   CPU ${enginePct.toFixed(2)}% of a core (together)`);
  await client.delete('Deployment', 'default', 'idle');
} finally {
  serve.kill('SIGTERM');
  await new Promise((r) => serve.once('exit', r));
  await Promise.all([two.destroy(), three.destroy()]);
  execFileSync('sh', ['-c', `docker ps -aq --filter label=gouvernail.io/managed-by=$(cat ${dataDir}/installation-id) | xargs -r docker rm -f`]);
}
