/**
 * The network component of a node (kube-proxy's and CoreDNS's place): a container the control
 * plane starts on each node through its Docker API, on the host's network. It serves the cluster
 * DNS on the cluster DNS address, from the table the control plane writes into it, the Ingresses
 * and the hostPorts on loopback; the control plane applies the node's iptables rules through it
 * (component-apply) and wires Pods' network namespaces (component-wire).
 */
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hookInPlace } from './hook-order.js';
import { DnsServer, resolversIn } from './dns-server.js';
import { clusterDomain, type DnsTable } from './dns-records.js';
import { IngressProxy } from './ingress-proxy.js';
import type { IngressTable } from './ingress-routes.js';
import { LoopbackProxies, type LoopbackPort } from './host-ports.js';

const configDir = process.env.GV_CONFIG_DIR ?? '/var/lib/gouvernail';
const address = process.env.GV_DNS_ADDRESS ?? '10.96.0.10';
const log = (msg: string, f: Record<string, unknown> = {}) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...f })}\n`);

let table: DnsTable = { zone: clusterDomain, names: {} };
let loaded = '';
/** Reads the table when its content changed (the file's time has only a second's resolution). */
function reload(): void {
  const file = `${configDir}/dns.json`;
  try {
    const text = readFileSync(file, 'utf8');
    if (text === loaded) return;
    table = JSON.parse(text) as DnsTable;
    loaded = text;
    log('loaded the cluster DNS names', { names: Object.keys(table.names).length });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log('cannot read the cluster DNS names; keeping the last ones', { err: (err as Error).message });
  }
}
let ingress: IngressTable = { routes: [], tls: [] };
let ingressLoaded = '';
function reloadIngress(): void {
  try {
    const text = readFileSync(`${configDir}/ingress.json`, 'utf8');
    if (text === ingressLoaded) return;
    ingress = JSON.parse(text) as IngressTable;
    ingressLoaded = text;
    log('loaded the Ingress routes', { routes: ingress.routes.length, certificates: ingress.tls.length });
    if (ingress.routes.length || ingress.defaultBackend) serveIngress();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log('cannot read the Ingress routes; keeping the last ones', { err: (err as Error).message });
  }
}

// hostPorts on the node's loopback, which the rules cannot translate, are answered here.
const loopbacks = new LoopbackProxies(log);
let hostPortsLoaded = '';
function reloadHostPorts(): void {
  try {
    const text = readFileSync(`${configDir}/hostports.json`, 'utf8');
    if (text === hostPortsLoaded) return;
    hostPortsLoaded = text;
    const ports = JSON.parse(text) as LoopbackPort[];
    loopbacks.update(ports);
    log('answering hostPorts on loopback', { ports: ports.map((p) => `${p.address}:${p.port}/${p.protocol ?? 'TCP'}`) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log('cannot read the hostPorts; keeping the last ones', { err: (err as Error).message });
  }
}

// The Ingress ports are taken once an Ingress exists, not before.
const httpPort = Number(process.env.GV_INGRESS_HTTP_PORT ?? 80);
const httpsPort = Number(process.env.GV_INGRESS_HTTPS_PORT ?? 443);
const proxy = new IngressProxy(() => ingress, log);
let ingressState: 'off' | 'binding' | 'on' = 'off';
function serveIngress(): void {
  if (ingressState !== 'off' || !httpPort) return;
  ingressState = 'binding';
  proxy.listen(process.env.GV_INGRESS_ADDRESS ?? '0.0.0.0', httpPort, httpsPort).then(
    () => {
      ingressState = 'on';
      log('serving Ingress', { http: httpPort, https: httpsPort });
    },
    (err: Error) => {
      proxy.close();
      ingressState = 'off';
      log('cannot take the Ingress ports; is another program using them? retrying in 5 s', { http: httpPort, https: httpsPort, err: err.message });
      setTimeout(serveIngress, 5000);
    },
  );
}

// component-apply signals a new table at once; the poll is for a signal that was missed.
process.on('SIGHUP', () => {
  reload();
  reloadIngress();
  reloadHostPorts();
});

let upstream: string[] = [];
let upstreamAt = 0;
const server = new DnsServer({
  table: () => table,
  upstream: () => {
    if (Date.now() - upstreamAt > 5000) {
      upstream = resolversIn(process.env.GV_RESOLV_CONF ?? '/etc/resolv.conf', [address]);
      upstreamAt = Date.now();
    }
    return upstream;
  },
  log,
});

setInterval(() => {
  reload();
  reloadIngress();
  reloadHostPorts();
}, 1000);
reload();
reloadIngress();
reloadHostPorts();

// The address is put on the host's loopback by the first apply; until then, binding is retried.
// Each new reason is logged once (the address not there yet, then perhaps another program on it).
let warned = '';
const bind = (): void => {
  server.listen(address, 53).then(
    () => log('serving the cluster DNS', { address }),
    (err: Error) => {
      const held = (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? '; another program holds the address (another installation on this host with the same --service-cluster-ip-range? give each its own range)'
        : '';
      if (warned !== err.message) log(`cannot serve DNS yet${held}; retrying each second`, { address, err: err.message });
      warned = err.message;
      setTimeout(bind, 1000);
    },
  );
};
bind();

/**
 * Every 10 s, as kube-proxy resyncs: the chains must still come first in the built-in ones (Docker
 * puts its rules for a new network, or all of them when it restarts, before them; `docker network
 * create` by hand or docker compose does too). When one does not, the last rules are applied again.
 */
const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', XTABLES_LIBDIR: '/usr/lib/xtables' };
function hooksInPlace(): boolean {
  const backend = existsSync(`${configDir}/backend`) ? readFileSync(`${configDir}/backend`, 'utf8').trim() : undefined;
  if (!backend || !existsSync(`${configDir}/apply.json`)) return true;
  const plan = JSON.parse(readFileSync(`${configDir}/apply.json`, 'utf8')) as { hooks: { table: string; chain: string; target: string }[] };
  return plan.hooks.every((h) => {
    const r = spawnSync(`iptables-${backend}`, ['-w', '-t', h.table, '-S', h.chain], { env, encoding: 'utf8' });
    return r.status === 0 && hookInPlace(r.stdout ?? '', h.chain, h.target);
  });
}
setInterval(() => {
  try {
    if (hooksInPlace()) return;
    log('the rules are no longer first (Docker put its own before them); applying them again');
    const r = spawnSync(process.execPath, [new URL('./component-apply.js', import.meta.url).pathname], { env: { ...process.env, ...env }, encoding: 'utf8' });
    if (r.status !== 0) log('cannot apply the rules again', { err: (r.stderr ?? '').trim() });
  } catch (err) {
    log('cannot check the rules', { err: (err as Error).message });
  }
}, 10_000).unref();

const stop = () => {
  server.close();
  proxy.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
