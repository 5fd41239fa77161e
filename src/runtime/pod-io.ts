import type Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import type { KubeObject } from '../manifest/types.js';
import { label } from './labels.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Logs and exec for the containers of a Pod, on the Docker engine of the Pod's node. */
export class PodIo {
  constructor(private readonly dockerFor: (nodeName: string) => Docker | undefined, private readonly installation: string) {}

  private async container(pod: KubeObject, name?: string): Promise<Docker.Container> {
    const docker = this.dockerFor(pod.spec?.nodeName ?? '');
    if (!docker) throw new Error(`pod ${pod.metadata.name} is not running on a node yet`);
    const containerName = name ?? pod.spec.containers[0].name;
    if (!pod.spec.containers.some((c: { name: string }) => c.name === containerName)) {
      throw new Error(`container ${containerName} is not valid for pod ${pod.metadata.name}; it has ${pod.spec.containers.map((c: { name: string }) => c.name).join(', ')}`);
    }
    const list = await docker.listContainers({ all: true, filters: { label: [`${label.managedBy}=${this.installation}`, `${label.uid}=${pod.metadata.uid}`, `${label.container}=${containerName}`] } });
    if (list.length === 0) throw new Error(`container ${containerName} of pod ${pod.metadata.name} has not been created yet`);
    return docker.getContainer(list[0]!.Id);
  }

  async logs(pod: KubeObject, options: { container?: string; follow?: boolean; tailLines?: number; timestamps?: boolean }): Promise<Readable> {
    const c = await this.container(pod, options.container);
    const info = await c.inspect();
    const out = new PassThrough();
    const common = { stdout: true, stderr: true, timestamps: options.timestamps ?? false, ...(options.tailLines !== undefined ? { tail: options.tailLines } : {}) };
    if (options.follow) {
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
    out.end(info.Config.Tty ? buffer : demux(buffer));
    return out;
  }

  async exec(pod: KubeObject, options: { container?: string; command: string[]; stdin?: Buffer }): Promise<ExecResult> {
    const c = await this.container(pod, options.container);
    const exec = await c.exec({ Cmd: options.command, AttachStdout: true, AttachStderr: true, AttachStdin: options.stdin !== undefined });
    const stream = await exec.start({ hijack: options.stdin !== undefined, stdin: options.stdin !== undefined });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
    stdout.on('data', (b: Buffer) => chunks.out.push(b));
    stderr.on('data', (b: Buffer) => chunks.err.push(b));
    c.modem.demuxStream(stream, stdout, stderr);
    if (options.stdin !== undefined) stream.end(options.stdin);
    await new Promise((resolve) => stream.on('end', resolve));
    const info = await exec.inspect();
    return { stdout: Buffer.concat(chunks.out).toString('utf8'), stderr: Buffer.concat(chunks.err).toString('utf8'), exitCode: info.ExitCode ?? -1 };
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
