import type Docker from 'dockerode';
import http from 'node:http';
import net from 'node:net';
import type { KubeObject, Probe } from '../manifest/types.js';
import { grpcHealthCheck } from './grpc-health.js';
import { stopGracefully } from './container-lifecycle.js';

/** A container of a Pod's spec, as the status and the probes read it. */
export type ContainerSpec = { name: string; image: string; readinessProbe?: Probe; livenessProbe?: Probe; startupProbe?: Probe };

export interface ContainerProbesOptions {
  docker: Docker;
  event: (pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string) => void;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Asks the node agent for a pass at this time (the next probe). */
  wake: (at: number) => void;
  /**
   * A container the probes are about to kill to restart it: counts the restart (Docker counts only
   * its restart policy's) and starts its back-off; the node agent starts it again after that.
   */
  killing: (pod: KubeObject, container: string, id: string) => void;
}

interface ProbeState {
  ready: boolean;
  successes: number;
  failures: number;
  lastRun: number;
  livenessLastRun: number;
  livenessFailures: number;
  /** Whether the startupProbe has succeeded (true without one). */
  started: boolean;
  startupLastRun: number;
  startupFailures: number;
  /** The container and start these counts are for. */
  containerId: string;
  startedAt?: string;
}

/** The startup, readiness and liveness probes of a node's containers, and what they found so far. */
export class ContainerProbes {
  private readonly probes = new Map<string, ProbeState>();

  /** Containers a probe is stopping, to start again: their stops, by container id. */
  private readonly stopping = new Map<string, Promise<void>>();

  constructor(private readonly o: ContainerProbesOptions) {}

  /**
   * The stop a probe began of this container, if one is under way: a deleted Pod's stop waits for
   * it rather than running the container's preStop hook a second time beside it.
   */
  stopOf(id: string): Promise<void> | undefined {
    return this.stopping.get(id);
  }

  /** A deleted Pod's probes go with it. */
  forget(uid: string): void {
    for (const key of this.probes.keys()) if (key.startsWith(`${uid}/`)) this.probes.delete(key);
  }

  /**
   * The container's probes, as the kubelet runs them: none before initialDelaySeconds; the
   * startupProbe first (readiness and liveness wait for it; failureThreshold failures restart the
   * container); then readiness (successThreshold, failureThreshold) and liveness (failureThreshold
   * failures restart it), each at its periodSeconds with its timeoutSeconds. Returns readiness.
   */
  async run(pod: KubeObject, spec: ContainerSpec, id: string, podIP: string | undefined, startedAt?: string): Promise<boolean> {
    // Being stopped by a probe: not ready, and not probed again meanwhile.
    if (this.stopping.has(id)) return false;
    const key = `${pod.metadata.uid}/${spec.name}`;
    let state = this.probes.get(key);
    if (!state || state.containerId !== id || state.startedAt !== startedAt) {
      // A new container, or the same one restarted: its probes start over.
      state = { ready: !spec.readinessProbe && !spec.startupProbe, successes: 0, failures: 0, lastRun: 0, livenessLastRun: 0, livenessFailures: 0, started: !spec.startupProbe, startupLastRun: 0, startupFailures: 0, containerId: id, startedAt };
      this.probes.set(key, state);
    }
    const now = Date.now();
    const since = Date.parse(startedAt ?? '') || now;
    const due = (p: Probe, last: number) => now - since >= (p.initialDelaySeconds ?? 0) * 1000 && now - last >= (p.periodSeconds ?? 10) * 1000 * 0.9;
    const next = (p: Probe, last: number) => this.o.wake(Math.max(since + (p.initialDelaySeconds ?? 0) * 1000, last + (p.periodSeconds ?? 10) * 1000));
    const restart = (why: string) => {
      this.o.log(`${why}; restarting container`, { pod: pod.metadata.name, container: spec.name });
      this.o.event(pod, 'Normal', 'Killing', `Container ${spec.name} ${why}, will be restarted`);
      this.probes.delete(key);
      this.o.killing(pod, spec.name, id);
      // Stopped as a deleted Pod's containers are (preStop, then the Pod's grace period), in the
      // background: a program that ignores SIGTERM holds no other Pod of the node up. The agent
      // starts it again after the back-off (or not, as the Pod's restartPolicy says).
      const stop = stopGracefully(this.o.docker, id, podIP, pod.spec?.terminationGracePeriodSeconds)
        .then(({ preStopFailure }) => {
          if (preStopFailure) this.o.event(pod, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${preStopFailure}`);
        }, () => {})
        .finally(() => {
          this.stopping.delete(id);
          this.o.wake(Date.now());
        });
      this.stopping.set(id, stop);
    };
    const sp = spec.startupProbe;
    if (sp && !state.started) {
      if (due(sp, state.startupLastRun)) {
        state.startupLastRun = now;
        const ok = await runProbe(this.o.docker, sp, id, podIP, pod);
        if (ok) state.started = true;
        else {
          state.startupFailures++;
          this.o.event(pod, 'Warning', 'Unhealthy', `Startup probe failed: ${describeProbe(sp)}`);
          if (state.startupFailures >= (sp.failureThreshold ?? 3)) {
            restart('failed startup probe');
            return false;
          }
        }
      }
      if (!state.started) {
        next(sp, state.startupLastRun);
        return false;
      }
      if (!spec.readinessProbe) state.ready = true;
    }
    const p = spec.readinessProbe;
    if (p && due(p, state.lastRun)) {
      state.lastRun = now;
      const ok = await runProbe(this.o.docker, p, id, podIP, pod);
      if (!ok) this.o.event(pod, 'Warning', 'Unhealthy', `Readiness probe failed: ${describeProbe(p)}`);
      if (ok) {
        state.successes++;
        state.failures = 0;
        if (state.successes >= (p.successThreshold ?? 1)) state.ready = true;
      } else {
        state.failures++;
        state.successes = 0;
        if (state.failures >= (p.failureThreshold ?? 3) || !state.ready) state.ready = false;
      }
    }
    if (p) next(p, state.lastRun);
    const l = spec.livenessProbe;
    if (l && !due(l, state.livenessLastRun)) next(l, state.livenessLastRun);
    else if (l) {
      state.livenessLastRun = now;
      next(l, now);
      const ok = await runProbe(this.o.docker, l, id, podIP, pod);
      state.livenessFailures = ok ? 0 : state.livenessFailures + 1;
      if (!ok) this.o.event(pod, 'Warning', 'Unhealthy', `Liveness probe failed: ${describeProbe(l)}`);
      if (state.livenessFailures >= (l.failureThreshold ?? 3)) {
        restart('failed liveness probe');
        return false;
      }
    }
    return state.ready;
  }
}

async function runProbe(docker: Docker, p: Probe, id: string, podIP: string | undefined, pod: KubeObject): Promise<boolean> {
  const timeout = (p.timeoutSeconds ?? 1) * 1000;
  const port = (value: number | string) => {
    if (typeof value === 'number') return value;
    for (const c of pod.spec.containers) for (const cp of c.ports ?? []) if (cp.name === value) return cp.containerPort as number;
    return NaN;
  };
  try {
    if (p.exec) {
      const exec = await docker.getContainer(id).exec({ Cmd: p.exec.command, AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      stream.resume();
      try {
        await Promise.race([new Promise((r) => stream.on('end', r)), new Promise((r) => setTimeout(r, timeout))]);
        const info = await exec.inspect();
        return info.ExitCode === 0;
      } finally {
        // A command past its timeout keeps its stream open: closed here, not left for each probe.
        (stream as { destroy?: () => void }).destroy?.();
      }
    }
    if (!podIP) return false;
    if (p.httpGet) {
      return await new Promise<boolean>((resolve) => {
        const req = http.get({ host: p.httpGet!.host ?? podIP, port: port(p.httpGet!.port), path: p.httpGet!.path ?? '/', timeout }, (res) => {
          res.resume();
          resolve((res.statusCode ?? 500) >= 200 && (res.statusCode ?? 500) < 400);
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
      });
    }
    if ((p as { grpc?: { port: number; service?: string } }).grpc) {
      const g = (p as { grpc: { port: number; service?: string } }).grpc;
      return await grpcHealthCheck(podIP, g.port, g.service ?? '', timeout);
    }
    if (p.tcpSocket) {
      return await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: p.tcpSocket!.host ?? podIP, port: port(p.tcpSocket!.port), timeout }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('timeout', () => s.destroy());
        s.on('error', () => resolve(false));
      });
    }
  } catch {
    return false;
  }
  return false;
}

/** A probe as the kubelet's events describe it. */
function describeProbe(p: Probe): string {
  if (p.exec) return `exec [${p.exec.command.join(' ')}] failed`;
  if (p.httpGet) return `HTTP probe failed: GET ${p.httpGet.path ?? '/'} on port ${p.httpGet.port}`;
  if (p.tcpSocket) return `dial tcp port ${p.tcpSocket.port}: connection refused`;
  const grpc = (p as { grpc?: { port: number; service?: string } }).grpc;
  if (grpc) return `gRPC health check of service ${JSON.stringify(grpc.service ?? '')} on port ${grpc.port} did not answer SERVING`;
  return 'no handler';
}
