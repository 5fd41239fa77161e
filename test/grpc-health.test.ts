import test from 'ava';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { grpcHealthCheck } from '../src/runtime/grpc-health.js';

/** A gRPC health service on HTTP/2, as a gRPC server answers Health/Check: SERVING for "web", NOT_SERVING for others. */
async function healthServer(t: { teardown(fn: () => void): void }): Promise<number> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (b: Buffer) => chunks.push(b));
    stream.on('end', () => {
      const message = Buffer.concat(chunks).subarray(5);
      const service = message.length ? message.subarray(2, 2 + message[1]!).toString() : '';
      if (headers[':path'] !== '/grpc.health.v1.Health/Check') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, service === 'web' || service === '' ? 1 : 2]));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  return (server.address() as AddressInfo).port;
}

test('a grpc probe succeeds on SERVING and fails on NOT_SERVING, a closed port or a timeout', async (t) => {
  const port = await healthServer(t);
  t.true(await grpcHealthCheck('127.0.0.1', port, '', 2000));
  t.true(await grpcHealthCheck('127.0.0.1', port, 'web', 2000));
  t.false(await grpcHealthCheck('127.0.0.1', port, 'db', 2000));
  t.false(await grpcHealthCheck('127.0.0.1', 1, '', 2000));
});
