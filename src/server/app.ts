import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { ApiServer } from '../api/api-server.js';
import { TokenAuthenticator } from '../api/authenticate.js';
import { ApiError, statusBody, toApiError } from '../api/errors.js';
import { identities, type Identity } from '../api/identity.js';
import type { ObjectStore } from '../store/object-store.js';
import { errorReply, registerApiRoutes, requester } from './api-routes.js';
import type { PodIo } from '../runtime/pod-io.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { acceptWebSocket, offersStreamProtocol, serveAttach, serveExec, streamProtocols } from './pod-streams.js';
import { offersPortForward, portForwardProtocol, servePortForward } from './port-forward.js';
import { registerProxyRoutes } from './proxy.js';
import { createServerMetrics, type ServerMetrics } from './server-metrics.js';
import { registerStatusPage } from './status-page.js';
import type { DiffResult } from '../diff/diff.js';
import type { PlanGraph } from '../apply/plan-graph.js';
import { PreviewError, type Preview } from '../sync/application-controller.js';
import { gitHttpBackend } from '../sync/git-http-backend.js';
import type { HostedRepos } from '../sync/hosted-repos.js';
import { ControllerState } from '../store/controller-state.js';
import { healthChecks, registerHealth } from './health.js';
import { DeliveryLog, matchApplications, readDelivery, verifySignature, type Delivery, type Provider } from '../sync/webhooks.js';

export interface ApiOptions {
  store: ObjectStore;
  /** The pipeline; without it one is made that knows `tokens` as the admin's. */
  api?: ApiServer;
  /** Bearer tokens of the admin user (tests, and the status page's password). */
  tokens: string[];
  /** Serve HTTPS with this certificate and key (PEM); with `ca`, client certificates it signed are accepted. */
  https?: { key: string; cert: string; ca?: string };
  logger?: boolean | object;
  version?: string;
  /** Repositories served for push to deploy, under /git/. */
  hostedRepos?: HostedRepos;
  /** The shared secret of webhooks; without it every webhook is refused. */
  webhookSecret?: string;
  deliveries?: DeliveryLog;
  /** Starts a sync of an Application now (POST /api/v1/applications/NAME/sync). */
  /** Starts a sync; `byHand` (app sync) applies even a revision already applied, putting back drift. */
  syncApplication?: (namespace: string, name: string, byHand: boolean) => void;
  /** Counters the server and its loops add to; /metrics renders them. */
  metrics?: ServerMetrics;
  /** Rollback and resume of Applications. */
  /** The log of one of serve's own components (a Pod of kube-system), or undefined for any other Pod. */
  componentLogs?: (namespace: string, name: string, options: { follow?: boolean; tailLines?: number; sinceSeconds?: number; timestamps?: boolean; limitBytes?: number }) => Readable | undefined;
  applications?: { rollback(namespace: string, name: string, revision?: string): string; resume(namespace: string, name: string): void; drift(namespace: string, name: string): DiffResult | undefined; graph?(namespace: string, name: string): PlanGraph | undefined; preview?(namespace: string, name: string, revision: string | undefined): Promise<Preview> };
  /** The API server's log (a failed health check's reason, which the caller is not told). */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Logs and exec of Pod containers; without it those subresources answer 503. */
  podIo?: PodIo;
}

/** Builds the API server's HTTP edge (without listening), so tests can use inject or listen on port 0. */
export function buildApi(options: ApiOptions): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 4 * 1024 * 1024, ...(options.https ? { https: { key: options.https.key, cert: options.https.cert, ...(options.https.ca ? { ca: options.https.ca, requestCert: true, rejectUnauthorized: false } : {}) } } : {}) }) as unknown as FastifyInstance;
  const { store } = options;
  const api = options.api ?? new ApiServer({ store, authenticator: new TokenAuthenticator(options.tokens.map((token) => ({ token, identity: identities.admin }))) });
  const authenticated = (token: string | undefined): Identity | undefined => {
    try {
      return api.authenticate({ bearerToken: token });
    } catch {
      return undefined;
    }
  };

  app.setErrorHandler((err, _req, reply) => errorReply(err, reply));

  // Health, as Kubernetes' API server answers it to anyone: /healthz (deprecated there), /livez, /readyz.
  registerHealth(app, healthChecks(store), options.log);
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
      const pusher = authenticated(token);
      if (!pusher) {
        return reply.code(401).header('WWW-Authenticate', 'Basic realm="gouvernail"').type('text/plain').send('authentication required: use a token of the kubeconfig as the password\n');
      }
      const [ns, name] = [m?.[1] ?? 'default', m?.[2] ?? ''];
      // Reading the repository needs get on the Application; pushing to it, update.
      const pushing = /git-receive-pack/.test(url.pathname + url.search);
      try {
        api.authorize({ identity: pusher, verb: pushing ? 'update' : 'get', apiGroup: 'gouvernail.io', resource: 'applications', namespace: ns, name });
      } catch (err) {
        return reply.code(403).type('text/plain').send(`${(err as Error).message}\n`);
      }
      const application = m ? store.get('Application', ns, name) : undefined;
      if (!m || !application?.spec?.source?.hosted || !options.hostedRepos) {
        return reply.code(404).type('text/plain').send(`no Application ${ns}/${name} with a hosted source; create one with 'gouvernail app create ${name} --hosted'\n`);
      }
      options.hostedRepos.ensure(ns, name);
      reply.hijack();
      gitHttpBackend(options.hostedRepos.root, `/${ns}/${name}.git${m[3]}`, req.raw, reply.raw, () => options.syncApplication?.(ns, name, false));
    });
  });

  const deliveries = options.deliveries ?? new DeliveryLog(200, new ControllerState(store.db));
  registerStatusPage(
    app,
    store,
    {
      identify: authenticated,
      may: (identity, verb, resource, apiGroup, namespace, name) => {
        try {
          api.authorize({ identity, verb, resource, apiGroup, namespace, name });
          return true;
        } catch {
          return false;
        }
      },
    },
    deliveries,
    options.applications?.drift,
    options.applications?.graph,
  );
  // Gouvernail's own endpoints beside the Kubernetes paths: the same authentication, and the verb
  // on the Application they act on goes through the authorizer.
  const caller = (req: FastifyRequest, verb: string, name?: string, namespace?: string) => {
    const identity = requester(api, req.raw);
    api.authorize({ identity, verb, apiGroup: 'gouvernail.io', resource: 'applications', name, namespace });
    return identity;
  };
  app.get('/api/v1/webhook-deliveries', async (req) => {
    caller(req, 'list');
    return { items: deliveries.list() };
  });
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
      if (!hint.event) return record(400, `refused: the event header is missing (${provider === 'github' ? 'X-GitHub-Event' : provider === 'gitea' ? 'X-Gitea-Event' : 'X-Gitlab-Event'}); send the event as ${provider} does`);
      const base = { event: hint.event, id: hint.id, repository: hint.shown, ref: hint.ref };
      if (deliveries.isDuplicate(provider, hint.id)) return record(200, 'duplicate delivery: already handled, nothing started', base);
      deliveries.markSeen(provider, hint.id);
      if (hint.event === 'ping') return record(200, 'pong', base);
      if (hint.event !== 'push') return record(202, `event ${hint.event} ignored: only push starts a sync`, base);
      // A push starts a sync of automated Applications only; the others wait for 'app sync'.
      const matched = matchApplications(store.list({ kind: 'Application' }).filter((a) => a.spec?.syncPolicy?.automated !== false), hint).map((a) => `${a.metadata.namespace}/${a.metadata.name}`);
      for (const key of matched) {
        const [ns, name] = key.split('/');
        options.syncApplication?.(ns!, name!, false);
      }
      return record(202, matched.length ? `sync started for ${matched.join(', ')}` : `no Application follows ${hint.shown ?? 'this repository'} at ${hint.ref ?? 'this ref'}; nothing started`, { ...base, matched });
    });
  });
  app.post('/api/v1/applications/:name/:action(rollback|resume)', async (req) => {
    const { name, action } = req.params as { name: string; action: string };
    const q = req.query as { namespace?: string; revision?: string };
    caller(req, 'update', name, q.namespace ?? 'default');
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
  // What a revision would change, applying nothing: for a pull request's CI (gouvernail diff --revision).
  app.get('/api/v1/applications/:name/diff', async (req) => {
    const { name } = req.params as { name: string };
    const q = req.query as { namespace?: string; revision?: string };
    caller(req, 'get', name, q.namespace ?? 'default');
    if (!options.applications?.preview) throw new ApiError(503, 'ServiceUnavailable', 'this server runs no application controller');
    try {
      return await options.applications.preview(q.namespace ?? 'default', name, q.revision || undefined);
    } catch (err) {
      if (err instanceof PreviewError) throw new ApiError(err.code, err.code === 404 ? 'NotFound' : err.code === 400 ? 'BadRequest' : err.code === 409 ? 'Conflict' : 'Invalid', err.message);
      throw err;
    }
  });
  app.post('/api/v1/applications/:name/sync', async (req, reply) => {
    const { name } = req.params as { name: string };
    const q = req.query as { namespace?: string };
    caller(req, 'update', name, q.namespace ?? 'default');
    const app_ = store.list({ kind: 'Application', namespace: q.namespace }).find((a) => a.metadata.name === name);
    if (!app_) throw new ApiError(404, 'NotFound', `applications.gouvernail.io "${name}" not found`, { name, group: 'gouvernail.io', kind: 'applications' });
    if (!options.syncApplication) throw new ApiError(503, 'ServiceUnavailable', 'this server runs no application controller');
    options.syncApplication(app_.metadata.namespace!, name, true);
    return reply.code(202).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', message: `sync of ${app_.metadata.namespace}/${name} started`, code: 202 });
  });
  // exec and attach: Kubernetes' channel protocols over WebSocket (v5, else v4), as kubectl 1.30+
  // and `gouvernail exec` speak them (pod-streams.ts).
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const fail = (err: ApiError) => {
      socket.end(`HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify(statusBody(err))}`);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(url.pathname);
      if (!m) return fail(new ApiError(404, 'NotFound', `nothing to upgrade at ${url.pathname}`));
      if (m[3] === 'portforward') {
        if (!offersPortForward(req)) return fail(new ApiError(400, 'BadRequest', `port-forward is served as a WebSocket with the subprotocol ${portForwardProtocol} (kubectl 1.31 or later) or as an upgrade to SPDY/3.1 with portforward.k8s.io (older kubectl); offered: ${String(req.headers.upgrade)} ${String(req.headers['sec-websocket-protocol'] ?? req.headers['x-stream-protocol-version'] ?? '')}`));
        const identity = requester(api, req);
        const [namespace, name] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)];
        api.authorize({ identity, verb: 'create', apiGroup: '', resource: 'pods', subresource: 'portforward', namespace, name });
        const { pod } = podFor({ ns: namespace, name });
        return servePortForward(req, socket, head, pod);
      }
      if (!offersStreamProtocol(req)) return fail(new ApiError(400, 'BadRequest', `upgrade to a WebSocket with the subprotocol ${streamProtocols.join(' or ')} (kubectl 1.30 or later does; older ones speak SPDY, which Gouvernail does not serve)`));
      const identity = requester(api, req);
      const [namespace, name, subresource] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), m[3]! as 'exec' | 'attach'];
      api.authorize({ identity, verb: 'create', apiGroup: '', resource: 'pods', subresource, namespace, name });
      const { pod, io } = podFor({ ns: namespace, name });
      void acceptWebSocket(req, socket, head).then((ws) => (subresource === 'exec' ? serveExec : serveAttach)(ws, { pod, io, url }));
    } catch (err) {
      fail(toApiError(err));
    }
  });
  registerProxyRoutes(app, { api, store });
  registerApiRoutes(app, {
    api,
    version: options.version ?? '0.1.0',
    streams: {
      'pods/log': async (_identity, t, req, reply) => {
        const q = req.query as Record<string, string | undefined>;
        const number = (v: string | undefined) => (v !== undefined && v !== '' ? Number(v) : undefined);
        const own = options.componentLogs?.(t.namespace!, t.name!, { follow: q.follow === 'true', tailLines: number(q.tailLines), sinceSeconds: number(q.sinceSeconds), timestamps: q.timestamps === 'true', limitBytes: number(q.limitBytes) });
        if (own) return reply.type('text/plain').send(own);
        const { pod, io } = podFor({ ns: t.namespace, name: t.name });
        const stream = await io.logs(pod, { container: q.container, follow: q.follow === 'true', tailLines: number(q.tailLines), timestamps: q.timestamps === 'true', sinceSeconds: number(q.sinceSeconds), sinceTime: q.sinceTime, previous: q.previous === 'true', limitBytes: number(q.limitBytes) }).catch((err) => {
          throw badRequest(err);
        });
        return reply.type('text/plain').send(stream);
      },
    },
  });

  return app;
}


