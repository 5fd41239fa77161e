import type Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import type { Readable } from 'node:stream';
import { ensureComponentImage } from '../network/component-image.js';
import { componentContainerName } from './node-network.js';
import { label } from './labels.js';
import { demux } from './pod-io.js';

const configDir = '/var/lib/gouvernail';
/** What component-remove reads: the configuration last applied, and the iptables backend chosen. */
const neededFiles = ['apply.json', 'backend'];

/**
 * Takes away what an installation's network component put on a node's host network (see
 * component-remove.ts), with a one-off container of the current component image: it works when the
 * component is stopped or from an older version. Reads what was applied from the component's
 * container, so it must run before that container is removed; stops that container first. Returns
 * what was removed.
 */
export async function removeHostNetwork(docker: Docker, installation: string): Promise<string[]> {
  const files = await readComponentFiles(docker, installation);
  if (!files) return [];
  // Stopped first: a running component puts its hooks back within 10 s of their going (it takes
  // them for Docker's doing), and a chain hooked again cannot be deleted.
  await docker
    .getContainer(componentContainerName(installation))
    .stop({ t: 5 })
    .catch((err: { statusCode?: number }) => (err.statusCode === 304 || err.statusCode === 404 ? undefined : Promise.reject(err)));
  const image = await ensureComponentImage(docker);
  const name = `${componentContainerName(installation)}-remove`;
  await docker.getContainer(name).remove({ force: true }).catch(() => {});
  const container = await docker.createContainer({
    name,
    Image: image,
    Cmd: ['/usr/bin/node', '/app/dist/src/network/component-remove.js', installation],
    Env: [`GV_CONFIG_DIR=${configDir}`],
    Labels: { [label.managedBy]: installation, [label.component]: 'network-remove' },
    HostConfig: {
      NetworkMode: 'host',
      CapAdd: ['NET_ADMIN', 'NET_RAW'],
      // iptables' lock, shared with Docker's own calls.
      Mounts: [{ Type: 'bind', Source: '/run', Target: '/run', BindOptions: { Propagation: 'rprivate', NonRecursive: true } }] as unknown as Docker.MountSettings[],
    },
  });
  try {
    const tar = pack();
    for (const [file, text] of files) tar.entry({ name: file, mode: 0o600 }, text);
    tar.finalize();
    const chunks: Buffer[] = [];
    for await (const c of tar) chunks.push(c as Buffer);
    await container.putArchive(Buffer.concat(chunks), { path: configDir });
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const log = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    const text = demux(Buffer.isBuffer(log) ? log : Buffer.from(String(log))).toString('utf8');
    if (StatusCode !== 0) throw new Error(`cannot remove all of the host's network setup: ${text.trim()}`);
    return text.split('\n').filter((l) => l && l !== 'nothing left to remove' && l !== 'nothing was applied on this node');
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/** The component's files component-remove needs, or undefined when there is no component. */
async function readComponentFiles(docker: Docker, installation: string): Promise<Map<string, string> | undefined> {
  const stream = await docker
    .getContainer(componentContainerName(installation))
    .getArchive({ path: configDir })
    .catch((err: { statusCode?: number }) => (err.statusCode === 404 ? undefined : Promise.reject(err)));
  if (!stream) return undefined;
  const files = new Map<string, string>();
  const tar = extract();
  tar.on('entry', (header, body, next) => {
    const file = header.name.split('/').pop() ?? '';
    const chunks: Buffer[] = [];
    body.on('data', (d: unknown) => chunks.push(d as Buffer));
    body.on('end', () => {
      if (neededFiles.includes(file)) files.set(file, Buffer.concat(chunks).toString('utf8'));
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    tar.on('finish', () => resolve());
    tar.on('error', reject);
    (stream as unknown as Readable).pipe(tar);
  });
  return files;
}
