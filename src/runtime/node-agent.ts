import { createHash } from 'node:crypto';
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import { pullSecretProblem, registryAuthFor, type RegistryAuth } from './registry-auth.js';
import { componentMessageDir, componentMessageFile, messageFile, terminationMessage, withComponentMessageFile, withMessageFile, type MessageSpec } from './termination-message.js';
import { componentContainerName, execIn } from './node-network.js';
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import type { Client } from '../api/client.js';
import { PassLoop } from './pass-loop.js';
import { StatusWriter } from './status-writer.js';
import { PodApiAccess } from './pod-api-access.js';
import { imageUserIsRoot } from './security-context.js';
import { claimVolumeName, containerName, emptyDirVolumeName, label } from './labels.js';
import { PodAddresses } from './pod-addresses.js';
import { PodNetwork } from './pod-network.js';
import { ContainerProbes, type ContainerSpec } from './container-probes.js';
import { NodeVolumes } from './node-volumes.js';
import { ignore304, ignore404 } from './docker-status.js';
import type { DockerRecords } from '../store/docker-records.js';
import { isSidecar, networkOwner, planPod, subPathMarker, withServiceLinks, type ApiAccess, type ContainerPlan, type FileToCopy, type PodPlan } from './pod-containers.js';
import { nextInitStep, type InitState, type InitStep } from './init-containers.js';
import { bindingFor, claimFolder } from './claim-binder.js';
import { namedPorts, runHandler, stopGracefully, terminate } from './container-lifecycle.js';
import { Backoff } from './backoff.js';

export interface NodeAgentOptions {
  store: ObjectStore;
  /** Writes go through the API as the node (system:node:NAME). */
  client: Client;
  /** The API, for Pods that mount a ServiceAccount token: where it listens and its CA. */
  api?: { host: string; port: number; ca: string };
  /** A folder on the engine's host for each Pod's token files (bind-mounted; else copied in). */
  podFilesDir?: string;
  /** The addresses hostPorts are published on (serve --publish-address); all of the host's when unset. */
  publishAddresses?: string[];
  docker: Docker;
  /** What Gouvernail created on this node's engine: only what is recorded is deleted. */
  records: DockerRecords;
  /** Records an Event about an object (the Node, for containers that are not Gouvernail's). */
  event?: (about: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string) => void;
  nodeName: string;
  installation: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  resyncMs?: number;
  /** The engine without call timeouts, for its event stream (defaults to `docker`). */
  events?: Docker;
  /** The node's address, each Pod's status.hostIP. */
  hostIP?: string;
  /** Binds the claims no Pod has used yet (one node does: the control plane's). */
  bindsUnpinnedClaims?: boolean;
  /** The cluster DNS server and domain Pods resolve names with (dnsPolicy ClusterFirst). */
  clusterDns?: { server: string; domain: string };
  /** The subnet of a namespace's Pods on this node, from the cluster range, and its gateway. */
  podSubnet: (namespace: string) => { subnet: string; gateway: string };
}

/** How long after a Pod's network owner got its address its program counts as started. */
const programStartMs = 500;

/**
 * Makes the Pods bound to one node real on its Docker engine, level-triggered: every change in
 * the store and every few seconds, it compares each Pod with the containers labelled for it and
 * acts, then writes the Pod's status back. Containers without our labels are never touched.
 */
export class NodeAgent {
  private stopped = false;
  private readonly probes: ContainerProbes;
  private readonly volumes: NodeVolumes;
  /** Images that failed to pull, and when to try again. */
  private readonly pullBackoff = new Backoff();
  /** When the containers the probes killed may start again. */
  private readonly restartBackoff = new Backoff();
  /** Containers whose creation failed (CreateContainerError), by `uid/name`. */
  private readonly createBackoff = new Backoff();
  /** Volumes made for a Pod whose root no container has opened yet (see ContainerPlan.openDirs). */
  private readonly unopenedVolumes = new Set<string>();
  /** The restart count each crash-looping container was last reported at (one BackOff a restart). */
  private readonly backoffSeen = new Map<string, number>();
  /** Containers carrying this installation's label that it has no record of, reported once each. */
  private readonly reported = new Set<string>();
  private readonly log: NonNullable<NodeAgentOptions['log']>;

  private readonly loop: PassLoop;
  /** Each container's last exit code, from the engine's die events. */
  private readonly lastExit = new Map<string, number>();
  /** When each container's last few runs started (ms, from the engine's start events), oldest first. */
  private readonly runStarts = new Map<string, number[]>();
  /**
   * Restarts Docker does not count (its RestartCount is only its restart policy's): those
   * Gouvernail makes (a failed liveness probe, a start after a kill), per container, on top of
   * what the Pod's status said when this agent first saw the container.
   */
  private readonly ownRestarts = new Map<string, number>();
  private readonly statuses: StatusWriter;
  private readonly apiAccess: PodApiAccess;
  private readonly addresses = new PodAddresses();
  private readonly network: PodNetwork;

  constructor(private readonly o: NodeAgentOptions) {
    this.statuses = new StatusWriter(o.client);
    this.apiAccess = new PodApiAccess(o, (msg, fields) => this.log(msg, fields));
    this.volumes = new NodeVolumes(o, (msg, fields) => this.log(msg, fields));
    this.probes = new ContainerProbes({ docker: o.docker, killing: (pod, container, id) => this.killing(pod, container, id), event: (pod, type, reason, message) => o.event?.(pod, type, reason, message), log: (msg, fields) => this.log(msg, fields), wake: (at) => this.wake(at) });
    this.network = new PodNetwork({
      docker: o.docker,
      installation: o.installation,
      nodeName: o.nodeName,
      podSubnet: o.podSubnet,
      carryApi: (gateway) => this.apiAccess.carry(gateway),
      event: (pod, type, reason, message) => o.event?.(pod, type, reason, message),
      log: (msg, fields) => this.log(msg, fields),
      wake: (at) => this.wake(at),
      restarted: (id) => this.countRestart(id),
    });
    this.log = o.log ?? (() => {});
    this.loop = new PassLoop({
      pass: async () => {
        if (!this.reachable) return;
        const before = this.nextWake;
        this.nextWake = Infinity;
        // A pass that found nothing to do keeps the wake-up it had.
        if (!(await this.reconcile())) this.nextWake = before;
        this.scheduleWake();
      },
      onError: (err, ms) => {
        // The same failure again and again (an engine that went away) is said once.
        if (err.message !== this.lastError) this.log('node agent pass failed; retrying', { err: err.message, retryInMs: ms });
        this.lastError = err.message;
      },
      // The engine's event stream says when a container changes; the relist is only a safety net.
      resyncMs: o.resyncMs ?? 10_000,
    });
  }

  start(): void {
    this.followEvents();
    this.loop.start(this.o.store, (c) => {
      const relevant = this.storeChanged(c);
      if (relevant) this.dirty = true;
      return relevant;
    });
  }

  /**
   * Something to act on since the last pass: a store change, an engine event, a probe or back-off
   * falling due. A relist with none of these and the same containers in the same states ends there.
   */
  private dirty = true;
  private lastSeen = '';
  private lastFullPass = 0;

  private storeChanged(c: { type: string; object: KubeObject }): boolean {
    {
      const o = c.object;
      if (o.kind === 'PersistentVolumeClaim' && o.metadata.annotations?.['gouvernail.io/delete-volume'] === 'true') {
        // Kept in the store, so a restart still removes the volume once it is released.
        this.o.records.markDeleteWhenReleased(claimVolumeName(o.metadata.namespace!, o.metadata.name));
      }
      if (o.kind === 'Namespace' && c.type === 'DELETED') return true;
      if (o.kind === 'Pod') return this.podChanged(c.type, o);
      return ['ConfigMap', 'Secret', 'Service', 'PersistentVolumeClaim', 'PersistentVolume', 'ServiceAccount'].includes(o.kind);
    }
  }

  /** Pods by uid: the generation and deletion last seen, so the agent's own status writes do not kick it. */
  private readonly podsSeen = new Map<string, string>();
  /** A Pod was added or changed since the running pass listed them. */
  private podsArrived = false;

  private podChanged(type: string, pod: KubeObject): boolean {
    const uid = pod.metadata.uid!;
    if (type === 'DELETED') {
      this.podsSeen.delete(uid);
      return true;
    }
    // The binding sets spec.nodeName without a new generation: it is part of what is looked at.
    // So are the conditions of its readiness gates, which another component writes into its status.
    const gates = ((pod.spec?.readinessGates ?? []) as { conditionType: string }[]).map((g) => (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === g.conditionType)?.status ?? '-');
    const mark = `${pod.metadata.generation}/${pod.spec?.nodeName ?? ''}/${pod.metadata.deletionTimestamp ?? ''}/${gates.join(',')}`;
    if (this.podsSeen.get(uid) === mark) return false;
    this.podsSeen.set(uid, mark);
    this.podsArrived = true;
    return true;
  }

  private recordStart(id: string, at: number): void {
    const starts = this.runStarts.get(id) ?? [];
    starts.push(at);
    if (starts.length > 3) starts.shift();
    this.runStarts.delete(id);
    this.runStarts.set(id, starts);
    if (this.runStarts.size > 5000) this.runStarts.delete(this.runStarts.keys().next().value!);
  }

  /**
   * When the run before a container's last one started (ms), as this agent saw the engine start it:
   * `kubectl logs --previous` shows that run alone, as the kubelet keeps one log per run. Undefined
   * when it did not see it (it started before this agent watched).
   */
  previousRunStart(id: string, lastStartedAt: string): number | undefined {
    const last = Date.parse(lastStartedAt);
    const starts = this.runStarts.get(id) ?? [];
    let previous: number | undefined;
    // The engine reports a start a moment after the start time it records.
    for (const at of starts) if (at < last - 5) previous = at;
    return previous;
  }

  /** When a probe or a back-off next falls due: a pass then, not at the next relist. */
  private nextWake = Infinity;
  private wakeTimer?: NodeJS.Timeout;
  private events?: NodeJS.ReadableStream;

  private wake(at: number): void {
    this.nextWake = Math.min(this.nextWake, at);
  }

  private scheduleWake(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (!Number.isFinite(this.nextWake) || this.stopped) return;
    this.wakeTimer = setTimeout(() => {
      this.dirty = true;
      this.kick();
    }, Math.max(50, this.nextWake - Date.now()));
  }

  /**
   * Docker's event stream for this installation's containers: a container that dies, starts or is
   * removed by hand makes a pass at once. The stream is opened again when it ends.
   */
  private followEvents(): void {
    if (this.stopped) return;
    const docker = this.o.events ?? this.o.docker;
    const again = () => {
      this.events = undefined;
      if (!this.stopped) setTimeout(() => this.followEvents(), this.reachable ? 1000 : 5000).unref();
    };
    docker.getEvents({ filters: { type: ['container'], label: [`${label.managedBy}=${this.o.installation}`] } }).then(
      (stream) => {
        if (this.stopped) {
          (stream as unknown as { destroy(): void }).destroy();
          return;
        }
        this.events = stream;
        let buffer = '';
        stream.on('data', (chunk: Buffer) => {
          buffer += chunk.toString('utf8');
          let i: number;
          while ((i = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, i);
            buffer = buffer.slice(i + 1);
            if (/"(status|Action)":"(die|stop|start|destroy|oom|kill|pause|unpause)"/.test(line)) {
              // A container started again is inspected afresh (its start time, its namespace).
              const id = /"id":"([0-9a-f]{64})"/.exec(line)?.[1];
              if (id) this.inspections.delete(id);
              // How it last exited: Docker's state forgets once its restart policy starts it again.
              const exitCode = /"Action":"die"/.test(line) ? /"exitCode":"(\d+)"/.exec(line)?.[1] : undefined;
              if (id && exitCode !== undefined) {
                this.lastExit.set(id, Number(exitCode));
                if (this.lastExit.size > 5000) this.lastExit.delete(this.lastExit.keys().next().value!);
              }
              const startedNs = /"Action":"start"/.test(line) ? /"timeNano":(\d+)/.exec(line)?.[1] : undefined;
              if (id && startedNs !== undefined) this.recordStart(id, Number(BigInt(startedNs) / 1_000_000n));
              this.dirty = true;
              this.kick();
            }
          }
        });
        stream.on('error', () => {});
        stream.on('close', again);
        stream.on('end', again);
        // What changed while the stream was closed is found by a pass now.
        this.dirty = true;
        this.kick();
      },
      () => again(),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    (this.events as unknown as { destroy?(): void } | undefined)?.destroy?.();
    await this.loop.stop();
    await this.statuses.flush();
    this.apiAccess.close();
  }

  kick(): void {
    this.loop.kick();
  }

  private reachable = true;
  private lastError?: string;

  /** The heartbeat's word on the engine: an unreachable one is not asked again every second. */
  setReachable(reachable: boolean): void {
    if (reachable && !this.reachable) {
      this.lastError = undefined;
      this.dirty = true;
      this.reachable = true;
      this.kick();
    }
    this.reachable = reachable;
  }

  /** A whole pass now, whatever changed. */
  reconcileNow(): Promise<boolean> {
    this.dirty = true;
    return this.reconcile();
  }

  /** One pass; false when it found nothing changed and did nothing. */
  async reconcile(): Promise<boolean> {
    const { store, docker, installation } = this.o;
    // Images are checked once a pass, not once a Pod.
    this.images.clear();
    this.podsArrived = false;
    // Taken before anything is read: a change while this pass runs makes another pass.
    const dirty = this.dirty;
    this.dirty = false;
    const pods = store.list({ kind: 'Pod' }).filter((p) => p.spec?.nodeName === this.o.nodeName && !p.metadata.deletionTimestamp);
    const labelled = await docker.listContainers({ all: true, filters: { label: [`${label.managedBy}=${installation}`] } });
    const containers = this.ownContainers(labelled);
    const seenNow = containers.map((c) => `${c.Id}/${c.State}`).sort().join(',');
    // What no event announces (a foreign container that held a name going away) is seen by a full pass each minute.
    if (!dirty && seenNow === this.lastSeen && Date.now() - this.lastFullPass < 60_000) return false;
    this.lastSeen = seenNow;
    this.lastFullPass = Date.now();
    const byUid = new Map<string, Docker.ContainerInfo[]>();
    for (const c of containers) {
      const uid = c.Labels[label.uid]!;
      (byUid.get(uid) ?? byUid.set(uid, []).get(uid)!).push(c);
    }
    const live = new Set(pods.map((p) => p.metadata.uid!));
    this.addresses.seen(containers, live);
    // Deleted Pods stay, Terminating, until their containers are gone: then this node deletes them.
    const terminating = new Map(store.list({ kind: 'Pod' }).filter((p) => p.spec?.nodeName === this.o.nodeName && p.metadata.deletionTimestamp).map((p) => [p.metadata.uid!, p]));
    for (const [uid, list] of byUid) {
      if (live.has(uid)) continue;
      if (list.every((c) => this.stopping.has(dockerName(c)))) {
        this.shortenStop(uid, list, terminating.get(uid));
        continue;
      }
      // Stopped in the background, each within its grace period: a pass does not wait for them.
      void this.terminatePod(uid, list, terminating.get(uid)?.metadata.deletionGracePeriodSeconds as number | undefined);
    }
    for (const [uid, pod] of terminating) if (!byUid.has(uid)) await this.finishDeletion(pod);
    // Pods are independent: up to 128 at a time, and a Pod bound while the pass runs joins it at
    // once instead of waiting for the next pass (50 new Pods do not start in two waves).
    const queue = [...pods];
    const seen = new Set(pods.map((p) => p.metadata.uid!));
    const refill = () => {
      if (!this.podsArrived) return;
      this.podsArrived = false;
      for (const p of store.list({ kind: 'Pod' })) {
        if (p.spec?.nodeName !== this.o.nodeName || p.metadata.deletionTimestamp || seen.has(p.metadata.uid!)) continue;
        seen.add(p.metadata.uid!);
        queue.push(p);
      }
    };
    // A Pod bound while the containers were listed joins now.
    refill();
    await new Promise<void>((resolve) => {
      let active = 0;
      const spawn = () => {
        while (active < 128 && queue.length > 0 && !this.stopped) {
          const pod = queue.shift()!;
          active++;
          this.reconcilePod(pod, byUid.get(pod.metadata.uid!) ?? [])
            .catch((err) => this.log('pod reconcile failed', { pod: pod.metadata.name, err: (err as Error).message }))
            .finally(() => {
              active--;
              if (!this.stopped) refill();
              spawn();
            });
        }
        if (active === 0) resolve();
      };
      spawn();
    });
    await this.volumes.bindClaims();
    await this.volumes.releaseClaimVolumes();
    await this.removeNamespaceNetworks(labelled);
    return true;
  }

  /**
   * The containers that are Gouvernail's by record. One without a record is adopted when it is
   * exactly what Gouvernail would have made for a Pod of the store (created by an earlier version,
   * or after the backup a store was restored from); any other is reported once, and left alone.
   */
  private ownContainers(labelled: Docker.ContainerInfo[]): Docker.ContainerInfo[] {
    const { records, store } = this.o;
    const mine: Docker.ContainerInfo[] = [];
    let pods: Map<string, KubeObject> | undefined;
    for (const c of labelled) {
      // The node's own components (the network component) are no Pod's.
      if (c.Labels[label.component]) continue;
      const name = dockerName(c);
      if (records.owns('container', name)) {
        mine.push(c);
        continue;
      }
      pods ??= new Map(store.list({ kind: 'Pod' }).map((p) => [p.metadata.uid!, p]));
      const pod = pods.get(c.Labels[label.uid] ?? '');
      if (pod && pod.spec?.nodeName === this.o.nodeName && name === containerName(pod.metadata.namespace!, pod.metadata.name, c.Labels[label.container] ?? '')) {
        records.put('container', name, c.State === 'created' ? 'creating' : 'ready', pod.metadata.uid!);
        mine.push(c);
        continue;
      }
      if (this.reported.has(c.Id)) continue;
      this.reported.add(c.Id);
      const message = `container ${name} (${c.Id.slice(0, 12)}) carries this installation's label (${label.managedBy}=${this.o.installation}) but Gouvernail did not create it; it is left alone (remove it by hand if it is not wanted)`;
      this.log('a container that is not Gouvernail\'s carries its label; leaving it alone', { container: name, id: c.Id.slice(0, 12) });
      const node = store.get('Node', undefined, this.o.nodeName);
      if (node) this.o.event?.(node, 'Warning', 'UnrecordedContainer', message);
    }
    return mine;
  }

  /**
   * The Docker networks earlier versions made for each namespace go once no container is attached
   * (Pods now have the node's own Pod network). Only those recorded as Gouvernail's.
   */
  private async removeNamespaceNetworks(containers: Docker.ContainerInfo[]): Promise<void> {
    const { records, docker } = this.o;
    for (const n of records.list('network')) {
      if (containers.some((c) => c.NetworkSettings?.Networks?.[n.name])) continue;
      await docker.getNetwork(n.name).remove().then(
        () => {
          records.remove('network', n.name);
          this.log('removed a namespace network of an earlier version', { network: n.name });
        },
        (err: { statusCode?: number }) => {
          if (err.statusCode === 404) records.remove('network', n.name);
        },
      );
    }
  }

  private async reconcilePod(pod: KubeObject, existing: Docker.ContainerInfo[]): Promise<void> {
    const { store, installation } = this.o;
    const phase = pod.status?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && this.stopSidecars(pod, existing)) return;
    if (this.pastDeadline(pod, existing)) {
      await this.writeStatus(pod, existing, {});
      return;
    }
    const ns = pod.metadata.namespace!;
    const waiting: Record<string, { reason: string; message: string }> = {};
    let podAddress: string | undefined;
    if (!pod.spec.hostNetwork) {
      try {
        podAddress = this.addresses.of(pod.metadata.uid!, this.o.podSubnet(ns).subnet);
      } catch (err) {
        waiting[pod.spec.containers[0].name] = { reason: 'ContainerCreating', message: (err as Error).message };
        await this.writeStatus(pod, existing, waiting);
        return;
      }
    }
    if (podAddress && !(await this.network.ensureGateway(pod))) {
      waiting[pod.spec.containers[0].name] = { reason: 'ContainerCreating', message: `waiting for the node's network component: ${this.network.problem(pod.metadata.uid!) ?? 'not ready'}` };
      await this.writeStatus(pod, existing, waiting);
      return;
    }
    let apiAccess: ApiAccess | undefined;
    try {
      apiAccess = await this.apiAccess.forPod(pod);
    } catch (err) {
      waiting[pod.spec.containers[0].name] = { reason: 'CreateContainerConfigError', message: `no ServiceAccount token: ${(err as Error).message}` };
      await this.writeStatus(pod, existing, waiting);
      return;
    }
    // As the kubelet, a Pod's first containers wait for its claims: one that is missing, or bound to
    // no volume yet (but one Gouvernail provisions on this node), would otherwise get a Docker volume
    // of its own in place of the volume the claim will have.
    const unmounted = existing.length === 0 ? this.unmountableClaim(pod) : undefined;
    if (unmounted) {
      waiting[pod.spec.containers[0].name] = { reason: 'ContainerCreating', message: unmounted };
      await this.writeStatus(pod, existing, waiting);
      return;
    }
    const plan = planPod(pod, {
      configMap: (name) => store.get('ConfigMap', ns, name),
      secret: (name) => store.get('Secret', ns, name),
      claimFolder: (name) => claimFolder(store.get('PersistentVolumeClaim', ns, name), (pv) => store.get('PersistentVolume', undefined, pv)),
      apiAccess,
      publishAddresses: this.o.publishAddresses,
      clusterDns: this.o.clusterDns,
      podAddress,
      allocatable: store.get('Node', undefined, this.o.nodeName)?.status?.allocatable,
      services: () => store.list({ kind: 'Service', namespace: ns }),
    }, installation);
    if (plan.configError) {
      waiting[plan.configError.container] = { reason: 'CreateContainerConfigError', message: plan.configError.message };
      await this.writeStatus(pod, existing, waiting);
      return;
    }
    for (const v of plan.volumes) if (await this.volumes.ensure(v.name, v.labels, v.driverOpts)) this.unopenedVolumes.add(v.name);
    const ids: Record<string, string> = {};
    let changed = false;
    const find = (name: string) => existing.find((e) => e.Labels[label.container] === name);
    // Init containers, in order, until each has completed (and each sidecar is running); once the
    // app containers exist, the Pod is initialized and they are not run again.
    const initialized = plan.containers.some((c) => !c.init && find(c.name));
    let init: InitStep = { kind: 'done' };
    if (!initialized) {
      for (;;) {
        init = nextInitStep(plan.containers.filter((c) => c.init), await this.initStates(plan, existing, ids), pod.spec.restartPolicy ?? 'Always');
        if (init.kind !== 'start') break;
        const name = init.container;
        const c = plan.containers.find((x) => x.name === name)!;
        const r = await this.ensureContainer(pod, c, find(c.name), ids, waiting);
        changed ||= r.changed;
        if (r.stop) break;
        if (!c.sidecar) {
          init = { kind: 'wait', container: c.name };
          break;
        }
      }
    }
    for (const c of plan.containers) {
      if (c.init) {
        const current = find(c.name);
        if (current) ids[c.name] ??= current.Id;
        continue;
      }
      if (init.kind !== 'done') break;
      const r = await this.ensureContainer(pod, c, find(c.name), ids, waiting);
      changed ||= r.changed;
      if (r.stop) break;
    }
    if (this.network.takeRewired(pod.metadata.uid!)) changed = (await this.network.rejoin(pod, plan, ids)) || changed;
    // The pass's listing is current unless this pass created or started something; then the
    // containers it touched are inspected (which the status needs anyway), not listed again.
    const fresh = !changed ? existing.filter((e) => Object.values(ids).includes(e.Id)) : (await Promise.all(Object.values(ids).map((id) => this.inspectById(id)))).filter((c): c is Docker.ContainerInfo => !!c);
    await this.writeStatus(pod, fresh, waiting);
  }

  /**
   * A Pod whose app containers have run to completion (a Job's): its sidecars, which would run on,
   * are stopped in the background, the last one first, each with its preStop hook and the Pod's
   * grace period, as the kubelet stops them; their containers are kept, with their logs. Docker
   * is told not to start them again. True when some were still running.
   */
  private stopSidecars(pod: KubeObject, existing: Docker.ContainerInfo[]): boolean {
    const names = ((pod.spec.initContainers ?? []) as ContainerSpec[]).filter(isSidecar).map((c) => c.name).reverse();
    const running = names.map((n) => existing.find((c) => c.Labels[label.container] === n && c.State === 'running')).filter((c): c is Docker.ContainerInfo => !!c && !this.stopping.has(dockerName(c)));
    if (running.length === 0) return false;
    for (const c of running) this.stopping.add(dockerName(c));
    void (async () => {
      for (const c of running) await this.stopKeeping(pod, c, 'the sidecar of a finished Pod');
      this.wake(Date.now());
    })();
    return true;
  }

  /**
   * activeDeadlineSeconds: a Pod active longer than that since it started has failed, as the
   * kubelet fails it: its running containers are stopped in the background, each with its preStop
   * hook and the Pod's grace period (kept, with their logs, and not started again), and its status
   * says Failed, DeadlineExceeded. True when the Pod is past its deadline: nothing is started for it.
   */
  private pastDeadline(pod: KubeObject, existing: Docker.ContainerInfo[]): boolean {
    const due = deadlineOf(pod);
    if (due === undefined) return false;
    if (pod.status?.reason !== deadlineExceeded) {
      if (Date.now() < due) {
        this.wake(due);
        return false;
      }
      this.o.event?.(pod, 'Warning', deadlineExceeded, deadlineMessage);
    }
    const running = existing.filter((c) => c.State === 'running' && !this.stopping.has(dockerName(c)));
    for (const c of running) this.stopping.add(dockerName(c));
    void Promise.all(running.map((c) => this.stopKeeping(pod, c, 'a container of a Pod past its deadline'))).then(() => this.wake(Date.now()));
    return true;
  }

  /**
   * Stops a container the caller marked stopping, as the kubelet stops one (preStop, the Pod's
   * grace period), keeping it with its logs, and tells Docker not to start it again; a failure is
   * logged and the next pass tries again.
   */
  private async stopKeeping(pod: KubeObject, c: Docker.ContainerInfo, what: string): Promise<void> {
    try {
      this.o.event?.(pod, 'Normal', 'Killing', `Stopping container ${c.Labels[label.container]}`);
      await this.o.docker.getContainer(c.Id).update({ RestartPolicy: { Name: 'no' } }).catch(() => {});
      await stopGracefully(this.o.docker, c.Id, c.Labels[label.podIP], pod.spec.terminationGracePeriodSeconds);
    } catch (err) {
      this.log(`cannot stop ${what}; trying again`, { pod: pod.metadata.name, container: c.Labels[label.container], err: (err as Error).message });
    } finally {
      this.stopping.delete(dockerName(c));
    }
  }

  /**
   * Applies a container's new CPU and memory with Docker's update, without a restart (unless its
   * resizePolicy says RestartContainer for what changed). A limit Docker refuses (memory under
   * what the container uses) is an event, and the container is left as it is.
   */
  private async resize(pod: KubeObject, c: ContainerPlan, current: Docker.ContainerInfo): Promise<boolean> {
    const info = await this.inspect(current);
    if (!info) return false;
    const have = info.HostConfig as { Memory?: number; NanoCpus?: number; CpuShares?: number; MemoryReservation?: number };
    const want = c.resources;
    const changed = (['Memory', 'NanoCpus', 'CpuShares', 'MemoryReservation'] as const).filter((k) => (have[k] ?? 0) !== want[k]);
    if (changed.length === 0) return false;
    const key = `${current.Id}/${JSON.stringify(want)}`;
    if (this.resizeFailed.has(key)) return false;
    try {
      // Memory 0 and NanoCpus 0 lift a limit; swap follows memory (-1: as much as memory allows).
      await this.o.docker.getContainer(current.Id).update({ Memory: want.Memory, MemorySwap: want.Memory ? -1 : 0, NanoCpus: want.NanoCpus, CpuShares: want.CpuShares, MemoryReservation: want.MemoryReservation });
    } catch (err) {
      this.resizeFailed.add(key);
      this.o.event?.(pod, 'Warning', 'ResizeInfeasible', `cannot resize container ${c.name} in place: ${(err as Error).message.split('\n')[0]}`);
      return false;
    }
    this.inspections.delete(current.Id);
    const after = (await this.o.docker.getContainer(current.Id).inspect().catch(() => undefined))?.HostConfig as typeof have | undefined;
    const stuck = changed.filter((k) => (after?.[k] ?? 0) !== want[k]);
    if (stuck.length) {
      // Docker's update takes a new limit, not the removal of one.
      this.resizeFailed.add(key);
      this.o.event?.(pod, 'Warning', 'ResizeInfeasible', `cannot resize container ${c.name} in place: Docker keeps ${stuck.join(', ')} (a limit cannot be removed from a running container); delete the Pod to apply it`);
      return false;
    }
    this.o.event?.(pod, 'Normal', 'Resized', `Resized container ${c.name} in place: ${changed.map((k) => `${k} ${have[k] ?? 0} -> ${want[k]}`).join(', ')}`);
    this.log('resized container in place', { container: c.dockerName, changed });
    const restart = changed.some((k) => (k === 'Memory' || k === 'MemoryReservation' ? want.restartOn.includes('memory') : want.restartOn.includes('cpu')));
    if (restart) {
      this.countRestart(current.Id);
      await this.o.docker.getContainer(current.Id).restart().catch(() => {});
    }
    return true;
  }

  private readonly resizeFailed = new Set<string>();

  /** What was last written of each container's ConfigMap, Secret and downward API files. */
  private readonly filesWritten = new Map<string, string>();

  /**
   * ConfigMap, Secret, downward API and projected files are kept current in the running container,
   * as the kubelet refreshes such volumes: written again when what they hold changed (the
   * container is not restarted; its env stays as it was).
   */
  private async refreshFiles(pod: KubeObject, c: ContainerPlan, id: string): Promise<void> {
    const copies = c.copies.filter((x) => x.refresh);
    if (copies.length === 0) return;
    const digest = filesDigest(copies);
    // Unknown (a container from before this process started): written once, which changes nothing if current.
    if (this.filesWritten.get(id) === digest) return;
    this.filesWritten.set(id, digest);
    const container = this.o.docker.getContainer(id);
    try {
      for (const copy of copies) await copyFiles(container, copy);
      this.log('refreshed the files of a running container', { container: c.dockerName, pod: pod.metadata.name });
    } catch (err) {
      this.log('cannot refresh the files of a running container', { container: c.dockerName, err: (err as Error).message });
    }
    if (this.filesWritten.size > 5000) this.filesWritten.delete(this.filesWritten.keys().next().value!);
  }

  /** Each init container's state, for nextInitStep: exists, runs, how it exited. */
  private async initStates(plan: PodPlan, existing: Docker.ContainerInfo[], ids: Record<string, string>): Promise<Map<string, InitState>> {
    const states = new Map<string, InitState>();
    for (const c of plan.containers.filter((x) => x.init)) {
      const id = ids[c.name] ?? existing.find((e) => e.Labels[label.container] === c.name)?.Id;
      const info = id ? (await this.o.docker.getContainer(id).inspect().catch(() => undefined)) : undefined;
      if (!info) continue;
      this.inspections.set(info.Id, { state: info.State.Status, at: Date.now(), info });
      states.set(c.name, { running: info.State.Running || info.State.Restarting || info.State.Status === 'created', exitCode: info.State.ExitCode, restartCount: info.RestartCount });
    }
    return states;
  }

  /**
   * Makes one planned container exist and run as planned: kept when its spec hash matches (and
   * started again when its restart policy says so), replaced when it changed, created otherwise.
   * `stop` when it cannot be made yet (its reason is in `waiting`): the containers after it wait.
   */
  private async ensureContainer(pod: KubeObject, c: ContainerPlan, found: Docker.ContainerInfo | undefined, ids: Record<string, string>, waiting: Record<string, { reason: string; message: string }>): Promise<{ changed: boolean; stop: boolean }> {
    const { docker } = this.o;
    let current = found;
    if (c.ephemeral) {
      // Made once, as Kubernetes makes it: never restarted or replaced, and not made again once it ran.
      if (current) {
        ids[c.name] = current.Id;
        return { changed: false, stop: false };
      }
      const ran = (pod.status?.ephemeralContainerStatuses ?? []).some((s: { name: string; containerID?: string }) => s.name === c.name && s.containerID);
      if (ran) return { changed: false, stop: false };
    }
    // A creation that failed is tried again after the kubelet's back-off, not at each pass.
    const failedCreate = this.createBackoff.waiting(`${pod.metadata.uid}/${c.name}`);
    if (failedCreate && (!current || this.o.records.get('container', c.dockerName)?.state !== 'ready')) {
      waiting[c.name] = { reason: 'CreateContainerError', message: failedCreate.reason ?? 'the container could not be created' };
      this.wake(failedCreate.until);
      return { changed: false, stop: true };
    }
    if (current && this.o.records.get('container', c.dockerName)?.state !== 'ready') {
      // Created but its files were never all copied in (a crash in between): made again.
      this.log('replacing a container that was never made ready', { container: c.dockerName });
      await docker.getContainer(current.Id).remove({ force: true }).catch(ignore404);
      current = undefined;
    }
    if (current && current.Labels[label.specHash] === c.hash) {
      ids[c.name] = current.Id;
      if (current.State === 'running') await this.refreshFiles(pod, c, current.Id);
      // Started again by Docker (its restart policy, the engine's restart): a new namespace to wire.
      const ip = current.Labels[label.podIP];
      if (ip && current.State === 'running') {
        const info = await this.inspect(current);
        if (info) await this.network.wire(pod, info, ip);
      }
      // A completed init container is not started again; Docker restarts a failed one itself.
      if (!c.init && current.State !== 'running' && current.State !== 'restarting' && this.shouldRestart(pod, current)) {
        // Killed by a probe: CrashLoopBackOff until its back-off is over.
        const backoff = this.restartBackoff.waiting(`${pod.metadata.uid}/${c.name}`);
        if (backoff !== undefined) {
          this.wake(backoff.until);
          return { changed: false, stop: false };
        }
        const joinedGone = await docker
          .getContainer(current.Id)
          .start()
          .then(() => false, (err) => (err.statusCode === 404 && String(c.options.HostConfig?.NetworkMode).startsWith('container:') ? true : ignore304(err)));
        if (!joinedGone && current.State === 'exited') this.countRestart(current.Id);
        if (joinedGone) {
          // It joined the network of an owner since made anew (Docker keeps the old one's id): made again.
          this.log('replacing a container that joined a network owner no longer there', { container: c.dockerName });
          await docker.getContainer(current.Id).remove({ force: true }).catch(ignore404);
          this.wake(Date.now());
          return { changed: true, stop: false };
        }
        if (ip) {
          const info = await docker.getContainer(current.Id).inspect().catch(() => undefined);
          if (info) await this.network.wire(pod, info, ip);
        }
        return { changed: true, stop: false };
      }
      return { changed: false, stop: false };
    }
    if (current && current.Labels[label.shapeHash] === c.shapeHash) {
      // Only the resources changed: updated in place, as Kubernetes' in-place Pod resize.
      ids[c.name] = current.Id;
      return { changed: await this.resize(pod, c, current), stop: false };
    }
    if (current) {
      this.log('replacing container whose spec changed', { container: c.dockerName });
      this.o.event?.(pod, 'Normal', 'Killing', `Container ${c.name} definition changed, will be restarted`);
      await docker.getContainer(current.Id).remove({ force: true }).catch(ignore404);
    }
    const image = await this.ensureImage(pod, c);
    if (image) {
      waiting[c.name] = image;
      return { changed: false, stop: true };
    }
    if (c.checkImageUser) {
      const user = (await docker.getImage(c.options.Image!).inspect().catch(() => undefined))?.Config?.User;
      if (imageUserIsRoot(user)) {
        waiting[c.name] = { reason: 'CreateContainerConfigError', message: `container has runAsNonRoot and image will run as root (its user is ${JSON.stringify(user || 'root')}); set runAsUser` };
        return { changed: false, stop: true };
      }
    }
    if (this.stopping.has(c.dockerName)) {
      // Its name is still the earlier Pod's: its record is left to it until it is gone.
      waiting[c.name] = { reason: 'ContainerCreating', message: `the container of the previous Pod named ${pod.metadata.name} is still stopping` };
      this.wake(Date.now() + 1000);
      return { changed: false, stop: true };
    }
    try {
      ids[c.name] = await this.createAndStart(c, pod);
      this.createBackoff.clear(`${pod.metadata.uid}/${c.name}`);
      return { changed: true, stop: false };
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 409 && this.stopping.has(c.dockerName)) {
        waiting[c.name] = { reason: 'ContainerCreating', message: `the container of the previous Pod named ${pod.metadata.name} is still stopping` };
        this.wake(Date.now() + 1000);
      } else if (status === 409 && (err as { earlierPod?: boolean }).earlierPod) {
        // The container of an earlier Pod of the same name, not yet seen to stop: the next pass stops it.
        waiting[c.name] = { reason: 'ContainerCreating', message: `the container of the previous Pod named ${pod.metadata.name} is still there` };
        this.wake(Date.now() + 1000);
      } else if (status === 409) {
        waiting[c.name] = { reason: 'ContainerNameConflict', message: `a container named ${c.dockerName} exists and is not Gouvernail's; rename or remove it` };
        // No event of ours says when that container goes: look again in a few seconds.
        this.wake(Date.now() + 3000);
      } else {
        const message = (err as Error).message.trim();
        waiting[c.name] = { reason: 'CreateContainerError', message };
        this.o.event?.(pod, 'Warning', 'Failed', `Error: ${message}`);
        this.wake(this.createBackoff.failed(`${pod.metadata.uid}/${c.name}`, message));
      }
      return { changed: false, stop: true };
    }
  }


  /** Containers of deleted Pods being stopped (preStop, SIGTERM, the grace period), by Docker name. */
  private readonly stopping = new Set<string>();

  /**
   * A Terminating Pod whose containers are all gone: what the node kept for it is let go, and the
   * Pod is deleted (as a kubelet does once its containers have stopped).
   */
  private async finishDeletion(pod: KubeObject): Promise<void> {
    const uid = pod.metadata.uid!;
    await this.volumes.removeEmptyDirs(uid);
    this.forgetPod(uid);
    await this.o.client.delete('Pod', pod.metadata.namespace, pod.metadata.name, { gracePeriodSeconds: 0, preconditions: { uid } }).catch((err: Error) => this.log('cannot delete a Pod whose containers have stopped; trying again', { pod: pod.metadata.name, err: err.message }));
  }

  /** The node's network component, which holds the message files of an added node's Pods. */
  private get componentName(): string {
    return componentContainerName(this.o.installation);
  }

  private forgetPod(uid: string): void {
    this.apiAccess.forget(uid);
    for (const v of this.unopenedVolumes) if (v.startsWith(emptyDirVolumeName(uid, ''))) this.unopenedVolumes.delete(v);
    if (!this.o.podFilesDir) {
      // The Pod's message files on the node's host (see componentMessageFile).
      const dir = componentMessageDir(this.o.installation, uid);
      void execIn(this.o.docker, this.componentName, ['/usr/bin/node', '-e', 'require("fs").rmSync(process.argv[1], { recursive: true, force: true })', dir]).catch(() => {});
    }
    this.network.forget(uid);
    this.probes.forget(uid);
    this.restartBackoff.forgetPod(uid);
    this.createBackoff.forgetPod(uid);
    for (const key of this.backoffSeen.keys()) if (key.startsWith(`${uid}/`)) this.backoffSeen.delete(key);
  }

  /** The grace period each Pod being stopped was given, and when its stop began, by uid. */
  private readonly stopGrace = new Map<string, { seconds: number; since: number }>();

  /**
   * A second delete shortened the grace period of a Pod whose containers are stopping: they are
   * stopped again with what is left of the new period (Docker sends the stop signal again, then
   * SIGKILL when it ends), as the kubelet does. Only a shorter period does this.
   */
  private shortenStop(uid: string, list: Docker.ContainerInfo[], pod: KubeObject | undefined): void {
    const given = this.stopGrace.get(uid);
    const seconds = pod?.metadata.deletionGracePeriodSeconds as number | undefined;
    if (!given || seconds === undefined || seconds >= given.seconds) return;
    given.seconds = seconds;
    const left = Math.max(0, Math.ceil((given.since + seconds * 1000 - Date.now()) / 1000));
    this.log('grace period shortened; stopping sooner', { pod: pod!.metadata.name, seconds: left });
    for (const c of list) void this.o.docker.getContainer(c.Id).stop({ t: left }).catch(() => {});
  }

  private async terminatePod(uid: string, list: Docker.ContainerInfo[], graceSeconds?: number): Promise<void> {
    const docker = this.o.docker;
    const podIP = list.map((c) => c.Labels[label.podIP]).find((ip) => ip);
    if (graceSeconds !== undefined) this.stopGrace.set(uid, { seconds: graceSeconds, since: Date.now() });
    await Promise.all(
      list.map(async (c) => {
        const name = dockerName(c);
        if (this.stopping.has(name)) return;
        this.stopping.add(name);
        try {
          this.log('stopping container of a deleted Pod', { container: name });
          this.o.event?.(podOf(c), 'Normal', 'Killing', `Stopping container ${c.Labels[label.container]}`);
          // A probe stopping it already ran its preStop hook: that stop is let finish, not doubled.
          await this.probes.stopOf(c.Id);
          const { preStopFailure } = await terminate(docker, c, podIP, graceSeconds);
          // A container that outlives the agent's stop is forgotten by the next start's pass.
          if (this.stopped) return;
          if (preStopFailure) this.o.event?.(podOf(c), 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${preStopFailure}`);
          this.o.records.remove('container', name);
        } catch (err) {
          this.log('cannot remove the container of a deleted Pod; trying again', { container: name, err: (err as Error).message });
        } finally {
          this.stopping.delete(name);
        }
      }),
    );
    this.stopGrace.delete(uid);
    if (this.stopped) return;
    await this.volumes.removeEmptyDirs(uid);
    this.forgetPod(uid);
    this.wake(Date.now());
  }

  private shouldRestart(pod: KubeObject, c: Docker.ContainerInfo): boolean {
    const policy = pod.spec.restartPolicy ?? 'Always';
    if (policy === 'Always') return true;
    if (policy === 'Never') return false;
    return !/Exited \(0\)/.test(c.Status);
  }

  private readonly images = new Map<string, Promise<boolean>>();

  /** Returns a waiting reason when the image is not there and cannot be pulled. */
  private async ensureImage(pod: KubeObject, c: ContainerPlan): Promise<{ reason: string; message: string } | undefined> {
    const spec = specOf(pod, c.name);
    const policy = spec?.imagePullPolicy ?? 'IfNotPresent';
    let known = this.images.get(c.options.Image!);
    if (!known) {
      known = this.o.docker.getImage(c.options.Image!).inspect().then(() => true, () => false);
      this.images.set(c.options.Image!, known);
    }
    const present = await known;
    if (present && policy !== 'Always') {
      this.o.event?.(pod, 'Normal', 'Pulled', `Container image "${c.options.Image}" already present on machine`);
      return undefined;
    }
    if (!present && policy === 'Never') {
      const message = `image ${c.options.Image} is not present and imagePullPolicy is Never`;
      this.o.event?.(pod, 'Warning', 'ErrImageNeverPull', `Container image "${c.options.Image}" is not present with pull policy of Never`);
      return { reason: 'ErrImageNeverPull', message };
    }
    const auth = this.pullCredentials(pod, c.options.Image!);
    // Pulls back off per image and credentials: a Pod with the right Secret does not wait for one without.
    const pullKey = auth ? `${c.options.Image} as ${auth.username ?? 'a token'}` : c.options.Image!;
    const backoff = this.pullBackoff.waiting(pullKey);
    if (backoff && !present) {
      this.wake(backoff.until);
      return { reason: 'ImagePullBackOff', message: pullBackoffMessage(c.options.Image!, backoff.reason, backoff.until) };
    }
    try {
      this.log('pulling image', { image: c.options.Image, pod: pod.metadata.name });
      // The Pod says what it waits for, so `apply` and `get pods` can show the pull.
      let shown = 0;
      const report = (message: string) => {
        if (Date.now() - shown < 1000) return;
        shown = Date.now();
        void this.setWaiting(pod, c.name, { reason: 'ContainerCreating', message }).catch(() => {});
      };
      report(`pulling image ${c.options.Image}`);
      this.o.event?.(pod, 'Normal', 'Pulling', `Pulling image "${c.options.Image}"`);
      const pullStarted = Date.now();
      const stream = await this.o.docker.pull(c.options.Image!, auth ? { authconfig: auth } : {});
      await new Promise((resolve, reject) =>
        this.o.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve(null)), (e: { status?: string; progress?: string }) => {
          this.log('pull', { image: c.options.Image, status: e.status, progress: e.progress });
          report(`pulling image ${c.options.Image}: ${e.status ?? ''} ${e.progress ?? ''}`.trim());
        }),
      );
      this.pullBackoff.clear(pullKey);
      this.images.set(c.options.Image!, Promise.resolve(true));
      this.o.event?.(pod, 'Normal', 'Pulled', `Successfully pulled image "${c.options.Image}" in ${((Date.now() - pullStarted) / 1000).toFixed(3)}s`);
      return undefined;
    } catch (err) {
      if (present) return undefined;
      // As the kubelet does: wait longer before each new try, from 10 s up to 5 minutes.
      const reason = (err as Error).message.split('\n')[0];
      const until = this.pullBackoff.failed(pullKey, reason);
      const message = pullBackoffMessage(c.options.Image!, reason, until);
      this.wake(until);
      this.o.event?.(pod, 'Warning', 'Failed', `Failed to pull image "${c.options.Image}": ${(err as Error).message.split('\n')[0]}`);
      this.o.event?.(pod, 'Normal', 'BackOff', `Back-off pulling image "${c.options.Image}"`);
      return { reason: 'ImagePullBackOff', message };
    }
  }

  /**
   * The registry credentials for an image, from the Pod's imagePullSecrets or, when it names none,
   * its ServiceAccount's (as Kubernetes adds them to the Pod). A Secret that is missing is said in
   * an Event, and the pull goes on without it, as the kubelet's does.
   */
  private pullCredentials(pod: KubeObject, image: string): RegistryAuth | undefined {
    const ns = pod.metadata.namespace!;
    let refs: { name?: string }[] = pod.spec.imagePullSecrets ?? [];
    if (refs.length === 0) refs = (this.o.store.get('ServiceAccount', ns, pod.spec.serviceAccountName ?? 'default')?.imagePullSecrets as { name?: string }[] | undefined) ?? [];
    const secrets: KubeObject[] = [];
    const missing: string[] = [];
    const unreadable: string[] = [];
    for (const ref of refs) {
      const secret = ref.name ? this.o.store.get('Secret', ns, ref.name) : undefined;
      const problem = secret && pullSecretProblem(secret);
      if (problem) unreadable.push(`Secret ${ref.name} ${problem}`);
      else if (secret) secrets.push(secret);
      else if (ref.name) missing.push(ref.name);
    }
    if (missing.length) this.o.event?.(pod, 'Warning', 'FailedToRetrieveImagePullSecret', `Unable to retrieve some image pull secrets (${missing.join(', ')}); attempting to pull the image may not succeed.`);
    if (unreadable.length) this.o.event?.(pod, 'Warning', 'FailedToRetrieveImagePullSecret', `${unreadable.join('; ')}: its credentials are not used for pulls.`);
    return registryAuthFor(image, secrets);
  }

  private async createAndStart(c: ContainerPlan, pod: KubeObject): Promise<string> {
    const { records } = this.o;
    const uid = pod.metadata.uid!;
    // The intent first: a crash after the create still finds the container Gouvernail's.
    const before = records.get('container', c.dockerName);
    if (before?.owner !== uid || before.state !== 'creating') await records.putSoon('container', c.dockerName, 'creating', uid);
    let container: Docker.Container;
    try {
      let options = withServiceLinks(await this.withSubPaths(c.options), pod, () => this.o.store.list({ kind: 'Service', namespace: pod.metadata.namespace }));
      const spec = specOf(pod, c.name);
      if (spec) {
        options = this.o.podFilesDir
          ? withMessageFile(options, spec, messageFile(this.o.podFilesDir, uid, c.name))
          : await withComponentMessageFile(this.o.docker.getContainer(this.componentName), options, spec, componentMessageFile(this.o.installation, uid, c.name));
      }
      container = c.ownsNetwork ? await this.network.createOwner(options) : await this.o.docker.createContainer(options);
    } catch (err) {
      // A name taken: the record was only an intent. What it said before comes back (the container
      // of an earlier Pod of the same name stays Gouvernail's, to be stopped and removed).
      if ((err as { statusCode?: number }).statusCode === 409) {
        const holder = await this.o.docker.getContainer(c.dockerName).inspect().catch(() => undefined);
        const ours = holder?.Config.Labels?.[label.managedBy] === this.o.installation && holder.Config.Labels?.[label.uid] !== uid;
        if (ours && before && before.owner !== uid) records.put('container', c.dockerName, before.state, before.owner);
        else records.remove('container', c.dockerName);
        throw Object.assign(err as Error, { earlierPod: ours });
      }
      throw err;
    }
    for (const copy of c.copies) await copyFiles(container, copy);
    const fresh = c.openDirs?.mounts.filter((m) => this.unopenedVolumes.has(m.volume)) ?? [];
    if (fresh.length > 0) {
      await openDirs(container, fresh.map((m) => m.path), c.openDirs!.gid);
      for (const m of fresh) this.unopenedVolumes.delete(m.volume);
    }
    this.filesWritten.set(container.id, filesDigest(c.copies.filter((x) => x.refresh)));
    // Ready only with its files in place; a container never made ready is never started.
    await records.putSoon('container', c.dockerName, 'ready', uid);
    this.o.event?.(pod, 'Normal', 'Created', `Created container ${c.name}`);
    await container.start();
    this.o.event?.(pod, 'Normal', 'Started', `Started container ${c.name}`);
    this.log('started container', { container: c.dockerName });
    const ip = c.options.Labels?.[label.podIP];
    if (ip) {
      const info = await container.inspect().catch(() => undefined);
      if (info) await this.network.wire(pod, info, ip);
    }
    const postStart = specOf(pod, c.name)?.lifecycle?.postStart;
    if (postStart) {
      // As the kubelet: the hook runs right after the start; a failure kills the container (its restart policy applies).
      const failure = await runHandler(this.o.docker, container.id, postStart, ip ?? (pod.status?.podIP as string | undefined), (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000, namedPorts(pod));
      if (failure) {
        this.o.event?.(pod, 'Warning', 'FailedPostStartHook', `PostStartHook failed: ${failure}`);
        await container.kill().catch(() => {});
      }
    }
    return container.id;
  }

  /** A subPath of a named volume (emptyDir, claim) is bound from the volume's mount point on its engine. */
  private async withSubPaths(options: Docker.ContainerCreateOptions): Promise<Docker.ContainerCreateOptions> {
    const binds = options.HostConfig?.Binds ?? [];
    if (!binds.some((b) => b.startsWith(subPathMarker))) return options;
    const resolved = await Promise.all(
      binds.map(async (b) => {
        if (!b.startsWith(subPathMarker)) return b;
        const rest = b.slice(subPathMarker.length);
        const slash = rest.indexOf('/');
        const volume = rest.slice(0, slash);
        const { Mountpoint } = await this.o.docker.getVolume(volume).inspect();
        return `${Mountpoint}/${rest.slice(slash + 1)}`;
      }),
    );
    return { ...options, HostConfig: { ...options.HostConfig, Binds: resolved } };
  }

  private readonly inspections = new Map<string, { state: string; at: number; info: Docker.ContainerInspectInfo }>();

  /** A container the probes kill to restart: started again after its back-off. */
  private killing(pod: KubeObject, container: string, id: string): void {
    // Under restartPolicy Never it stays stopped: no restart to count.
    if (pod.spec?.restartPolicy === 'Never') return;
    // Counted when it starts again (as RESTARTS counts starts), not here as well.
    const until = this.restartBackoff.restarting(`${pod.metadata.uid}/${container}`);
    this.wake(until);
  }

  private countRestart(id: string): void {
    this.ownRestarts.set(id, (this.ownRestarts.get(id) ?? 0) + 1);
  }

  /**
   * A container's restart count as kubectl shows it: Docker's, with the restarts Gouvernail made;
   * never lower than the Pod's status had for the same container (a restart of serve forgets what
   * it counted, the status does not).
   */
  private restartsOf(id: string, docker: number, pod: KubeObject, name: string): number {
    if (!this.ownRestarts.has(id)) {
      const reported = (pod.status?.containerStatuses ?? []).find((x: { name: string; containerID?: string }) => x.name === name && x.containerID === `docker://${id}`)?.restartCount ?? 0;
      this.ownRestarts.set(id, Math.max(0, reported - docker));
      if (this.ownRestarts.size > 5000) this.ownRestarts.delete(this.ownRestarts.keys().next().value!);
    }
    return docker + this.ownRestarts.get(id)!;
  }

  /**
   * A container's details, reused while its state has not changed and for at most two seconds:
   * a pass over fifty running Pods then costs one listing, not fifty inspections.
   */
  private async inspect(c: Docker.ContainerInfo): Promise<Docker.ContainerInspectInfo | undefined> {
    const cached = this.inspections.get(c.Id);
    if (cached && cached.state === c.State && Date.now() - cached.at < 2000) return cached.info;
    const info = await this.o.docker.getContainer(c.Id).inspect().catch(() => undefined);
    if (info) this.inspections.set(c.Id, { state: c.State, at: Date.now(), info });
    else this.inspections.delete(c.Id);
    if (this.inspections.size > 5000) this.inspections.delete(this.inspections.keys().next().value!);
    return info;
  }

  /** A container as a listing shows it, from an inspection that is kept for the status. */
  private async inspectById(id: string): Promise<Docker.ContainerInfo | undefined> {
    const info = await this.o.docker.getContainer(id).inspect().catch(() => undefined);
    if (!info) return undefined;
    this.inspections.set(id, { state: info.State.Status, at: Date.now(), info });
    return { Id: id, Names: [info.Name], Image: info.Config.Image, ImageID: info.Image, Labels: info.Config.Labels ?? {}, State: info.State.Status, Status: '', Command: '', Created: 0, Ports: [], HostConfig: { NetworkMode: info.HostConfig.NetworkMode ?? '' }, NetworkSettings: { Networks: {} }, Mounts: [] } as unknown as Docker.ContainerInfo;
  }

  /** Termination messages read, by container and the end of its run: each is read once. */
  private readonly messages = new Map<string, string | undefined>();

  /** The message a container that ended left (its host file when it has one bound, else its own file system or log). */
  private async messageOf(pod: KubeObject, spec: MessageSpec, info: Docker.ContainerInspectInfo, exitCode: number): Promise<string | undefined> {
    const key = `${info.Id}/${info.State.FinishedAt}`;
    if (this.messages.has(key)) return this.messages.get(key);
    const file = this.o.podFilesDir ? messageFile(this.o.podFilesDir, pod.metadata.uid!, spec.name) : componentMessageFile(this.o.installation, pod.metadata.uid!, spec.name);
    const bound = (info.HostConfig.Binds ?? []).includes(`${file}:${spec.terminationMessagePath}`);
    const run = { startedAt: info.State.StartedAt, exitCode, tty: !!info.Config.Tty };
    const where = !bound ? {} : this.o.podFilesDir ? { file } : { componentFile: { component: this.o.docker.getContainer(this.componentName), file } };
    const message = await terminationMessage(this.o.docker.getContainer(info.Id), spec, { ...run, ...where });
    this.messages.set(key, message);
    if (this.messages.size > 5000) this.messages.delete(this.messages.keys().next().value!);
    return message;
  }

  /** Marks one container of a Pod as waiting, with a reason, before its status is known. */
  private async setWaiting(pod: KubeObject, container: string, waiting: { reason: string; message: string }): Promise<void> {
    const current = this.o.store.get('Pod', pod.metadata.namespace, pod.metadata.name);
    if (!current || current.metadata.uid !== pod.metadata.uid) return;
    const statuses = (current.spec.containers as { name: string; image: string }[]).map((c) => {
      const before = (current.status?.containerStatuses ?? []).find((s: { name: string }) => s.name === c.name);
      return c.name === container ? { name: c.name, image: c.image, ready: false, restartCount: before?.restartCount ?? 0, state: { waiting } } : before ?? { name: c.name, image: c.image, ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } };
    });
    await this.statuses.write({ ...current, metadata: { ...current.metadata, resourceVersion: undefined }, status: { ...current.status, phase: current.status?.phase ?? 'Pending', containerStatuses: statuses } });
  }

  /** Why a Pod's claims cannot be mounted yet, if one cannot. */
  private unmountableClaim(pod: KubeObject): string | undefined {
    const { store } = this.o;
    for (const v of pod.spec.volumes ?? []) {
      const name: string | undefined = v.persistentVolumeClaim?.claimName;
      if (!name) continue;
      const claim = store.get('PersistentVolumeClaim', pod.metadata.namespace, name);
      if (!claim) return `persistentvolumeclaim "${name}" not found`;
      if (claim.status?.phase === 'Bound' && claim.spec?.volumeName) continue;
      if (bindingFor(claim, store.list({ kind: 'PersistentVolume' }), store.list({ kind: 'StorageClass' })).kind !== 'dynamic') return `waiting for persistentvolumeclaim "${name}" to be bound`;
    }
    return undefined;
  }

  /** Writes the Pod's status from its containers; returns whether the Pod is Ready. */
  private async writeStatus(pod: KubeObject, containers: Docker.ContainerInfo[], waiting: Record<string, { reason: string; message: string }>): Promise<boolean> {
    const statuses = [];
    // A Pod has an address only while the container that owns its network runs: a stopped or
    // crash-looping one has none, and Docker gives the next start a new one.
    let podIP: string | undefined;
    let allReady = true;
    let allRunning = true;
    let failed = false;
    let succeeded = pod.spec.containers.length > 0;
    const owner = networkOwner(pod.spec);
    const initSpecs = (pod.spec.initContainers ?? []) as ContainerSpec[];
    const initialized = pod.spec.containers.some((c: { name: string }) => containers.some((x) => x.Labels[label.container] === c.name)) || initSpecs.length === 0;
    const statusOf = async (spec: ContainerSpec, kind: 'app' | 'init' | 'sidecar' | 'ephemeral') => {
      const info = containers.find((c) => c.Labels[label.container] === spec.name);
      let state: Record<string, unknown>;
      let ready = false;
      let restartCount = 0;
      let lastState: Record<string, unknown> = {};
      let running = false;
      let exitCode: number | undefined;
      if (!info) {
        state = { waiting: waiting[spec.name] ?? { reason: (kind !== 'app' && kind !== 'ephemeral') || !initialized ? 'PodInitializing' : 'ContainerCreating' } };
        if (kind !== 'app' && kind !== 'ephemeral' && !waiting[spec.name]) state = { waiting: { reason: 'PodInitializing' } };
      } else {
        const inspect = await this.inspect(info);
        restartCount = this.restartsOf(info.Id, inspect?.RestartCount ?? 0, pod, spec.name);
        const s = inspect?.State;
        // The address once the network component gave it, for this start.
        // A container that owns the Pod's network runs its program once it has the address: until
        // then it is still being created (or, after a crash, backing off), not running.
        const owns = !!info.Labels[label.podIP];
        const wired = owns ? this.network.wiredStart(info.Id) : undefined;
        const unwired = owns && s?.Running && !s.Restarting && wired?.startedAt !== s.StartedAt;
        if (spec.name === owner && s?.Running && !s.Restarting && !unwired) podIP = info.Labels[label.podIP] || undefined;
        // A container Docker started again: how it exited the time before.
        const exited = this.lastExit.get(info.Id);
        if (restartCount > 0 && exited !== undefined && s?.Running) lastState = { terminated: { exitCode: exited, reason: exited === 0 ? 'Completed' : 'Error', finishedAt: s.FinishedAt } };
        // Its program started within the last moment (after the wait for the address): not yet
        // running, nor ready, before it has had a chance to fail, as a program that exits at once
        // does (so a Pod goes from ContainerCreating to 1/1 Running, as with the kubelet). An init
        // container or a sidecar that owns the network runs at once: what waits for it reads that.
        const starting = kind === 'app' && !unwired && s?.Running && !s.Restarting && wired !== undefined && Date.now() - wired.at < programStartMs;
        if (starting) this.wake(wired.at + programStartMs + 50);
        if (unwired || starting) {
          state = { waiting: restartCount > 0 ? { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${spec.name}` } : { reason: 'ContainerCreating' } };
        } else if (s?.Running && !s.Restarting) {
          running = true;
          state = { running: { startedAt: s.StartedAt } };
          ready = kind === 'init' || kind === 'ephemeral' ? false : await this.probes.run(pod, spec, info.Id, spec.name === owner ? podIP : podIP ?? (pod.status?.podIP as string | undefined), s.StartedAt);
        } else {
          exitCode = s?.ExitCode ?? 0;
          const message = inspect && (await this.messageOf(pod, spec, inspect, exitCode));
          const terminated = { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', ...(message ? { message } : {}), startedAt: s?.StartedAt, finishedAt: s?.FinishedAt };
          if (kind === 'init' && exitCode === 0 && !s?.Restarting) {
            state = { terminated };
            ready = true;
          } else if (restartCount > 0 || s?.Restarting) {
            state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${spec.name}` } };
            const seen = `${pod.metadata.uid}/${spec.name}`;
            if (this.backoffSeen.get(seen) !== restartCount) {
              this.backoffSeen.set(seen, restartCount);
              this.o.event?.(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${spec.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`);
            }
            lastState = { terminated };
          } else {
            state = { terminated };
          }
        }
      }
      return { running, exitCode, ready, status: { name: spec.name, image: spec.image, imageID: info?.ImageID ?? '', containerID: info ? `docker://${info.Id}` : undefined, ready, started: 'running' in state, restartCount, state, lastState } };
    };
    const initStatuses = [];
    let initFailed = false;
    for (const spec of initSpecs) {
      const r = await statusOf(spec, isSidecar(spec) ? 'sidecar' : 'init');
      if (!isSidecar(spec) && r.exitCode !== undefined && r.exitCode !== 0 && pod.spec.restartPolicy === 'Never') initFailed = true;
      initStatuses.push(r.status);
    }
    // Initialized too once every init container has completed (a sidecar: started), even when an
    // app container could not be made yet, as in Kubernetes.
    const initDone = initialized || initStatuses.every((st, i) => (isSidecar(initSpecs[i]!) ? st.started : (st.state as { terminated?: { exitCode: number } }).terminated?.exitCode === 0));
    for (const spec of pod.spec.containers as ContainerSpec[]) {
      const r = await statusOf(spec, 'app');
      if (!r.running) allRunning = false;
      if (r.running || r.exitCode === undefined || r.exitCode !== 0) succeeded = false;
      if (r.exitCode !== undefined && r.exitCode !== 0) failed = true;
      if (!r.ready) allReady = false;
      statuses.push(r.status);
    }
    // kubectl debug's containers: their state, never their readiness; one that ran and is gone keeps its last word.
    const ephemeralStatuses = [];
    for (const spec of (pod.spec.ephemeralContainers ?? []) as ContainerSpec[]) {
      const before = (pod.status?.ephemeralContainerStatuses ?? []).find((s: { name: string; containerID?: string }) => s.name === spec.name && s.containerID);
      ephemeralStatuses.push(before && !containers.some((c) => c.Labels[label.container] === spec.name) ? before : (await statusOf(spec, 'ephemeral')).status);
    }
    const appContainers = containers.filter((c) => pod.spec.containers.some((s: { name: string }) => s.name === c.Labels[label.container])).length;
    const policy = pod.spec.restartPolicy ?? 'Always';
    let phase = 'Pending';
    // Past its activeDeadlineSeconds (pastDeadline), the Pod has failed whatever its containers do.
    const due = deadlineOf(pod);
    const expired = due !== undefined && (pod.status?.reason === deadlineExceeded || Date.now() >= due);
    if (expired || initFailed) phase = 'Failed';
    else if (allRunning) phase = 'Running';
    else if (policy !== 'Always' && appContainers === pod.spec.containers.length && statuses.every((s) => 'terminated' in s.state)) phase = failed ? 'Failed' : succeeded ? 'Succeeded' : 'Running';
    else if (containers.length > 0 && statuses.some((s) => 'running' in s.state || (s.state as { waiting?: { reason: string } }).waiting?.reason === 'CrashLoopBackOff')) phase = 'Running';
    const now = new Date().toISOString();
    const previous = pod.status?.conditions ?? [];
    // Conditions other components write (a readiness gate's, by its controller or kubectl patch
    // --subresource status) are kept as they are now in the store; a readiness gate holds the Pod
    // back from Ready until its condition is True, as in Kubernetes.
    const stored = this.o.store.get('Pod', pod.metadata.namespace, pod.metadata.name);
    const others = ((stored?.metadata.uid === pod.metadata.uid ? stored : pod)?.status?.conditions ?? []).filter((c: { type: string }) => !nodeConditions.has(c.type));
    const gates = ((pod.spec.readinessGates ?? []) as { conditionType: string }[]).every((g) => others.some((c: { type: string; status: string }) => c.type === g.conditionType && c.status === 'True'));
    const condition = (type: string, ok: boolean) => {
      const before = previous.find((c: { type: string }) => c.type === type);
      const status = ok ? 'True' : 'False';
      return { type, status, lastTransitionTime: before?.status === status ? before.lastTransitionTime : now };
    };
    const status = {
      phase,
      conditions: [condition('PodScheduled', true), condition('Initialized', initDone), condition('ContainersReady', allReady && allRunning && !expired), condition('Ready', allReady && allRunning && gates && !expired), ...others],
      ...(expired ? { reason: deadlineExceeded, message: deadlineMessage } : {}),
      hostIP: this.o.hostIP ?? '127.0.0.1',
      podIP: podIP as string | undefined,
      podIPs: podIP ? [{ ip: podIP }] : [],
      startTime: pod.status?.startTime ?? now,
      containerStatuses: statuses,
      ...(initStatuses.length ? { initContainerStatuses: initStatuses } : {}),
      ...(ephemeralStatuses.length ? { ephemeralContainerStatuses: ephemeralStatuses } : {}),
    };
    const ready = allReady && allRunning && gates && !expired;
    if (pod.spec.hostNetwork) {
      // A Pod on the host's network has the node's address.
      status.podIP = status.hostIP;
      status.podIPs = [{ ip: status.hostIP }];
    }
    if (JSON.stringify(stripTimes(status)) === JSON.stringify(stripTimes(pod.status ?? {}))) return ready;
    const current = this.o.store.get('Pod', pod.metadata.namespace, pod.metadata.name);
    if (!current || current.metadata.uid !== pod.metadata.uid) return ready;
    await this.statuses.write({ ...current, metadata: { ...current.metadata, resourceVersion: undefined }, status });
    return ready;
  }

}

const deadlineExceeded = 'DeadlineExceeded';
const deadlineMessage = 'Pod was active on the node longer than the specified deadline';

/**
 * When a Pod's activeDeadlineSeconds runs out, or undefined: none, not started yet, or it has
 * ended otherwise (Succeeded, or Failed for another reason).
 */
function deadlineOf(pod: KubeObject): number | undefined {
  const seconds = pod.spec?.activeDeadlineSeconds as number | undefined;
  const started = pod.status?.startTime as string | undefined;
  const phase = pod.status?.phase;
  if (seconds === undefined || !started || phase === 'Succeeded' || (phase === 'Failed' && pod.status?.reason !== deadlineExceeded)) return undefined;
  return Date.parse(started) + seconds * 1000;
}

/** The Pod conditions the node writes; the others are kept as whoever wrote them left them. */
const nodeConditions = new Set(['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']);

function filesDigest(copies: FileToCopy[]): string {
  return createHash('sha256').update(JSON.stringify(copies.map((x) => [x.mountPath, x.files.map((f) => [f.path, f.mode, f.content.toString('base64')])]))).digest('hex');
}

async function copyFiles(container: Docker.Container, copy: FileToCopy): Promise<void> {
  // Into the volume mounted there (a read-only root, which Docker lets take nothing): from its root.
  if (copy.inVolume) {
    await putEntries(container, copy.mountPath, (tar) => {
      for (const f of copy.files) tar.entry({ name: f.path, mode: f.mode }, f.content);
    });
    return;
  }
  const dir = copy.mountPath.replace(/^\/+/, '');
  await putEntries(container, '/', (tar) => {
    tar.entry({ name: `${dir}/`, type: 'directory', mode: 0o755 });
    for (const f of copy.files) tar.entry({ name: `${dir}/${f.path}`, mode: f.mode }, f.content);
  });
}

/** Puts a tar of the entries `add` writes into a container at `at` (its volumes mounted). */
async function putEntries(container: Docker.Container, at: string, add: (tar: ReturnType<typeof pack>) => void): Promise<void> {
  const tar = pack();
  add(tar);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  await container.putArchive(Buffer.concat(chunks), { path: at });
}

/**
 * Opens the roots of volumes just made to every user, where a container mounts them: a tar whose
 * one entry is its root ("/"), put at each mount point (where Docker mounts the volume for the
 * copy, even in a container whose root is read-only), sets the mode and owner of the volume's root.
 */
async function openDirs(container: Docker.Container, paths: string[], gid: number | undefined): Promise<void> {
  const mode = gid !== undefined ? 0o2777 : 0o777;
  for (const p of paths) await putEntries(container, p, (tar) => tar.entry({ name: '/', type: 'directory', mode, uid: 0, gid: gid ?? 0 }));
}

/** The Pod a container was made for, from its labels (the Pod may be gone from the store). */
function podOf(c: Docker.ContainerInfo): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: c.Labels[label.pod] ?? '', namespace: c.Labels[label.namespace], uid: c.Labels[label.uid] } } as KubeObject;
}


function dockerName(c: Docker.ContainerInfo): string {
  return (c.Names[0] ?? '').replace(/^\//, '');
}

function stripTimes(status: Record<string, any>): unknown {
  return { ...status, conditions: (status.conditions ?? []).map((c: { type: string; status: string }) => ({ type: c.type, status: c.status })) };
}

/** What a Pod waiting to pull its image again says (its container's waiting message). */
function pullBackoffMessage(image: string, reason: string | undefined, until: number): string {
  return `cannot pull ${image}: ${reason}; next try in ${Math.max(1, Math.round((until - Date.now()) / 1000))} s`;
}

/** A container's spec in its Pod, app or init. */
function specOf(pod: KubeObject, name: string) {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((x: { name: string }) => x.name === name);
}
