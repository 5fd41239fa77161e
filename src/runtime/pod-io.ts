import type Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import type { KubeObject } from '../manifest/types.js';
import { label } from './labels.js';

/** Logs and exec for the containers of a Pod, on the Docker engine of the Pod's node. */
export class PodIo {
  constructor(
    private readonly dockerFor: (nodeName: string) => Docker | undefined,
    private readonly installation: string,
    /** When the run before a container's last one started (ms), when its node's agent saw it. */
    private readonly previousRunStart: (nodeName: string, containerId: string, lastStartedAt: string) => number | undefined = () => undefined,
  ) {}

  private async container(pod: KubeObject, name?: string): Promise<Docker.Container> {
    const docker = this.dockerFor(pod.spec?.nodeName ?? '');
    if (!docker) throw new Error(`pod ${pod.metadata.name} is not running on a node yet`);
    const containerName = name ?? pod.spec.containers[0].name;
    // Its app containers, init containers and ephemeral ones (kubectl debug) alike, as the kubelet serves them.
    const names = [...pod.spec.containers, ...(pod.spec.initContainers ?? []), ...(pod.spec.ephemeralContainers ?? [])].map((c: { name: string }) => c.name);
    if (!names.includes(containerName)) {
      throw new Error(`container ${containerName} is not valid for pod ${pod.metadata.name}; it has ${names.join(', ')}`);
    }
    const list = await docker.listContainers({ all: true, filters: { label: [`${label.managedBy}=${this.installation}`, `${label.uid}=${pod.metadata.uid}`, `${label.container}=${containerName}`] } });
    if (list.length === 0) throw new Error(`container ${containerName} of pod ${pod.metadata.name} has not been created yet`);
    return docker.getContainer(list[0]!.Id);
  }

  /**
   * A container's log, as the kubelet serves it: `since` (seconds ago) or `sinceTime`, `tailLines`,
   * `timestamps`, `limitBytes`; `previous` is what the container wrote before its last restart.
   */
  async logs(pod: KubeObject, options: { container?: string; follow?: boolean; tailLines?: number; timestamps?: boolean; sinceSeconds?: number; sinceTime?: string; previous?: boolean; limitBytes?: number }): Promise<Readable> {
    const name = options.container ?? pod.spec.containers[0].name;
    const c = await this.container(pod, options.container);
    const info = await c.inspect();
    const out = new PassThrough();
    const asked = options.sinceSeconds !== undefined ? Math.floor(Date.now() / 1000) - options.sinceSeconds : options.sinceTime ? Math.floor(Date.parse(options.sinceTime) / 1000) : undefined;
    let since: string | number | undefined = asked !== undefined && !Number.isNaN(asked) ? asked : undefined;
    let until: string | undefined;
    // Docker keeps one container, and one log, across restarts (its restart policy's, the node's
    // after a probe): this run's log, as the kubelet's, begins where the run before it ended; that
    // is FinishedAt while it runs again (Docker sets it once the run's output is all written), and
    // shortly before StartedAt once it has ended too (a program writes before Docker records its
    // start; a restart comes 100 ms or more after the run before it). "previous" is what it wrote
    // before: the run before the last one, from when the node's agent saw the engine start it (every
    // earlier run when it did not see that, having started since).
    const status = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find((s: { name: string }) => s.name === name);
    const restarted = info.RestartCount > 0 || (status?.restartCount ?? 0) > 0;
    // (Docker calls a container waiting to be restarted running too: its last run has ended.)
    const begins = !restarted ? undefined : info.State.Running && !info.State.Restarting ? dockerTimestamp(info.State.FinishedAt) : dockerTimestamp(info.State.StartedAt, -50);
    if (options.previous) {
      if (!begins) throw new Error(`previous terminated container "${name}" in pod "${pod.metadata.name}" not found`);
      until = begins;
      const previousStart = this.previousRunStart(pod.spec?.nodeName ?? '', info.Id, info.State.StartedAt);
      if (previousStart !== undefined) {
        // From a moment before the engine reported its start (a program writes before that).
        const from = ((previousStart - 50) / 1000).toFixed(3);
        if (since === undefined || Number(since) < Number(from)) since = from;
      }
    } else if (begins && (since === undefined || since < Number(begins))) since = begins;
    const common = { stdout: true, stderr: true, timestamps: options.timestamps ?? false, ...(options.tailLines !== undefined ? { tail: options.tailLines } : {}), ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
    if (options.follow && !options.previous) {
      const stream = await c.logs({ ...common, follow: true });
      if (info.Config.Tty) stream.pipe(out);
      else {
        c.modem.demuxStream(stream, out, out);
        stream.on('end', () => out.end());
      }
      out.on('close', () => (stream as unknown as { destroy(): void }).destroy());
      return out;
    }
    const buffer = await c.logs({ ...common, follow: false });
    const text = info.Config.Tty ? buffer : demux(buffer);
    out.end(options.limitBytes !== undefined ? text.subarray(0, options.limitBytes) : text);
    return out;
  }

  /**
   * Attaches to the main process of a Pod container (kubectl attach, run -it): its output from now
   * on, and its stdin when the container keeps one open (stdin: true in the Pod).
   */
  async attachStream(pod: KubeObject, options: { container?: string; stdin: boolean; tty: boolean }) {
    const c = await this.container(pod, options.container);
    const info = await c.inspect();
    // As the kubelet: a container that has ended has no process to attach to (kubectl debug then
    // reads its log instead).
    if (!info.State.Running) throw new Error(`container ${options.container ?? pod.spec.containers[0].name} in pod ${pod.metadata.name} is not running (${info.State.Status}); its output is in kubectl logs`);
    const stream = await c.attach({ stream: true, stdin: options.stdin && info.Config.OpenStdin, stdout: true, stderr: true, hijack: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (info.Config.Tty) stream.pipe(stdout);
    else c.modem.demuxStream(stream, stdout, stderr);
    return {
      stdout,
      stderr,
      write: (data: Buffer) => stream.write(data),
      // The container's stdin closes with the client's only under stdinOnce, as in Kubernetes; ending
      // the attach then would end its output too (kubectl debug -i closes its stdin at once when it has none).
      closeStdin: () => {
        if (info.Config.StdinOnce) (stream as unknown as { end(): void }).end();
      },
      resize: (cols: number, rows: number) => c.resize({ w: cols, h: rows }).catch(() => {}),
      // Ends when the process has exited and its last output has come through, with its code.
      done: Promise.all([c.wait().then((r: { StatusCode?: number }) => r.StatusCode ?? -1, () => -1), new Promise((r) => stream.on('end', r).on('close', r))]).then(([code]) => code),
      abort: () => (stream as unknown as { destroy(): void }).destroy(),
    };
  }

  /**
   * Starts a command in a Pod container with its streams attached. With a TTY, output comes raw on
   * `stdout`; without, Docker's stdout and stderr are split.
   */
  async execStream(pod: KubeObject, options: { container?: string; command: string[]; stdin: boolean; tty: boolean }) {
    const c = await this.container(pod, options.container);
    // As the kubelet: only into a running container. Docker calls a Pod's container running while
    // its program still waits for the Pod's network; the Pod's status says so only once it runs.
    const name = options.container ?? pod.spec.containers[0].name;
    const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])];
    const state = statuses.find((s: { name: string }) => s.name === name)?.state;
    if (!state?.running) {
      const why = state?.waiting?.reason ?? (state?.terminated ? `terminated: ${state.terminated.reason ?? 'exited'}` : 'ContainerCreating');
      throw new Error(`container ${name} in pod ${pod.metadata.name} is not running (${why}); exec works once it runs (kubectl wait --for=condition=Ready pod/${pod.metadata.name})`);
    }
    const exec = await c.exec({ Cmd: options.command, AttachStdout: true, AttachStderr: true, AttachStdin: options.stdin, Tty: options.tty });
    const stream = await exec.start({ hijack: true, stdin: options.stdin, Tty: options.tty });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (options.tty) stream.pipe(stdout);
    else {
      c.modem.demuxStream(stream, stdout, stderr);
      stream.on('end', () => {
        stdout.end();
        stderr.end();
      });
    }
    return {
      stdout,
      stderr,
      write: (data: Buffer) => stream.write(data),
      closeStdin: () => (stream as unknown as { end(): void }).end(),
      resize: (cols: number, rows: number) => exec.resize({ w: cols, h: rows }).catch(() => {}),
      done: new Promise<number>((resolve) => stream.on('end', () => void exec.inspect().then((i) => resolve(i.ExitCode ?? -1), () => resolve(-1)))),
      abort: () => (stream as unknown as { destroy(): void }).destroy(),
    };
  }
}

/** Docker's multiplexed log format: 8-byte headers, then the payload. */
export function demux(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(i + 4);
    parts.push(raw.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts);
}

/**
 * A time as Docker's log API takes it, to the nanosecond ("seconds.nanoseconds"), moved by
 * `offsetMs`: a restarted container's runs can be less than a second apart.
 */
export function dockerTimestamp(iso: string, offsetMs = 0): string | undefined {
  const ms = Date.parse(iso);
  // (Docker's time of a container never started, or never finished, is year 1.)
  if (Number.isNaN(ms) || ms <= 0) return undefined;
  const fraction = (/\.(\d{1,9})/.exec(iso)?.[1] ?? '').padEnd(9, '0');
  const ns = BigInt(Math.floor(ms / 1000)) * 1_000_000_000n + BigInt(fraction) + BigInt(offsetMs) * 1_000_000n;
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
}
