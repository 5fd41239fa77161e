import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';

/**
 * More Docker engines on this machine, for tests of several nodes: each `dockerd` has its own data
 * root, exec root, socket, bridge and address pool, and no iptables rules (the first engine keeps
 * its own). One may listen on TCP with TLS certificates made here.
 */
export interface Engine {
  name: string;
  socket: string;
  /** unix:///... or tcp://127.0.0.1:PORT */
  url: string;
  /** The TLS files a client needs, when the engine listens on TCP. */
  tls?: { ca: string; cert: string; key: string };
  docker: Docker;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, as `dockerd --tlsverify` wants. */
export function makeTlsFiles(dir: string): { ca: string; cert: string; key: string; serverCert: string; serverKey: string } {
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  const ossl = (...args: string[]) => sh('openssl', args);
  ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca-key.pem'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=gouvernail-test-ca');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server-key.pem'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  ossl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext'));
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('key.pem'), '-out', f('client.csr'), '-subj', '/CN=gouvernail');
  ossl('x509', '-req', '-in', f('client.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-out', f('cert.pem'), '-days', '2', '-extfile', f('client.ext'));
  return { ca: f('ca.pem'), cert: f('cert.pem'), key: f('key.pem'), serverCert: f('server.pem'), serverKey: f('server-key.pem') };
}

/**
 * Starts a dockerd numbered `index` (1 to 50: its bridge gvbr{index} is 10.{100+index}.0.1/24, its
 * networks come from 10.{150+index}.0.0/16), and loads `images` from the first engine into it.
 */
export async function startEngine(name: string, index: number, o: { tcpPort?: number; images?: string[]; netns?: string } = {}): Promise<Engine> {
  const dir = `/tmp/gve-${name}`;
  try {
    sh('sh', ['-c', `awk '{print $2}' /proc/mounts | grep '^${dir}/' | sort -r | xargs -r umount -l`]);
  } catch {
    // Nothing mounted.
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const bridge = `gvbr${index}`;
  // In a network namespace of its own (a test host), the engine has its own docker0 and iptables;
  // nsenter enters the network namespace alone (ip netns exec would hide the cgroup mounts).
  if (!o.netns) {
    try {
      sh('ip', ['link', 'del', bridge]);
    } catch {
      // It was not there.
    }
    sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `10.${100 + index}.0.1/24`, 'dev', bridge]);
    sh('ip', ['link', 'set', bridge, 'up']);
  }
  const socket = path.join(dir, 'docker.sock');
  const tls = o.tcpPort ? makeTlsFiles(path.join(dir, 'tls')) : undefined;
  const args = [
    `--data-root=${dir}/data`,
    `--exec-root=${dir}/exec`,
    `--pidfile=${dir}/docker.pid`,
    `-H`, `unix://${socket}`,
    ...(tls ? ['-H', `tcp://127.0.0.1:${o.tcpPort}`, '--tlsverify', `--tlscacert=${tls.ca}`, `--tlscert=${tls.serverCert}`, `--tlskey=${tls.serverKey}`] : []),
    ...(o.netns ? [] : ['--iptables=false', `--bridge=${bridge}`]),
    `--default-address-pool`, `base=10.${150 + index}.0.0/16,size=24`,
  ];
  let child: ChildProcess | undefined;
  const docker = new Docker({ socketPath: socket });
  const launch = async () => {
    // A dockerd that finds its default "bridge" network in its store at start deletes the link named
    // docker0, which is the first engine's: the network store goes before each start.
    rmSync(`${dir}/data/network`, { recursive: true, force: true });
    child = o.netns ? spawn('nsenter', [`--net=/var/run/netns/${o.netns}`, 'dockerd', ...args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('dockerd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (c) => (log = (log + c).slice(-4000)));
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await docker.ping();
        return;
      } catch {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dockerd ${name} did not start: ${log}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  };
  await launch();
  for (const image of o.images ?? []) {
    const have = await docker.getImage(image).inspect().then(() => true, () => false);
    if (!have) sh('sh', ['-c', `docker save ${image} | docker -H unix://${socket} load -q`]);
  }
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    if (c.exitCode === null) c.kill('SIGKILL');
  };
  return {
    name,
    socket,
    url: o.tcpPort ? `tcp://127.0.0.1:${o.tcpPort}` : `unix://${socket}`,
    tls: tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : undefined,
    docker,
    stop,
    start: launch,
    async destroy() {
      try {
        const all = await docker.listContainers({ all: true });
        await Promise.all(all.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
      } catch {
        // The engine is already down.
      }
      await stop();
      try {
        if (!o.netns) sh('ip', ['link', 'del', bridge]);
      } catch {
        // Gone already.
      }
      // What an engine stopped in a hurry leaves mounted is unmounted first; a leftover is not a failure.
      try {
        sh('sh', ['-c', `awk '{print $2}' /proc/mounts | grep '^${dir}/' | sort -r | xargs -r umount -l`]);
      } catch {
        // Nothing mounted.
      }
      try {
        if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      } catch {
        // Left for the next run's rmSync.
      }
    },
  };
}
