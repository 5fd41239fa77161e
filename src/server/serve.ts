import Docker from 'dockerode';
import { cacheParsedDocuments } from '../manifest/document-cache.js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ObjectStore } from '../store/object-store.js';
import { SecretBox } from '../store/secret-box.js';
import { EventRecorder, expireEvents } from '../runtime/event-recorder.js';
import { MetricsCollector } from '../runtime/metrics-collector.js';
import { ComponentLogs, componentOf, componentPods, type ComponentName } from './components.js';
import { ControllerState } from '../store/controller-state.js';
import { createRequire } from 'node:module';

const packageVersion = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
import { AuditLog } from './audit-log.js';
import type { KubeObject } from '../manifest/types.js';
import { NodeManager } from '../runtime/node-manager.js';
import { NodeLifecycleController } from '../runtime/node-lifecycle.js';
import { PodIo } from '../runtime/pod-io.js';
import { ServiceProxy } from '../runtime/service-proxy.js';
import { EndpointsController } from '../runtime/endpoints-controller.js';
import { NetworkController } from '../runtime/network-controller.js';
import { componentLog } from '../runtime/node-network.js';
import { clusterDnsAddress, defaultServiceRange } from '../api/cluster-ip.js';
import { clusterDomain } from '../network/dns-records.js';
import { ingressController } from '../network/ingress-routes.js';
import { PodSubnets } from '../network/pod-subnets.js';
import { WorkloadControllers } from '../runtime/workload-controllers.js';
import { GarbageCollector } from '../runtime/garbage-collector.js';
import { lockDataDir } from './data-dir-lock.js';
import { StorageProtection } from '../runtime/storage-protection.js';
import { HorizontalPodAutoscalerController } from '../runtime/hpa-controller.js';
import { buildApi } from './app.js';
import { createServerMetrics } from './server-metrics.js';
export { defaultDataDir } from './data-dir.js';
import { ApiServer } from '../api/api-server.js';
import { AuthenticatorChain, certificateAuthenticator, TokenAuthenticator } from '../api/authenticate.js';
import { RbacAuthorizer } from '../api/rbac.js';
import { defaultRbacObjects } from '../api/rbac-defaults.js';
import { nodeLeaseNamespace } from '../runtime/node-lease.js';
import { systemPriorityClasses } from '../api/priority.js';
import { defaultStorageClass } from '../runtime/claim-binder.js';
import { UserTokenAuthenticator } from '../api/tokens.js';
import { ServiceAccountTokens } from '../api/service-account-tokens.js';
import { InProcessClient } from '../api/client.js';
import { identities, nodeIdentity, type Identity } from '../api/identity.js';
import { ensureServingCertificate, subjectAltNames } from './tls.js';
import { ApplicationController } from '../sync/application-controller.js';
import { HostedRepos } from '../sync/hosted-repos.js';
import { GouvernailError } from '../errors.js';
import type { SourceLimits } from '../manifest/read-folder.js';
import cron from 'node-cron';
import { pruneSnapshots, snapshotName, takeSnapshot } from '../store/backup.js';

/** The Application `serve --watch DIR` keeps: named after the folder, automated, with prune. */
export function watchedFolderApplication(dir: string) {
  const abs = path.resolve(dir);
  const name = path.basename(abs).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'folder';
  return {
    apiVersion: 'gouvernail.io/v1',
    kind: 'Application',
    metadata: { name, namespace: 'default' },
    spec: { source: { path: abs }, syncPolicy: { automated: true, prune: true, selfHeal: false, allowEmpty: false, autoRollback: false, interval: '3m' } },
  };
}

export interface ServeOptions {
  dataDir: string;
  host: string;
  port: number;
  dockerSocket?: string;
  nodeName?: string;
  /** No logs (tests). */
  quiet?: boolean;
  /** The webhook secret (from --webhook-secret-file or $GOUVERNAIL_WEBHOOK_SECRET). */
  webhookSecret?: string;
  /** Applications to keep in the store (from --config or --repo). */
  applications?: KubeObject[];
  /** Folders to apply and keep applied, each as an Application (`serve --watch DIR`). */
  watch?: string[];
  /** The local Docker engine's client, when the caller made it (benchmarks count its calls). */
  docker?: Docker;
  /** Extra names or addresses for the serving certificate (--tls-san). */
  tlsSans?: string[];
  /** Serve plain HTTP instead of HTTPS: only on a loopback address (--insecure-http). */
  insecureHttp?: boolean;
  /** The addresses hostPorts are published on (--publish-address); all the host's when unset. */
  publishAddresses?: string[];
  /** Bounds on each Application's source (--max-source-bytes, --max-source-files). */
  sourceLimits?: SourceLimits;
  /** How long Events are kept after they were last seen (--event-ttl; Kubernetes' default is 1h). */
  eventTtlMs?: number;
  /** How often each node's engine is pinged (10s, as kubelet's heartbeat). */
  heartbeatMs?: number;
  /** How often each node's agent lists its engine's containers, whatever its events said (10s). */
  nodeResyncMs?: number;
  /** A node silent this long is NotReady (--node-monitor-grace-period, 40s). */
  nodeMonitorGraceMs?: number;
  /** A NotReady node's Pods are replaced elsewhere after this long (--pod-eviction-timeout, 5m). */
  podEvictionTimeoutMs?: number;
  /** How often the autoscaler looks at each HPA (--horizontal-pod-autoscaler-sync-period, 15s). */
  autoscalerPeriodMs?: number;
  /** How often container metrics are read while they are asked for (15s, as metrics-server). */
  metricsPeriodMs?: number;
  /** The range Services' cluster IPs come from (--service-cluster-ip-range, 10.96.0.0/16). */
  serviceClusterIPRange?: string;
  /** The Pods' addresses, a /24 per namespace and node (--cluster-cidr, 10.244.0.0/16). */
  clusterCidr?: string;
  /** The ports every node serves Ingresses on (--ingress-http-port 80, --ingress-https-port 443). */
  ingressPorts?: { http: number; https: number };
  /** Scheduled snapshots of the store (--snapshot-schedule, a cron expression; --snapshot-retention). */
  snapshots?: { schedule: string; retention: number; dir?: string };
}

/** Loopback addresses: the only ones plain HTTP may listen on. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function readOrCreate(file: string, make: () => string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = make();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

export function kubeconfigText(server: string, token: string, ca?: string): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: gouvernail
    cluster:
      server: ${server}${ca ? `\n      certificate-authority-data: ${Buffer.from(ca).toString('base64')}` : ''}
users:
  - name: admin
    user:
      token: ${token}
contexts:
  - name: gouvernail
    context:
      cluster: gouvernail
      user: admin
      namespace: default
current-context: gouvernail
`;
}

/** Snapshots of the store on a cron schedule, the newest `retention` kept, as k3s's etcd snapshots. */
function scheduleSnapshots(store: ObjectStore, dataDir: string, o: { schedule: string; retention: number; dir?: string }, log: pino.Logger) {
  const dir = o.dir ?? path.join(dataDir, 'snapshots');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let running = false;
  return cron.schedule(o.schedule, async () => {
    if (running) return;
    running = true;
    try {
      const info = await takeSnapshot(store.db, dataDir, path.join(dir, snapshotName()));
      const pruned = pruneSnapshots(dir, o.retention);
      log.info({ file: info.file, objects: info.objects, resourceVersion: info.resourceVersion, pruned: pruned.length }, 'took a snapshot of the store');
    } catch (err) {
      log.warn({ err: (err as Error).message, dir }, 'cannot take a snapshot of the store; the next one is tried on schedule (is the folder writable, the disk full?)');
    } finally {
      running = false;
    }
  });
}

/**
 * The cluster DNS server's Service, as kube-dns is in Kubernetes: its cluster IP is the address the
 * nodes' network components answer DNS on (kubectl get svc -n kube-system shows it).
 */
async function ensureClusterDnsService(system: InProcessClient, address: string): Promise<void> {
  const live = await system.get('Service', 'kube-system', 'kube-dns');
  if (live?.spec?.clusterIP === address) return;
  if (live) await system.delete('Service', 'kube-system', 'kube-dns');
  await system.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' } },
    spec: { clusterIP: address, ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 }] },
  });
}

/** Starts the whole control plane in this process: store, API, controllers, the local node. */
export async function serve(options: ServeOptions) {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  // One serve per data folder: a second would run the same Pods' containers and fight the first.
  const unlock = lockDataDir(options.dataDir);
  try {
    return await serveLocked(options, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}

async function serveLocked(options: ServeOptions, unlock: () => void) {
  // Folders and Git revisions are read again and again: unchanged documents are not parsed again.
  cacheParsedDocuments();
  // Every log line also goes to its component's log, which `kubectl logs -n kube-system` reads.
  const componentLogs = new ComponentLogs();
  const log = pino({ name: 'gouvernail' }, options.quiet ? componentLogs.sink() : pino.multistream([{ stream: process.stdout }, { stream: componentLogs.sink() }]));
  const logFor = (component: ComponentName) => (msg: string, fields?: Record<string, unknown>) => log.info({ ...fields, component }, msg);
  const store = ObjectStore.open(path.join(options.dataDir, 'state.db'), { secrets: SecretBox.load(path.join(options.dataDir, 'encryption-keys.json')) });
  store.resealSecrets();
  const startedAt = new Date();
  const starts = new ControllerState(store.db);
  const history = starts.get<{ count: number; first: string }>('serve-starts') ?? { count: 0, first: startedAt.toISOString() };
  starts.set('serve-starts', { count: history.count + 1, first: history.first });
  const installation = readOrCreate(path.join(options.dataDir, 'installation-id'), () => randomBytes(6).toString('hex'));
  const token = readOrCreate(path.join(options.dataDir, 'admin-token'), () => randomBytes(24).toString('hex'));
  const docker = options.docker ?? new Docker(options.dockerSocket ? { socketPath: options.dockerSocket } : undefined);
  const nodeName = (options.nodeName ?? os.hostname()).toLowerCase();

  if (options.insecureHttp && !isLoopback(options.host)) throw new GouvernailError('UsageError', `--insecure-http serves plain HTTP, which only a loopback address may (not ${options.host}); drop the flag to serve HTTPS`);
  const sans = subjectAltNames([...(options.tlsSans ?? []), ...(isLoopback(options.host) || options.host === '0.0.0.0' || options.host === '::' ? [] : [options.host])]);
  let tls = options.insecureHttp ? undefined : await ensureServingCertificate(options.dataDir, sans);

  const authorizer = new RbacAuthorizer(store);
  const audit = new AuditLog(path.join(options.dataDir, 'audit.log'));
  const serviceAccountTokens = ServiceAccountTokens.load(path.join(options.dataDir, 'service-account.key'), store);
  const components = componentPods({ node: nodeName, startedAt, createdAt: history.first, restarts: history.count, version: packageVersion });
  const nodesRef: { current?: NodeManager } = {};
  const metricsCollector = new MetricsCollector(() => nodesRef.current?.engines() ?? [], store, installation, options.metricsPeriodMs);
  const networkRef: { current?: NetworkController } = {};
  const virtualObjects = (kind: string, namespace: string | undefined) => (kind === 'Pod' && (!namespace || namespace === 'kube-system') ? [...components, ...(networkRef.current?.pods() ?? [])] : metricsCollector.objects(kind, namespace));
  const api = new ApiServer({ store, audit: (e) => audit.write(e), serviceAccountTokens, authenticator: new AuthenticatorChain([new TokenAuthenticator([{ token, identity: identities.admin }]), new UserTokenAuthenticator(store), serviceAccountTokens, certificateAuthenticator]), authorizer, virtualObjects, serviceClusterIPRange: options.serviceClusterIPRange });
  const asComponent = (identity: Identity) => new InProcessClient(api, identity);
  // The default roles and the components' bindings are put back at every start, as Kubernetes does.
  const system = asComponent(identities.apiServer);
  for (const o of defaultRbacObjects()) {
    const live = await system.get(o.kind, undefined, o.metadata.name);
    if (!live) await system.create(o);
    else if (JSON.stringify([live.rules, live.roleRef, live.subjects, live.aggregationRule]) !== JSON.stringify([o.rules, o.roleRef, o.subjects, o.aggregationRule])) await system.update({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  }

  // The system's PriorityClasses, as Kubernetes makes them at start.
  for (const o of systemPriorityClasses) if (!store.get('PriorityClass', undefined, o.metadata.name)) await system.create(o);

  // The default StorageClass, as k3s ships local-path: made once, then the operator's to change.
  if (!store.list({ kind: 'StorageClass' }).length) await system.create(defaultStorageClass());
  // The default IngressClass, as k3s ships traefik's: made once, then the operator's.
  if (!store.list({ kind: 'IngressClass' }).length) {
    await system.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'gouvernail', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: ingressController } });
  }
  for (const ns of ['default', 'kube-system', 'kube-public', nodeLeaseNamespace]) {
    if (!store.get('Namespace', undefined, ns)) await system.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns }, spec: {}, status: { phase: 'Active' } });
  }

  // Events, recorded as the components kubectl knows would record them.
  const controllerManager = asComponent(identities.controllerManager);
  const recorders = {
    deployment: new EventRecorder(controllerManager, { component: 'deployment-controller' }),
    replicaSet: new EventRecorder(controllerManager, { component: 'replicaset-controller' }),
    scheduler: new EventRecorder(asComponent(identities.scheduler), { component: 'default-scheduler' }),
    nodeController: new EventRecorder(controllerManager, { component: 'node-controller' }),
    statefulSet: new EventRecorder(controllerManager, { component: 'statefulset-controller' }),
    daemonSet: new EventRecorder(controllerManager, { component: 'daemonset-controller' }),
    job: new EventRecorder(controllerManager, { component: 'job-controller' }),
    cronJob: new EventRecorder(controllerManager, { component: 'cronjob-controller' }),
    autoscaler: new EventRecorder(controllerManager, { component: 'horizontal-pod-autoscaler' }),
    service: new EventRecorder(controllerManager, { component: 'service-controller' }),
  };
  const eventTtlMs = options.eventTtlMs ?? 3600_000;
  const expiry = setInterval(() => expireEvents(controllerManager, eventTtlMs), Math.min(60_000, eventTtlMs));
  expiry.unref();
  const controllers = new WorkloadControllers(store, controllerManager, asComponent(identities.scheduler), logFor('kube-controller-manager'), recorders, logFor('kube-scheduler'));
  // The nodes' ports Gouvernail serves itself: no LoadBalancer Service takes them.
  const reservedPorts = [options.ingressPorts?.http ?? 80, options.ingressPorts?.https ?? 443, ...(options.port ? [options.port] : [])];
  const endpoints = new EndpointsController(store, controllerManager, logFor('kube-controller-manager'), { reservedPorts, events: recorders.service });
  const collector = new GarbageCollector(store, asComponent(identities.controllerManager), logFor('kube-controller-manager'));
  const storageProtection = new StorageProtection(store, asComponent(identities.controllerManager), logFor('kube-controller-manager'));
  // One agent and one heartbeat per node; the local engine's Pods get their token files bind-mounted from the data folder.
  const podSubnets = new PodSubnets(starts, options.clusterCidr);
  const serviceRange = options.serviceClusterIPRange ?? defaultServiceRange;
  const dnsAddress = clusterDnsAddress(serviceRange);
  await ensureClusterDnsService(system, dnsAddress);
  const nodes = new NodeManager({ store, asNode: (name) => asComponent(nodeIdentity(name)), installation, log: logFor('gouvernail-node-agent'), local: { name: nodeName, docker, podFilesDir: path.join(options.dataDir, 'pods'), publishAddresses: options.publishAddresses }, heartbeatMs: options.heartbeatMs, resyncMs: options.nodeResyncMs, clusterDns: { server: dnsAddress, domain: clusterDomain }, podSubnets });
  nodesRef.current = nodes;
  await nodes.start();
  const network = new NetworkController({ store, installation, engines: () => nodes.engines(), dnsAddress, podSubnets, client: controllerManager, ingressPorts: options.ingressPorts, reservedPorts, publishAddresses: options.publishAddresses, log: logFor('gouvernail-service-proxy') });
  networkRef.current = network;
  const lifecycle = new NodeLifecycleController({ store, client: controllerManager, log: logFor('kube-controller-manager'), events: recorders.nodeController, monitorGraceMs: options.nodeMonitorGraceMs, evictionTimeoutMs: options.podEvictionTimeoutMs, lastError: (n) => nodes.lastError(n) });
  const applicationsRef: { current?: ApplicationController } = {};
  const hostedRepos = new HostedRepos(path.join(options.dataDir, 'repos'));
  const metrics = createServerMetrics(() => applicationsRef.current?.queueDepth() ?? 0);
  const http = buildApi({ store, api, log: logFor('kube-apiserver'), tokens: [token], https: tls ? { key: tls.key, cert: tls.cert, ca: tls.ca } : undefined, metrics, webhookSecret: options.webhookSecret, hostedRepos, syncApplication: (ns, name, byHand) => applicationsRef.current?.syncNow(ns, name, byHand), applications: { rollback: (ns, name, rev) => applicationsRef.current!.rollback(ns, name, rev), resume: (ns, name) => applicationsRef.current!.resume(ns, name), drift: (ns, name) => applicationsRef.current?.drift(ns, name), graph: (ns, name) => applicationsRef.current?.graph(ns, name), preview: (ns, name, rev) => applicationsRef.current!.preview(ns, name, rev) }, podIo: new PodIo((name) => nodes.dockerFor(name), installation, (name, id, startedAt) => nodes.previousRunStart(name, id, startedAt)), componentLogs: (ns, name, o) => {
    const networkOf = ns === 'kube-system' && name.startsWith('gouvernail-network-') ? nodes.dockerFor(name.slice('gouvernail-network-'.length)) : undefined;
    if (networkOf) return componentLog(networkOf, installation, o);
    const component = ns === 'kube-system' ? componentOf(name, nodeName) : undefined;
    return component ? componentLogs.read(component, o) : undefined;
  } });
  try {
    await http.listen({ host: options.host, port: options.port });
  } catch (err) {
    // What started already stops, so that the process ends with the error rather than half-serving.
    clearInterval(expiry);
    await nodes.stop();
    authorizer.close();
    for (const r of Object.values(recorders)) r.close();
    store.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new GouvernailError('UsageError', `cannot listen on ${options.host}:${options.port}: another program (another gouvernail serve?) listens there; stop it, or serve with --listen ${options.host}:PORT`);
    throw err;
  }
  const address = http.server.address() as { port: number };
  // Pods call the API as their ServiceAccount over HTTPS; plain HTTP would send their token in clear.
  if (tls) nodes.setApi({ host: options.host, port: address.port, ca: tls.ca });
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
  const server = `${tls ? 'https' : 'http'}://${shownHost}:${address.port}`;
  writeFileSync(path.join(options.dataDir, 'kubeconfig'), kubeconfigText(server, token, tls?.ca), { mode: 0o600 });
  // The serving certificate is renewed before it expires, without a restart.
  const renewal = tls
    ? setInterval(() => {
        void ensureServingCertificate(options.dataDir, sans).then((next) => {
          if (next.cert === tls!.cert) return;
          tls = next;
          (http.server as unknown as { setSecureContext(o: object): void }).setSecureContext({ key: next.key, cert: next.cert });
          log.info({ notAfter: next.notAfter.toISOString() }, 'renewed the API server certificate');
        }, (err) => log.warn({ err: (err as Error).message }, 'cannot renew the API server certificate; retrying in 12 hours'));
      }, 12 * 3600_000)
    : undefined;
  renewal?.unref();
  const proxy = new ServiceProxy(store, logFor('gouvernail-service-proxy'), undefined, reservedPorts, nodeName);
  const applications = new ApplicationController(store, asComponent(identities.applicationController), logFor('gouvernail-application-controller'), process.cwd(), path.join(options.dataDir, 'git'), hostedRepos, server);
  applicationsRef.current = applications;
  if (options.sourceLimits) applications.sourceLimits = options.sourceLimits;
  applications.onSyncFinished = (result, seconds) => metrics.syncFinished(result, seconds);
  const admin = asComponent(identities.admin);
  for (const app of [...(options.watch ?? []).map((dir) => watchedFolderApplication(dir) as never), ...(options.applications ?? [])]) await admin.apply(app);
  controllers.start();
  collector.start();
  storageProtection.start();
  endpoints.start();
  network.start();
  // The autoscaler reads the metrics kubectl top reads; while an HPA exists, they are kept current.
  const autoscaler = new HorizontalPodAutoscalerController(store, controllerManager, (ns) => metricsCollector.objects('PodMetrics', ns), logFor('kube-controller-manager'), recorders.autoscaler, options.autoscalerPeriodMs);
  autoscaler.start();
  metricsCollector.start();
  lifecycle.start();
  proxy.start();
  applications.start();
  const snapshots = options.snapshots ? scheduleSnapshots(store, options.dataDir, options.snapshots, log) : undefined;
  log.info({ server, node: nodeName, dataDir: options.dataDir }, `gouvernail is serving; export KUBECONFIG=${path.join(options.dataDir, 'kubeconfig')}`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      snapshots?.stop();
      clearInterval(expiry);
      await applications.stop();
      await controllers.stop();
      await collector.stop();
      await storageProtection.stop();
      await endpoints.stop();
      await network.stop();
      await autoscaler.stop();
      await proxy.stop();
      await lifecycle.stop();
      await nodes.stop();
      await metricsCollector.stop();
      if (renewal) clearInterval(renewal);
      authorizer.close();
      await http.close();
      for (const r of Object.values(recorders)) r.close();
      store.close();
      unlock();
    })());
  return { server, token, ca: tls?.ca, store, api, installation, close, kubeconfig: path.join(options.dataDir, 'kubeconfig') };
}
