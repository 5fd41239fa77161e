/** What the network component is asked to do for one Pod container that owns a network namespace. */
export interface Wiring {
  /** The container's process on the node (its network namespace is /proc/PID/ns/net). */
  pid: number;
  /** The Pod's address. */
  ip: string;
  /** The gateway of the Pod's subnet on the node: the host's end of every Pod of that subnet. */
  gateway: string;
}

/** The host's end of a Pod's veth pair: gvp and the address in hex (11 characters, under Linux's 15). */
export function hostInterface(ip: string): string {
  return `gvp${ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join('')}`;
}
