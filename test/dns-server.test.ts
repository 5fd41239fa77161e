import test from 'ava';
import dgram from 'node:dgram';
import * as packet from 'dns-packet';
import { DnsServer } from '../src/network/dns-server.js';
import { buildDnsTable } from '../src/network/dns-records.js';
import type { KubeObject } from '../src/manifest/types.js';

/** The cluster DNS server over real UDP on 127.0.0.1, with a stand-in for the node's resolver. */
async function udpServer(onMessage: (msg: Buffer, reply: (b: Buffer) => void) => void): Promise<{ port: number; close: () => void }> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, from) => onMessage(msg, (b) => sock.send(b, from.port, from.address)));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, close: () => sock.close() };
}

interface Reply {
  answers: { type: string; data: unknown }[];
  rcode: string;
  flag_aa: boolean;
}

async function ask(port: number, name: string, type: 'A' | 'SRV' | 'AAAA' = 'A'): Promise<Reply> {
  const sock = dgram.createSocket('udp4');
  const reply = new Promise<Buffer>((resolve) => sock.once('message', resolve));
  sock.send(packet.encode({ type: 'query', id: 7, flags: packet.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] }), port, '127.0.0.1');
  const answer = packet.decode(await reply) as unknown as Reply;
  sock.close();
  return answer;
}

test('the cluster DNS server answers the cluster zone, follows an ExternalName, and forwards the rest to the node\'s resolver', async (t) => {
  const forwarded: string[] = [];
  const upstream = await udpServer((msg, reply) => {
    const q = packet.decode(msg);
    forwarded.push(q.questions![0]!.name);
    reply(packet.encode({ type: 'response', id: q.id, flags: packet.RECURSION_AVAILABLE, questions: q.questions, answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 60, data: '192.0.2.80' }] }));
  });
  const services = [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 80 }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'out', namespace: 'shop' }, spec: { type: 'ExternalName', externalName: 'db.example.org' } },
  ] as KubeObject[];
  const server = new DnsServer({ table: () => buildDnsTable(services, []), upstream: () => [`127.0.0.1:${upstream.port}`] });
  const probe = await udpServer(() => {});
  const port = probe.port;
  probe.close();
  await server.listen('127.0.0.1', port);
  t.teardown(() => {
    server.close();
    upstream.close();
  });

  const web = await ask(port, 'web.shop.svc.cluster.local');
  t.deepEqual(web.answers.map((a) => a.data), ['10.96.0.11']);
  t.true(web.flag_aa, 'authoritative for the cluster zone');
  t.deepEqual((await ask(port, 'web.shop.svc.cluster.local', 'AAAA')).answers, [], 'the name exists, without IPv6');
  const srv = await ask(port, '_http._tcp.web.shop.svc.cluster.local', 'SRV');
  t.like(srv.answers[0]!.data as object, { port: 80, target: 'web.shop.svc.cluster.local' });
  t.is((await ask(port, 'example.com.shop.svc.cluster.local')).rcode, 'NXDOMAIN');
  t.deepEqual(forwarded, [], 'nothing of the cluster zone went out');

  const out = await ask(port, 'out.shop.svc.cluster.local');
  t.deepEqual(out.answers.map((a) => [a.type, a.data]), [['CNAME', 'db.example.org'], ['A', '192.0.2.80']]);
  const outside = await ask(port, 'example.com');
  t.deepEqual(outside.answers.map((a) => a.data), ['192.0.2.80']);
  t.deepEqual(forwarded, ['db.example.org', 'example.com']);
});

test('a listen that cannot take the TCP port lets go of the UDP one, so the next try binds both', async (t) => {
  const holder = (await import('node:net')).createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as { port: number }).port;
  const server = new DnsServer({ table: () => buildDnsTable([], []), upstream: () => [] });
  await t.throwsAsync(server.listen('127.0.0.1', port), { code: 'EADDRINUSE' });
  // Bound without reuseAddr: it fails while the first try still holds the UDP port.
  const plain = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    plain.once('error', reject);
    plain.bind(port, '127.0.0.1', resolve);
  });
  plain.close();
  await new Promise((r) => holder.close(r));
  await server.listen('127.0.0.1', port);
  t.teardown(() => server.close());
  t.is((await ask(port, 'nothing.default.svc.cluster.local')).rcode, 'NXDOMAIN');
});
