import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { cloneJson } from '../manifest/clone.js';
import { matchesSelector } from '../manifest/selector.js';
import type { KubeObject } from '../manifest/types.js';
import type { ObjectStore } from '../store/object-store.js';
import { admit } from './admission.js';
import { apiVersionOf, findResource, type Resource } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError, statusBody, toApiError } from './status.js';
import type { PodIo } from '../runtime/pod-io.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { channel, frame, frameReader, upgradeProtocol } from './exec-protocol.js';
import { createServerMetrics, type ServerMetrics } from './server-metrics.js';
import { registerStatusPage } from './status-page.js';
import type { DiffResult } from '../diff/diff.js';
import { gitHttpBackend } from '../sync/git-http-backend.js';
import type { HostedRepos } from '../sync/hosted-repos.js';
import { DeliveryLog, matchApplications, readDelivery, verifySignature, type Delivery, type Provider } from '../sync/webhooks.js';

export interface ApiOptions {
  store: ObjectStore;
  /** Bearer tokens accepted; a request with none of them is refused. */
  tokens: string[];
  logger?: boolean | object;
  version?: string;
  /** Repositories served for push to deploy, under /git/. */
  hostedRepos?: HostedRepos;
  /** The shared secret of webhooks; without it every webhook is refused. */
  webhookSecret?: string;
  deliveries?: DeliveryLog;
  /** Starts a sync of an Application now (POST /api/v1/applications/NAME/sync). */
  syncApplication?: (namespace: string, name: string) => void;
  /** Counters the server and its loops add to; /metrics renders them. */
  metrics?: ServerMetrics;
  /** Rollback and resume of Applications. */
  applications?: { rollback(namespace: string, name: string, revision?: string): string; resume(namespace: string, name: string): void; drift(namespace: string, name: string): DiffResult | undefined };
  /** Logs and exec of Pod containers; without it those subresources answer 503. */
  podIo?: PodIo;
}

interface Target {
  resource: Resource;
  namespace?: string;
  name?: string;
}

/** Builds the API server (without listening), so tests can use inject or listen on port 0. */
export function buildApi(options: ApiOptions): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 4 * 1024 * 1024 });
  const { store } = options;
  const tokens = options.tokens.map((t) => Buffer.from(t));

  for (const type of ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
  }

  app.setErrorHandler((err, _req, reply) => {
    const code = (err as { statusCode?: number }).statusCode;
    const apiErr = !(err instanceof ApiError) && code && code < 500 ? new ApiError(code, 'BadRequest', (err as Error).message) : toApiError(err);
    void reply.code(apiErr.code).type('application/json').send(statusBody(apiErr));
  });

  const authorized = (header: string | undefined): boolean => {
    const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
    const given = m ? Buffer.from(m[1]!.trim()) : undefined;
    return !!given && tokens.some((t) => t.length === given.length && timingSafeEqual(t, given));
  };

  app.addHook('onRequest', async (req) => {
    if (req.url === '/healthz' || req.url === '/readyz' || req.url === '/version' || req.url === '/metrics' || isPage(req.url) || req.url.startsWith('/api/webhooks/') || req.url.startsWith('/git/')) return;
    if (!authorized(req.headers.authorization)) {
      throw new ApiError(401, 'Unauthorized', 'Unauthorized: send a bearer token (see the kubeconfig written by gouvernail serve)');
    }
  });

  app.get('/healthz', async () => 'ok');
  const metrics = options.metrics ?? createServerMetrics();
  app.get('/metrics', async (_req, reply) => {
    const byStatus = new Map<string, number>();
    for (const a of store.list({ kind: 'Application' })) {
      const key = `${a.status?.sync?.status ?? 'Unknown'}/${a.status?.health?.status ?? 'Unknown'}`;
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
    }
    const gauges = [
      { name: 'gouvernail_applications', help: 'Applications by sync and health status.', values: [...byStatus].map(([k, v]) => [{ sync: k.split('/')[0]!, health: k.split('/')[1]! }, v] as [Record<string, string>, number]) },
      { name: 'gouvernail_sync_queue_depth', help: 'Syncs running or waiting to run again.', values: [[{}, metrics.queueDepth()]] as [Record<string, string>, number][] },
      { name: 'gouvernail_store_resource_version', help: 'The latest resourceVersion of the store.', values: [[{}, store.resourceVersion()]] as [Record<string, string>, number][] },
    ];
    return reply.type('text/plain; version=0.0.4').send(metrics.registry.render(gauges));
  });
  app.get('/readyz', async () => 'ok');
  app.get('/version', async () => ({ major: '1', minor: '32', gitVersion: `v1.32.0-gouvernail.${options.version ?? '0.1.0'}`, gitCommit: '0', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'node', compiler: 'gc', platform: 'linux/amd64' }));

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const target = parseTarget(req.url);
    const query = req.query as Record<string, string | undefined>;
    switch (req.method) {
      case 'GET':
        if (target.name) return getOne(target);
        if (query.watch === 'true' || query.watch === '1') return watch(target, query, req, reply);
        return list(target, query);
      case 'POST': {
        if (target.name) throw new ApiError(405, 'MethodNotAllowed', 'POST goes to the collection, without a name');
        const o = admit(target.resource, req.body, target.namespace);
        if (o.kind === 'Service') allocateNodePorts(store, o);
        return reply.code(201).send(store.create(o));
      }
      case 'PUT': {
        if (!target.name) throw new ApiError(405, 'MethodNotAllowed', 'PUT needs a name');
        const o = admit(target.resource, req.body, target.namespace, target.name);
        const current = store.get(target.resource.kind, target.namespace, target.name);
        if (!current) throw notFound(target);
        if (o.status === undefined && current.status !== undefined) o.status = current.status;
        if (o.kind === 'Service') allocateNodePorts(store, o, current);
        return store.update(o);
      }
      case 'PATCH': {
        if (!target.name) throw new ApiError(405, 'MethodNotAllowed', 'PATCH needs a name');
        const current = store.get(target.resource.kind, target.namespace, target.name);
        if (!current) throw notFound(target);
        const type = String(req.headers['content-type'] ?? '');
        if (type.startsWith('application/json-patch+json')) throw new ApiError(415, 'UnsupportedMediaType', 'JSON patch is not supported; send a merge patch (application/merge-patch+json)');
        const patched = mergePatch(cloneJson(current), req.body) as KubeObject;
        const { status, metadata } = patched;
        const o = admit(target.resource, { ...patched, metadata: { ...metadata } }, target.namespace, target.name);
        o.status = status;
        return store.update(o);
      }
      case 'DELETE': {
        if (!target.name) throw new ApiError(405, 'MethodNotAllowed', 'DELETE needs a name');
        const body = req.body as { preconditions?: { resourceVersion?: string } } | undefined;
        const deleted = store.delete(target.resource.kind, target.namespace, target.name, body?.preconditions?.resourceVersion);
        if (!deleted) throw notFound(target);
        return deleted;
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', `${req.method} is not supported`);
    }
  };
  const podFor = (params: unknown) => {
    const { ns, name } = params as { ns: string; name: string };
    const pod = store.get('Pod', ns, name);
    if (!pod) throw new ApiError(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
    if (!options.podIo) throw new ApiError(503, 'ServiceUnavailable', 'this server runs no node; logs and exec are not available');
    return { pod, io: options.podIo };
  };
  const badRequest = (err: unknown) => new ApiError(400, 'BadRequest', (err as Error).message);
  // Push to deploy: git's smart HTTP, by git http-backend, for Applications with source.hosted.
  void app.register(async (gitApp) => {
    gitApp.removeAllContentTypeParsers();
    gitApp.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    gitApp.all('/git/*', async (req, reply) => {
      const url = new URL(req.url, 'http://localhost');
      const m = /^\/git\/(?:([^/]+)\/)?([^/]+)\.git(\/.*)$/.exec(url.pathname);
      const header = req.headers.authorization ?? '';
      const basic = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : undefined;
      const token = basic !== undefined ? basic.slice(basic.indexOf(':') + 1) : header.replace(/^Bearer\s+/i, '');
      if (!authorized(`Bearer ${token}`)) {
        return reply.code(401).header('WWW-Authenticate', 'Basic realm="gouvernail"').type('text/plain').send('authentication required: use the admin token of the kubeconfig as the password\n');
      }
      const [ns, name] = [m?.[1] ?? 'default', m?.[2] ?? ''];
      const application = m ? store.get('Application', ns, name) : undefined;
      if (!m || !application?.spec?.source?.hosted || !options.hostedRepos) {
        return reply.code(404).type('text/plain').send(`no Application ${ns}/${name} with a hosted source; create one with 'gouvernail app create ${name} --hosted'\n`);
      }
      options.hostedRepos.ensure(ns, name);
      reply.hijack();
      gitHttpBackend(options.hostedRepos.root, `/${ns}/${name}.git${m[3]}`, req.raw, reply.raw, () => options.syncApplication?.(ns, name));
    });
  });

  const deliveries = options.deliveries ?? new DeliveryLog();
  if (options.tokens[0]) registerStatusPage(app, store, options.tokens[0], deliveries, options.applications?.drift);
  app.get('/api/v1/webhook-deliveries', async () => ({ items: deliveries.list() }));
  void app.register(async (hooks) => {
    // Signatures are over the raw body, so it stays a Buffer here.
    hooks.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded'], { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
    hooks.post('/api/webhooks/:provider', { bodyLimit: 1024 * 1024 }, async (req, reply) => {
      const provider = (req.params as { provider: string }).provider as Provider;
      if (!['github', 'gitlab', 'gitea'].includes(provider)) throw new ApiError(404, 'NotFound', `no webhook for ${provider}; use github, gitlab or gitea`);
      const record = (status: number, outcome: string, extra: Partial<Delivery> = {}) => {
        metrics.webhookDelivery({ provider, result: String(status) });
        deliveries.record({ at: new Date().toISOString(), provider, event: '', id: '', status, outcome, matched: [], ...extra });
        return reply.code(status).send({ status, outcome, ...(extra.matched ? { matched: extra.matched } : {}) });
      };
      if (!options.webhookSecret) return record(403, 'refused: no webhook secret is configured (serve --webhook-secret-file FILE or $GOUVERNAIL_WEBHOOK_SECRET)');
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (!verifySignature(provider, options.webhookSecret, body, req.headers)) return record(401, 'refused: the signature is missing or wrong');
      let payload: unknown;
      try {
        const text = body.toString('utf8');
        payload = String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded') ? JSON.parse(new URLSearchParams(text).get('payload') ?? '{}') : JSON.parse(text);
      } catch {
        return record(400, 'refused: the body is not JSON');
      }
      const hint = readDelivery(provider, req.headers, payload);
      const base = { event: hint.event, id: hint.id, repository: hint.shown, ref: hint.ref };
      if (deliveries.isDuplicate(provider, hint.id)) return record(200, 'duplicate delivery: already handled, nothing started', base);
      deliveries.markSeen(provider, hint.id);
      if (hint.event === 'ping') return record(200, 'pong', base);
      if (hint.event !== 'push') return record(202, `event ${hint.event} ignored: only push starts a sync`, base);
      // A push starts a sync of automated Applications only; the others wait for 'app sync'.
      const matched = matchApplications(store.list({ kind: 'Application' }).filter((a) => a.spec?.syncPolicy?.automated !== false), hint).map((a) => `${a.metadata.namespace}/${a.metadata.name}`);
      for (const key of matched) {
        const [ns, name] = key.split('/');
        options.syncApplication?.(ns!, name!);
      }
      return record(202, matched.length ? `sync started for ${matched.join(', ')}` : `no Application follows ${hint.shown ?? 'this repository'} at ${hint.ref ?? 'this ref'}; nothing started`, { ...base, matched });
    });
  });
  app.post('/api/v1/applications/:name/:action(rollback|resume)', async (req) => {
    const { name, action } = req.params as { name: string; action: string };
    const q = req.query as { namespace?: string; revision?: string };
    const found = store.list({ kind: 'Application', namespace: q.namespace }).find((a) => a.metadata.name === name);
    if (!found) throw new ApiError(404, 'NotFound', `applications.gouvernail.io "${name}" not found`, { name, group: 'gouvernail.io', kind: 'applications' });
    if (!options.applications) throw new ApiError(503, 'ServiceUnavailable', 'this server runs no application controller');
    try {
      if (action === 'resume') {
        options.applications.resume(found.metadata.namespace!, name);
        return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', message: `${name} follows its branch again`, code: 200 };
      }
      const revision = options.applications.rollback(found.metadata.namespace!, name, q.revision);
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', message: `${name} rolled back to ${revision}; it stays there until a new commit arrives or 'gouvernail app resume ${name}'`, code: 200 };
    } catch (err) {
      throw new ApiError(409, 'Conflict', (err as Error).message);
    }
  });
  app.post('/api/v1/applications/:name/sync', async (req, reply) => {
    const { name } = req.params as { name: string };
    const q = req.query as { namespace?: string };
    const app_ = store.list({ kind: 'Application', namespace: q.namespace }).find((a) => a.metadata.name === name);
    if (!app_) throw new ApiError(404, 'NotFound', `applications.gouvernail.io "${name}" not found`, { name, group: 'gouvernail.io', kind: 'applications' });
    if (!options.syncApplication) throw new ApiError(503, 'ServiceUnavailable', 'this server runs no application controller');
    options.syncApplication(app_.metadata.namespace!, name);
    return reply.code(202).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', message: `sync of ${app_.metadata.namespace}/${name} started`, code: 202 });
  });
  app.get('/api/v1/namespaces/:ns/pods/:name/log', async (req, reply) => {
    const { pod, io } = podFor(req.params);
    const q = req.query as Record<string, string | undefined>;
    const stream = await io.logs(pod, { container: q.container, follow: q.follow === 'true', tailLines: q.tailLines ? Number(q.tailLines) : undefined, timestamps: q.timestamps === 'true' }).catch((err) => {
      throw badRequest(err);
    });
    return reply.type('text/plain').send(stream);
  });
  // exec: an HTTP upgrade to Gouvernail's framed protocol (exec-protocol.ts), so stdin, a TTY and
  // the exit code all pass. (kubectl's WebSocket exec is not served yet.)
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const fail = (err: ApiError) => {
      socket.end(`HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify(statusBody(err))}`);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
      if (!m || String(req.headers.upgrade).toLowerCase() !== upgradeProtocol) return fail(new ApiError(404, 'NotFound', `nothing to upgrade at ${url.pathname}`));
      if (!authorized(req.headers.authorization)) return fail(new ApiError(401, 'Unauthorized', 'Unauthorized: send a bearer token'));
      const { pod, io } = podFor({ ns: decodeURIComponent(m[1]!), name: decodeURIComponent(m[2]!) });
      const command = url.searchParams.getAll('command');
      if (command.length === 0) return fail(new ApiError(400, 'BadRequest', 'name the command: ?command=sh&command=-c...'));
      const tty = url.searchParams.get('tty') === 'true';
      const stdin = url.searchParams.get('stdin') === 'true';
      io.execStream(pod, { container: url.searchParams.get('container') ?? undefined, command, stdin, tty }).then(
        (exec) => {
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${upgradeProtocol}\r\nConnection: Upgrade\r\n\r\n`);
          exec.stdout.on('data', (b: Buffer) => socket.write(frame(channel.stdout, b)));
          exec.stderr.on('data', (b: Buffer) => socket.write(frame(channel.stderr, b)));
          socket.on('data', frameReader((ch, payload) => {
            if (ch === channel.stdin && stdin) exec.write(payload);
            else if (ch === channel.stdinClose && stdin) exec.closeStdin();
            else if (ch === channel.resize) {
              const [cols, rows] = payload.toString().split(',').map(Number);
              if (cols && rows) void exec.resize(cols, rows);
            }
          }));
          socket.on('close', () => exec.abort());
          socket.on('error', () => exec.abort());
          void exec.done.then((code) => socket.end(frame(channel.exit, String(code))));
        },
        (err: Error) => fail(new ApiError(400, 'BadRequest', err.message)),
      );
    } catch (err) {
      fail(toApiError(err));
    }
  });
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/api/*', handler });
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/apis/*', handler });

  function getOne(t: Target): KubeObject {
    const o = store.get(t.resource.kind, t.namespace, t.name!);
    if (!o) throw notFound(t);
    return o;
  }

  function selectorFilter(query: Record<string, string | undefined>): (o: KubeObject) => boolean {
    try {
      const labels = query.labelSelector ? parseLabelSelector(query.labelSelector) : undefined;
      const fields = query.fieldSelector ? parseFieldSelector(query.fieldSelector) : undefined;
      return (o) => (!fields || fields(o)) && (!labels || matchesSelector(labels, o.metadata.labels ?? {}));
    } catch (err) {
      throw new ApiError(400, 'BadRequest', (err as Error).message);
    }
  }

  function list(t: Target, query: Record<string, string | undefined>) {
    const filter = selectorFilter(query);
    const rv = store.resourceVersion();
    const items = store.list({ kind: t.resource.kind, namespace: t.resource.namespaced ? t.namespace : undefined }).filter(filter);
    return { kind: `${t.resource.kind}List`, apiVersion: apiVersionOf(t.resource), metadata: { resourceVersion: String(rv) }, items };
  }

  function watch(t: Target, query: Record<string, string | undefined>, req: FastifyRequest, reply: FastifyReply) {
    const filter = selectorFilter(query);
    const inScope = (o: KubeObject) => o.kind === t.resource.kind && (!t.resource.namespaced || !t.namespace || o.metadata.namespace === t.namespace) && filter(o);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    const send = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
    let from: number;
    if (query.resourceVersion && query.resourceVersion !== '0') {
      from = Number(query.resourceVersion);
      if (!Number.isInteger(from) || from < 0) {
        send('ERROR', statusBody(new ApiError(400, 'BadRequest', `resourceVersion ${query.resourceVersion} is not a number`)));
        return res.end();
      }
    } else {
      from = store.resourceVersion();
      for (const o of store.list({ kind: t.resource.kind, namespace: t.resource.namespaced ? t.namespace : undefined })) if (inScope(o)) send('ADDED', o);
    }
    let stop: () => void = () => {};
    try {
      stop = store.watch(from, (change) => {
        if (inScope(change.object)) send(change.type, change.object);
      });
    } catch (err) {
      send('ERROR', statusBody(toApiError(err)));
      return res.end();
    }
    const timeout = Number(query.timeoutSeconds ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const heartbeat = setInterval(() => res.write(''), 30_000);
    req.raw.on('close', () => {
      stop();
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
    });
  }

  return app;
}

/** The status page's paths, which answer to Basic authentication instead of a bearer token. */
function isPage(url: string): boolean {
  const path = url.split('?')[0]!;
  return path === '/' || path === '/events' || path.startsWith('/applications/');
}

function notFound(t: Target): ApiError {
  const what = t.resource.group ? `${t.resource.plural}.${t.resource.group}` : t.resource.plural;
  return new ApiError(404, 'NotFound', `${what} "${t.name}" not found`, { name: t.name, group: t.resource.group || undefined, kind: t.resource.plural });
}

/** `/api/v1/namespaces/NS/pods/NAME`, `/apis/apps/v1/deployments`, ... */
function parseTarget(url: string): Target {
  const path = url.split('?')[0]!;
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group = '';
  let version: string | undefined;
  let rest: string[];
  if (parts[0] === 'api') {
    version = parts[1];
    rest = parts.slice(2);
  } else {
    group = parts[1] ?? '';
    version = parts[2];
    rest = parts.slice(3);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = version ? findResource(group, version, rest[0] ?? '') : undefined;
  if (!resource || rest.length > 2) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${path})`);
  if (!resource.namespaced && namespace) throw new ApiError(404, 'NotFound', `${resource.plural} are cluster-scoped and have no namespace`);
  return { resource, namespace, name: rest[1] };
}

/**
 * NodePort Services get a free port of 30000-32767 where they name none, keeping the one they had;
 * a port another Service holds is refused.
 */
function allocateNodePorts(store: ObjectStore, service: KubeObject, current?: KubeObject): void {
  if (service.spec.type !== 'NodePort' && service.spec.type !== 'LoadBalancer') return;
  const self = `${service.metadata.namespace}/${service.metadata.name}`;
  const taken = new Set<number>();
  for (const s of store.list({ kind: 'Service' })) {
    if (`${s.metadata.namespace}/${s.metadata.name}` === self) continue;
    for (const p of s.spec.ports ?? []) if (p.nodePort) taken.add(p.nodePort);
  }
  service.spec.ports.forEach((p: { nodePort?: number; port: number }, i: number) => {
    if (p.nodePort) {
      if (taken.has(p.nodePort)) throw new ApiError(422, 'Invalid', `Service "${service.metadata.name}" is invalid: spec.ports[${i}].nodePort: ${p.nodePort} is already allocated to another Service`);
      return;
    }
    const kept = current?.spec?.ports?.find((c: { port: number; nodePort?: number }) => c.port === p.port)?.nodePort;
    let port = kept ?? 30000;
    while (taken.has(port)) port++;
    if (port > 32767) throw new ApiError(422, 'Invalid', 'no NodePort is free in 30000-32767');
    p.nodePort = port;
    taken.add(port);
  });
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}
