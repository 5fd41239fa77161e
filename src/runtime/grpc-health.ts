import http2 from 'node:http2';

/**
 * gRPC's standard health check, as the kubelet's grpc probe makes it: a unary call of
 * grpc.health.v1.Health/Check over HTTP/2 (plaintext), with HealthCheckRequest{service}; a success
 * is grpc-status 0 and HealthCheckResponse{status: SERVING (1)}. The two messages are small enough
 * to write and read by hand: field 1, a string out and an enum back.
 */
export async function grpcHealthCheck(host: string, port: number, service: string, timeoutMs: number): Promise<boolean> {
  const name = Buffer.from(service, 'utf8');
  const request = name.length ? Buffer.concat([Buffer.from([0x0a, name.length]), name]) : Buffer.alloc(0);
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, request.length]), request]);
  return new Promise<boolean>((resolve) => {
    const session = http2.connect(`http://${host}:${port}`);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      session.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    session.on('error', () => done(false));
    const stream = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
    });
    stream.on('trailers', (trailers) => {
      grpcStatus = String(trailers['grpc-status'] ?? grpcStatus);
    });
    stream.on('data', (b: Buffer) => chunks.push(b));
    stream.on('error', () => done(false));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      // A length-prefixed message: HealthCheckResponse, whose field 1 (varint) is the status.
      const message = body.subarray(5);
      const serving = message.length >= 2 && message[0] === 0x08 && message[1] === 1;
      done(grpcStatus === '0' && serving);
    });
    stream.end(frame);
  });
}
