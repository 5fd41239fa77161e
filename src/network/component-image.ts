import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';

/** The component's program files, relative to dist/src/network. */
const programFiles = ['component-main.js', 'component-apply.js', 'dns-server.js', 'dns-records.js', 'ingress-proxy.js', 'ingress-routes.js', 'hook-order.js', 'component-wire.js', 'wiring.js', 'host-ports.js', 'tcp-forward.js', 'cidr.js', 'component-remove.js'];
/** The libraries it imports, and theirs. */
const modules = ['dns-packet', '@leichtgewicht/ip-codec'];

interface ImageFile {
  path: string;
  content: Buffer;
  mode: number;
  /** A symbolic link to this target, instead of a file. */
  link?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The project's root: dist/src/network is three folders down. */
const projectRoot = path.resolve(here, '../../..');

/**
 * The shared libraries a set of binaries link, from one `ldd` of them all: one process, not one
 * per binary (there are a hundred iptables extensions), and not waited for synchronously, so the
 * API keeps answering while a node's network is first set up.
 */
async function sharedLibraries(binaries: string[]): Promise<string[]> {
  let out: string;
  try {
    out = (await promisify(execFile)('ldd', binaries, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    // ldd exits 1 when one of them is not dynamic; what it printed of the others still holds.
    const printed = (err as { stdout?: string }).stdout;
    if (!printed) throw new Error(`ldd could not list the libraries of the network component's binaries: ${(err as Error).message}`);
    out = printed;
  }
  const libs = new Set<string>();
  // With several files, each one's section starts with its name and a colon; its libraries are indented.
  for (const line of out.split('\n')) if (line.startsWith('\t')) for (const m of line.matchAll(/(\/\S+)/g)) libs.add(m[1]!);
  return [...libs].filter((f) => existsSync(f));
}

function walk(dir: string, base: string, into: { path: string; from: string }[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full, path.posix.join(base, e.name), into);
    else if (e.isFile()) into.push({ path: path.posix.join(base, e.name), from: full });
  }
}

/** The first of these paths that exists on this host. */
function firstExisting(paths: string[]): string | undefined {
  return paths.find((f) => existsSync(f));
}

/** A file of the image, before it is read: where it comes from on this host, or what it holds. */
type Entry = { path: string; mode: number } & ({ from: string } | { content: Buffer } | { link: string });

/**
 * The files of the node network component's image, taken from the control plane's own host: this
 * Node.js, iptables (both backends, nft and legacy, and their extensions), ip and nsenter, the
 * libraries they link, the component's program and the libraries it imports. A node needs nothing but Docker, and
 * the component sees nothing of the node's files. Read without blocking: about 100 MB, read
 * while the API serves.
 */
export async function componentFiles(): Promise<ImageFile[]> {
  const entries: Entry[] = [];
  const node = realpathSync(process.execPath);
  const sbin = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  const find = (name: string) => firstExisting(sbin.map((d) => `${d}/${name}`));
  const nft = find('xtables-nft-multi');
  const legacy = find('xtables-legacy-multi');
  const ip = find('ip');
  const bridge = find('bridge');
  const nsenter = find('nsenter');
  if (!nft && !legacy) throw new Error("iptables is not on this host (xtables-nft-multi or xtables-legacy-multi): the control plane's host gives the nodes' network component its iptables; install the iptables package");
  if (!nsenter) throw new Error("nsenter is not on this host: the control plane's host gives the nodes' network component the nsenter that wires Pods' network namespaces; install the util-linux package");
  if (!ip || !bridge) throw new Error("ip or bridge is not on this host: the control plane's host gives the nodes' network component its ip and bridge; install the iproute2 package");
  const extensionDir = firstExisting(['/usr/lib/x86_64-linux-gnu/xtables', '/usr/lib/aarch64-linux-gnu/xtables', '/usr/lib64/xtables', '/usr/lib/xtables', '/lib/xtables'].filter((d) => existsSync(`${d}/libxt_comment.so`)));
  if (!extensionDir) throw new Error('the iptables extensions (libxt_*.so) are not on this host; install the iptables package');
  const binaries = [node, realpathSync(ip), realpathSync(bridge), realpathSync(nsenter), ...(nft ? [realpathSync(nft)] : []), ...(legacy ? [realpathSync(legacy)] : [])];
  const extensions = readdirSync(extensionDir).filter((f) => f.endsWith('.so')).map((f) => path.join(extensionDir, f));
  entries.push({ path: 'usr/bin/node', from: node, mode: 0o755 });
  entries.push({ path: 'usr/sbin/ip', from: realpathSync(ip), mode: 0o755 });
  entries.push({ path: 'usr/sbin/bridge', from: realpathSync(bridge), mode: 0o755 });
  entries.push({ path: 'usr/bin/nsenter', from: realpathSync(nsenter), mode: 0o755 });
  if (nft) {
    entries.push({ path: 'usr/sbin/xtables-nft-multi', from: realpathSync(nft), mode: 0o755 });
    for (const n of ['iptables-nft', 'iptables-nft-save', 'iptables-nft-restore']) entries.push({ path: `usr/sbin/${n}`, link: 'xtables-nft-multi', mode: 0o777 });
  }
  if (legacy) {
    entries.push({ path: 'usr/sbin/xtables-legacy-multi', from: realpathSync(legacy), mode: 0o755 });
    for (const n of ['iptables-legacy', 'iptables-legacy-save', 'iptables-legacy-restore']) entries.push({ path: `usr/sbin/${n}`, link: 'xtables-legacy-multi', mode: 0o777 });
  }
  for (const e of extensions) entries.push({ path: `usr/lib/xtables/${path.basename(e)}`, from: realpathSync(e), mode: 0o755 });
  for (const lib of await sharedLibraries([...binaries, ...extensions])) entries.push({ path: lib.replace(/^\//, ''), from: realpathSync(lib), mode: 0o755 });
  for (const f of programFiles) entries.push({ path: `app/dist/src/network/${f}`, from: path.join(here, f), mode: 0o644 });
  const moduleFiles: { path: string; from: string }[] = [];
  for (const m of modules) walk(path.join(projectRoot, 'node_modules', m), `app/node_modules/${m}`, moduleFiles);
  for (const f of moduleFiles) entries.push({ ...f, mode: 0o644 });
  entries.push({ path: 'app/package.json', content: Buffer.from('{"type":"module"}\n'), mode: 0o644 });
  entries.push({ path: 'etc/passwd', content: Buffer.from('root:x:0:0:root:/root:/bin/false\n'), mode: 0o644 });
  entries.push({ path: 'var/lib/gouvernail/.keep', content: Buffer.alloc(0), mode: 0o644 });
  entries.push({ path: 'run/.keep', content: Buffer.alloc(0), mode: 0o644 });
  return Promise.all(
    entries.map(async (e): Promise<ImageFile> => {
      if ('link' in e) return { path: e.path, content: Buffer.alloc(0), mode: e.mode, link: e.link };
      return { path: e.path, content: 'from' in e ? await readFile(e.from) : e.content, mode: e.mode };
    }),
  );
}

/**
 * The image's name: its content's hash is the tag, so a new Gouvernail or Node.js makes a new image.
 * Hashed a megabyte at a time with a turn of the event loop between (Node.js alone is 100 MB).
 */
export async function componentImageTag(files: ImageFile[]): Promise<string> {
  const h = createHash('sha256');
  const step = 1 << 20;
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    h.update(f.path).update(String(f.mode)).update(f.link ?? '');
    for (let at = 0; at < f.content.length; at += step) {
      h.update(f.content.subarray(at, at + step));
      await new Promise(setImmediate);
    }
  }
  return `gouvernail/node-network:${h.digest('hex').slice(0, 16)}`;
}

let cached: Promise<{ files: ImageFile[]; tag: string }> | undefined;
function image(): Promise<{ files: ImageFile[]; tag: string }> {
  if (!cached) {
    cached = componentFiles().then(async (files) => ({ files, tag: await componentImageTag(files) }));
    cached.catch(() => (cached = undefined));
  }
  return cached;
}

const loading = new WeakMap<Docker, Promise<string>>();

/**
 * Makes sure an engine has the component's image (docker import of the files above), and returns
 * its name. One import per engine at a time.
 */
export function ensureComponentImage(docker: Docker): Promise<string> {
  let pending = loading.get(docker);
  if (!pending) {
    pending = load(docker);
    loading.set(docker, pending);
    pending.catch(() => loading.delete(docker));
  }
  return pending;
}

async function load(docker: Docker): Promise<string> {
  const { files, tag } = await image();
  const have = await docker.getImage(tag).inspect().then(() => true, () => false);
  if (have) return tag;
  const tar = pack();
  for (const f of files) {
    if (f.link) tar.entry({ name: f.path, type: 'symlink', linkname: f.link, mode: f.mode, mtime: new Date(0) });
    else tar.entry({ name: f.path, mode: f.mode, size: f.content.length, mtime: new Date(0) }, f.content);
  }
  tar.finalize();
  const [repo, version] = tag.split(':');
  const stream = await docker.importImage(tar as never, { repo, tag: version });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream as NodeJS.ReadableStream, (err: Error | null, out: { error?: string }[]) => {
      const failed = err?.message ?? out?.find((o) => o.error)?.error;
      if (failed) reject(new Error(`cannot import the network component's image: ${failed}`));
      else resolve();
    });
  });
  return tag;
}
