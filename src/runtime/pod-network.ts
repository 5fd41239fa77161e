import type Docker from 'dockerode';
import type { KubeObject } from '../manifest/types.js';
import { defaultGraceSeconds } from './container-lifecycle.js';
import { ignore404 } from './docker-status.js';
import { withNetworkWait } from './network-wait.js';
import { networkOwner, type PodPlan } from './pod-containers.js';
import { PodWiring } from './pod-wiring.js';

export interface PodNetworkOptions {
  docker: Docker;
  installation: string;
  nodeName: string;
  podSubnet: (namespace: string) => { subnet: string; gateway: string };
  /** The API can be carried to a gateway once it is the host's. */
  carryApi: (gateway: string) => void;
  event: (pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string) => void;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Asks the node agent for a pass at this time. */
  wake: (at: number) => void;
  /** Counts a restart of a container (Docker counts only its restart policy's). */
  restarted: (id: string) => void;
}

/**
 * What a node agent does for its Pods' network: the subnet's gateway before a Pod's first
 * container, the Pod's address for its network owner at each start (wired by the node's network
 * component), the owner's program held until then, and the Pod's other containers moved into the
 * owner's new namespace when it has one.
 */
export class PodNetwork {
  private readonly wiring: PodWiring;

  constructor(private readonly o: PodNetworkOptions) {
    this.wiring = new PodWiring({ docker: o.docker, installation: o.installation, node: o.nodeName });
  }

  /** The start a container was given its address for, and when (0: long after it started). */
  wiredStart(id: string): { startedAt: string; at: number } | undefined {
    return this.wired.get(id);
  }

  /** Whether the Pod's owner was given its address since the last call (then its others are checked). */
  takeRewired(uid: string): boolean {
    return this.rewired.delete(uid);
  }

  /** The last problem giving the Pod its address, if any. */
  problem(uid: string): string | undefined {
    return this.problems.get(uid);
  }

  forget(uid: string): void {
    this.problems.delete(uid);
    this.rewired.delete(uid);
  }

  /** Containers given their Pod's address, the start it was given for (a restart needs it again) and when. */
  private readonly wired = new Map<string, { startedAt: string; at: number }>();

  /**
   * Gives a container that owns its Pod's network namespace the Pod's address, once a start: the
   * node's network component wires it. A failure is an event and a retry a second later; the Pod
   * has no address (and no endpoint) until then.
   */
  async wire(pod: KubeObject, info: Docker.ContainerInspectInfo, ip: string): Promise<boolean> {
    const id = info.Id;
    if (!info.State.Running || !info.State.Pid) return false;
    if (this.wired.get(id)?.startedAt === info.State.StartedAt) return true;
    try {
      const { gateway } = this.o.podSubnet(pod.metadata.namespace!);
      await this.wiring.wire({ pid: info.State.Pid, ip, gateway, installation: this.o.installation });
      // A container that started long before (wired again after a restart of the control plane)
      // runs its program already: no moment to wait before it counts as ready.
      const fresh = Date.now() - Date.parse(info.State.StartedAt) < 10_000;
      this.wired.set(id, { startedAt: info.State.StartedAt, at: fresh ? Date.now() : 0 });
      this.rewired.add(pod.metadata.uid!);
      // The gateway is the host's now: the API can be carried to it.
      this.o.carryApi(gateway);
      if (this.wired.size > 5000) this.wired.delete(this.wired.keys().next().value!);
      return true;
    } catch (err) {
      const message = (err as Error).message;
      if (this.problems.get(pod.metadata.uid!) !== message) {
        this.problems.set(pod.metadata.uid!, message);
        this.o.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to give the Pod its address ${ip}: ${message}`);
        this.o.log('cannot give a Pod its address; retrying', { pod: pod.metadata.name, ip, err: message });
      }
      this.o.wake(Date.now() + 1000);
      return false;
    }
  }

  /** Pods whose network owner was given its address in this agent's life: a start since the last. */
  private readonly rewired = new Set<string>();

  /**
   * A Pod's other containers share its network through the owner (Docker's `container:OWNER`).
   * One that started before the owner's last start is in the namespace the owner left, whose
   * address the network component has just taken away: it is restarted into the owner's new one,
   * as the kubelet restarts a Pod's containers when the Pod's sandbox is made again.
   */
  async rejoin(pod: KubeObject, plan: PodPlan, ids: Record<string, string>): Promise<boolean> {
    const owner = networkOwner(pod.spec);
    const ownerId = ids[owner];
    const ownerStart = ownerId ? this.wired.get(ownerId)?.startedAt : undefined;
    if (!ownerStart) return false;
    let restarted = false;
    for (const c of plan.containers) {
      if (!ids[c.name] || c.options.HostConfig?.NetworkMode !== `container:${plan.containers.find((x) => x.name === owner)?.dockerName}`) continue;
      const info = await this.o.docker.getContainer(ids[c.name]!).inspect().catch(() => undefined);
      if (!info) continue;
      // Docker keeps the id of the container joined: an owner made anew (removed by hand) cannot
      // be joined by a restart; the container is made again.
      if (info.HostConfig.NetworkMode !== `container:${ownerId}`) {
        this.o.log('replacing a container that joined a network owner no longer there', { pod: pod.metadata.name, container: c.name });
        this.o.event(pod, 'Normal', 'Killing', `Container ${owner} was made again; container ${c.name} will be made again to join its network`);
        await this.o.docker.getContainer(info.Id).remove({ force: true }).catch(ignore404);
        this.o.wake(Date.now());
        restarted = true;
        continue;
      }
      if (!info.State.Running || Date.parse(info.State.StartedAt) >= Date.parse(ownerStart)) continue;
      this.o.log('restarting a container into its Pod\'s new network namespace', { pod: pod.metadata.name, container: c.name });
      this.o.event(pod, 'Normal', 'Killing', `Container ${owner} restarted with a new network namespace; container ${c.name} will be restarted to join it`);
      this.o.restarted(info.Id);
      // Not waited for: a program that ignores SIGTERM would hold the node's pass for its grace period.
      void this.o.docker
        .getContainer(info.Id)
        .restart({ t: pod.spec.terminationGracePeriodSeconds ?? defaultGraceSeconds })
        .catch(() => {})
        .finally(() => this.o.wake(Date.now()));
      restarted = true;
    }
    return restarted;
  }

  private readonly problems = new Map<string, string>();
  /** Gateways known to be on the node (once per agent). */
  private readonly gateways = new Set<string>();

  /**
   * The Pod's subnet gateway is on the node before its first container is made: the API is carried
   * to it, and the Pod's first packets find it. Once per subnet.
   */
  async ensureGateway(pod: KubeObject): Promise<boolean> {
    const { gateway } = this.o.podSubnet(pod.metadata.namespace!);
    if (this.gateways.has(gateway)) return true;
    try {
      await this.wiring.wire({ gateway, installation: this.o.installation });
      this.gateways.add(gateway);
      return true;
    } catch (err) {
      this.problems.set(pod.metadata.uid!, (err as Error).message);
      this.o.wake(Date.now() + 1000);
      return false;
    }
  }

  /** Images (by id) without /bin/sh: their network owners start at once, without waiting. */
  private readonly withoutShell = new Set<string>();
  private readonly withShell = new Set<string>();

  /**
   * Creates a Pod's network owner so that its program starts once the Pod has its address, as
   * Kubernetes wires a Pod's network before its containers start: its shell waits for the route
   * the network component adds, then runs the program. An image with no /bin/sh (distroless,
   * scratch) cannot: its container is made again as it is, and its program may see no network for
   * its first few tens of milliseconds.
   */
  async createOwner(options: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    const { docker } = this.o;
    const image = await docker.getImage(options.Image!).inspect().catch(() => undefined);
    if (!image || this.withoutShell.has(image.Id)) return docker.createContainer(options);
    const container = await docker.createContainer(withNetworkWait(options, image.Config ?? {}));
    if (this.withShell.has(image.Id)) return container;
    // The answer is a HEAD response: its stream is let go, or it holds the engine's socket open.
    const shell = await container.infoArchive({ path: '/bin/sh' }).then(
      (res: unknown) => {
        (res as { destroy?: () => void }).destroy?.();
        return true;
      },
      (err: { statusCode?: number }) => err.statusCode !== 404,
    );
    if (shell) {
      this.withShell.add(image.Id);
      return container;
    }
    this.withoutShell.add(image.Id);
    this.o.log('the image has no /bin/sh: its Pods start before their network is ready', { image: options.Image });
    await container.remove({ force: true });
    return docker.createContainer(options);
  }
}
