import { chmodSync, closeSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import { demux } from './pod-io.js';

/** What the kubelet keeps of a message file, and of the log it falls back to. */
export const messageLimitBytes = 4096;
const fallbackLines = 80;
const fallbackLimitBytes = 2048;

export interface MessageSpec {
  name: string;
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
}

/** The host file a container of a local node writes its termination message into. */
export function messageFile(podFilesDir: string, uid: string, container: string): string {
  return path.join(podFilesDir, uid, 'termination', container);
}

/**
 * As the kubelet gives each container a fresh, empty file at its terminationMessagePath (a bind
 * from the host, so that it outlives the container's /dev, a tmpfs): the file is made (writable by
 * any user the container runs as) and bound.
 */
export function withMessageFile(options: Docker.ContainerCreateOptions, spec: MessageSpec, file: string): Docker.ContainerCreateOptions {
  if (!spec.terminationMessagePath) return options;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  writeFileSync(file, '');
  chmodSync(file, 0o666);
  return bound(options, file, spec.terminationMessagePath);
}

function bound(options: Docker.ContainerCreateOptions, file: string, at: string): Docker.ContainerCreateOptions {
  return { ...options, HostConfig: { ...options.HostConfig, Binds: [...(options.HostConfig?.Binds ?? []), `${file}:${at}`] } };
}

/**
 * The file a container of another node's engine writes its termination message into: on that
 * node's host, under /run, made through the node's network component (which has the host's /run)
 * and bound as on a local node. /dev, where the message goes by default, is a tmpfs the stopped
 * container does not keep.
 */
export function componentMessageFile(installation: string, uid: string, container: string): string {
  return `${componentMessageDir(installation, uid)}/${container}`;
}

/** The folder of a Pod's message files on another node's host, removed with the Pod. */
export function componentMessageDir(installation: string, uid: string): string {
  return `/run/gouvernail/${installation}/termination/${uid}`;
}

/**
 * As withMessageFile, the file made on the node's host by way of its network component. Without
 * the component (not running yet), the container gets no file: a message at a path of its own
 * file system is still read, one in /dev is not.
 */
export async function withComponentMessageFile(component: Docker.Container, options: Docker.ContainerCreateOptions, spec: MessageSpec, file: string): Promise<Docker.ContainerCreateOptions> {
  if (!spec.terminationMessagePath) return options;
  const tar = pack();
  const parts = file.split('/').filter(Boolean);
  // The folders under /run/gouvernail made 0755, as the kubelet makes a Pod's.
  for (let i = 2; i < parts.length; i++) tar.entry({ name: `${parts.slice(0, i).join('/')}/`, type: 'directory', mode: 0o755 });
  tar.entry({ name: parts.join('/'), mode: 0o666 }, '');
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const c of tar) chunks.push(c as Buffer);
  const made = await component.putArchive(Buffer.concat(chunks), { path: '/' }).then(() => true, () => false);
  return made ? bound(options, file, spec.terminationMessagePath) : options;
}

export interface Run {
  startedAt: string;
  exitCode: number;
  tty: boolean;
  /** The container's bind of its message file, when it has one. */
  file?: string;
  /** Its bind of a file made through the node's network component, read through that container. */
  componentFile?: { component: Docker.Container; file: string };
}

/**
 * The message of a container that ended, as the kubelet reads it: what the program wrote during
 * this run at its terminationMessagePath (at most 4 KiB); with FallbackToLogsOnError, a failed run
 * that wrote none gives the end of its log instead (80 lines, at most 2 KiB). Undefined when there
 * is none.
 */
export async function terminationMessage(container: Docker.Container, spec: MessageSpec, run: Run): Promise<string | undefined> {
  const since = Date.parse(run.startedAt);
  let message: string | undefined;
  if (spec.terminationMessagePath) {
    if (run.file) message = fromHost(run.file, since);
    else if (run.componentFile) message = await fromContainer(run.componentFile.component, run.componentFile.file, since);
    else message = await fromContainer(container, spec.terminationMessagePath, since);
  }
  if (!message && spec.terminationMessagePolicy === 'FallbackToLogsOnError' && run.exitCode !== 0) message = await fromLog(container, since, run.tty);
  return message || undefined;
}

/** The host file, when this run wrote it. */
function fromHost(file: string, since: number): string | undefined {
  try {
    if (statSync(file).mtimeMs < since) return undefined;
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(messageLimitBytes);
      return buf.subarray(0, readSync(fd, buf, 0, messageLimitBytes, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * A container without the host file (on another node's engine, or made by an earlier version):
 * the file is read from its filesystem, which a stopped container keeps, except for what a tmpfs
 * held, such as /dev.
 */
async function fromContainer(container: Docker.Container, file: string, since: number): Promise<string | undefined> {
  const stream = (await container.getArchive({ path: file }).catch(() => undefined)) as Readable | undefined;
  if (!stream) return undefined;
  let message: string | undefined;
  const tar = extract();
  tar.on('entry', (header, body, next) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (d: unknown) => {
      if (size < messageLimitBytes) chunks.push(d as Buffer);
      size += (d as Buffer).length;
    });
    body.on('end', () => {
      // The archive's times are whole seconds.
      const written = (header.mtime?.getTime() ?? 0) >= Math.floor(since / 1000) * 1000;
      if (message === undefined && header.type === 'file' && written) message = Buffer.concat(chunks).subarray(0, messageLimitBytes).toString('utf8');
      next();
    });
  });
  await new Promise<void>((resolve) => {
    tar.on('finish', () => resolve());
    tar.on('error', () => resolve());
    stream.pipe(tar);
  });
  return message;
}

async function fromLog(container: Docker.Container, since: number, tty: boolean): Promise<string | undefined> {
  const raw = (await container.logs({ stdout: true, stderr: true, follow: false, tail: fallbackLines, since: Math.floor(since / 1000) }).catch(() => undefined)) as Buffer | undefined;
  if (!raw) return undefined;
  const text = tty ? raw : demux(raw);
  return text.subarray(Math.max(0, text.length - fallbackLimitBytes)).toString('utf8');
}
