import test from 'ava';
import dgram from 'node:dgram';
import net from 'node:net';
import { LoopbackProxies } from '../src/network/host-ports.js';

/** A free port of 127.0.0.1 for both protocols' sockets. */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A UDP server standing in for a Pod's: answers each datagram with its text and the client's port. */
async function echoServer(): Promise<{ port: number; close: () => void }> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, from) => s.send(`${m.toString()} (from ${from.port})`, from.port, from.address));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { port: s.address().port, close: () => s.close() };
}

async function ask(port: number, text: string, client = dgram.createSocket('udp4')): Promise<string> {
  const answer = new Promise<string>((resolve, reject) => {
    client.once('message', (m) => resolve(m.toString()));
    setTimeout(() => reject(new Error(`no answer to ${text}`)), 5000).unref();
  });
  client.send(text, port, '127.0.0.1');
  return answer;
}

test('a UDP hostPort on loopback is answered by the Pod, each client through a flow of its own; TCP beside it', async (t) => {
  const pod = await echoServer();
  const tcpPod = net.createServer((s) => s.end('tcp answer'));
  await new Promise<void>((r) => tcpPod.listen(0, '127.0.0.1', r));
  const logged: string[] = [];
  const proxies = new LoopbackProxies((msg) => logged.push(msg));
  const port = await freeUdpPort();
  proxies.update([
    { protocol: 'UDP', address: '127.0.0.1', port, to: { host: '127.0.0.1', port: pod.port } },
    { protocol: 'TCP', address: '127.0.0.1', port, to: { host: '127.0.0.1', port: (tcpPod.address() as net.AddressInfo).port } },
  ]);
  t.teardown(() => {
    proxies.update([]);
    pod.close();
    tcpPod.close();
  });
  const one = dgram.createSocket('udp4');
  const two = dgram.createSocket('udp4');
  t.teardown(() => {
    one.close();
    two.close();
  });
  const first = await ask(port, 'hello', one);
  const again = await ask(port, 'again', one);
  const other = await ask(port, 'other', two);
  t.regex(first, /^hello \(from \d+\)$/);
  t.is(again.replace(/^again/, ''), first.replace(/^hello/, ''), 'the same client keeps its flow (the Pod sees one port)');
  t.not(other.replace(/^other/, ''), first.replace(/^hello/, ''), 'another client has a flow of its own');
  const tcp = await new Promise<string>((resolve) => {
    let body = '';
    net.connect(port, '127.0.0.1').on('data', (d) => (body += d)).on('end', () => resolve(body));
  });
  t.is(tcp, 'tcp answer');
  t.deepEqual(logged, []);
  // Gone with the Pod: nothing answers any more.
  proxies.update([]);
  await t.throwsAsync(ask(port, 'late', two), { message: /no answer/ });
});
