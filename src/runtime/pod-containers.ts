import { createHash } from 'node:crypto';
import path from 'node:path';
import { containerSecurity, type PodSecurityContext, type SecurityContext } from './security-context.js';
import type Docker from 'dockerode';
import type { Container, KubeObject, PodSpec } from '../manifest/types.js';
import { claimVolumeName, containerName, emptyDirVolumeName, label, podFilesVolumeName } from './labels.js';
import { envLookup, expandVariables } from './env-expansion.js';
import { parseQuantity } from '../manifest/quantity.js';
import { defaultGraceSeconds, preStopLabel } from './container-lifecycle.js';
import { clusterDomain } from '../network/dns-records.js';

export interface Lookups {
  configMap(name: string): KubeObject | undefined;
  secret(name: string): KubeObject | undefined;
  /** How the Pod reaches the API, when it mounts a ServiceAccount token. */
  apiAccess?: ApiAccess;
  /** The folder of a written PersistentVolume (hostPath, local) a claim is bound to, if it is one. */
  claimFolder?(name: string): string | undefined;
  /** The node's addresses a hostPort is published on (all of them when unset). */
  publishAddresses?: string[];
  /** The cluster DNS server and domain, when the node runs its network component. */
  clusterDns?: { server: string; domain: string };
  /** The Pod's address on the node's Pod network (not for a Pod on the host's network). */
  podAddress?: string;
  /** The node's allocatable resources: the downward API's value of a limit the container does not set. */
  allocatable?: Record<string, string>;
  /** The Services of the Pod's namespace, whose link variables $(VAR) in env, command and args may name. */
  services?: () => KubeObject[];
}

/**
 * A container's options as it is created: the variables the kubelet gives it for each Service of
 * its namespace that has a cluster IP (enableServiceLinks, on unless the Pod turns it off), as
 * Docker links named them (REDIS_MASTER_SERVICE_HOST, REDIS_MASTER_PORT_6379_TCP_ADDR...), first:
 * the container's own env wins. They are read when the container is made and are not in its spec
 * hash, so a Service made later changes the next container and replaces no running one.
 */
export function withServiceLinks(options: Docker.ContainerCreateOptions, pod: KubeObject, services: () => KubeObject[]): Docker.ContainerCreateOptions {
  if ((pod.spec as { enableServiceLinks?: boolean }).enableServiceLinks === false) return options;
  const links = serviceLinks(services());
  return links.length > 0 ? { ...options, Env: [...links, ...(options.Env ?? [])] } : options;
}

export function serviceLinks(services: KubeObject[]): string[] {
  const out: string[] = [];
  for (const svc of [...services].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const ip = svc.spec?.clusterIP;
    const ports = (svc.spec?.ports ?? []) as { name?: string; port: number; protocol?: string }[];
    if (!ip || ip === 'None' || svc.spec?.type === 'ExternalName' || ports.length === 0) continue;
    const name = svc.metadata.name.toUpperCase().replace(/-/g, '_');
    const first = ports[0]!;
    const url = (p: typeof first) => `${(p.protocol ?? 'TCP').toLowerCase()}://${ip}:${p.port}`;
    out.push(`${name}_SERVICE_HOST=${ip}`, `${name}_SERVICE_PORT=${first.port}`);
    for (const p of ports) if (p.name) out.push(`${name}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}=${p.port}`);
    out.push(`${name}_PORT=${url(first)}`);
    for (const p of ports) {
      const proto = (p.protocol ?? 'TCP').toUpperCase();
      const prefix = `${name}_PORT_${p.port}_${proto}`;
      out.push(`${prefix}=${url(p)}`, `${prefix}_PROTO=${proto.toLowerCase()}`, `${prefix}_PORT=${p.port}`, `${prefix}_ADDR=${ip}`);
    }
  }
  return out;
}

/**
 * The resolver a Pod's network gets, as the kubelet writes resolv.conf: with dnsPolicy ClusterFirst
 * the cluster DNS server, the search domains NS.svc.DOMAIN, svc.DOMAIN and DOMAIN, and ndots:5;
 * with Default the node's own; with None only dnsConfig, whose entries are added in every case.
 */
export function dnsSettings(pod: KubeObject, clusterDns: Lookups['clusterDns']): Pick<Docker.HostConfig, 'Dns' | 'DnsSearch' | 'DnsOptions'> {
  const spec = pod.spec as PodSpec & { dnsPolicy?: string; dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] } };
  const policy = spec.dnsPolicy ?? 'ClusterFirst';
  const extra = spec.dnsConfig ?? {};
  const cluster = clusterDns && (policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet');
  const ns = pod.metadata.namespace;
  const servers = [...(cluster ? [clusterDns!.server] : []), ...(extra.nameservers ?? [])];
  const search = [...(cluster ? [`${ns}.svc.${clusterDns!.domain}`, `svc.${clusterDns!.domain}`, clusterDns!.domain] : []), ...(extra.searches ?? [])];
  // dnsConfig's options are merged into the policy's, the Pod's value winning (ndots: 2 over ndots:5).
  const byName = new Map<string, string>(cluster ? [['ndots', 'ndots:5']] : []);
  for (const o of extra.options ?? []) byName.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
  const options = [...byName.values()];
  return { ...(servers.length ? { Dns: servers } : {}), ...(search.length ? { DnsSearch: search } : {}), ...(options.length ? { DnsOptions: options } : {}) };
}

/** What a Pod gets to call the API as its ServiceAccount, as the kubelet gives it. */
export interface ApiAccess {
  token: string;
  ca: string;
  /** The address of the API on the Pod's network, and its port. */
  host: string;
  port: number;
  /** A folder of this host holding token, ca.crt and namespace, bind-mounted read-only (else the files are copied in). */
  hostDir?: string;
}

export const serviceAccountMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';
const apiNames = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];

export interface FileToCopy {
  mountPath: string;
  files: { path: string; content: Buffer; mode: number }[];
  /**
   * Where the files come from (a ConfigMap, a Secret, the downward API), for the spec hash: their
   * content is left out of it, and refreshed in the running container when it changes, as the
   * kubelet refreshes such volumes.
   */
  source?: string;
  /** Kept current in the running container when its source changes (not for a subPath file). */
  refresh?: boolean;
  /**
   * Put into the Docker volume mounted at mountPath (a container with a read-only root, whose
   * layer takes no files), rather than into the container's layer.
   */
  inVolume?: boolean;
}

export interface ContainerPlan {
  name: string;
  /** An init container: run to completion, in order, before the app containers. */
  init?: boolean;
  /** A native sidecar (an init container with restartPolicy Always): started in order, kept running. */
  sidecar?: boolean;
  dockerName: string;
  hash: string;
  options: Docker.ContainerCreateOptions;
  /** The hash of everything but the resources: the same one means a resize can be done in place. */
  shapeHash: string;
  /** What the resources are on Docker, and whether a change of each restarts the container. */
  resources: { Memory: number; NanoCpus: number; CpuShares: number; MemoryReservation: number; restartOn: ('cpu' | 'memory')[] };
  /** runAsNonRoot without runAsUser: the image's user is checked before start. */
  checkImageUser?: boolean;
  /** It owns the Pod's network namespace: its program waits for the Pod's address (see network-wait). */
  ownsNetwork?: boolean;
  /** Added by kubectl debug: made once, never restarted, never replaced. */
  ephemeral?: boolean;
  copies: FileToCopy[];
  /**
   * Where the container mounts an emptyDir or a claim's Docker volume (writable, whole): a volume
   * made for this Pod is opened to every user by the first container made to mount it, as the
   * kubelet makes an emptyDir and k3s's local-path provisioner a volume (0777; with the Pod's
   * fsGroup, that group's with setgid); never again after, so what an init container or the
   * program made of it stays. Not in the hash: it changes no running container.
   */
  openDirs?: { mounts: { path: string; volume: string }[]; gid?: number };
}

export interface PodPlan {
  /** Docker volumes to make: claims' and emptyDirs' (a tmpfs for `medium: Memory`). */
  volumes: { name: string; labels: Record<string, string>; driverOpts?: Record<string, string> }[];
  containers: ContainerPlan[];
  /** A reason a container cannot be created yet (CreateContainerConfigError). */
  configError?: { container: string; message: string };
}

/**
 * Everything Docker needs to run a Pod, computed from the Pod and what it references. Pure.
 * The first container owns the Pod's network namespace; the others join it, so they share
 * localhost, as the containers of a Kubernetes Pod do.
 */
export function planPod(pod: KubeObject, lookups: Lookups, installation: string): PodPlan {
  // The address is known before the containers start: the downward API has it from the first.
  if (lookups.podAddress && !pod.spec.hostNetwork) pod = { ...pod, status: { ...pod.status, podIP: lookups.podAddress } };
  const spec = pod.spec as PodSpec;
  const ns = pod.metadata.namespace!;
  const uid = pod.metadata.uid!;
  const base = { [label.managedBy]: installation, [label.namespace]: ns, [label.pod]: pod.metadata.name, [label.uid]: uid };
  const plan: PodPlan = { volumes: [], containers: [] };
  const binds = new Map<string, { source: string; kind: 'volume' | 'bind' | 'files'; files?: FileToCopy['files']; refreshed?: string; open?: boolean }>();

  for (const v of spec.volumes ?? []) {
    if (v.emptyDir) {
      const name = emptyDirVolumeName(uid, v.name);
      // medium Memory: a tmpfs, of sizeLimit when given (else the kernel's default, half the memory).
      const memory = v.emptyDir.medium === 'Memory';
      const size = memory && v.emptyDir.sizeLimit !== undefined ? Math.floor(parseQuantity(v.emptyDir.sizeLimit)) : undefined;
      plan.volumes.push({ name, labels: base, ...(memory ? { driverOpts: { type: 'tmpfs', device: 'tmpfs', ...(size ? { o: `size=${size}` } : {}) } } : {}) });
      // A tmpfs is open to all already (1777), and made anew at each mount: only a disk's is opened.
      binds.set(v.name, { source: name, kind: 'volume', open: !memory });
    } else if (v.persistentVolumeClaim && lookups.claimFolder?.(v.persistentVolumeClaim.claimName)) {
      binds.set(v.name, { source: lookups.claimFolder(v.persistentVolumeClaim.claimName)!, kind: 'bind' });
    } else if (v.persistentVolumeClaim) {
      const name = claimVolumeName(ns, v.persistentVolumeClaim.claimName);
      plan.volumes.push({ name, labels: { [label.managedBy]: installation, [label.namespace]: ns, [label.claim]: v.persistentVolumeClaim.claimName } });
      // Open to all, as k3s's local-path provisioner makes its volumes (a hostPath volume written by hand is left as it is).
      binds.set(v.name, { source: name, kind: 'volume', open: true });
    } else if (v.hostPath) {
      binds.set(v.name, { source: v.hostPath.path, kind: 'bind' });
    } else if (v.configMap || v.secret) {
      const source = v.configMap ? lookups.configMap(v.configMap.name) : lookups.secret(v.secret!.secretName);
      const ref = v.configMap ? `ConfigMap ${v.configMap.name}` : `Secret ${v.secret!.secretName}`;
      const optional = v.configMap?.optional ?? v.secret?.optional ?? false;
      if (!source && !optional) {
        plan.configError = { container: spec.containers[0]!.name, message: `${ref} not found (volume ${v.name})` };
        continue;
      }
      const mode = v.configMap?.defaultMode ?? v.secret?.defaultMode ?? 0o644;
      const items = v.configMap?.items ?? v.secret?.items;
      const data = dataOf(source);
      const files = (items ?? Object.keys(data).map((key) => ({ key, path: key }))).filter((i) => data[i.key] !== undefined).map((i) => ({ path: i.path, content: data[i.key]!, mode: (i as { mode?: number }).mode ?? mode }));
      binds.set(v.name, { source: '', kind: 'files', files, refreshed: JSON.stringify({ ref, items, mode }) });
    } else if ((v as { downwardAPI?: unknown }).downwardAPI || (v as { projected?: unknown }).projected) {
      const projected = projectedFiles(pod, v as never, lookups);
      if ('error' in projected) {
        plan.configError ??= { container: spec.containers[0]!.name, message: `${projected.error} (volume ${v.name})` };
        continue;
      }
      binds.set(v.name, { source: '', kind: 'files', files: projected.files, refreshed: JSON.stringify(v) });
    }
  }

  const containers = spec.containers;
  const owner = networkOwner(spec);
  const ownerIndex = (spec.initContainers ?? []).findIndex((c) => c.name === owner);
  const ephemeralContainers = ((spec as { ephemeralContainers?: (Container & { targetContainerName?: string })[] }).ephemeralContainers ?? []);
  const all = [
    ...(spec.initContainers ?? []).map((c, i) => ({ c, init: true, sidecar: isSidecar(c), before: ownerIndex < 0 || i < ownerIndex, ephemeral: false })),
    ...containers.map((c) => ({ c, init: false, sidecar: false, before: false, ephemeral: false })),
    ...ephemeralContainers.map((c) => ({ c, init: false, sidecar: false, before: false, ephemeral: true })),
  ];
  // The Services' link variables, read once and only when a $(VAR) is to be expanded.
  let links: string[] | undefined;
  const linkVariables = () => (links ??= (spec as { enableServiceLinks?: boolean }).enableServiceLinks === false || !lookups.services ? [] : serviceLinks(lookups.services()));
  all.forEach(({ c, init, sidecar, before, ephemeral }) => {
    const index = c.name === owner ? 0 : 1;
    const env = resolveEnv(pod, c, lookups, linkVariables);
    if ('error' in env) {
      plan.configError ??= { container: c.name, message: env.error };
      return;
    }
    const access = lookups.apiAccess;
    if (access) env.env.push('KUBERNETES_SERVICE_HOST=kubernetes.default.svc', `KUBERNETES_SERVICE_PORT=${access.port}`, `KUBERNETES_SERVICE_PORT_HTTPS=${access.port}`);
    // command and args see the container's whole environment, its own variables over the links'.
    const own = envLookup(env.env);
    let linked: ((name: string) => string | undefined) | undefined;
    const variable = (name: string) => own(name) ?? (linked ??= envLookup(linkVariables()))(name);
    const mounts: string[] = [];
    const copies: FileToCopy[] = [];
    const openDirs: { path: string; volume: string }[] = [];
    const security = containerSecurity(spec.securityContext as PodSecurityContext | undefined, (c as { securityContext?: SecurityContext }).securityContext);
    // A read-only root takes no files into its layer: they go into a Docker volume of the Pod's.
    const filesVolume = security.hostConfig.ReadonlyRootfs ? (volume: string) => podFilesVolume(plan, uid, volume, base) : undefined;
    for (const m of c.volumeMounts ?? []) {
      const b = binds.get(m.name);
      if (!b) continue;
      const subPath = (m as { subPath?: string }).subPath;
      if (b.kind === 'files' && filesVolume) {
        const volume = filesVolume(m.name);
        if (!subPath) {
          mounts.push(`${volume}:${m.mountPath}:nocopy`);
          copies.push({ mountPath: m.mountPath, files: b.files!, source: b.refreshed, refresh: !!b.refreshed, inVolume: true });
          continue;
        }
        // A subPath file: written through a mount of the volume of its own, bound from the volume's folder.
        const file = b.files!.find((f) => f.path === subPath);
        if (!file) continue;
        const written = `${podFilesMountDir}/${m.name}`;
        if (!mounts.includes(`${volume}:${written}:nocopy`)) mounts.push(`${volume}:${written}:nocopy`);
        copies.push({ mountPath: written, files: [file], source: `${b.refreshed} ${subPath}`, inVolume: true });
        mounts.push(`${subPathMarker}${volume}/${subPath}:${m.mountPath}${m.readOnly ? ':ro' : ''}`);
      } else if (b.kind === 'files' && subPath) {
        // One file of the volume at the mount path, as a subPath mount gives it (never refreshed, as in Kubernetes).
        const file = b.files!.find((f) => f.path === subPath);
        if (file) copies.push({ mountPath: path.posix.dirname(m.mountPath), files: [{ ...file, path: path.posix.basename(m.mountPath) }], source: `${b.refreshed} ${subPath}` });
      } else if (b.kind === 'files') copies.push({ mountPath: m.mountPath, files: b.files!, source: b.refreshed, refresh: !!b.refreshed });
      else if (subPath && b.kind === 'bind') mounts.push(`${path.posix.join(b.source, subPath)}:${m.mountPath}${m.readOnly ? ':ro' : ''}`);
      // A named volume's sub-folder: the node agent binds it from the volume's mount point.
      else if (subPath) mounts.push(`${subPathMarker}${b.source}/${subPath}:${m.mountPath}${m.readOnly ? ':ro' : ''}`);
      else {
        mounts.push(`${b.source}:${m.mountPath}${m.readOnly ? ':ro' : ''}`);
        if (b.open && !m.readOnly) openDirs.push({ path: m.mountPath, volume: b.source });
      }
    }
    if (access?.hostDir) mounts.push(`${access.hostDir}:${serviceAccountMountPath}:ro`);
    else if (access) {
      // (A name with a dot, which no Pod volume has.)
      if (filesVolume) mounts.push(`${filesVolume('serviceaccount.token')}:${serviceAccountMountPath}:nocopy`);
      copies.push({
        mountPath: serviceAccountMountPath,
        files: [
          { path: 'token', content: Buffer.from(access.token), mode: 0o644 },
          { path: 'ca.crt', content: Buffer.from(access.ca), mode: 0o644 },
          { path: 'namespace', content: Buffer.from(ns), mode: 0o644 },
        ],
        ...(filesVolume ? { inVolume: true } : {}),
      });
    }
    const dockerName = containerName(ns, pod.metadata.name, c.name);
    const limits = c.resources?.limits ?? {};
    const requests = { ...limits, ...c.resources?.requests };
    const hostConfig: Docker.HostConfig = {
      Binds: mounts,
      // Docker restarts a failed init container (unless the Pod's policy is Never) and keeps a sidecar running.
      RestartPolicy: { Name: ephemeral ? 'no' : sidecar ? 'always' : init ? (spec.restartPolicy === 'Never' ? 'no' : 'on-failure') : restartPolicy(spec.restartPolicy) },
      ...(limits.memory !== undefined ? { Memory: Math.floor(parseQuantity(limits.memory)) } : {}),
      ...(limits.cpu !== undefined ? { NanoCpus: Math.floor(parseQuantity(limits.cpu) * 1e9) } : {}),
      // Requests, as kubelet sets them: CPU shares (1024 a core, at least 2) and a memory reservation.
      ...(requests.cpu !== undefined ? { CpuShares: Math.max(2, Math.round(parseQuantity(requests.cpu) * 1024)) } : {}),
      ...(requests.memory !== undefined ? { MemoryReservation: Math.floor(parseQuantity(requests.memory)) } : {}),
    };
    if (security.refusal) plan.configError ??= { container: c.name, message: security.refusal };
    Object.assign(hostConfig, security.hostConfig);
    // The host's process and IPC namespaces, which Pod Security allows only under privileged.
    if (spec.hostPID) hostConfig.PidMode = 'host';
    // An ephemeral container sees its target's processes (kubectl debug --target).
    const target = ephemeral ? (c as { targetContainerName?: string }).targetContainerName : undefined;
    if (!spec.hostPID && target) hostConfig.PidMode = `container:${containerName(ns, pod.metadata.name, target)}`;
    // shareProcessNamespace: the containers join the process namespace of the one that owns the
    // Pod's network (init containers that run before it have their own, as it does not exist yet).
    else if (!spec.hostPID && (spec as { shareProcessNamespace?: boolean }).shareProcessNamespace && c.name !== owner && !before) hostConfig.PidMode = `container:${containerName(ns, pod.metadata.name, owner)}`;
    if (spec.hostIPC) hostConfig.IpcMode = 'host';
    const preStop = (c as { lifecycle?: { preStop?: unknown } }).lifecycle?.preStop;
    const grace = spec.terminationGracePeriodSeconds ?? defaultGraceSeconds;
    const options: Docker.ContainerCreateOptions = {
      name: dockerName,
      // The grace period between the stop signal and SIGKILL (set when it is not the default, which Gouvernail applies).
      ...(grace !== defaultGraceSeconds ? { StopTimeout: grace } : {}),
      ...(security.user ? { User: security.user } : {}),
      Image: c.image,
      Env: env.env,
      WorkingDir: c.workingDir,
      OpenStdin: c.stdin ?? false,
      StdinOnce: (c as { stdinOnce?: boolean }).stdinOnce ?? false,
      Tty: c.tty ?? false,
      Labels: { ...base, [label.container]: c.name, ...(preStop ? { [preStopLabel]: JSON.stringify(preStop) } : {}) },
      HostConfig: hostConfig,
    };
    if (c.command) options.Entrypoint = c.command.map((x) => expandVariables(x, variable));
    if (c.args) options.Cmd = c.args.map((x) => expandVariables(x, variable));
    if (index === 0 && spec.hostNetwork) {
      // The host's network: its addresses and ports are the Pod's (a hostPort is its own port).
      hostConfig.NetworkMode = 'host';
      hostConfig.ExtraHosts = [...(access ? apiNames.map((n) => `${n}:${access.host}`) : []), ...hostAliases(spec)];
      if (hostConfig.ExtraHosts.length === 0) delete hostConfig.ExtraHosts;
    } else if ((index === 0 || (init && before)) && !spec.hostNetwork) {
      // The container that owns the Pod's network namespace (and an init container that runs
      // before it): no Docker network; the node's network component gives it the Pod's address.
      options.Hostname = spec.hostname ?? pod.metadata.name.slice(0, 63);
      // With a subdomain (a StatefulSet's Pods), the Pod has a fully qualified name, which
      // `hostname -f` gives; setHostnameAsFQDN makes it the hostname itself, as in Kubernetes.
      const short = options.Hostname;
      const fqdn = spec.subdomain ? `${short}.${spec.subdomain}.${ns}.svc.${clusterDomain}` : undefined;
      if (fqdn && (spec as { setHostnameAsFQDN?: boolean }).setHostnameAsFQDN) {
        if (fqdn.length > 64) plan.configError ??= { container: c.name, message: `the Pod's fully qualified name ${fqdn} is longer than 64 characters, which setHostnameAsFQDN cannot make a hostname` };
        else options.Hostname = fqdn;
      }
      if (index === 0) {
        const ports = [...containers, ...(spec.initContainers ?? []).filter(isSidecar)].flatMap((x) => x.ports ?? []).filter((p) => p.hostPort);
        const allowed = lookups.publishAddresses;
        for (const p of ports) {
          if (p.hostIP && allowed?.length && !allowed.includes(p.hostIP)) plan.configError ??= { container: c.name, message: `hostIP ${p.hostIP} of hostPort ${p.hostPort} is not an address this node publishes on (${allowed.join(', ')})` };
        }
      }
      hostConfig.NetworkMode = 'none';
      if (lookups.podAddress) options.Labels![label.podIP] = lookups.podAddress;
      Object.assign(hostConfig, dnsSettings(pod, lookups.clusterDns));
      // The Pod's own name resolves to its address, as in Kubernetes; the API's names (its
      // certificate has them) to the API's address.
      // (One line of /etc/hosts for both names, the full one first: it is what `hostname -f` reads.)
      const ownNames = fqdn ? `${fqdn} ${short}` : short;
      hostConfig.ExtraHosts = [...(lookups.podAddress ? [`${ownNames}:${lookups.podAddress}`] : []), ...(access ? apiNames.map((n) => `${n}:${access.host}`) : []), ...hostAliases(spec)];
      if (hostConfig.ExtraHosts.length === 0) delete hostConfig.ExtraHosts;
    } else if (init && before) {
      hostConfig.NetworkMode = 'host';
    } else {
      hostConfig.NetworkMode = `container:${containerName(ns, pod.metadata.name, owner)}`;
    }
    // The token is left out of the hash: a new token for the same Pod is no reason to replace it.
    const hashed = copies.map((c) => (c.source ? { mountPath: c.mountPath, source: c.source } : { ...c, files: c.files.map((f) => ({ ...f, content: c.mountPath === serviceAccountMountPath && f.path === 'token' ? 'token' : f.content.toString('base64') })) }));
    // Nor is where the data folder is: a store restored into a new folder keeps its containers.
    const located = access?.hostDir ? { ...options, HostConfig: { ...hostConfig, Binds: mounts.map((m) => (m.startsWith(`${access.hostDir}:`) ? `<pod files>${m.slice(access.hostDir!.length)}` : m)) } } : options;
    // command and args as written: what their variables expand to is read when the container is made.
    const placed = { ...located, Env: env.hashed.length === env.env.length && env.hashed.every((h, i) => h === env.env[i]) ? located.Env : [...env.hashed, ...(located.Env ?? []).slice(env.env.length)], ...(c.command ? { Entrypoint: c.command } : {}), ...(c.args ? { Cmd: c.args } : {}) };
    const hash = createHash('sha256').update(JSON.stringify({ options: placed, copies: hashed })).digest('hex').slice(0, 16);
    const { Memory, NanoCpus, CpuShares, MemoryReservation, ...unsized } = placed.HostConfig ?? {};
    const shapeHash = createHash('sha256').update(JSON.stringify({ options: { ...placed, HostConfig: unsized }, copies: hashed })).digest('hex').slice(0, 16);
    const restartOn = ((c as { resizePolicy?: { resourceName: 'cpu' | 'memory'; restartPolicy: string }[] }).resizePolicy ?? []).filter((p) => p.restartPolicy === 'RestartContainer').map((p) => p.resourceName);
    const resources = { Memory: Memory ?? 0, NanoCpus: NanoCpus ?? 0, CpuShares: CpuShares ?? 0, MemoryReservation: MemoryReservation ?? 0, restartOn };
    options.Labels![label.specHash] = hash;
    options.Labels![label.shapeHash] = shapeHash;
    const ownsNetwork = !!options.Labels![label.podIP];
    const fsGroup = (spec.securityContext as PodSecurityContext | undefined)?.fsGroup;
    plan.containers.push({ name: c.name, dockerName, hash, shapeHash, resources, options, copies, ...(openDirs.length ? { openDirs: { mounts: openDirs, ...(fsGroup !== undefined ? { gid: fsGroup } : {}) } } : {}), checkImageUser: security.checkImageUser, ...(ownsNetwork ? { ownsNetwork } : {}), ...(init ? { init, sidecar } : {}), ...(ephemeral ? { ephemeral } : {}) });
  });
  return plan;
}

/** spec.hostAliases as Docker's extra hosts lines (NAME:IP). */
function hostAliases(spec: PodSpec): string[] {
  return ((spec as { hostAliases?: { ip: string; hostnames?: string[] }[] }).hostAliases ?? []).flatMap((a) => (a.hostnames ?? []).map((h) => `${h}:${a.ip}`));
}

/** A native sidecar: an init container that restarts Always, started before the app and kept running. */
export function isSidecar(c: Container): boolean {
  return (c as { restartPolicy?: string }).restartPolicy === 'Always';
}

/**
 * The container that owns a Pod's network namespace, which the others join: its first sidecar
 * when it has one (it runs beside the app containers from before they start), else its first
 * container. Init containers before it run in a network namespace of their own, with the Pod's address.
 */
export function networkOwner(spec: PodSpec): string {
  return (spec.initContainers ?? []).find(isSidecar)?.name ?? spec.containers[0]!.name;
}

function restartPolicy(p: PodSpec['restartPolicy']): string {
  return p === 'Never' ? 'no' : p === 'OnFailure' ? 'on-failure' : 'always';
}

function dataOf(o: KubeObject | undefined): Record<string, Buffer> {
  if (!o) return {};
  const out: Record<string, Buffer> = {};
  if (o.kind === 'Secret') for (const [k, v] of Object.entries(o.data ?? {})) out[k] = Buffer.from(v, 'base64');
  else {
    for (const [k, v] of Object.entries(o.data ?? {})) out[k] = Buffer.from(v, 'utf8');
    for (const [k, v] of Object.entries(o.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  }
  return out;
}

function resolveEnv(pod: KubeObject, c: Container, lookups: Lookups, linkVariables: () => string[]): { env: string[]; hashed: string[] } | { error: string } {
  const env = new Map<string, string>();
  // What the spec hash sees: a value read from a ConfigMap or Secret as its reference, so that a
  // change of the object leaves the running container (its env stays until the Pod is replaced).
  const hashed = new Map<string, string>();
  let links: ((name: string) => string | undefined) | undefined;
  const linkLookup = (name: string) => (links ??= envLookup(linkVariables()))(name);
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef!;
    const source = from.configMapRef ? lookups.configMap(ref.name) : lookups.secret(ref.name);
    if (!source) {
      if (ref.optional) continue;
      return { error: `${from.configMapRef ? 'configmap' : 'secret'} "${ref.name}" not found` };
    }
    for (const [k, v] of Object.entries(dataOf(source))) {
      env.set(`${from.prefix ?? ''}${k}`, v.toString('utf8'));
      hashed.set(`${from.prefix ?? ''}${k}`, `<${from.configMapRef ? 'configmap' : 'secret'} ${ref.name}>`);
    }
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) {
      // Over the variables before it, then the Services' link variables, as the kubelet expands.
      env.set(e.name, expandVariables(e.value, (name) => env.get(name) ?? linkLookup(name)));
      hashed.set(e.name, e.value);
      continue;
    }
    const vf = e.valueFrom;
    if (!vf) {
      env.set(e.name, '');
      hashed.set(e.name, '');
      continue;
    }
    if (vf.fieldRef) {
      const value = fieldValue(pod, vf.fieldRef.fieldPath);
      env.set(e.name, value);
      hashed.set(e.name, value);
      continue;
    }
    if (vf.resourceFieldRef) {
      // Read when the container is made, as the kubelet's; the hash sees the reference, so that a
      // resize in place does not replace the container (its env stays, as in Kubernetes).
      const ref = { ...vf.resourceFieldRef, containerName: vf.resourceFieldRef.containerName ?? c.name };
      env.set(e.name, resourceValue(pod, { ...ref, divisor: ref.divisor === undefined ? undefined : String(ref.divisor) }, lookups.allocatable));
      hashed.set(e.name, `<resource ${ref.containerName} ${ref.resource} ${ref.divisor ?? 1}>`);
      continue;
    }
    const ref = (vf.secretKeyRef ?? vf.configMapKeyRef)!;
    const source = vf.secretKeyRef ? lookups.secret(ref.name) : lookups.configMap(ref.name);
    const value = dataOf(source)[ref.key];
    if (value === undefined) {
      if (ref.optional) continue;
      return { error: source ? `key "${ref.key}" not found in ${vf.secretKeyRef ? 'secret' : 'configmap'} "${ref.name}"` : `${vf.secretKeyRef ? 'secret' : 'configmap'} "${ref.name}" not found` };
    }
    env.set(e.name, value.toString('utf8'));
    hashed.set(e.name, `<${vf.secretKeyRef ? 'secret' : 'configmap'} ${ref.name} ${ref.key}>`);
  }
  return { env: [...env].map(([k, v]) => `${k}=${v}`), hashed: [...hashed].map(([k, v]) => `${k}=${v}`) };
}

function fieldValue(pod: KubeObject, path: string): string {
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    default: {
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
      if (m) return (pod.metadata[m[1] as 'labels'] ?? {})[m[2]!] ?? '';
      return '';
    }
  }
}

/** The marker of a bind from a named volume's sub-folder: `MARKER<volume>/<subPath>:<target>`. */
export const subPathMarker = '<volume-subpath>';

/** Where a read-only root container mounts the volume its subPath files are written into. */
export const podFilesMountDir = '/.gouvernail-files';

/** The Docker volume of a Pod that holds one volume's files for containers with a read-only root. */
function podFilesVolume(plan: PodPlan, uid: string, volume: string, labels: Record<string, string>): string {
  const name = podFilesVolumeName(uid, volume);
  if (!plan.volumes.some((v) => v.name === name)) plan.volumes.push({ name, labels });
  return name;
}

/**
 * The files of a downwardAPI or projected volume: the Pod's own fields (name, namespace, uid,
 * labels, annotations), its containers' resources, ConfigMap and Secret keys, and the Pod's
 * ServiceAccount token and the cluster CA.
 */
function projectedFiles(pod: KubeObject, v: { downwardAPI?: { items?: DownwardItem[]; defaultMode?: number }; projected?: { defaultMode?: number; sources?: ProjectedSource[] } }, lookups: Lookups): { files: FileToCopy['files'] } | { error: string } {
  const files: FileToCopy['files'] = [];
  const downward = (items: DownwardItem[] | undefined, mode: number) => {
    for (const i of items ?? []) {
      let value = '';
      if (i.fieldRef) {
        const m = /^metadata\.(labels|annotations)$/.exec(i.fieldRef.fieldPath);
        value = m ? Object.entries((pod.metadata[m[1] as 'labels'] ?? {}) as Record<string, string>).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join('\n') : fieldValue(pod, i.fieldRef.fieldPath);
      } else if (i.resourceFieldRef) value = resourceValue(pod, i.resourceFieldRef, lookups.allocatable);
      files.push({ path: i.path, content: Buffer.from(value), mode: i.mode ?? mode });
    }
  };
  if (v.downwardAPI) {
    downward(v.downwardAPI.items, v.downwardAPI.defaultMode ?? 0o644);
    return { files };
  }
  const mode = v.projected?.defaultMode ?? 0o644;
  for (const source of v.projected?.sources ?? []) {
    if (source.configMap || source.secret) {
      const ref = (source.configMap ?? source.secret)!;
      const object = source.configMap ? lookups.configMap(ref.name) : lookups.secret(ref.name);
      if (!object) {
        if (ref.optional) continue;
        return { error: `${source.configMap ? 'ConfigMap' : 'Secret'} ${ref.name} not found` };
      }
      const data = dataOf(object);
      for (const i of ref.items ?? Object.keys(data).map((key) => ({ key, path: key, mode: undefined }))) if (data[i.key] !== undefined) files.push({ path: i.path, content: data[i.key]!, mode: i.mode ?? mode });
    } else if (source.downwardAPI) downward(source.downwardAPI.items, mode);
    else if (source.serviceAccountToken) {
      if (!lookups.apiAccess) return { error: 'a serviceAccountToken projection needs the Pod\'s ServiceAccount token (automountServiceAccountToken is off)' };
      files.push({ path: source.serviceAccountToken.path, content: Buffer.from(lookups.apiAccess.token), mode });
    }
  }
  return { files };
}

interface DownwardItem {
  path: string;
  mode?: number;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: { containerName?: string; resource: string; divisor?: string };
}

interface ProjectedSource {
  configMap?: { name: string; items?: { key: string; path: string; mode?: number }[]; optional?: boolean };
  secret?: { name: string; items?: { key: string; path: string; mode?: number }[]; optional?: boolean };
  downwardAPI?: { items?: DownwardItem[] };
  serviceAccountToken?: { path: string; expirationSeconds?: number; audience?: string };
}

/** A container's resource for the downward API: limits.cpu in cores (rounded up by the divisor), memory in bytes. */
function resourceValue(pod: KubeObject, ref: { containerName?: string; resource: string; divisor?: string }, allocatable: Record<string, string> | undefined): string {
  const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x: { name: string }) => x.name === ref.containerName) ?? pod.spec?.containers?.[0];
  const [kind, name] = ref.resource.split('.') as ['limits' | 'requests', string];
  // A limit not set is the node's allocatable, as the kubelet gives it; a request not set, its limit or 0.
  const raw = c?.resources?.[kind]?.[name] ?? (kind === 'requests' ? c?.resources?.limits?.[name] : allocatable?.[name]);
  if (raw === undefined) return '0';
  const divisor = parseQuantity(ref.divisor ?? '1');
  return String(Math.ceil(parseQuantity(String(raw)) / (divisor || 1)));
}
