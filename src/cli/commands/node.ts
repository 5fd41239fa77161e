import { readFileSync } from 'node:fs';
import { clientFromKubeconfig, kubeconfigPath } from '../client.js';
import { exit, usageError, type Command } from '../command.js';
import { kubeconfigOption } from '../shared.js';
import { connectionProblem, credentialsNamespace, credentialsSecretType, dockerCredentialsAnnotation, dockerHostAnnotation, dockerInsecureAnnotation, nodeAddressAnnotation, parseDockerHost } from '../../runtime/docker-connection.js';
import { nodeReady } from '../../runtime/scheduler.js';
import { ApiError } from '../../api/errors.js';
import { parseDuration } from '../../manifest/names.js';

const nameRule = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

function readFile(flag: string, file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    usageError(`--${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** `key=value:Effect`, as kubectl taint writes it. */
export function parseTaint(text: string): { key: string; value?: string; effect: string } {
  const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(text);
  if (!m) usageError(`--taint ${text}: write it as key=value:Effect, Effect being NoSchedule, PreferNoSchedule or NoExecute`);
  return { key: m[1]!, ...(m[2] ? { value: m[2] } : {}), effect: m[3]! };
}

/**
 * Joining Docker hosts: `node add` writes the Node (and a Secret of kube-system with its TLS
 * certificates or SSH key); the control plane then drives that engine. `node remove` deletes both.
 */
export const nodeCommand: Command = {
  name: 'node',
  usage: 'node add NAME --docker unix:///path.sock|tcp://HOST:PORT|ssh://user@host [--tls-ca F --tls-cert F --tls-key F] [--ssh-key F] [--insecure] [--label k=v]... [--taint k=v:NoSchedule]... [--address IP] [--role worker|control-plane] | node list | node cordon|uncordon NAME | node drain NAME [--timeout 5m] | node remove NAME',
  options: {
    kubeconfig: kubeconfigOption,
    docker: { type: 'string', description: 'with add: the engine to drive: unix:///path.sock, tcp://HOST:PORT (TLS) or ssh://user@host' },
    'tls-ca': { type: 'string', description: 'with add: the CA file the engine\'s certificate is checked against (dockerd --tlscacert)' },
    'tls-cert': { type: 'string', description: 'with add: the client certificate file (signed by the CA dockerd --tlsverify trusts)' },
    'tls-key': { type: 'string', description: 'with add: the client certificate\'s key file' },
    'ssh-key': { type: 'string', description: 'with add and ssh://: a private key file (else the ssh agent of $SSH_AUTH_SOCK)' },
    insecure: { type: 'boolean', description: 'with add: accept plain TCP without TLS (anyone reaching the port is root on that host)' },
    label: { type: 'string', multiple: true, description: 'with add: a label of the Node, k=v; repeatable' },
    address: { type: 'string', description: "with add: the node's address other nodes route its Pods through (default: the host of the URL; this host's for a unix socket)" },
    taint: { type: 'string', multiple: true, description: 'with add: a taint of the Node, k=v:NoSchedule; repeatable' },
    role: { type: 'string', description: 'with add: worker (default) or control-plane' },
    timeout: { type: 'string', description: 'with drain: how long to keep trying evictions a disruption budget refuses (default 5m)' },
  },
  async run(values, positionals, io) {
    const [verb, name] = positionals;
    const client = clientFromKubeconfig(kubeconfigPath(values.kubeconfig as string | undefined));
    switch (verb) {
      case 'add': {
        if (!name || !nameRule.test(name)) usageError('name the node: node add NAME --docker URL (lowercase letters, digits, "." and "-")');
        const url = values.docker as string | undefined;
        if (!url) usageError('--docker URL is required: unix:///path.sock, tcp://HOST:PORT or ssh://user@host');
        let endpoint;
        try {
          endpoint = parseDockerHost(url);
        } catch (err) {
          usageError(`--docker: ${(err as Error).message}`);
        }
        const credentials = { ca: readFile('tls-ca', values['tls-ca'] as string | undefined), cert: readFile('tls-cert', values['tls-cert'] as string | undefined), key: readFile('tls-key', values['tls-key'] as string | undefined), sshKey: readFile('ssh-key', values['ssh-key'] as string | undefined) };
        const problem = connectionProblem(endpoint, credentials, values.insecure === true);
        if (problem) usageError(`--docker ${url}: ${problem}`);
        const role = (values.role as string | undefined) ?? 'worker';
        if (role !== 'worker' && role !== 'control-plane') usageError(`--role ${role}: worker or control-plane`);
        const labels: Record<string, string> = { [`node-role.kubernetes.io/${role}`]: '' };
        for (const l of (values.label as string[] | undefined) ?? []) {
          const i = l.indexOf('=');
          if (i <= 0) usageError(`--label ${l}: write it as key=value`);
          labels[l.slice(0, i)] = l.slice(i + 1);
        }
        const taints = ((values.taint as string[] | undefined) ?? []).map(parseTaint);
        if (await client.get('Node', undefined, name)) usageError(`node ${name} already exists; remove it first (gouvernail node remove ${name})`);
        const secretName = `node-${name}-docker`;
        const data = Object.fromEntries(Object.entries({ 'ca.crt': credentials.ca, 'tls.crt': credentials.cert, 'tls.key': credentials.key, 'ssh-privatekey': credentials.sshKey }).filter(([, v]) => v).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]));
        const withSecret = Object.keys(data).length > 0;
        if (withSecret) {
          const secret = { apiVersion: 'v1', kind: 'Secret', type: credentialsSecretType, metadata: { name: secretName, namespace: credentialsNamespace, labels: { 'gouvernail.io/node': name } }, data };
          if (await client.get('Secret', credentialsNamespace, secretName)) await client.update(secret as never);
          else await client.create(secret as never);
        }
        const annotations: Record<string, string> = { [dockerHostAnnotation]: url, ...(withSecret ? { [dockerCredentialsAnnotation]: secretName } : {}), ...(values.insecure ? { [dockerInsecureAnnotation]: 'true' } : {}), ...(values.address ? { [nodeAddressAnnotation]: values.address as string } : {}) };
        await client.create({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels, annotations }, spec: taints.length ? { taints } : {} } as never);
        io.out(`node/${name} added; the control plane drives ${url} and the node turns Ready once its engine answers (kubectl get nodes)`);
        return exit.ok;
      }
      case 'list': {
        const nodes = await client.list('Node');
        io.out(`${'NAME'.padEnd(24)}${'STATUS'.padEnd(11)}${'ROLES'.padEnd(16)}DOCKER`);
        for (const n of nodes) {
          const roles = Object.keys(n.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length)).join(',') || '<none>';
          const status = `${nodeReady(n) ? 'Ready' : 'NotReady'}${n.spec?.unschedulable ? ',SchedulingDisabled' : ''}`;
          io.out(`${n.metadata.name.padEnd(24)}${status.padEnd(11)}${roles.padEnd(16)}${n.metadata.annotations?.[dockerHostAnnotation] ?? 'local'}`);
        }
        return exit.ok;
      }
      case 'remove': {
        if (!name) usageError('name the node: node remove NAME');
        const node = await client.get('Node', undefined, name);
        if (!node) usageError(`node ${name} does not exist (gouvernail node list)`);
        await client.delete('Node', undefined, name);
        const secretName = node.metadata.annotations?.[dockerCredentialsAnnotation];
        if (secretName) await client.delete('Secret', credentialsNamespace, secretName).catch(() => {});
        io.out(`node/${name} removed; its Pods are made again on the other nodes, and their containers are removed from its engine if it answers`);
        return exit.ok;
      }
      case 'cordon':
      case 'uncordon': {
        if (!name) usageError(`name the node: node ${verb} NAME`);
        await client.patch('Node', undefined, name, 'merge', { spec: { unschedulable: verb === 'cordon' ? true : null } });
        io.out(`node/${name} ${verb}ed`);
        return exit.ok;
      }
      case 'drain': {
        if (!name) usageError('name the node: node drain NAME');
        const timeoutMs = values.timeout ? parseDuration(values.timeout as string) : 300_000;
        if (!timeoutMs) usageError(`--timeout ${values.timeout} is not a duration such as 5m`);
        await client.patch('Node', undefined, name, 'merge', { spec: { unschedulable: true } });
        io.out(`node/${name} cordoned`);
        const deadline = Date.now() + timeoutMs;
        // Evictions as kubectl drain makes them: one refused by a disruption budget is tried again.
        for (;;) {
          const pods = (await client.list('Pod')).filter((p) => p.spec?.nodeName === name && !p.metadata.annotations?.['kubernetes.io/config.mirror'] && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
          if (pods.length === 0) break;
          let waiting = 0;
          for (const p of pods) {
            // Evicted already: it stops within its grace period, then its node deletes it.
            if (p.metadata.deletionTimestamp) continue;
            try {
              await client.evict(p.metadata.namespace!, p.metadata.name);
              io.out(`pod/${p.metadata.name} evicted`);
            } catch (err) {
              if (!(err instanceof ApiError) || (err.code !== 429 && err.code !== 404)) throw err;
              if (err.code === 429) waiting++;
            }
          }
          if (Date.now() > deadline) {
            if (waiting > 0) io.err(`error: ${waiting} Pod(s) of node ${name} could not be evicted within ${values.timeout ?? '5m'}: their disruption budget keeps them until their replacements are ready elsewhere`);
            else io.err(`error: ${pods.length} evicted Pod(s) of node ${name} did not stop within ${values.timeout ?? '5m'}: is the node's Docker engine answering? (gouvernail node list)`);
            return 1;
          }
          if (waiting === 0) {
            // Every Pod left is stopping: drained once they are gone.
            await new Promise((r) => setTimeout(r, 500));
            continue;
          }
          io.err(`waiting for ${waiting} Pod(s) whose disruption budget allows no eviction yet; trying again in 5s`);
          await new Promise((r) => setTimeout(r, 5000));
        }
        io.out(`node/${name} drained`);
        return exit.ok;
      }
      default:
        usageError('node add NAME --docker URL | node list | node cordon|uncordon|drain NAME | node remove NAME');
    }
  },
};
