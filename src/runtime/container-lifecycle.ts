import http from 'node:http';
import type Docker from 'dockerode';
import type { KubeObject } from '../manifest/types.js';

/** A lifecycle handler (postStart, preStop), as Kubernetes defines it. */
export interface LifecycleHandler {
  exec?: { command: string[] };
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string };
  sleep?: { seconds: number };
}

/** Where a container's preStop handler is kept, so that it is known after its Pod is gone. */
export const preStopLabel = 'gouvernail.io/pre-stop';

/** Kubernetes' default terminationGracePeriodSeconds; Docker's own default is 10 s. */
export const defaultGraceSeconds = 30;

/**
 * Runs a handler against a container: a command inside it, an HTTP GET to the Pod's address, or a
 * pause. Resolves with a failure message, or undefined when it succeeded; never takes longer than
 * `timeoutMs`.
 */
export async function runHandler(docker: Docker, containerId: string, h: LifecycleHandler, podIP: string | undefined, timeoutMs: number, ports: (name: string) => number | undefined = () => undefined): Promise<string | undefined> {
  const deadline = new Promise<string>((resolve) => setTimeout(() => resolve(`timed out after ${Math.round(timeoutMs / 1000)}s`), timeoutMs).unref());
  const run = async (): Promise<string | undefined> => {
    if (h.sleep) {
      await new Promise((r) => setTimeout(r, h.sleep!.seconds * 1000));
      return undefined;
    }
    if (h.exec) {
      const exec = await docker.getContainer(containerId).exec({ Cmd: h.exec.command, AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      let output = '';
      stream.on('data', (b: Buffer) => (output = (output + b.toString('latin1')).slice(-512)));
      // Closed once the handler's time is up too (the caller stops waiting then).
      const timer = setTimeout(() => (stream as { destroy?: () => void }).destroy?.(), timeoutMs).unref();
      await new Promise((r) => {
        stream.on('end', r);
        stream.on('close', r);
      }).finally(() => clearTimeout(timer));
      const info = await exec.inspect();
      // eslint-disable-next-line no-control-regex
      return info.ExitCode === 0 ? undefined : `command ${JSON.stringify(h.exec.command)} exited with ${info.ExitCode}: ${output.replace(/[\x00-\x08]/g, '').trim()}`;
    }
    if (h.httpGet) {
      const port = typeof h.httpGet.port === 'number' ? h.httpGet.port : ports(h.httpGet.port);
      const host = h.httpGet.host ?? podIP;
      if (!host || !port) return `no address for GET ${h.httpGet.path ?? '/'} on port ${h.httpGet.port}`;
      return await new Promise<string | undefined>((resolve) => {
        const req = http.get({ host, port, path: h.httpGet!.path ?? '/' }, (res) => {
          res.resume();
          resolve((res.statusCode ?? 500) < 400 ? undefined : `GET ${h.httpGet!.path ?? '/'} answered ${res.statusCode}`);
        });
        req.on('error', (err) => resolve(`GET ${h.httpGet!.path ?? '/'} failed: ${err.message}`));
      });
    }
    return undefined;
  };
  return Promise.race([run().catch((err: Error) => err.message), deadline]);
}

/** The named ports of a Pod's containers, for handlers and probes that name a port. */
export function namedPorts(pod: KubeObject): (name: string) => number | undefined {
  return (name) => {
    for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) for (const p of c.ports ?? []) if (p.name === name) return p.containerPort;
    return undefined;
  };
}

/**
 * Stops a container as the kubelet does: its preStop handler (from its label), then the stop
 * signal, then SIGKILL once the grace period (its StopTimeout, else 30 s) has passed since the
 * start. The container is kept (a probe's kill, to start it again).
 */
export async function stopGracefully(docker: Docker, id: string, podIP?: string, graceSeconds?: number): Promise<{ preStopFailure?: string }> {
  const container = docker.getContainer(id);
  const info = await container.inspect().catch(() => undefined);
  // The delete's grace period (kubectl delete --grace-period, --now) over the Pod's own.
  const grace = graceSeconds ?? (info?.Config as { StopTimeout?: number } | undefined)?.StopTimeout ?? defaultGraceSeconds;
  const started = Date.now();
  let preStopFailure: string | undefined;
  const label = info?.Config.Labels?.[preStopLabel];
  if (label && info?.State.Running) {
    preStopFailure = await runHandler(docker, id, JSON.parse(label) as LifecycleHandler, podIP, grace * 1000);
  }
  const left = Math.max(0, Math.ceil(grace - (Date.now() - started) / 1000));
  if (info?.State.Running) await container.stop({ t: left }).catch(() => {});
  return { preStopFailure };
}

/** Stops a container as the kubelet does (stopGracefully), then removes it. */
export async function terminate(docker: Docker, c: Docker.ContainerInfo, podIP?: string, graceSeconds?: number): Promise<{ preStopFailure?: string }> {
  const stopped = await stopGracefully(docker, c.Id, podIP, graceSeconds);
  await docker.getContainer(c.Id).remove({ force: true }).catch((err: { statusCode?: number }) => {
    if (err.statusCode !== 404) throw err;
  });
  return stopped;
}
