import type Docker from 'dockerode';
import { DockerRecords } from '../store/docker-records.js';
import type { ObjectStore } from '../store/object-store.js';
import { credentialsNamespace, credentialsOf, dockerClient, dockerCredentialsAnnotation, dockerHostAnnotation, parseDockerHost } from './docker-connection.js';
import { removeHostNetwork } from './host-network-removal.js';
import { componentContainerName } from './node-network.js';
import { label } from './labels.js';
import { ignore404 } from './docker-status.js';

export interface TeardownOptions {
  store: ObjectStore;
  installation: string;
  /** The engine of serve's host (the control plane's node). */
  local: Docker;
  /** Volumes too (claims' and emptyDirs' data), as `docker compose down --volumes`. */
  volumes: boolean;
  progress: (line: string) => void;
}

export interface TeardownResult {
  removed: { containers: number; networks: number; volumes: number; hostNetwork: number };
  /** What was left, and why (an engine that did not answer, a container not recorded as Gouvernail's). */
  left: string[];
}

/**
 * What `gouvernail down` does: on every node, removes what the installation runs there: its
 * containers, its network component and what that put on the host's network, the Docker networks
 * of earlier versions and, when asked, its volumes. Only what Gouvernail recorded making is
 * removed (a volume made by hand and adopted stays). The store is left as it is: serve started on
 * it again makes everything again.
 */
export async function teardown(o: TeardownOptions): Promise<TeardownResult> {
  const result: TeardownResult = { removed: { containers: 0, networks: 0, volumes: 0, hostNetwork: 0 }, left: [] };
  const engines = enginesOf(o);
  // Every node's component stops first: a running one puts its rules back when they go missing,
  // and the engines of one host share its network.
  for (const node of engines) {
    if ('problem' in node) continue;
    await node.docker
      .getContainer(componentContainerName(o.installation))
      .stop({ t: 2 })
      .catch(() => {});
  }
  for (const node of engines) {
    if ('problem' in node) {
      result.left.push(`node ${node.name}: ${node.problem}`);
      continue;
    }
    o.progress(`node ${node.name}:`);
    try {
      await teardownNode(o, node.name, node.docker, result);
    } catch (err) {
      result.left.push(`node ${node.name}: ${(err as Error).message}`);
    }
  }
  return result;
}

type Engine = { name: string; docker: Docker } | { name: string; problem: string };

/** The nodes' engines: the local one, and each joined node's as its Node says. */
function enginesOf(o: TeardownOptions): Engine[] {
  const nodes = o.store.list({ kind: 'Node' });
  const engines: Engine[] = [];
  const local = nodes.find((n) => !n.metadata.annotations?.[dockerHostAnnotation]);
  engines.push({ name: local?.metadata.name ?? 'local', docker: o.local });
  for (const n of nodes) {
    const host = n.metadata.annotations?.[dockerHostAnnotation];
    if (!host) continue;
    try {
      const secret = n.metadata.annotations?.[dockerCredentialsAnnotation];
      const credentials = credentialsOf(secret ? o.store.get('Secret', credentialsNamespace, secret) : undefined);
      engines.push({ name: n.metadata.name, docker: dockerClient(parseDockerHost(host), credentials, 30_000) });
    } catch (err) {
      engines.push({ name: n.metadata.name, problem: `cannot reach its engine ${host}: ${(err as Error).message}` });
    }
  }
  return engines;
}

async function teardownNode(o: TeardownOptions, name: string, docker: Docker, result: TeardownResult): Promise<void> {
  const records = new DockerRecords(o.store.db, name);
  try {
    const lines = await removeHostNetwork(docker, o.installation);
    result.removed.hostNetwork += lines.length;
    o.progress(`  host network: ${lines.length ? `removed ${lines.length} rules, addresses, routes and interfaces` : 'nothing to remove'}`);
  } catch (err) {
    result.left.push(`node ${name}: ${(err as Error).message}`);
  }
  const containers = await docker.listContainers({ all: true, filters: { label: [`${label.managedBy}=${o.installation}`] } });
  let count = 0;
  for (const c of containers) {
    const containerName = (c.Names[0] ?? '').replace(/^\//, '');
    const component = containerName === componentContainerName(o.installation) || !!c.Labels[label.component];
    if (!component && !records.owns('container', containerName)) {
      result.left.push(`node ${name}: container ${containerName} carries the installation's label but Gouvernail has no record of making it`);
      continue;
    }
    await docker.getContainer(c.Id).remove({ force: true }).catch(ignore404);
    records.remove('container', containerName);
    count++;
  }
  result.removed.containers += count;
  o.progress(`  containers: removed ${count}`);
  let networks = 0;
  for (const n of records.list('network')) {
    await docker.getNetwork(n.name).remove().catch(ignore404);
    records.remove('network', n.name);
    networks++;
  }
  result.removed.networks += networks;
  if (networks) o.progress(`  networks of earlier versions: removed ${networks}`);
  const recorded = records.list('volume');
  if (!o.volumes) {
    if (recorded.length) o.progress(`  volumes: kept ${recorded.length} (--volumes removes them)`);
    return;
  }
  let volumes = 0;
  for (const v of recorded) {
    await docker.getVolume(v.name).remove().then(
      () => {
        records.remove('volume', v.name);
        volumes++;
      },
      (err: { statusCode?: number; message: string }) => {
        if (err.statusCode === 404) records.remove('volume', v.name);
        else result.left.push(`node ${name}: volume ${v.name}: ${err.message}`);
      },
    );
  }
  result.removed.volumes += volumes;
  o.progress(`  volumes: removed ${volumes}`);
}
