import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { RequestOptions, Verb } from './api-server.js';
import { BaseClient } from './client.js';
import { ApiError } from './errors.js';
import { patchContentTypes } from './patch.js';
import { resourcePath, type Resource } from './resources.js';

const methods: Record<Verb, string> = { get: 'GET', list: 'GET', watch: 'GET', create: 'POST', update: 'PUT', patch: 'PATCH', delete: 'DELETE', deletecollection: 'DELETE' };
const patchTypes = Object.fromEntries(Object.entries(patchContentTypes).map(([type, name]) => [name, type]));

export interface HttpClientOptions {
  /** PEM of the CA that signed the server's certificate (the kubeconfig's certificate-authority-data). */
  ca?: string;
  /** A client certificate and its key (PEM), instead of a token. */
  cert?: string;
  key?: string;
}

/** The HTTP adapter: the same calls as the in-process client, over Kubernetes' REST paths. */
export class HttpClient extends BaseClient {
  private readonly agent: http.Agent;

  constructor(readonly server: string, readonly token: string, readonly options: HttpClientOptions = {}) {
    super();
    this.agent = server.startsWith('https:') ? new https.Agent({ ca: options.ca, cert: options.cert, key: options.key, keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  protected async send(verb: Verb, resource: Resource, namespace: string | undefined, name: string | undefined, subresource: string | undefined, body: unknown, options: RequestOptions): Promise<any> {
    const query = new URLSearchParams();
    if (options.dryRun) query.set('dryRun', 'All');
    if (options.fieldManager) query.set('fieldManager', options.fieldManager);
    if (options.fieldValidation) query.set('fieldValidation', options.fieldValidation);
    if (options.force) query.set('force', 'true');
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    if (options.propagationPolicy) query.set('propagationPolicy', options.propagationPolicy);
    if (options.gracePeriodSeconds !== undefined) query.set('gracePeriodSeconds', String(options.gracePeriodSeconds));
    const q = query.toString();
    const path = `${resourcePath(resource, namespace, name, subresource)}${q ? `?${q}` : ''}`;
    const type = verb === 'patch' ? patchTypes[options.patchType ?? 'merge'] : 'application/json';
    // A delete's preconditions travel in its DeleteOptions body, as kubectl sends them.
    if (verb === 'delete' && body === undefined && options.preconditions) body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: options.preconditions };
    return this.request(methods[verb], path, body, type);
  }

  /** One request; a non-2xx answer is thrown as the ApiError its Status body describes. */
  async request<T = any>(method: string, urlPath: string, body?: unknown, contentType = 'application/json', accept = 'application/json'): Promise<T> {
    const res = await this.open(method, urlPath, body, contentType, accept);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if ((res.statusCode ?? 500) >= 300) throw new ApiError(res.statusCode ?? 500, json?.reason ?? 'Error', json?.message ?? (text.trim() || `HTTP ${res.statusCode}`), json?.details);
    return json as T;
  }

  /** A streaming GET (logs -f, watch): the response body as it arrives. */
  async stream(urlPath: string): Promise<Readable> {
    const res = await this.open('GET', urlPath, undefined, 'application/json', '*/*');
    if ((res.statusCode ?? 500) >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const json = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      throw new ApiError(res.statusCode ?? 500, json.reason ?? 'Error', json.message ?? `HTTP ${res.statusCode}`);
    }
    return res;
  }

  /** Options for a raw request to this server (exec's upgrade), with the CA and the token. */
  requestOptions(): { agent: http.Agent; headers: Record<string, string> } {
    return { agent: this.agent, headers: this.token ? { authorization: `Bearer ${this.token}` } : {} };
  }

  private open(method: string, urlPath: string, body: unknown, contentType: string, accept: string): Promise<http.IncomingMessage> {
    const url = new URL(urlPath, this.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, agent: this.agent, headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), accept, ...(payload ? { 'content-type': contentType, 'content-length': String(payload.length) } : {}) } }, resolve);
      req.on('error', (err) => reject(new ApiError(0, 'Unreachable', `cannot reach the Gouvernail API at ${this.server} (${(err as { code?: string }).code ?? err.message}); is 'gouvernail serve' running?`)));
      req.end(payload);
    });
  }
}

