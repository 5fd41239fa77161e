import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
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

function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...out.matchAll(/(\/\S+)/g)].map((m) => m[1]!).filter((f) => existsSync(f));
}

function walk(dir: string, base: string, into: ImageFile[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full, path.posix.join(base, e.name), into);
    else if (e.isFile()) into.push({ path: path.posix.join(base, e.name), content: readFileSync(full), mode: 0o644 });
  }
}

/** The first of these paths that exists on this host. */
function firstExisting(paths: string[]): string | undefined {
  return paths.find((f) => existsSync(f));
}

/**
 * The files of the node network component's image, taken from the control plane's own host: this
 * Node.js, iptables (both backends, nft and legacy, and their extensions), ip and nsenter, the
 * libraries they link, the component's program and the libraries it imports. A node needs nothing but Docker, and
 * the component sees nothing of the node's files.
 */
export function componentFiles(): ImageFile[] {
  const files: ImageFile[] = [];
  const links: { path: string; target: string }[] = [];
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
  files.push({ path: 'usr/bin/node', content: readFileSync(node), mode: 0o755 });
  files.push({ path: 'usr/sbin/ip', content: readFileSync(realpathSync(ip)), mode: 0o755 });
  files.push({ path: 'usr/sbin/bridge', content: readFileSync(realpathSync(bridge)), mode: 0o755 });
  files.push({ path: 'usr/bin/nsenter', content: readFileSync(realpathSync(nsenter)), mode: 0o755 });
  if (nft) {
    files.push({ path: 'usr/sbin/xtables-nft-multi', content: readFileSync(realpathSync(nft)), mode: 0o755 });
    for (const n of ['iptables-nft', 'iptables-nft-save', 'iptables-nft-restore']) links.push({ path: `usr/sbin/${n}`, target: 'xtables-nft-multi' });
  }
  if (legacy) {
    files.push({ path: 'usr/sbin/xtables-legacy-multi', content: readFileSync(realpathSync(legacy)), mode: 0o755 });
    for (const n of ['iptables-legacy', 'iptables-legacy-save', 'iptables-legacy-restore']) links.push({ path: `usr/sbin/${n}`, target: 'xtables-legacy-multi' });
  }
  for (const e of extensions) files.push({ path: `usr/lib/xtables/${path.basename(e)}`, content: readFileSync(realpathSync(e)), mode: 0o755 });
  const libs = new Set([...binaries, ...extensions].flatMap((b) => sharedLibraries(b)));
  for (const lib of libs) files.push({ path: lib.replace(/^\//, ''), content: readFileSync(realpathSync(lib)), mode: 0o755 });
  for (const f of programFiles) files.push({ path: `app/dist/src/network/${f}`, content: readFileSync(path.join(here, f)), mode: 0o644 });
  for (const m of modules) walk(path.join(projectRoot, 'node_modules', m), `app/node_modules/${m}`, files);
  files.push({ path: 'app/package.json', content: Buffer.from('{"type":"module"}\n'), mode: 0o644 });
  files.push({ path: 'etc/passwd', content: Buffer.from('root:x:0:0:root:/root:/bin/false\n'), mode: 0o644 });
  files.push({ path: 'var/lib/gouvernail/.keep', content: Buffer.alloc(0), mode: 0o644 });
  files.push({ path: 'run/.keep', content: Buffer.alloc(0), mode: 0o644 });
  for (const l of links) files.push({ path: l.path, content: Buffer.alloc(0), mode: 0o777, link: l.target });
  return files;
}

/** The image's name: its content's hash is the tag, so a new Gouvernail or Node.js makes a new image. */
export function componentImageTag(files: ImageFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) h.update(f.path).update(String(f.mode)).update(f.link ?? '').update(f.content);
  return `gouvernail/node-network:${h.digest('hex').slice(0, 16)}`;
}

let cached: { files: ImageFile[]; tag: string } | undefined;
function image(): { files: ImageFile[]; tag: string } {
  if (!cached) {
    const files = componentFiles();
    cached = { files, tag: componentImageTag(files) };
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
  const { files, tag } = image();
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

/** Bytes the component's image takes, for the README and logs. */
export function componentImageSize(): number {
  return image().files.reduce((n, f) => n + f.content.length, 0);
}

