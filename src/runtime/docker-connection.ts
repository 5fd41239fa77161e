import Docker from 'dockerode';
import type { KubeObject } from '../manifest/types.js';

/**
 * How the control plane reaches a node's Docker engine, as the Node object says it: the URL in an
 * annotation, TLS certificates or an SSH key in a Secret of kube-system (never in the Node).
 */
/** The node's address as other nodes reach it (InternalIP), when it is not the engine URL's host. */
export const nodeAddressAnnotation = 'gouvernail.io/node-address';
export const dockerHostAnnotation = 'gouvernail.io/docker-host';
export const dockerCredentialsAnnotation = 'gouvernail.io/docker-credentials';
export const dockerInsecureAnnotation = 'gouvernail.io/docker-insecure';
export const credentialsNamespace = 'kube-system';
export const credentialsSecretType = 'gouvernail.io/docker-credentials';

export interface DockerEndpoint {
  protocol: 'unix' | 'tcp' | 'ssh';
  socketPath?: string;
  host?: string;
  port?: number;
  username?: string;
}

/** Parses unix:///path.sock, tcp://HOST:PORT and ssh://user@host[:port]; throws with the reason. */
export function parseDockerHost(url: string): DockerEndpoint {
  const m = /^([a-z]+):\/\/(.*)$/.exec(url);
  if (!m) throw new Error(`${JSON.stringify(url)} is not a Docker URL: use unix:///var/run/docker.sock, tcp://HOST:2376 or ssh://user@host`);
  const [, scheme, rest] = m;
  if (scheme === 'unix') {
    if (!rest!.startsWith('/')) throw new Error(`${url}: a unix socket needs an absolute path (unix:///var/run/docker.sock)`);
    return { protocol: 'unix', socketPath: rest };
  }
  if (scheme === 'tcp' || scheme === 'ssh') {
    let parsed: URL;
    try {
      parsed = new URL(`http://${rest}`);
    } catch {
      throw new Error(`${url}: cannot read the host and port`);
    }
    if (!parsed.hostname) throw new Error(`${url}: no host`);
    if (scheme === 'tcp' && !parsed.port) throw new Error(`${url}: name the port (tcp://HOST:2376 for TLS)`);
    if (scheme === 'ssh' && !parsed.username) throw new Error(`${url}: name the user (ssh://user@host)`);
    return { protocol: scheme, host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || (scheme === 'ssh' ? 22 : 2376)), ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}) };
  }
  throw new Error(`${url}: the scheme ${scheme}:// is not one Gouvernail speaks; use unix://, tcp:// (with TLS) or ssh://`);
}

export interface DockerCredentials {
  ca?: string;
  cert?: string;
  key?: string;
  sshKey?: string;
}

/** What is wrong with a node's connection, or undefined: plain TCP is refused unless asked for. */
export function connectionProblem(endpoint: DockerEndpoint, credentials: DockerCredentials, insecure: boolean): string | undefined {
  if (endpoint.protocol !== 'tcp') return undefined;
  const tls = [credentials.ca, credentials.cert, credentials.key];
  if (tls.every((x) => x)) return undefined;
  if (tls.some((x) => x)) return 'TLS needs all three: the CA (--tls-ca), the client certificate (--tls-cert) and its key (--tls-key)';
  if (insecure) return undefined;
  return 'plain TCP gives anyone who reaches the port root on the host (the Docker API runs containers as root), and sends everything in clear; give --tls-ca, --tls-cert and --tls-key (dockerd --tlsverify), or --insecure on a network only you can reach';
}

/** The credentials a Secret of type gouvernail.io/docker-credentials holds. */
export function credentialsOf(secret: KubeObject | undefined): DockerCredentials {
  const data = (secret?.data ?? {}) as Record<string, string>;
  const read = (k: string) => (data[k] ? Buffer.from(data[k]!, 'base64').toString('utf8') : undefined);
  return { ca: read('ca.crt'), cert: read('tls.crt'), key: read('tls.key'), sshKey: read('ssh-privatekey') };
}

/** A dockerode client; `timeoutMs` bounds every call (not for streams: logs, exec and events have none). */
export function dockerClient(endpoint: DockerEndpoint, credentials: DockerCredentials, timeoutMs?: number): Docker {
  const timeout = timeoutMs ? { timeout: timeoutMs } : {};
  switch (endpoint.protocol) {
    case 'unix':
      return new Docker({ socketPath: endpoint.socketPath, ...timeout });
    case 'tcp':
      return credentials.ca
        ? new Docker({ host: endpoint.host, port: endpoint.port, protocol: 'https', ca: credentials.ca, cert: credentials.cert, key: credentials.key, ...timeout })
        : new Docker({ host: endpoint.host, port: endpoint.port, protocol: 'http', ...timeout });
    case 'ssh':
      // No per-call timeout: the SSH channel docker-modem hands to http has no setTimeout (it throws).
      return new Docker({
        host: endpoint.host,
        port: endpoint.port,
        protocol: 'ssh',
        username: endpoint.username,
        sshOptions: { ...(credentials.sshKey ? { privateKey: credentials.sshKey } : {}), ...(process.env.SSH_AUTH_SOCK ? { agent: process.env.SSH_AUTH_SOCK } : {}) },
      } as Docker.DockerOptions);
  }
}

/** Where a Node's engine is, as shown in messages (never with credentials). */
export function describeEndpoint(e: DockerEndpoint): string {
  return e.protocol === 'unix' ? `unix://${e.socketPath}` : `${e.protocol}://${e.username ? `${e.username}@` : ''}${e.host}:${e.port}`;
}
