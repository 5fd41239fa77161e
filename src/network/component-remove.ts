/**
 * Run in a node's network component (docker exec) by `gouvernail down`, before the component is
 * removed: takes away what the component put on the host's network for its installation, and
 * nothing else: its iptables chains and the hooks into them, the cluster DNS address and the
 * subnet gateways on loopback, the unreachable Pod ranges, the routes to other nodes' Pod subnets,
 * the host ends of its Pods' veth pairs, and the VXLAN device once no route uses it. Reads what it
 * put from the configuration it last applied (the installation's id is its argument). Prints what
 * it removed; exits non-zero with what it could not.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const configDir = process.env.GV_CONFIG_DIR ?? '/var/lib/gouvernail';
const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', XTABLES_LIBDIR: '/usr/lib/xtables' };

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stderr ?? ''}${r.stdout ?? ''}${r.error ? r.error.message : ''}`.trim() };
}

interface Plan {
  dnsAddress?: string;
  hooks?: { table: string; chain: string; target: string }[];
  routes?: { subnet: string; via: string }[];
  own?: string[];
  gateways?: string[];
}

// The termination message files of the Pods of another node (see termination-message.ts).
const installationArg = process.argv[2] ?? '';
if (/^[0-9a-f]+$/.test(installationArg) && existsSync(`/run/gouvernail/${installationArg}`)) {
  rmSync(`/run/gouvernail/${installationArg}`, { recursive: true, force: true });
  process.stdout.write(`the Pods' termination message files under /run/gouvernail/${installationArg}\n`);
}

const planFile = `${configDir}/apply.json`;
if (!existsSync(planFile)) {
  process.stdout.write('nothing was applied on this node\n');
  process.exit(0);
}
const plan = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
const installation = process.argv[2] ?? '';
const removed: string[] = [];
const failures: string[] = [];

// The chains are named after the installation (GV-SVC-ID and so on); the hooks say which.
const suffix = /^GV-[A-Z]+-([0-9A-F]+)$/.exec(plan.hooks?.[0]?.target ?? '')?.[1];
const backendFile = `${configDir}/backend`;
const backend = existsSync(backendFile) ? readFileSync(backendFile, 'utf8').trim() : 'nft';
const iptables = `iptables-${backend}`;
if (suffix) {
  const ours = (chain: string) => chain.startsWith('GV-') && (chain.endsWith(`-${suffix}`) || chain.endsWith(`-${suffix}-N`));
  for (const table of ['nat', 'filter']) {
    for (const h of (plan.hooks ?? []).filter((x) => x.table === table)) {
      while (run(iptables, ['-w', '-t', table, '-D', h.chain, '-j', h.target]).ok) removed.push(`hook ${table}/${h.chain} -> ${h.target}`);
    }
    const listed = run(iptables, ['-w', '-t', table, '-S']);
    if (!listed.ok) {
      failures.push(`${iptables} -t ${table} -S: ${listed.out}`);
      continue;
    }
    const chains = listed.out.split('\n').map((l) => /^-N (\S+)$/.exec(l)?.[1]).filter((c): c is string => !!c && ours(c));
    for (const c of chains) run(iptables, ['-w', '-t', table, '-F', c]);
    for (const c of chains) {
      const r = run(iptables, ['-w', '-t', table, '-X', c]);
      if (r.ok) removed.push(`chain ${table}/${c}`);
      else failures.push(`${iptables} -t ${table} -X ${c}: ${r.out}`);
    }
  }
}

for (const ip of [plan.dnsAddress, ...(plan.gateways ?? [])]) {
  if (ip && run('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']).ok) removed.push(`address ${ip} on lo`);
}
for (const range of plan.own ?? []) if (run('ip', ['route', 'del', 'unreachable', range]).ok) removed.push(`unreachable ${range}`);
for (const r of plan.routes ?? []) if (run('ip', ['route', 'del', r.subnet]).ok) removed.push(`route ${r.subnet} via ${r.via}`);

// The host ends of this installation's Pods (gv, its first four characters, the address in hex).
if (installation.length >= 4) {
  const prefix = `gv${installation.slice(0, 4)}`;
  for (const line of run('ip', ['-o', 'link', 'show']).out.split('\n')) {
    const name = /^\d+: ([^:@]+)[@:]/.exec(line)?.[1];
    if (name && name.startsWith(prefix) && name.length === prefix.length + 8 && run('ip', ['link', 'del', name]).ok) removed.push(`interface ${name}`);
  }
}

// The tunnel is shared by the installations of a host: it goes with the last route through it.
if (run('ip', ['link', 'show', 'gv.vxlan']).ok && run('ip', ['route', 'show', 'dev', 'gv.vxlan']).out === '') {
  if (run('ip', ['link', 'del', 'gv.vxlan']).ok) removed.push('interface gv.vxlan');
}

process.stdout.write(`${removed.length ? removed.join('\n') : 'nothing left to remove'}\n`);
if (failures.length) {
  process.stderr.write(`${failures.join('\n')}\n`);
  process.exit(1);
}
