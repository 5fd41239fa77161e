import type Docker from 'dockerode';
import { spawnSync } from 'node:child_process';
import { extract } from 'tar-stream';

/**
 * Removes what an installation's network component put in this host's network (its iptables
 * chains and hooks, its loopback addresses, its unreachable ranges), for tests and benchmarks that
 * are done with an installation: otherwise each leaves hundreds of rules every new connection of
 * the host goes through. Reads what it put from the component's container, before it is removed.
 */
export async function removeHostNetwork(docker: Docker, installation: string): Promise<void> {
  const component = docker.getContainer(`gouvernail-network-${installation}`);
  const plan = await component
    .getArchive({ path: '/var/lib/gouvernail/apply.json' })
    .then(async (stream) => {
      const tar = extract();
      let text = '';
      tar.on('entry', (_h, body, next) => {
        body.on('data', (d: unknown) => (text += String(d)));
        body.on('end', next);
      });
      await new Promise<void>((resolve, reject) => {
        tar.on('finish', () => resolve());
        tar.on('error', reject);
        (stream as NodeJS.ReadableStream).pipe(tar);
      });
      return JSON.parse(text) as { dnsAddress?: string; gateways?: string[]; own?: string[] };
    })
    .catch(() => undefined);
  const quiet = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' });
  if (plan) {
    for (const ip of [plan.dnsAddress, ...(plan.gateways ?? [])]) if (ip) quiet('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']);
    for (const range of plan.own ?? []) quiet('ip', ['route', 'del', 'unreachable', range]);
  }
  const id = installation.slice(0, 12).toUpperCase();
  for (const cmd of ['iptables-nft', 'iptables-legacy']) {
    for (const table of ['nat', 'filter']) {
      const listed = spawnSync(cmd, ['-w', '-t', table, '-S'], { encoding: 'utf8' });
      if (listed.status !== 0) continue;
      const lines = listed.stdout.split('\n');
      const ours = (name: string) => name.startsWith('GV-') && (name.endsWith(`-${id}`) || name.endsWith(`-${id}-N`));
      for (const line of lines) {
        const hook = /^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) -j (\S+)$/.exec(line);
        if (hook && ours(hook[2]!)) quiet(cmd, ['-w', '-t', table, '-D', hook[1]!, '-j', hook[2]!]);
      }
      const chains = lines.map((l) => /^-N (\S+)$/.exec(l)?.[1]).filter((c): c is string => !!c && ours(c));
      for (const c of chains) quiet(cmd, ['-w', '-t', table, '-F', c]);
      for (const c of chains) quiet(cmd, ['-w', '-t', table, '-X', c]);
    }
  }
}

