import Docker from 'dockerode';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { removeHostNetwork } from '../src/runtime/host-network-removal.js';
import { existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import net from 'node:net';
import path from 'node:path';
import { HttpClient } from '../src/api/http-client.js';
import { serve } from '../src/server/serve.js';
import { label } from '../src/runtime/labels.js';
import type { KubeObject } from '../src/manifest/types.js';
import { root, tempDir } from './helpers.js';
import { rangesFor } from './network-ranges.js';

export const image = 'gouvernail-example/busybox:1';
/** The same image under a second tag: a new image for rollouts and undos. */
export const image2 = 'gouvernail-example/busybox:2';
export const docker = new Docker();

/** Builds the offline busybox image once (no registry is reachable). */
export async function ensureImage(): Promise<void> {
  await docker.ping().catch((err) => {
    throw new Error(`no Docker engine answers at /var/run/docker.sock (${(err as Error).message}); start dockerd, or run .ci/run, which installs and starts one`);
  });
  const present = await docker.getImage(image).inspect().then(() => true, () => false);
  if (!present) execFileSync('bash', [path.join(root, 'manifests-example', 'offline', 'build-image.sh'), image], { stdio: 'inherit' });
  await docker.getImage(image).tag({ repo: 'gouvernail-example/busybox', tag: '2' });
}

export interface TestServer {
  url: string;
  token: string;
  client: HttpClient;
  /** The cluster CA (PEM); undefined when the server speaks plain HTTP. */
  ca?: string;
  dataDir: string;
  installation: string;
  kubeconfig: string;
  close(): Promise<void>;
  /** Stops the server and removes every Docker object it made. */
  destroy(): Promise<void>;
}

export async function startServer(dataDir = tempDir(), extra: { webhookSecret?: string; insecureHttp?: boolean; port?: number; snapshots?: { schedule: string; retention: number }; eventTtlMs?: number; heartbeatMs?: number; nodeResyncMs?: number; nodeMonitorGraceMs?: number; podEvictionTimeoutMs?: number; autoscalerPeriodMs?: number; metricsPeriodMs?: number; ingressPorts?: { http: number; https: number }; clusterCidr?: string; serviceClusterIPRange?: string } = {}): Promise<TestServer> {
  await ensureImage();
  const s = await serve({ dataDir, host: '127.0.0.1', nodeName: 'test-node', quiet: true, serviceClusterIPRange: serviceRangeFor(dataDir), clusterCidr: clusterCidrFor(dataDir), ...extra, port: extra.port ?? 0 });
  const installation = s.installation;
  return {
    url: s.server,
    token: s.token,
    client: new HttpClient(s.server, s.token, { ca: s.ca }),
    ca: s.ca,
    dataDir,
    installation,
    kubeconfig: s.kubeconfig,
    close: s.close,
    async destroy() {
      await s.close();
      await removeDockerObjects(installation);
    },
  };
}

/** The data folder's own service range (see network-ranges.ts). */
export function serviceRangeFor(dataDir: string): string {
  return rangesFor(dataDir).serviceRange;
}

/** The data folder's own Pod range. */
export function clusterCidrFor(dataDir: string): string {
  return rangesFor(dataDir).clusterCidr;
}

/** serve's flags every test's serve takes (its own service and Pod ranges). */
export function serveFlags(dataDir: string): string[] {
  return ['--service-cluster-ip-range', serviceRangeFor(dataDir), '--cluster-cidr', clusterCidrFor(dataDir)];
}

/** A free port of 127.0.0.1, to keep across restarts of a serve (the Pods' API address stays the same). */
export async function freePort(): Promise<number> {
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const { port } = listener.address() as net.AddressInfo;
  await new Promise((r) => listener.close(r));
  return port;
}

/**
 * `gouvernail serve` as its own process (for kill -9), its log lines appended to DATA/serve.log
 * so a failure can be read back. Waiting for DATA/kubeconfig tells when it serves.
 */
export function spawnServe(dataDir: string, options: { port?: number; args?: string[] } = {}): ChildProcess {
  rmSync(path.join(dataDir, 'kubeconfig'), { force: true });
  const log = openSync(path.join(dataDir, 'serve.log'), 'a');
  // SERVE_NODE_ARGS: node flags for serve alone (a benchmark's --cpu-prof).
  const nodeArgs = process.env.SERVE_NODE_ARGS ? process.env.SERVE_NODE_ARGS.split(' ') : [];
  return spawn(process.execPath, [...nodeArgs, path.join(root, 'dist', 'src', 'cli', 'main.js'), 'serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${options.port ?? 0}`, '--node-name', 'test-node', ...serveFlags(dataDir), ...(options.args ?? [])], { stdio: ['ignore', log, log] });
}

/**
 * Stops a serve process and waits for it to exit (SIGKILL after 30 s): what a teardown removes
 * next is not made again by a serve still shutting down (its network component was, once).
 */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const late = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(late);
}

/** serve as a process of its own on a new data folder, for tests that kill it with SIGKILL. */
export interface KillableServe {
  dataDir: string;
  kubeconfig: string;
  installation: string;
  /** SIGKILL, waited for. */
  kill(): Promise<void>;
  /** A new process on the same folder and port, waited for. */
  start(): Promise<void>;
}

/** Starts it and waits for it; at the test's end it is killed and what it made is removed. */
export async function startKillableServe(t: ExecutionContext): Promise<KillableServe> {
  await ensureImage();
  const dataDir = tempDir();
  const kubeconfig = path.join(dataDir, 'kubeconfig');
  const port = await freePort();
  let child: ChildProcess | undefined;
  t.teardown(async () => {
    if (child) await stopProcess(child, 'SIGKILL');
    if (existsSync(path.join(dataDir, 'installation-id'))) await removeDockerObjects(readFileSync(path.join(dataDir, 'installation-id'), 'utf8').trim());
  });
  const s = {
    dataDir,
    kubeconfig,
    installation: '',
    async kill() {
      await stopProcess(child!, 'SIGKILL');
    },
    async start() {
      child = spawnServe(dataDir, { port });
      await waitFor('serve started', async () => existsSync(kubeconfig), 120_000);
    },
  };
  await s.start();
  s.installation = readFileSync(path.join(dataDir, 'installation-id'), 'utf8').trim();
  return s;
}

export async function removeDockerObjects(installation: string): Promise<void> {
  await removeHostNetwork(docker, installation).catch((err) => process.stderr.write(`cannot remove the host network of ${installation}: ${(err as Error).message}\n`));
  const filters = { label: [`${label.managedBy}=${installation}`] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  const { Volumes } = await docker.listVolumes({ filters });
  for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {});
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => {});
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export async function containersOf(installation: string, namespace: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${label.managedBy}=${installation}`, `${label.namespace}=${namespace}`] } });
}

export async function execIn(containerId: string, cmd: string[], engine: Docker = docker): Promise<{ code: number; out: string }> {
  const exec = await engine.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => stream.on('end', r));
  const raw = Buffer.concat(chunks);
  // Demultiplex Docker's 8-byte frame headers.
  let out = '';
  for (let i = 0; i + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(i + 4);
    out += raw.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  const info = await exec.inspect();
  return { code: info.ExitCode ?? -1, out };
}

export const isReady = (p: KubeObject) => (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');

const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');

/** Runs the CLI without blocking this process, where the server under test runs. */
export function runCli(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

