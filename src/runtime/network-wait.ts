import type Docker from 'dockerode';

/**
 * The shell script a Pod's network owner starts with: it waits (30 s at most) for the Pod's
 * default route through eth0, which the network component adds last, then runs the container's
 * own program in its place (exec: the program is process 1, as without it). Builtins only, but
 * `sleep`, so it runs in any image with a POSIX shell.
 */
export const networkWaitScript = [
  'up() { while read -r i d r; do [ "$i" = eth0 ] && [ "$d" = 00000000 ] && return 0; done < /proc/net/route; return 1; }',
  'n=0',
  // Steps of 20 ms (50 of them a second where sleep takes only whole seconds): 30 s at most.
  'until up || [ "$n" -ge 1500 ]; do if sleep 0.02 2>/dev/null; then n=$((n+1)); else sleep 1; n=$((n+50)); fi; done',
  'exec "$@"',
].join('\n');

/** What the image runs when the spec says nothing: its ENTRYPOINT and CMD. */
export interface ImageProgram {
  Entrypoint?: string[] | string | null;
  Cmd?: string[] | string | null;
}

const list = (x: string[] | string | null | undefined): string[] | undefined => (x == null ? undefined : Array.isArray(x) ? x : [x]);

/**
 * The options of a container that waits for its network before its program starts: /bin/sh runs
 * the wait, then execs the command Docker would have run (the spec's command and args over the
 * image's ENTRYPOINT and CMD, as Kubernetes merges them: a command drops the image's CMD). Pure.
 * Unchanged when there is nothing to run (Docker then says so).
 */
export function withNetworkWait(options: Docker.ContainerCreateOptions, image: ImageProgram): Docker.ContainerCreateOptions {
  const command = list(options.Entrypoint as string[] | undefined);
  const args = list(options.Cmd as string[] | undefined);
  const argv = command ? [...command, ...(args ?? [])] : [...(list(image.Entrypoint) ?? []), ...(args ?? list(image.Cmd) ?? [])];
  if (argv.length === 0) return options;
  return { ...options, Entrypoint: ['/bin/sh', '-c', networkWaitScript, 'gouvernail-wait-network'], Cmd: argv };
}
