/**
 * Run by the control plane in a node's network component (docker exec), after it wrote the node's
 * rules into the component: puts the cluster DNS address on the host's loopback, rewrites the
 * installation's iptables chains with iptables-restore --noflush and hooks them into the built-in
 * chains where they are not yet. The host's own ip and iptables run (chroot into its root), so the
 * rules go through the same iptables backend as Docker's. Exits non-zero with what failed.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const configDir = process.env.GV_CONFIG_DIR ?? '/run/gouvernail';
const hostRoot = process.env.GV_HOST_ROOT ?? '/host';
const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

function onHost(args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync('/usr/sbin/chroot', [hostRoot, ...args], { input, env, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stderr ?? ''}${r.stdout ?? ''}${r.error ? r.error.message : ''}`.trim() };
}

const plan = JSON.parse(readFileSync(`${configDir}/apply.json`, 'utf8')) as { dnsAddress: string; hooks: { table: string; chain: string; target: string }[] };
const failures: string[] = [];
const addr = onHost(['ip', 'addr', 'replace', `${plan.dnsAddress}/32`, 'dev', 'lo']);
if (!addr.ok) failures.push(`ip addr replace ${plan.dnsAddress}/32 dev lo: ${addr.out}`);
const restore = onHost(['iptables-restore', '--noflush'], readFileSync(`${configDir}/iptables.rules`, 'utf8'));
if (!restore.ok) failures.push(`iptables-restore: ${restore.out}`);
else {
  // Each hook must come first: Docker inserts its rules for a new network at the top of FORWARD and
  // POSTROUTING, before which Pods of two namespaces could not talk, or would lose their address.
  for (const h of plan.hooks) {
    const listed = onHost(['iptables', '-w', '-t', h.table, '-S', h.chain]);
    const first = listed.out.split('\n').find((l) => l.startsWith('-A '));
    if (listed.ok && first === `-A ${h.chain} -j ${h.target}`) continue;
    while (onHost(['iptables', '-w', '-t', h.table, '-D', h.chain, '-j', h.target]).ok);
    const ins = onHost(['iptables', '-w', '-t', h.table, '-I', h.chain, '1', '-j', h.target]);
    if (!ins.ok) failures.push(`iptables -t ${h.table} -I ${h.chain} 1 -j ${h.target}: ${ins.out}`);
  }
}
// The DNS server (the container's first process) reads its new table now.
try {
  process.kill(1, 'SIGHUP');
} catch (err) {
  failures.push(`cannot signal the DNS server: ${(err as Error).message}`);
}
if (failures.length) {
  process.stderr.write(`${failures.join('\n')}\n`);
  process.exit(1);
}
