import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir } from './helpers.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * A minimal Docker Registry (v2 API, read-only) on 127.0.0.1 serving one busybox image under any
 * name listed in `images`; Docker pulls from 127.0.0.1 without TLS. Counts manifest requests. With
 * `credentials`, every request needs them (HTTP Basic).
 */
export async function startRegistry(images: string[], credentials?: { username: string; password: string }): Promise<{ host: string; pulls: Map<string, number>; close(): Promise<void> }> {
  const root = tempDir('gouvernail-registry-');
  const rootfs = path.join(root, 'rootfs');
  mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  mkdirSync(path.join(rootfs, 'tmp'));
  copyFileSync(execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim(), path.join(rootfs, 'bin', 'busybox'));
  for (const applet of ['sh', 'sleep', 'echo', 'httpd', 'wget', 'cat']) symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  const tar = execFileSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] }, rootfs: { type: 'layers', diff_ids: [sha(tar)] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha(layer) }],
  }));
  const blobs = new Map([[sha(config), config], [sha(layer), layer]]);
  const pulls = new Map<string, number>();
  writeFileSync(path.join(root, 'ready'), '');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    // A private registry: Basic credentials on every request, as registry:2 with htpasswd asks.
    if (credentials && req.headers.authorization !== `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`) {
      return res.writeHead(401, { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0', 'WWW-Authenticate': 'Basic realm="test"' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    }
    if (url.pathname === '/v2/' || url.pathname === '/v2') return res.writeHead(200, { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0' }).end('{}');
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) return res.writeHead(404).end();
    const [, name, what, ref] = m;
    if (what === 'manifests') {
      if (!images.includes(`${name}:${ref}`) && ref !== sha(manifest)) return res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
      pulls.set(`${name}:${ref}`, (pulls.get(`${name}:${ref}`) ?? 0) + 1);
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json', 'Docker-Content-Digest': sha(manifest), 'Content-Length': manifest.length });
      return res.end(req.method === 'HEAD' ? undefined : manifest);
    }
    const blob = blobs.get(ref!);
    if (!blob) return res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': ref, 'Content-Length': blob.length });
    res.end(req.method === 'HEAD' ? undefined : blob);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { host: `127.0.0.1:${(server.address() as { port: number }).port}`, pulls, close: () => new Promise((r) => server.close(() => r())) };
}
