/**
 * What the network component is asked to do for one Pod container that owns a network namespace
 * (or, without a process, to put a subnet's gateway on the node before its first Pod starts).
 */
export interface Wiring {
  /** The container's process on the node (its network namespace is /proc/PID/ns/net). */
  pid?: number;
  /** The Pod's address. */
  ip?: string;
  /** The gateway of the Pod's subnet on the node: the host's end of every Pod of that subnet. */
  gateway: string;
  /** The installation's id: the host's end is named after it. */
  installation: string;
}

/**
 * The host's end of a Pod's veth pair: gv, the installation's first four characters and the
 * address in hex (14 characters, under Linux's 15), so that an installation only ever replaces
 * its own.
 */
export function hostInterface(ip: string, installation: string): string {
  return `gv${installation.slice(0, 4)}${ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The name a Pod's network owner waits for its address under ($0 of its shell): the component
 * sends SIGUSR1 to a process with this name alone, never to a program that already runs.
 */
export const networkWaitName = 'gouvernail-wait-network';
