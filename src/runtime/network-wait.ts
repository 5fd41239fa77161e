import type Docker from 'dockerode';
import { networkWaitName } from '../network/wiring.js';

/**
 * The shell script a Pod's network owner starts with: unless the Pod's default route through eth0
 * is there already, it waits (30 s at most) for the network component's SIGUSR1, sent once the
 * Pod has its address, then runs the container's own program in its place (exec: the program is
 * process 1, as without it). No polling: one `sleep` in the background, killed by the signal.
 * Builtins only, but `sleep`, so it runs in any image with a POSIX shell.
 */
export const networkWaitScript = [
  'w=',
  'trap \'go=1; [ -n "$w" ] && kill "$w" 2>/dev/null\' USR1',
  'up() { while read -r i d r; do [ "$i" = eth0 ] && [ "$d" = 00000000 ] && return 0; done < /proc/net/route; return 1; }',
  'if [ -z "$go" ] && ! up; then sleep 30 & w=$!; [ -z "$go" ] && wait "$w"; fi',
  '[ -n "$w" ] && kill "$w" 2>/dev/null',
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
  return { ...options, Entrypoint: ['/bin/sh', '-c', networkWaitScript, networkWaitName], Cmd: argv };
}
