/**
 * Run by the control plane in a node's network component (docker exec), after it wrote the node's
 * configuration into it: puts the cluster DNS address on the node's loopback, routes the other
 * nodes' Pod subnets, rewrites the installation's iptables chains with iptables-restore --noflush
 * and hooks them first into the built-in chains. The iptables backend is the one the node's rules
 * are in (nft or legacy, as Docker chose), found as kube-proxy's iptables-wrapper finds it. Exits
 * non-zero with what failed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { contains, parseCidr } from './cidr.js';
import { hookInPlace } from './hook-order.js';

const configDir = process.env.GV_CONFIG_DIR ?? '/var/lib/gouvernail';
const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', XTABLES_LIBDIR: '/usr/lib/xtables' };

function run(cmd: string, args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { input, env, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stderr ?? ''}${r.stdout ?? ''}${r.error ? r.error.message : ''}`.trim() };
}

/** nft or legacy: the backend holding more rules (Docker's are there), remembered once chosen. */
function backend(): 'nft' | 'legacy' {
  const file = `${configDir}/backend`;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim() as 'nft' | 'legacy';
  const count = (mode: string) => (existsSync(`/usr/sbin/iptables-${mode}-save`) ? run(`iptables-${mode}-save`, []).out.split('\n').filter((l) => l.startsWith('-A ')).length : -1);
  const chosen = count('legacy') > count('nft') ? 'legacy' : 'nft';
  writeFileSync(file, chosen);
  return chosen;
}

interface Plan {
  dnsAddress: string;
  hooks: { table: string; chain: string; target: string }[];
  /** The other nodes' Pod subnets and the node each is reached through. */
  routes?: { subnet: string; via: string }[];
  /** The cluster's Pod range: a route into it that is not wanted is removed. */
  clusterCidr?: string;
  /** This node's address (the VXLAN tunnel's local end). */
  self?: string;
  /** This node's own Pod ranges: an address of them that no Pod has is unreachable, not sent on. */
  own?: string[];
  /** The gateways of this node's namespace subnets: those of the cluster range on loopback that are not go. */
  gateways?: string[];
}

const vxlanDevice = 'gv.vxlan';
const vxlanId = 7477;
/** A node's tunnel MAC, from its address: locally administered, the same on every node. */
function vxlanMac(address: string): string {
  return ['0e', '76', ...address.split('.').map((x) => Number(x).toString(16).padStart(2, '0'))].join(':');
}

/** What VXLAN adds to each packet: outer IPv4, UDP, VXLAN and Ethernet headers. */
const vxlanOverhead = 50;

/** The MTU of the link that holds this address, or undefined. */
function underlayMtu(address: string): number | undefined {
  const link = /^\d+:\s+(\S+)\s/.exec(run('ip', ['-o', '-4', 'addr', 'show', 'to', `${address}/32`]).out)?.[1];
  if (!link) return undefined;
  const mtu = / mtu (\d+) /.exec(run('ip', ['-o', 'link', 'show', 'dev', link.split('@')[0]!]).out)?.[1];
  return mtu ? Number(mtu) : undefined;
}

const plan = JSON.parse(readFileSync(`${configDir}/apply.json`, 'utf8')) as Plan;
const iptables = `iptables-${backend()}`;
const failures: string[] = [];
const addr = run('ip', ['addr', 'replace', `${plan.dnsAddress}/32`, 'dev', 'lo']);
if (!addr.ok) failures.push(`ip addr replace ${plan.dnsAddress}/32 dev lo: ${addr.out}`);

// Routes to the other nodes' Pods, unless the subnet is on this host already (two engines of one
// host): straight through the node's address when this host reaches it directly (the hosts share a
// network), else encapsulated in VXLAN to it, as flannel does. Routes of the cluster range that are
// no longer wanted go.
if (plan.routes) {
  const table = run('ip', ['-4', 'route', 'show']).out.split('\n');
  const connected = new Set(table.filter((l) => / proto kernel /.test(l)).map((l) => l.split(' ')[0]));
  const wanted = plan.routes.filter((r) => !connected.has(r.subnet));
  const direct = new Map<string, boolean>();
  const isDirect = (via: string) => {
    if (!direct.has(via)) direct.set(via, !/ via /.test(run('ip', ['-4', 'route', 'get', via]).out));
    return direct.get(via)!;
  };
  const tunnelled = wanted.filter((r) => !isDirect(r.via));
  if (tunnelled.length > 0 && plan.self) {
    const dev = vxlanDevice;
    if (!run('ip', ['link', 'show', dev]).ok) {
      const add = run('ip', ['link', 'add', dev, 'type', 'vxlan', 'id', String(vxlanId), 'dstport', '4789', 'local', plan.self, 'nolearning']);
      if (!add.ok) failures.push(`ip link add ${dev} type vxlan: ${add.out}`);
    }
    run('ip', ['link', 'set', dev, 'address', vxlanMac(plan.self)]);
    // Encapsulation adds 50 bytes: the tunnel's MTU is that much under the link the node's own
    // address is on, so a full-size packet is not fragmented on the wire (TCP learns the smaller size).
    const underlay = underlayMtu(plan.self);
    if (underlay) run('ip', ['link', 'set', dev, 'mtu', String(underlay - vxlanOverhead)]);
    run('ip', ['link', 'set', dev, 'up']);
    for (const via of new Set(tunnelled.map((r) => r.via))) {
      const mac = vxlanMac(via);
      const neigh = run('ip', ['neigh', 'replace', via, 'lladdr', mac, 'dev', dev, 'nud', 'permanent']);
      if (!neigh.ok) failures.push(`ip neigh replace ${via} dev ${dev}: ${neigh.out}`);
      const fdb = run('bridge', ['fdb', 'replace', mac, 'dev', dev, 'dst', via]);
      if (!fdb.ok) failures.push(`bridge fdb replace ${mac} dev ${dev} dst ${via}: ${fdb.out}`);
    }
  }
  for (const r of wanted) {
    const args = isDirect(r.via) ? ['route', 'replace', r.subnet, 'via', r.via] : ['route', 'replace', r.subnet, 'via', r.via, 'dev', vxlanDevice, 'onlink'];
    const res = run('ip', args);
    if (!res.ok) failures.push(`ip ${args.join(' ')}: ${res.out}`);
  }
  const keep = new Set(wanted.map((r) => r.subnet));
  const inCluster = (subnet: string) => !!plan.clusterCidr && contains(parseCidr(plan.clusterCidr), subnet.split('/')[0]!);
  for (const line of table) {
    const [subnet] = line.split(' ');
    if (!subnet || !/ via /.test(line) || connected.has(subnet) || keep.has(subnet) || !inCluster(subnet)) continue;
    run('ip', ['route', 'del', subnet]);
  }
}

// Gateways put on loopback for subnets this node no longer has (a new --cluster-cidr) go.
if (plan.gateways && plan.clusterCidr) {
  const cluster = parseCidr(plan.clusterCidr);
  const wanted = new Set(plan.gateways);
  for (const line of run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo']).out.split('\n')) {
    const ip = / inet (\S+)\/32 /.exec(line)?.[1];
    if (ip && contains(cluster, ip) && !wanted.has(ip)) run('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']);
  }
}

// A Pod has a route of its own (a /32 through its veth); the rest of the node's ranges goes nowhere.
for (const range of plan.own ?? []) {
  const r = run('ip', ['route', 'replace', 'unreachable', range]);
  if (!r.ok) failures.push(`ip route replace unreachable ${range}: ${r.out}`);
}

const restore = run(`${iptables}-restore`, ['-w', '--noflush'], readFileSync(`${configDir}/iptables.rules`, 'utf8'));
if (!restore.ok) failures.push(`${iptables}-restore: ${restore.out}`);
else {
  // Each hook must come first: Docker inserts its rules for a new network at the top of FORWARD and
  // POSTROUTING, before which Pods of two namespaces could not talk, or would lose their address.
  for (const h of plan.hooks) {
    const listed = run(iptables, ['-w', '-t', h.table, '-S', h.chain]);
    if (listed.ok && hookInPlace(listed.out, h.chain, h.target)) continue;
    while (run(iptables, ['-w', '-t', h.table, '-D', h.chain, '-j', h.target]).ok);
    const ins = run(iptables, ['-w', '-t', h.table, '-I', h.chain, '1', '-j', h.target]);
    if (!ins.ok) failures.push(`${iptables} -t ${h.table} -I ${h.chain} 1 -j ${h.target}: ${ins.out}`);
  }
}
// The DNS server (the container's first process) reads its new tables now.
try {
  process.kill(1, 'SIGHUP');
} catch (err) {
  failures.push(`cannot signal the DNS server: ${(err as Error).message}`);
}
if (failures.length) {
  process.stderr.write(`${failures.join('\n')}\n`);
  process.exit(1);
}
