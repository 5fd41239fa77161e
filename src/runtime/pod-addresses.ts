import type Docker from 'dockerode';
import { contains, nthAddress, parseCidr } from '../network/cidr.js';
import { label } from './labels.js';

/**
 * The Pod addresses a node agent hands out, as a CNI host-local IPAM does: each Pod gets the next
 * free address of its namespace's subnet on the node (the first is the gateway), kept for the
 * Pod's life. What is in use is read from the containers (their pod-ip label) at every pass, so a
 * restart of the control plane hands out nothing twice; addresses are taken in turn through the
 * subnet, so a freed one is not given again at once.
 */
export class PodAddresses {
  private readonly byUid = new Map<string, string>();
  /** Addresses of containers on Docker networks (made by an earlier version), never handed out. */
  private readonly others = new Set<string>();
  private readonly cursor = new Map<string, number>();

  /** What the containers hold now; Pods neither live nor listed give their address back. */
  seen(containers: Docker.ContainerInfo[], live: Set<string>): void {
    const listed = new Map<string, string>();
    this.others.clear();
    for (const c of containers) {
      const ip = c.Labels?.[label.podIP];
      if (ip) listed.set(c.Labels[label.uid]!, ip);
      for (const n of Object.values(c.NetworkSettings?.Networks ?? {})) if (n.IPAddress) this.others.add(n.IPAddress);
    }
    for (const [uid, ip] of listed) this.byUid.set(uid, ip);
    for (const uid of [...this.byUid.keys()]) if (!listed.has(uid) && !live.has(uid)) this.byUid.delete(uid);
  }

  /** The Pod's address in this subnet: the one it has, else the next free one. */
  of(uid: string, subnet: string): string {
    const range = parseCidr(subnet);
    const have = this.byUid.get(uid);
    if (have && contains(range, have)) return have;
    const used = new Set([...this.byUid.values(), ...this.others]);
    // .0 is the network, .1 the gateway, the last the broadcast address.
    const last = range.size - 2;
    let i = this.cursor.get(range.text) ?? 1;
    for (let tried = 0; tried < last - 1; tried++) {
      i = i >= last ? 2 : i + 1;
      const ip = nthAddress(range, i);
      if (used.has(ip)) continue;
      this.cursor.set(range.text, i);
      this.byUid.set(uid, ip);
      return ip;
    }
    throw new Error(`no free Pod address in ${subnet}, the namespace's subnet on this node (${last - 1} Pods of the namespace have one); schedule some of its Pods on another node`);
  }
}
