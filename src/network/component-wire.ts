/**
 * Run by the control plane in a node's network component (docker exec), once Pods' containers have
 * started: gives each its Pod address, as the CNI ptp plugin does. A veth pair joins the Pod's
 * network namespace (eth0, the Pod's address as a /32, a default route through the gateway) to
 * the host (named after the installation and the address, the namespace's gateway as a /32, a route to the Pod's
 * address). Traffic between Pods is routed by the host, where the installation's rules see it.
 * Already wired containers are left as they are. The argument is the JSON list of what to wire;
 * prints one JSON line per Pod that could not be wired and exits non-zero when one could not.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostInterface, networkWaitName, type Wiring } from './wiring.js';

const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

function run(cmd: string, args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { input, env, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stderr ?? ''}${r.stdout ?? ''}${r.error ? r.error.message : ''}`.trim() };
}

function wire(w: Wiring): string | undefined {
  // The gateway on the node's loopback: the node answers it (and the API is carried to it) before
  // the subnet's first Pod has a veth that holds it too.
  if (!w.pid || !w.ip) {
    const r = run('ip', ['addr', 'replace', `${w.gateway}/32`, 'dev', 'lo']);
    return r.ok ? undefined : `ip addr replace ${w.gateway}/32 dev lo: ${r.out}`;
  }
  // The container stopped meanwhile (an init container that finished): nothing to wire; its next
  // start is wired then.
  if (!existsSync(`/proc/${w.pid}/ns/net`)) return undefined;
  const host = hostInterface(w.ip, w.installation);
  const inPod = (args: string[], input?: string) => run('nsenter', [`--net=/proc/${w.pid}/ns/net`, 'ip', ...args], input);
  const present = inPod(['-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  if (present.ok && present.out.includes(` ${w.ip}/32 `) && run('ip', ['link', 'show', host]).ok) {
    // Wired already (a pass after a restart of the control plane): the host's route is made sure of.
    run('ip', ['route', 'replace', `${w.ip}/32`, 'dev', host]);
    release(w.pid);
    return undefined;
  }
  // Another interface routing the address: another installation on this host has the same Pod range.
  const routed = run('ip', ['-o', '-4', 'route', 'show', 'exact', `${w.ip}/32`]).out;
  const dev = / dev (\S+)/.exec(routed)?.[1];
  if (dev && dev !== host) return `the address ${w.ip} is routed to ${dev} on this host already (another installation with the same Pod range?); give each installation its own --cluster-cidr`;
  // A veth left by an earlier container of the Pod (an init container, a restart) goes first.
  run('ip', ['link', 'del', host]);
  const add = run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(w.pid)]);
  if (!add.ok) return `ip link add ${host} type veth peer name eth0 netns ${w.pid}: ${add.out}`;
  const hostSide = run('ip', ['-batch', '-'], [`link set ${host} up`, `addr replace ${w.gateway}/32 dev ${host}`, `route replace ${w.ip}/32 dev ${host}`].join('\n'));
  if (!hostSide.ok) return `the host's end ${host}: ${hostSide.out}`;
  const podSide = inPod(['-batch', '-'], [`addr add ${w.ip}/32 dev eth0`, 'link set eth0 up', 'link set lo up', `route add ${w.gateway} dev eth0 scope link`, `route add default via ${w.gateway} dev eth0`].join('\n'));
  if (!podSide.ok) return `the Pod's end (eth0 in process ${w.pid}'s network): ${podSide.out}`;
  release(w.pid);
  return undefined;
}

/** The container's program may start: its shell, still waiting for the address, is told so. */
function release(pid: number): void {
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(networkWaitName)) process.kill(pid, 'SIGUSR1');
  } catch {
    // gone, or no longer waiting
  }
}

const list = JSON.parse(process.argv[2] ?? '[]') as Wiring[];
let failed = false;
for (const w of list) {
  const problem = wire(w);
  if (!problem) continue;
  failed = true;
  process.stdout.write(`${JSON.stringify({ ip: w.ip ?? w.gateway, pid: w.pid, problem })}\n`);
}
process.exit(failed ? 1 : 0);
