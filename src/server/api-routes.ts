import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parse as parseYaml } from 'yaml';
import type { ApiServer, PropagationPolicy, RequestOptions, Verb, WatchEvent } from '../api/api-server.js';
import { aggregatedContentType, aggregatedDiscovery, apiGroupList, apiResourceList, apiVersions, negotiateDiscovery, versionInfo } from '../api/discovery.js';
import { ApiError, statusBody, toApiError } from '../api/errors.js';
import type { Identity } from '../api/identity.js';
import { impersonationOf } from '../api/impersonate.js';
import { openApiV2, openApiV2Protobuf, openApiV3Index } from '../api/openapi.js';
import { patchContentTypes } from '../api/patch.js';
import { decodeProtobufBody } from '../api/protobuf-body.js';
import { findResource, type Resource } from '../api/resources.js';
import { toTable, type IncludeObject } from '../api/tables.js';
import type { FieldValidation } from '../api/admission.js';
import type { Credentials } from '../api/authenticate.js';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { KubeObject } from '../manifest/types.js';

/** A request's path, read as Kubernetes lays it out. */
export interface Target {
  resource: Resource;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** `/api/v1/namespaces/NS/pods/NAME/status`, `/apis/apps/v1/deployments`, ... */
export function parseTarget(pathname: string): Target {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
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
  // namespaces/NS/pods... names a namespace; namespaces/NS/status is the Namespace's subresource.
  if (rest[0] === 'namespaces' && rest.length >= 3 && findResource(group, version ?? '', rest[2]!)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = version ? findResource(group, version, rest[0] ?? '') : undefined;
  if (!resource || rest.length > 3) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${pathname})`);
  if (!resource.namespaced && namespace) throw new ApiError(404, 'NotFound', `${resource.plural} are cluster-scoped and have no namespace`);
  return { resource, namespace, name: rest[1], subresource: rest[2] };
}

const wantsTable = (accept: string | undefined) => /as=Table/.test(accept ?? '');

/**
 * Who a request acts as: the identity its credentials prove (401 without), or the one it
 * impersonates (kubectl --as, --as-group) when that identity may (403 otherwise).
 */
export function requester(api: ApiServer, req: IncomingMessage): Identity {
  return api.actingAs(api.authenticate(credentialsOf(req.headers.authorization, req.socket)), impersonationOf(req.rawHeaders));
}

export function credentialsOf(header: string | undefined, socket?: unknown): Credentials {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (m) return { bearerToken: m[1]!.trim() };
  // Without a token, a client certificate the TLS layer verified against the cluster CA.
  const tlsSocket = socket as TLSSocket | undefined;
  if (tlsSocket?.authorized && typeof tlsSocket.getPeerCertificate === 'function') {
    const subject = tlsSocket.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
    const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    const commonName = list(subject?.CN)[0];
    if (commonName) return { certificate: { commonName, organizations: list(subject?.O) } };
  }
  return {};
}

function optionsOf(query: Record<string, string | undefined>, contentType: string | undefined, userAgent: string | undefined): RequestOptions {
  const fv = query.fieldValidation;
  if (fv !== undefined && !['Strict', 'Warn', 'Ignore'].includes(fv)) throw new ApiError(400, 'BadRequest', `fieldValidation must be Strict, Warn or Ignore, not ${JSON.stringify(fv)}`);
  if (query.dryRun !== undefined && query.dryRun !== 'All') throw new ApiError(400, 'BadRequest', `dryRun must be All, not ${JSON.stringify(query.dryRun)}`);
  const limit = query.limit !== undefined ? Number(query.limit) : undefined;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new ApiError(400, 'BadRequest', `limit must be a non-negative integer, not ${JSON.stringify(query.limit)}`);
  const grace = query.gracePeriodSeconds !== undefined ? Number(query.gracePeriodSeconds) : undefined;
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) throw new ApiError(400, 'BadRequest', `gracePeriodSeconds must be a non-negative integer, not ${JSON.stringify(query.gracePeriodSeconds)}`);
  const type = contentType?.split(';')[0]!.trim();
  return {
    dryRun: query.dryRun === 'All',
    fieldManager: query.fieldManager,
    userAgentManager: userAgent?.split('/')[0]!.trim().slice(0, 128),
    fieldValidation: fv as FieldValidation | undefined,
    force: query.force === 'true',
    labelSelector: query.labelSelector,
    fieldSelector: query.fieldSelector,
    limit,
    continue: query.continue,
    resourceVersion: query.resourceVersion,
    propagationPolicy: query.propagationPolicy as PropagationPolicy | undefined,
    gracePeriodSeconds: grace,
    patchType: type ? patchContentTypes[type] : undefined,
  };
}

function verbOf(method: string, t: Target, query: Record<string, string | undefined>): Verb {
  switch (method) {
    case 'GET':
      if (t.name) return 'get';
      return query.watch === 'true' || query.watch === '1' ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return t.name ? 'delete' : 'deletecollection';
    default:
      throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported`);
  }
}

export interface ApiRoutesOptions {
  api: ApiServer;
  version: string;
  /** Streams served beside the pipeline (pods/NAME/log); called after authorization. */
  streams?: Record<string, (identity: Identity, target: Target, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>>;
  /** Seconds between BOOKMARK events of a watch that asks for them. */
  bookmarkSeconds?: number;
}

/** The HTTP edge of the API: Kubernetes' paths, content negotiation, discovery, OpenAPI, watch streams. */
export function registerApiRoutes(app: FastifyInstance, options: ApiRoutesOptions): void {
  const { api } = options;
  const identify = (req: FastifyRequest) => requester(api, req.raw);

  for (const type of ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (err) {
        done(new ApiError(400, 'BadRequest', `the body is not JSON: ${(err as Error).message}`), undefined);
      }
    });
  }
  app.addContentTypeParser(['application/apply-patch+yaml', 'application/yaml'], { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseYaml(body as string, { maxAliasCount: 100 }));
    } catch (err) {
      done(new ApiError(400, 'BadRequest', `the body is not YAML: ${(err as Error).message}`), undefined);
    }
  });

  // kubectl's typed clients (auth can-i, auth whoami, create namespace ...) send protobuf bodies.
  app.addContentTypeParser('application/vnd.kubernetes.protobuf', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, decodeProtobufBody(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.get('/version', async () => versionInfo(options.version));

  const discovery = (core: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    identify(req);
    const kind = negotiateDiscovery(req.headers.accept);
    if (kind !== 'legacy') return reply.type(aggregatedContentType(kind)).send(JSON.stringify(aggregatedDiscovery(core, kind)));
    return core ? apiVersions(req.headers.host ?? '127.0.0.1') : apiGroupList();
  };
  app.get('/api', discovery(true));
  app.get('/apis', discovery(false));
  app.get('/api/v1', async (req) => (identify(req), apiResourceList('', 'v1')));
  app.get('/apis/:group', async (req) => {
    identify(req);
    const group = apiGroupList().groups.find((g) => g.name === (req.params as { group: string }).group);
    if (!group) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return { kind: 'APIGroup', apiVersion: 'v1', ...group };
  });
  app.get('/apis/:group/:version', async (req) => {
    identify(req);
    const { group, version } = req.params as { group: string; version: string };
    const list = apiResourceList(group, version);
    if (!list) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return list;
  });
  app.get('/openapi/v3', async (req) => (identify(req), openApiV3Index().index));
  app.get('/openapi/v3/*', async (req, reply) => {
    identify(req);
    const key = (req.params as { '*': string })['*'];
    const doc = openApiV3Index().docs.get(key);
    if (!doc) throw new ApiError(404, 'NotFound', `no OpenAPI document for ${key}`);
    return reply.type('application/json').header('Cache-Control', 'public, immutable').send(doc.body);
  });
  app.get('/openapi/v2', async (req, reply) => {
    identify(req);
    if (/protobuf/.test(req.headers.accept ?? '')) return reply.type('application/com.github.proto-openapi.spec.v2@v1.0+protobuf').send(openApiV2Protobuf());
    return reply.type('application/json').send(openApiV2());
  });

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const identity = identify(req);
    const url = new URL(req.url, 'http://localhost');
    const target = parseTarget(url.pathname);
    const query = Object.fromEntries(url.searchParams) as Record<string, string | undefined>;
    const stream = target.subresource ? options.streams?.[`${target.resource.plural}/${target.subresource}`] : undefined;
    if (stream) {
      api.authorize({ identity, verb: 'get', apiGroup: target.resource.group, resource: target.resource.plural, subresource: target.subresource, namespace: target.namespace, name: target.name });
      return stream(identity, target, req, reply);
    }
    const verb = verbOf(req.method, target, query);
    const opts = optionsOf(query, req.headers['content-type'], req.headers['user-agent']);
    if (verb === 'patch' && !opts.patchType) throw new ApiError(415, 'UnsupportedMediaType', `the body of a PATCH must be one of ${Object.keys(patchContentTypes).join(', ')}`);
    const request = { identity, verb, resource: target.resource, namespace: target.namespace, name: target.name, subresource: target.subresource, body: req.body ?? undefined, options: opts };
    if (verb === 'watch') return watch(request, query, req, reply);
    const res = api.handle(request);
    if (res.warnings.length > 0) void reply.header('Warning', res.warnings.map((w) => `299 - ${JSON.stringify(w)}`));
    let body = res.body;
    if (wantsTable(req.headers.accept) && (verb === 'list' || verb === 'get') && !target.subresource) {
      const include = (query.includeObject as IncludeObject | undefined) ?? 'Metadata';
      body = verb === 'list' ? toTable(target.resource.kind, res.body.items, { includeObject: include, resourceVersion: res.body.metadata.resourceVersion, continue: res.body.metadata.continue }) : toTable(target.resource.kind, [res.body], { includeObject: include, resourceVersion: res.body.metadata.resourceVersion });
    }
    return reply.code(res.code).send(body);
  };

  function watch(request: Parameters<ApiServer['watch']>[0], query: Record<string, string | undefined>, req: FastifyRequest, reply: FastifyReply) {
    const table = wantsTable(req.headers.accept);
    const include = (query.includeObject as IncludeObject | undefined) ?? 'Metadata';
    const events: WatchEvent[] = [];
    let res: typeof reply.raw | undefined;
    const send = (e: WatchEvent) => {
      const object = table && e.type !== 'ERROR' && e.type !== 'BOOKMARK' ? toTable(request.resource.kind, [e.object as KubeObject], { includeObject: include, resourceVersion: (e.object as KubeObject).metadata.resourceVersion }) : e.object;
      const line = `${JSON.stringify({ type: e.type, object })}\n`;
      if (res) res.write(line);
      else events.push(e);
      if (e.type === 'ERROR') res?.end();
    };
    // Authorization and a bad resourceVersion fail before the stream starts, as a Status.
    const stop = api.watch(request, send);
    reply.hijack();
    res = reply.raw;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    // Sent now, not with the first event: client-go cannot cancel a watch whose answer has not begun
    // (kubectl run --rm waited for the 30 s heartbeat after its Pod had completed).
    res.flushHeaders();
    for (const e of events.splice(0)) send(e);
    const timeout = Number(query.timeoutSeconds ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res!.end(), timeout * 1000) : undefined;
    const bookmarks = query.allowWatchBookmarks === 'true' ? setInterval(() => send(api.bookmark(request.resource)), (options.bookmarkSeconds ?? 60) * 1000) : undefined;
    const heartbeat = setInterval(() => res!.write(''), 30_000);
    res.on('close', () => {
      stop();
      clearInterval(heartbeat);
      if (bookmarks) clearInterval(bookmarks);
      if (timer) clearTimeout(timer);
    });
  }

  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/api/*', handler });
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/apis/*', handler });
}

export function errorReply(err: unknown, reply: FastifyReply): void {
  const code = (err as { statusCode?: number }).statusCode;
  const apiErr = !(err instanceof ApiError) && code && code < 500 ? new ApiError(code, code === 415 ? 'UnsupportedMediaType' : 'BadRequest', (err as Error).message) : toApiError(err);
  void reply.code(apiErr.code).type('application/json').send(statusBody(apiErr));
}
