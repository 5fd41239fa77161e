import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { GouvernailError } from '../errors.js';
import { defaultDataDir } from '../server/data-dir.js';
import { resourcePath, resolveResourceName, type Resource } from '../server/resources.js';
import type { KubeObject } from '../manifest/types.js';

export class ApiClientError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
  }
}

/** Finds the kubeconfig as kubectl does: --kubeconfig, then $KUBECONFIG, then gouvernail serve's default. */
export function kubeconfigPath(flag?: string): string {
  return flag ?? process.env.KUBECONFIG?.split(':')[0] ?? path.join(defaultDataDir(), 'kubeconfig');
}

export class ApiClient {
  constructor(readonly server: string, readonly token: string) {}

  static fromKubeconfig(file: string): ApiClient {
    let config: any;
    try {
      config = parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new GouvernailError('UsageError', `cannot read the kubeconfig ${file}: ${(err as Error).message}; start 'gouvernail serve' or pass --kubeconfig`);
    }
    const ctx = config.contexts?.find((c: any) => c.name === config['current-context'])?.context ?? config.contexts?.[0]?.context;
    const cluster = config.clusters?.find((c: any) => c.name === ctx?.cluster)?.cluster;
    const user = config.users?.find((u: any) => u.name === ctx?.user)?.user;
    if (!cluster?.server || !user?.token) throw new GouvernailError('UsageError', `the kubeconfig ${file} has no server or token for its current context`);
    return new ApiClient(cluster.server, user.token);
  }

  async request<T = any>(method: string, urlPath: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.server}${urlPath}`, { method, headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) }, body: body !== undefined ? JSON.stringify(body) : undefined });
    } catch (err) {
      throw new ApiClientError(0, 'Unreachable', `cannot reach the Gouvernail API at ${this.server} (${(err as Error).cause ?? (err as Error).message}); is 'gouvernail serve' running?`);
    }
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new ApiClientError(res.status, json?.reason ?? 'Error', json?.message ?? `HTTP ${res.status}`);
    return json as T;
  }

  /** A streaming GET, for logs -f. */
  async stream(method: string, urlPath: string): Promise<AsyncIterable<Uint8Array>> {
    let res: Response;
    try {
      res = await fetch(`${this.server}${urlPath}`, { method, headers: { authorization: `Bearer ${this.token}` } });
    } catch (err) {
      throw new ApiClientError(0, 'Unreachable', `cannot reach the Gouvernail API at ${this.server}; is 'gouvernail serve' running?`);
    }
    if (!res.ok || !res.body) {
      const json = await res.json().catch(() => undefined);
      throw new ApiClientError(res.status, json?.reason ?? 'Error', json?.message ?? `HTTP ${res.status}`);
    }
    return res.body as unknown as AsyncIterable<Uint8Array>;
  }

  resource(kind: string): Resource {
    const r = resolveResourceName(kind);
    if (!r) throw new Error(`the server doesn't have a resource type "${kind}"`);
    return r;
  }

  async get(kind: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.request('GET', resourcePath(this.resource(kind), namespace, name));
    } catch (err) {
      if (err instanceof ApiClientError && err.status === 404) return undefined;
      throw err;
    }
  }

  async list(kind: string, namespace?: string, labelSelector?: string): Promise<KubeObject[]> {
    const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    return (await this.request('GET', `${resourcePath(this.resource(kind), namespace)}${q}`)).items;
  }

  /** Creates the object, or replaces it if it exists: `kubectl apply` for one object. */
  async apply(o: KubeObject): Promise<'created' | 'configured' | 'unchanged'> {
    return this.applyKnown(o, await this.get(o.kind, o.metadata.namespace, o.metadata.name));
  }

  /** As apply, when the caller has read the live object already (undefined: it does not exist). */
  async applyKnown(o: KubeObject, current: KubeObject | undefined): Promise<'created' | 'configured' | 'unchanged'> {
    const r = this.resource(o.kind);
    if (!current) {
      await this.request('POST', resourcePath(r, o.metadata.namespace), o);
      return 'created';
    }
    // The live status is kept; a conflict means someone wrote in between, and the apply fails.
    const next = { ...o, metadata: { ...o.metadata, resourceVersion: current.metadata.resourceVersion } };
    const updated = await this.request<KubeObject>('PUT', resourcePath(r, o.metadata.namespace, o.metadata.name), next);
    return updated.metadata.resourceVersion === current.metadata.resourceVersion ? 'unchanged' : 'configured';
  }

  async delete(kind: string, namespace: string | undefined, name: string): Promise<boolean> {
    try {
      await this.request('DELETE', resourcePath(this.resource(kind), namespace, name));
      return true;
    } catch (err) {
      if (err instanceof ApiClientError && err.status === 404) return false;
      throw err;
    }
  }
}
