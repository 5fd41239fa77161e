import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiServer, Verb } from '../api/api-server.js';
import { ApiError } from '../api/errors.js';
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import { errorReply, requester } from './api-routes.js';

/**
 * The proxy subresources of Pods and Services, as Kubernetes' API server serves them: an HTTP
 * request to `/api/v1/namespaces/NS/pods/[SCHEME:]NAME[:PORT]/proxy/PATH` goes on to that Pod's
 * address and port, one to `.../services/[SCHEME:]NAME[:PORT]/proxy/PATH` to a ready endpoint of
 * the Service; method, query, headers (not the caller's credentials) and body as sent, the answer
 * streamed back. What `kubectl proxy` and `kubectl get --raw` reach a Pod or a Service with.
 * Authorised as `pods/proxy` and `services/proxy` with the method's verb.
 */
export function registerProxyRoutes(app: FastifyInstance, options: { api: ApiServer; store: ObjectStore }): void {
  void app.register(async (proxyApp) => {
    // The body goes on to the Pod as it comes: never parsed here.
    proxyApp.removeAllContentTypeParsers();
    proxyApp.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    for (const resource of ['pods', 'services'] as const) {
      const handler = (req: FastifyRequest, reply: FastifyReply) => proxy(resource, req, reply, options);
      proxyApp.all(`/api/v1/namespaces/:ns/${resource}/:name/proxy`, handler);
      proxyApp.all(`/api/v1/namespaces/:ns/${resource}/:name/proxy/*`, handler);
    }
  });
}

/** The verb a proxied request is authorised as, by its method (Kubernetes' request info). */
function proxyVerb(method: string): Verb {
  switch (method) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return 'get';
  }
}

/** `NAME`, `NAME:PORT` or `SCHEME:NAME:PORT` (`https:web:8443`, `web:`): Kubernetes' form. */
function splitSchemeNamePort(id: string): { scheme: 'http' | 'https'; name: string; port: string } {
  const parts = id.split(':');
  const [scheme, name, port] = parts.length === 1 ? ['', parts[0]!, ''] : parts.length === 2 ? ['', parts[0]!, parts[1]!] : parts.length === 3 ? [parts[0]!, parts[1]!, parts[2]!] : ['', '', ''];
  if (name === '' || (scheme !== '' && scheme !== 'http' && scheme !== 'https')) throw new ApiError(400, 'BadRequest', `invalid request ${JSON.stringify(id)}: write NAME, NAME:PORT or SCHEME:NAME:PORT, SCHEME being http or https`);
  return { scheme: scheme === 'https' ? 'https' : 'http', name, port };
}

/** A port of a Pod's containers by its name or number; no port means 80, as for any URL. */
function podPort(pod: KubeObject, port: string): number {
  if (port === '') return 80;
  if (/^\d+$/.test(port)) return Number(port);
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  throw new ApiError(503, 'ServiceUnavailable', `no container of pod ${JSON.stringify(pod.metadata.name)} has a port named ${JSON.stringify(port)}`);
}

/**
 * A ready endpoint of a Service's port (by its name or its number; none names its only port):
 * an address picked at random among the ready ones, and the port its Pods listen on.
 */
function serviceTarget(store: ObjectStore, svc: KubeObject, port: string): { address: string; port: number } {
  const name = svc.metadata.name;
  if (svc.spec?.type === 'ExternalName') throw new ApiError(503, 'ServiceUnavailable', `service ${JSON.stringify(name)} is of type ExternalName: it has no endpoints to proxy to`);
  const ports: { name?: string; port: number }[] = svc.spec?.ports ?? [];
  const byNumber = /^\d+$/.test(port) ? ports.find((p) => p.port === Number(port)) : undefined;
  const portName = byNumber ? (byNumber.name ?? '') : port;
  if (!ports.some((p) => (p.name ?? '') === portName)) throw new ApiError(503, 'ServiceUnavailable', `no service port ${JSON.stringify(port)} found for service ${JSON.stringify(name)}`);
  const endpoints = store.get('Endpoints', svc.metadata.namespace, name);
  const candidates: { address: string; port: number }[] = [];
  const subsets = (endpoints?.subsets ?? []) as { addresses?: { ip: string }[]; ports?: { name?: string; port: number }[] }[];
  for (const subset of subsets) {
    const p = (subset.ports ?? []).find((x) => (x.name ?? '') === portName);
    if (!p) continue;
    for (const a of subset.addresses ?? []) candidates.push({ address: a.ip, port: p.port });
  }
  if (candidates.length === 0) throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service ${JSON.stringify(name)}`);
  return candidates[Math.floor(Math.random() * candidates.length)]!;
}

/** Headers that belong to one connection, or to the caller alone: never passed on. */
const notPassed = new Set(['authorization', 'connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'impersonate-user', 'impersonate-group', 'impersonate-uid']);

function passedOn(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !notPassed.has(k) && !k.startsWith('impersonate-extra-')) out[k] = v;
  return out;
}

function proxy(resource: 'pods' | 'services', req: FastifyRequest, reply: FastifyReply, options: { api: ApiServer; store: ObjectStore }): void {
  const { ns, name: id } = req.params as { ns: string; name: string };
  const namespace = decodeURIComponent(ns);
  let target: { scheme: 'http' | 'https'; address: string; port: number };
  try {
    const { scheme, name, port } = splitSchemeNamePort(decodeURIComponent(id));
    options.api.authorize({ identity: requester(options.api, req.raw), verb: proxyVerb(req.method), apiGroup: '', resource, subresource: 'proxy', namespace, name });
    if (resource === 'pods') {
      const pod = options.store.get('Pod', namespace, name);
      if (!pod) throw new ApiError(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
      const address = pod.status?.podIP;
      if (!address) throw new ApiError(503, 'ServiceUnavailable', `pod ${JSON.stringify(name)} has no IP address yet: is it running?`);
      target = { scheme, address, port: podPort(pod, port) };
    } else {
      const svc = options.store.get('Service', namespace, name);
      if (!svc) throw new ApiError(404, 'NotFound', `services "${name}" not found`, { name, kind: 'services' });
      target = { scheme, ...serviceTarget(options.store, svc, port) };
    }
  } catch (err) {
    return errorReply(err, reply);
  }
  const url = new URL(req.url, 'http://localhost');
  const rest = url.pathname.replace(/^\/api\/v1\/namespaces\/[^/]+\/[^/]+\/[^/]+\/proxy/, '');
  const client = target.scheme === 'https' ? https : http;
  const upstream = client.request({
    host: target.address,
    port: target.port,
    method: req.method,
    path: `${rest === '' ? '/' : rest}${url.search}`,
    headers: { ...passedOn(req.headers), host: `${target.address}:${target.port}`, 'x-forwarded-for': [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ') },
    // Lines ended by a bare line feed (a shell CGI's headers) are read, as Go's client reads them.
    insecureHTTPParser: true,
    // As Kubernetes' proxy does: a Pod's certificate names no one the cluster knows.
    ...(target.scheme === 'https' ? { rejectUnauthorized: false } : {}),
  });
  upstream.on('response', (res) => {
    const headers = passedOn(res.headers);
    reply.hijack();
    reply.raw.writeHead(res.statusCode ?? 502, headers);
    res.pipe(reply.raw);
  });
  upstream.on('error', (err) => {
    if (reply.sent || reply.raw.headersSent) return void reply.raw.destroy();
    errorReply(new ApiError(503, 'ServiceUnavailable', `error trying to reach ${resource === 'pods' ? 'pod' : 'service'}: ${err.message}`), reply);
  });
  // The caller gone, the request to the Pod goes too.
  reply.raw.on('close', () => upstream.destroy());
  req.raw.pipe(upstream);
}
