import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { certificateFor, matchRoute, type IngressTable } from './ingress-routes.js';

const hopHeaders = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

/**
 * The Ingress proxy of a node (k3s ships traefik in this place): HTTP on one port and HTTPS on
 * another, each request sent to a ready Pod of the route's backend, round robin; WebSocket and
 * other upgrades are passed through. TLS certificates are chosen by SNI from the Ingresses' Secrets.
 */
export class IngressProxy {
  private next = 0;
  private servers: net.Server[] = [];
  private contexts = new Map<string, tls.SecureContext>();

  constructor(private readonly table: () => IngressTable, private readonly log: (msg: string, f?: Record<string, unknown>) => void = () => {}) {}

  async listen(host: string, httpPort: number, httpsPort: number): Promise<void> {
    const plain = http.createServer((req, res) => this.handle(req, res, 'http'));
    plain.on('upgrade', (req, socket, head) => this.upgrade(req, socket as net.Socket, head, 'http'));
    const secure = https.createServer({ SNICallback: (name, cb) => cb(null, this.contextFor(name)) }, (req, res) => this.handle(req, res, 'https'));
    secure.on('upgrade', (req, socket, head) => this.upgrade(req, socket as net.Socket, head, 'https'));
    for (const [server, port] of [[plain, httpPort], [secure, httpsPort]] as const) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      this.servers.push(server);
    }
  }

  close(): void {
    for (const s of this.servers) s.close();
    this.servers = [];
  }

  private contextFor(name: string): tls.SecureContext | undefined {
    const cert = certificateFor(this.table(), name);
    if (!cert) return undefined;
    const key = `${cert.cert}\n${cert.key}`;
    let ctx = this.contexts.get(key);
    if (!ctx) {
      try {
        ctx = tls.createSecureContext({ cert: cert.cert, key: cert.key });
      } catch (err) {
        this.log('the certificate of an Ingress cannot be used; is the Secret a kubernetes.io/tls pair?', { ingress: cert.source, err: (err as Error).message });
        return undefined;
      }
      this.contexts.set(key, ctx);
    }
    return ctx;
  }

  private pick(req: http.IncomingMessage): { target?: string; source?: string } {
    const route = matchRoute(this.table(), req.headers.host, req.url ?? '/');
    if (!route) return {};
    if (route.backends.length === 0) return { source: route.source };
    return { target: route.backends[this.next++ % route.backends.length], source: route.source };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, proto: string): void {
    const { target, source } = this.pick(req);
    if (!target) {
      res.writeHead(source ? 503 : 404, { 'content-type': 'text/plain' });
      res.end(source ? `no ready endpoint for this route (Ingress ${source})\n` : 'no Ingress rule matches this host and path\n');
      return;
    }
    const [host, port] = target.split(':');
    const headers = { ...req.headers };
    for (const h of hopHeaders) delete headers[h];
    const client = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${client}` : client;
    headers['x-forwarded-proto'] = proto;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    // insecureHTTPParser: header lines ended by a bare line feed (a shell CGI's) are read, as nginx reads them.
    const upstream = http.request({ host, port: Number(port), method: req.method, path: req.url, headers, insecureHTTPParser: true }, (r) => {
      const out = { ...r.headers };
      for (const h of hopHeaders) delete out[h];
      res.writeHead(r.statusCode ?? 502, out);
      r.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`the backend did not answer: ${err.message}\n`);
    });
    req.pipe(upstream);
  }

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer, proto: string): void {
    const { target } = this.pick(req);
    if (!target) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const [host, port] = target.split(':');
    const upstream = net.connect(Number(port), host, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      lines.push(`X-Forwarded-For: ${socket.remoteAddress ?? ''}`, `X-Forwarded-Proto: ${proto}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  }
}
