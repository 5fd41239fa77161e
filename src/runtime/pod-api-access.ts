import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type Docker from 'dockerode';
import type { Client } from '../api/client.js';
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import type { ApiAccess } from './pod-containers.js';
import { pipeSockets } from '../network/tcp-forward.js';

export interface PodApiAccessOptions {
  store: ObjectStore;
  client: Client;
  docker: Docker;
  api?: { host: string; port: number; ca: string };
  podFilesDir?: string;
  /** The gateway of a namespace's Pods on the node: the API's address for them. */
  podSubnet: (namespace: string) => { gateway: string };
}

/**
 * What the kubelet gives a Pod to call the API as its ServiceAccount: a token bound to the Pod, the
 * cluster CA and the namespace (as files), and the API's address on the Pod's network (its gateway,
 * where the API is carried when it listens only on loopback).
 */
export class PodApiAccess {
  /** Tokens bound to each Pod's life, by Pod uid. */
  private readonly tokens = new Map<string, string>();
  private readonly forwarders = new Map<string, net.Server>();

  constructor(private readonly o: PodApiAccessOptions, private readonly log: (msg: string, fields?: Record<string, unknown>) => void) {}

  /**
   * For a Pod of spec.serviceAccountName (else default), unless it or its ServiceAccount sets
   * automountServiceAccountToken: false. Throws when the ServiceAccount does not exist (yet).
   */
  async forPod(pod: KubeObject): Promise<ApiAccess | undefined> {
    const api = this.o.api;
    if (!api || pod.spec.automountServiceAccountToken === false) return undefined;
    const ns = pod.metadata.namespace!;
    const account = (pod.spec.serviceAccountName as string | undefined) ?? 'default';
    const sa = this.o.store.get('ServiceAccount', ns, account);
    if (!sa) throw new Error(`serviceaccount "${account}" not found in namespace ${ns}`);
    if (sa.automountServiceAccountToken === false && pod.spec.automountServiceAccountToken !== true) return undefined;
    let token = this.tokens.get(pod.metadata.uid!);
    if (!token) {
      token = await this.o.client.requestToken(ns, account, { name: pod.metadata.name, uid: pod.metadata.uid! });
      this.tokens.set(pod.metadata.uid!, token);
    }
    // On the host's network the API is where it listens; on the namespace's, at its gateway.
    const hostNetwork = pod.spec.hostNetwork === true;
    const gateway = hostNetwork ? (api.host === '0.0.0.0' || api.host === '::' ? '127.0.0.1' : api.host) : this.o.podSubnet(ns).gateway;
    if (!hostNetwork) this.carry(gateway);
    const hostDir = this.o.podFilesDir ? this.writeFiles(pod.metadata.uid!, { token, 'ca.crt': api.ca, namespace: ns }) : undefined;
    return { token, ca: api.ca, host: gateway, port: api.port, hostDir };
  }

  /** A Pod is gone: its token and files go too. */
  forget(uid: string): void {
    this.tokens.delete(uid);
    if (this.o.podFilesDir) rmSync(path.join(this.o.podFilesDir, uid), { recursive: true, force: true });
  }

  close(): void {
    for (const server of this.forwarders.values()) server.close();
    this.forwarders.clear();
  }

  /** The files of a Pod, in its folder, rewritten only when they change. */
  private writeFiles(uid: string, files: Record<string, string>): string {
    const dir = path.join(this.o.podFilesDir!, uid, 'serviceaccount');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(dir, name);
      if (!existsSync(file) || readFileSync(file, 'utf8') !== content) writeFileSync(file, content, { mode: 0o644 });
    }
    return dir;
  }

  /**
   * Carries the API to a Pod gateway address when it listens only on loopback. The address is the
   * host's once the first Pod of the namespace has it: until then (and on another node's host,
   * where it never is) binding fails quietly and is tried again at the next call.
   */
  carry(address: string): void {
    const api = this.o.api;
    if (!api || this.forwarders.has(address) || api.host === '0.0.0.0' || api.host === '::') return;
    const { host, port } = api;
    const server = net.createServer((socket) => pipeSockets(socket, net.connect(port, host)));
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRNOTAVAIL') this.log('cannot carry the API to a Pod network', { address, port, err: err.message });
      this.forwarders.delete(address);
    });
    server.listen(port, address);
    this.forwarders.set(address, server);
  }
}
