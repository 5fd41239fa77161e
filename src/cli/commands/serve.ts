import { readFileSync } from 'node:fs';
import { applyDefaults } from '../../manifest/defaults.js';
import { loadManifests } from '../../manifest/load.js';
import { formatProblem } from '../../manifest/problems.js';
import type { KubeObject } from '../../manifest/types.js';
import { serve, defaultDataDir } from '../../server/serve.js';
import { usageError, type Command } from '../command.js';
import { defaultSourceLimits } from '../../manifest/read-folder.js';
import { parseQuantity } from '../../manifest/quantity.js';
import cron from 'node-cron';
import { parseDuration } from '../../manifest/names.js';
import { parseCidr } from '../../network/cidr.js';

export const serveCommand: Command = {
  name: 'serve',
  usage: 'serve [--watch DIR ...] [--repo URL [--branch B] [--path P] [--interval 30s]] [--config FILE] [--webhook-secret-file FILE] [--data-dir DIR] [--listen HOST:PORT] [--tls-san NAME ...] [--insecure-http] [--publish-address ADDR ...] [--docker-socket PATH] [--max-source-bytes 64Mi] [--max-source-files 10000] [--snapshot-schedule CRON [--snapshot-retention 5] [--snapshot-dir DIR]] [--event-ttl 1h] [--node-monitor-grace-period 40s] [--pod-eviction-timeout 5m] [--horizontal-pod-autoscaler-sync-period 15s] [--service-cluster-ip-range 10.96.0.0/16] [--cluster-cidr 10.244.0.0/16] [--ingress-http-port 80] [--ingress-https-port 443]',
  options: {
    'data-dir': { type: 'string', description: `where the store and credentials live (default ${defaultDataDir()})` },
    listen: { type: 'string', description: 'address of the API (default 127.0.0.1:8080)' },
    'docker-socket': { type: 'string', description: 'the local Docker engine (default /var/run/docker.sock)' },
    'node-name': { type: 'string', description: 'name of the local node (default: the host name)' },
    'webhook-secret-file': { type: 'string', description: 'file holding the secret webhooks are signed with (or $GOUVERNAIL_WEBHOOK_SECRET); without one, webhooks are refused' },
    config: { type: 'string', description: 'a file (or folder) of Application manifests to keep in the store' },
    repo: { type: 'string', description: 'a Git repository to follow, as one Application (with --branch, --path, --interval)' },
    branch: { type: 'string', description: 'with --repo: the branch, tag or commit (default: the default branch)' },
    path: { type: 'string', description: 'with --repo: the folder of manifests in the repository (default: the root)' },
    interval: { type: 'string', description: 'with --repo: how often to poll (default 3m)' },
    watch: { type: 'string', multiple: true, description: 'a folder to apply and keep applied as you save (an Application with prune); repeatable' },
    'tls-san': { type: 'string', multiple: true, description: 'an extra name or IP address for the API server certificate; repeatable' },
    'publish-address': { type: 'string', multiple: true, description: 'an address of this host that hostPorts are published on (default: all); repeatable' },
    'max-source-bytes': { type: 'string', description: 'the most bytes of manifests one Application source may hold, checked before reading (default 64Mi)' },
    'max-source-files': { type: 'string', description: 'the most manifest files one Application source may hold, checked before reading (default 10000)' },
    'event-ttl': { type: 'string', description: 'how long an Event is kept after it was last seen (default 1h)' },
    'node-monitor-grace-period': { type: 'string', description: 'a node whose engine has not answered for this long is NotReady (default 40s)' },
    'pod-eviction-timeout': { type: 'string', description: 'how long a node stays NotReady before its Pods are made again elsewhere (default 5m)' },
    'horizontal-pod-autoscaler-sync-period': { type: 'string', description: 'how often each HorizontalPodAutoscaler is looked at, and container metrics read while one exists (default 15s)' },
    'service-cluster-ip-range': { type: 'string', description: "the range Services' cluster IPs are allocated from; its tenth address is the cluster DNS server's (default 10.96.0.0/16)" },
    'cluster-cidr': { type: 'string', description: "the Pods' addresses: each node gets a /20 of it (its spec.podCIDR), each namespace a /24 of its node's, and the nodes route to each other's (default 10.244.0.0/16)" },
    'ingress-http-port': { type: 'string', description: "the port every node serves Ingresses on over HTTP, once one exists; 0 serves none (default 80)" },
    'ingress-https-port': { type: 'string', description: "the port every node serves Ingresses on over HTTPS (default 443)" },
    'snapshot-schedule': { type: 'string', description: 'take a snapshot of the store on this cron schedule, e.g. "0 */6 * * *" (into DATA/snapshots)' },
    'snapshot-retention': { type: 'string', description: 'how many scheduled snapshots to keep (default 5)' },
    'snapshot-dir': { type: 'string', description: 'where scheduled snapshots go (default DATA/snapshots)' },
    'insecure-http': { type: 'boolean', description: 'serve plain HTTP instead of HTTPS (loopback addresses only; kubectl then sends no token)' },
  },
  async run(values, _positionals, io) {
    const listen = (values.listen as string | undefined) ?? '127.0.0.1:8080';
    const m = /^(.*):(\d+)$/.exec(listen);
    if (!m) usageError(`--listen ${listen} is not HOST:PORT`);
    const applications: KubeObject[] = [];
    if (values.config) {
      const set = await loadManifests(values.config as string);
      const errors = set.problems.filter((p) => p.severity === 'error');
      if (errors.length) {
        for (const p of errors) io.err(`error: ${formatProblem(p)}`);
        io.err(`nothing started: fix ${values.config}`);
        return 2;
      }
      const others = set.manifests.filter((m) => m.object.kind !== 'Application');
      if (others.length) usageError(`${values.config} may hold only Applications; ${others[0]!.source.file} has a ${others[0]!.object.kind}`);
      applications.push(...set.manifests.map((m) => m.object));
    }
    if (values.repo) {
      const repoURL = values.repo as string;
      const name = (repoURL.replace(/\.git$/, '').split(/[/:]/).pop() ?? 'repo').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'repo';
      applications.push(applyDefaults({
        apiVersion: 'gouvernail.io/v1',
        kind: 'Application',
        metadata: { name, namespace: 'default' },
        spec: { source: { repoURL, targetRevision: (values.branch as string | undefined) ?? 'HEAD', path: (values.path as string | undefined) ?? '.' }, syncPolicy: { automated: true, prune: true, interval: (values.interval as string | undefined) ?? '3m' } },
      }));
    }
    const sourceLimits = { ...defaultSourceLimits };
    if (values['max-source-bytes'] !== undefined) {
      const bytes = parseQuantity(values['max-source-bytes'] as string);
      if (!(bytes >= 1)) usageError(`--max-source-bytes ${values['max-source-bytes']} is not a size such as 64Mi or 100000000`);
      sourceLimits.maxSourceBytes = Math.floor(bytes);
    }
    if (values['max-source-files'] !== undefined) {
      const files = Number(values['max-source-files']);
      if (!Number.isInteger(files) || files < 1) usageError(`--max-source-files ${values['max-source-files']} is not a positive whole number`);
      sourceLimits.maxSourceFiles = files;
    }
    let snapshots: { schedule: string; retention: number; dir?: string } | undefined;
    if (values['snapshot-schedule'] !== undefined) {
      const schedule = values['snapshot-schedule'] as string;
      if (!cron.validate(schedule)) usageError(`--snapshot-schedule ${JSON.stringify(schedule)} is not a cron expression such as "0 */6 * * *" (minute hour day month weekday)`);
      const retention = Number(values['snapshot-retention'] ?? 5);
      if (!Number.isInteger(retention) || retention < 1) usageError(`--snapshot-retention ${values['snapshot-retention']} is not a positive whole number`);
      snapshots = { schedule, retention, dir: values['snapshot-dir'] as string | undefined };
    } else if (values['snapshot-retention'] !== undefined || values['snapshot-dir'] !== undefined) {
      usageError('--snapshot-retention and --snapshot-dir go with --snapshot-schedule CRON');
    }
    const duration = (flag: string) => {
      if (values[flag] === undefined) return undefined;
      const ms = parseDuration(values[flag] as string);
      if (!ms) usageError(`--${flag} ${values[flag]} is not a duration such as 40s or 5m`);
      return ms;
    };
    const nodeMonitorGraceMs = duration('node-monitor-grace-period');
    const podEvictionTimeoutMs = duration('pod-eviction-timeout');
    const autoscalerPeriodMs = duration('horizontal-pod-autoscaler-sync-period');
    let eventTtlMs: number | undefined;
    if (values['event-ttl'] !== undefined) {
      eventTtlMs = parseDuration(values['event-ttl'] as string);
      if (!eventTtlMs) usageError(`--event-ttl ${values['event-ttl']} is not a duration such as 1h or 30m`);
    }
    const serviceClusterIPRange = values['service-cluster-ip-range'] as string | undefined;
    if (serviceClusterIPRange !== undefined) {
      try {
        parseCidr(serviceClusterIPRange);
      } catch (err) {
        usageError(`--service-cluster-ip-range: ${(err as Error).message}`);
      }
    }
    const port = (flag: string, fallback: number) => {
      if (values[flag] === undefined) return fallback;
      const n = Number(values[flag]);
      if (!Number.isInteger(n) || n < 0 || n > 65535) usageError(`--${flag} ${values[flag]} is not a port (0 to 65535)`);
      return n;
    };
    const ingressPorts = { http: port('ingress-http-port', 80), https: port('ingress-https-port', 443) };
    const clusterCidr = values['cluster-cidr'] as string | undefined;
    if (clusterCidr !== undefined) {
      try {
        if (parseCidr(clusterCidr).bits > 24) throw new Error('it is smaller than one /24');
      } catch (err) {
        usageError(`--cluster-cidr: ${(err as Error).message}`);
      }
    }
    const server = await serve({
      serviceClusterIPRange,
      clusterCidr,
      ingressPorts,
      eventTtlMs,
      nodeMonitorGraceMs,
      podEvictionTimeoutMs,
      autoscalerPeriodMs,
      metricsPeriodMs: autoscalerPeriodMs,
      snapshots,
      sourceLimits,
      applications,
      dataDir: (values['data-dir'] as string | undefined) ?? defaultDataDir(),
      host: m[1]!,
      port: Number(m[2]),
      dockerSocket: values['docker-socket'] as string | undefined,
      nodeName: values['node-name'] as string | undefined,
      watch: values.watch as string[] | undefined,
      tlsSans: values['tls-san'] as string[] | undefined,
      insecureHttp: values['insecure-http'] === true,
      publishAddresses: values['publish-address'] as string[] | undefined,
      webhookSecret: values['webhook-secret-file'] ? readFileSync(values['webhook-secret-file'] as string, 'utf8').trim() : process.env.GOUVERNAIL_WEBHOOK_SECRET || undefined,
    });
    io.err(`gouvernail: serving on ${server.server}; kubeconfig at ${server.kubeconfig}`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        io.err('gouvernail: stopping (containers keep running)');
        void server.close().then(resolve);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    return 0;
  },
};
