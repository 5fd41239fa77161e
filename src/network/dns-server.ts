import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import * as packet from 'dns-packet';
import { lookup, type DnsTable } from './dns-records.js';

const NXDOMAIN = 3;
const SERVFAIL = 2;
const ttl = 5;

/** The nameservers of a resolv.conf, the cluster's own left out. */
export function upstreamResolvers(resolvConf: string, except: string[] = []): string[] {
  const out: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m && !except.includes(m[1]!)) out.push(m[1]!);
  }
  return out;
}

export interface DnsServerOptions {
  /** The table answered from, read at each query (the node's component swaps it as it changes). */
  table: () => DnsTable;
  /** Where names outside the cluster go: the node's resolvers. */
  upstream: () => string[];
  log?: (msg: string, f?: Record<string, unknown>) => void;
}

/**
 * The cluster DNS server (CoreDNS's place), over UDP and TCP: names of the cluster zone are
 * answered from the table, every other name is forwarded to the node's resolvers. An ExternalName's
 * CNAME is followed for the client, as CoreDNS does.
 */
export class DnsServer {
  private udp?: dgram.Socket;
  private tcp?: net.Server;

  constructor(private readonly o: DnsServerOptions) {}

  async listen(host: string, port = 53): Promise<void> {
    const udp = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    udp.on('message', (msg, from) => {
      void this.answer(msg).then((reply) => reply && udp.send(reply, from.port, from.address));
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => resolve());
    });
    udp.on('error', (err) => this.o.log?.('DNS socket error', { err: err.message }));
    this.udp = udp;
    const tcp = net.createServer((socket) => this.serveTcp(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => resolve());
    }).catch((err) => {
      // Not kept half-bound: a retry binds UDP afresh (reuseAddr would let it, beside this one).
      udp.close();
      this.udp = undefined;
      throw err;
    });
    this.tcp = tcp;
  }

  close(): void {
    this.udp?.close();
    this.tcp?.close();
  }

  private serveTcp(socket: net.Socket): void {
    let buffered = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + msg.length);
        void this.answer(msg).then((reply) => {
          if (!reply || socket.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([len, reply]));
        });
      }
    });
  }

  /** The reply to one query message; undefined for what is not a query. */
  async answer(msg: Buffer): Promise<Buffer | undefined> {
    let query: packet.DecodedPacket;
    try {
      query = packet.decode(msg);
    } catch {
      return undefined;
    }
    if (query.type !== 'query' || !query.questions?.length) return undefined;
    const q = query.questions[0]!;
    const result = lookup(this.o.table(), q.name);
    if (result.kind === 'forward') return (await this.forward(msg)) ?? reply(query, SERVFAIL, []);
    if (result.kind === 'nxdomain') return reply(query, NXDOMAIN, [], true);
    const answers: packet.Answer[] = [];
    if (result.CNAME) {
      answers.push({ type: 'CNAME', name: q.name, ttl, class: 'IN', data: result.CNAME });
      const inside = lookup(this.o.table(), result.CNAME);
      if (q.type === 'A' && inside.kind === 'answer') {
        for (const ip of inside.A ?? []) answers.push({ type: 'A', name: result.CNAME, ttl, class: 'IN', data: ip });
      } else if (q.type !== 'CNAME' && inside.kind === 'forward') {
        // The target is someone else's name: asked of the node's resolvers, its answers added.
        const followed = await this.forward(packet.encode({ type: 'query', id: 1, flags: packet.RECURSION_DESIRED, questions: [{ type: q.type, name: result.CNAME, class: 'IN' }] }));
        if (followed) answers.push(...(packet.decode(followed).answers ?? []));
      }
    } else if (q.type === 'A' || (q.type as string) === 'ANY') {
      for (const ip of result.A ?? []) answers.push({ type: 'A', name: q.name, ttl, class: 'IN', data: ip });
    } else if (q.type === 'SRV') {
      for (const s of result.SRV ?? []) answers.push({ type: 'SRV', name: q.name, ttl, class: 'IN', data: { priority: 0, weight: Math.floor(100 / (result.SRV!.length || 1)), port: s.port, target: s.target } });
    }
    return reply(query, 0, answers, true);
  }

  private async forward(msg: Buffer): Promise<Buffer | undefined> {
    for (const upstream of this.o.upstream()) {
      // ADDRESS, or ADDRESS:PORT for a resolver on another port than 53.
      const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(upstream);
      const server = m ? m[1]! : upstream;
      const port = m ? Number(m[2]) : 53;
      const got = await new Promise<Buffer | undefined>((resolve) => {
        const sock = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
        const timer = setTimeout(() => {
          sock.close();
          resolve(undefined);
        }, 2000);
        sock.on('message', (m) => {
          clearTimeout(timer);
          sock.close();
          resolve(m);
        });
        sock.on('error', () => {
          clearTimeout(timer);
          sock.close();
          resolve(undefined);
        });
        sock.send(msg, port, server);
      });
      if (got) return got;
    }
    this.o.log?.('no resolver of the node answered; is its /etc/resolv.conf right?', { upstream: this.o.upstream() });
    return undefined;
  }
}

function reply(query: packet.DecodedPacket, rcode: number, answers: packet.Answer[], authoritative = false): Buffer {
  const flags = (authoritative ? packet.AUTHORITATIVE_ANSWER : 0) | packet.RECURSION_AVAILABLE | (query.flags! & packet.RECURSION_DESIRED) | rcode;
  return packet.encode({ type: 'response', id: query.id, flags, questions: query.questions, answers });
}

/** The nameservers of a file, or none when it cannot be read. */
export function resolversIn(file: string, except: string[] = []): string[] {
  try {
    return upstreamResolvers(readFileSync(file, 'utf8'), except);
  } catch {
    return [];
  }
}
