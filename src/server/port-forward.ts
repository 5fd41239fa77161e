import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { KubeObject } from '../manifest/types.js';

/**
 * `kubectl port-forward` as kubectl speaks it: 1.31+ opens a WebSocket whose binary messages carry
 * a SPDY/3.1 session (the subprotocol `SPDY/3.1+portforward.k8s.io`); 1.30 and older upgrade the
 * HTTP connection itself to SPDY/3.1 (`Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version:
 * portforward.k8s.io`) and speak SPDY on the socket. For each connection kubectl
 * opens two SPDY streams with the headers streamType (error, data), port and requestID; the data
 * stream is joined to the Pod's port, the error stream carries a failure. The SPDY framing (and
 * its compressed headers) is spdy-transport's.
 */
export const portForwardProtocol = 'SPDY/3.1+portforward.k8s.io';

const require = createRequire(import.meta.url);
const transport = require('spdy-transport') as {
  connection: { create(socket: Duplex, options: object): SpdyConnection };
};

/**
 * spdy-transport speaks HTTP over SPDY and refuses a SYN_STREAM without `:method` and `:path`,
 * which Kubernetes' port-forward streams never carry (their headers are streamType, port and
 * requestID): such a stream is given the two, so the parser lets it through.
 */
const spdyParser = Object.getPrototypeOf((require('spdy-transport/lib/spdy-transport/protocol/spdy/parser.js') as { create(o: object): object }).create({ isServer: true, window: null })) as { parseKVs(buffer: unknown, callback: (err: Error | null, headers?: Record<string, string>) => void): void };
const parseKVs = spdyParser.parseKVs;
spdyParser.parseKVs = function (this: unknown, buffer: unknown, callback: (err: Error | null, headers?: Record<string, string>) => void) {
  parseKVs.call(this, buffer, (err, headers) => {
    if (!err && headers?.streamtype !== undefined && !headers[':method']) Object.assign(headers, { ':method': 'POST', ':path': '/' });
    callback(err, headers);
  });
};

interface SpdyStream extends Duplex {
  headers: Record<string, string>;
  respond(status: number, headers: Record<string, string>): void;
}

interface SpdyConnection {
  start(version: number): void;
  on(event: 'stream', listener: (stream: SpdyStream) => void): void;
  on(event: 'error' | 'close', listener: (err?: Error) => void): void;
  end(): void;
}

/**
 * `ws` reads subprotocols as RFC 7230 tokens, which "SPDY/3.1+portforward.k8s.io" is not (the
 * slash): the offer is renamed to a token for the handshake, and the answer named back.
 */
const tokenAlias = 'spdy-3.1-portforward.k8s.io';
const server = new WebSocketServer({ noServer: true, handleProtocols: (offered) => (offered.has(tokenAlias) ? tokenAlias : false) });
server.on('headers', (headers) => {
  const i = headers.findIndex((h) => h.toLowerCase() === `sec-websocket-protocol: ${tokenAlias}`);
  if (i >= 0) headers[i] = `Sec-WebSocket-Protocol: ${portForwardProtocol}`;
});

const spdyProtocol = 'portforward.k8s.io';

/** Whether the request asks for port-forward as some kubectl speaks it: a WebSocket tunnel, or SPDY. */
export function offersPortForward(req: IncomingMessage): boolean {
  return offersWebSocketTunnel(req) || offersSpdy(req);
}

function offersWebSocketTunnel(req: IncomingMessage): boolean {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket' && offered.includes(portForwardProtocol);
}

function offersSpdy(req: IncomingMessage): boolean {
  const offered = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim());
  return String(req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1' && offered.includes(spdyProtocol);
}

/** Serves one port-forward session to a Pod: each forwarded connection goes to `address:port`. */
export function servePortForward(req: IncomingMessage, socket: Duplex, head: Buffer, pod: KubeObject): void {
  if (!offersWebSocketTunnel(req)) {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${spdyProtocol}\r\n\r\n`);
    if (head.length > 0) socket.unshift(head);
    socket.on('error', () => {});
    return serveSession(socket, pod);
  }
  req.headers['sec-websocket-protocol'] = tokenAlias;
  server.handleUpgrade(req, socket, head, (ws) => {
    const tunnel = createWebSocketStream(ws);
    tunnel.on('error', () => {});
    serveSession(tunnel, pod);
  });
}

function serveSession(tunnel: Duplex, pod: KubeObject): void {
  const spdy = transport.connection.create(tunnel, { protocol: 'spdy', isServer: true });
  // A session that breaks ends its connections; kubectl reports it to the user.
  spdy.on('error', () => tunnel.destroy());
  spdy.start(3.1);
  const errors = new Map<string, SpdyStream>();
  spdy.on('stream', (stream) => {
    // A session that ends (kubectl stopped) destroys its streams with an error; nothing to report.
    stream.on('error', () => {});
    stream.respond(200, {});
    const h = stream.headers;
    const requestId = h.requestid ?? '';
    if (h.streamtype === 'error') {
      errors.set(requestId, stream);
      stream.on('close', () => errors.delete(requestId));
      stream.resume();
      return;
    }
    if (h.streamtype !== 'data') return void stream.end();
    const port = Number(h.port);
    const address = pod.spec?.hostNetwork ? '127.0.0.1' : pod.status?.podIP;
    const fail = (message: string) => {
      const e = errors.get(requestId);
      e?.end(message);
      stream.end();
    };
    if (!address) return fail(`pod ${pod.metadata.name} has no IP address: is it running?`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`invalid port ${h.port}`);
    const target = net.connect(port, address);
    target.on('error', (err) => fail(`error forwarding port ${port} to pod ${pod.metadata.name}: ${err.message}`));
    target.on('connect', () => {
      stream.pipe(target);
      target.pipe(stream);
    });
    stream.on('error', () => target.destroy());
    stream.on('close', () => target.destroy());
  });
}
