import type { KubeObject } from '../manifest/types.js';
import { keepServerMetadata } from '../manifest/server-metadata.js';
import type { ApiServer, PropagationPolicy, RequestOptions, Verb, WatchEvent } from './api-server.js';
import { ApiError } from './errors.js';
import type { Identity } from './identity.js';
import type { PatchType } from './patch.js';
import { resolveResourceName, resourceForKind, type Resource } from './resources.js';

/** What a delete may say: how dependents go, and how long a Pod gets to stop (0: at once). */
export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string };
}

export type ApplyResult = 'created' | 'configured' | 'unchanged';

/**
 * The API as its clients see it, whatever carries the request: the in-process adapter for the
 * controllers, apply and sync; the HTTP adapter for the CLI and remote agents.
 */
export interface Client {
  get(kind: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined>;
  list(kind: string, namespace?: string, labelSelector?: string): Promise<KubeObject[]>;
  create(o: KubeObject, options?: RequestOptions): Promise<KubeObject>;
  update(o: KubeObject, options?: RequestOptions): Promise<KubeObject>;
  updateStatus(o: KubeObject): Promise<KubeObject>;
  /** Several status writes; each one's error, or undefined. In-process they share one transaction. */
  updateStatusAll(objects: KubeObject[]): Promise<(Error | undefined)[]>;
  patch(kind: string, namespace: string | undefined, name: string, type: PatchType, patch: unknown, options?: RequestOptions & { subresource?: string }): Promise<KubeObject>;
  /** True when it deleted (or started deleting) the object, false when there was none. */
  delete(kind: string, namespace: string | undefined, name: string, options?: DeleteOptions): Promise<boolean>;
  /** pods/NAME/binding: puts a Pod on a node. */
  bind(namespace: string, pod: string, node: string): Promise<void>;
  /** pods/NAME/eviction: deletes a Pod unless that breaks a disruption budget (then ApiError 429). */
  evict(namespace: string, pod: string): Promise<void>;
  /** serviceaccounts/NAME/token: a token for a ServiceAccount, bound to a Pod's life when one is named. */
  requestToken(namespace: string, serviceAccount: string, pod?: { name: string; uid: string }): Promise<string>;
  /** Creates the object, or replaces it if it exists: `kubectl apply` for one object. */
  apply(o: KubeObject): Promise<ApplyResult>;
  /** As apply, when the caller has read the live object already (undefined: it does not exist). */
  applyKnown(o: KubeObject, current: KubeObject | undefined): Promise<ApplyResult>;
  resource(kind: string): Resource;
}

/** The typed calls, in terms of one `send` that each adapter implements. */
export abstract class BaseClient implements Client {
  protected abstract send(verb: Verb, resource: Resource, namespace: string | undefined, name: string | undefined, subresource: string | undefined, body: unknown, options: RequestOptions): Promise<any>;

  resource(kind: string): Resource {
    const r = resourceForKind(kind) ?? resolveResourceName(kind);
    if (!r) throw new Error(`the server doesn't have a resource type "${kind}"`);
    return r;
  }

  async get(kind: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.send('get', this.resource(kind), namespace, name, undefined, undefined, {});
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  async list(kind: string, namespace?: string, labelSelector?: string): Promise<KubeObject[]> {
    return (await this.send('list', this.resource(kind), namespace, undefined, undefined, undefined, labelSelector ? { labelSelector } : {})).items;
  }

  create(o: KubeObject, options: RequestOptions = {}): Promise<KubeObject> {
    return this.send('create', this.resource(o.kind), o.metadata.namespace, undefined, undefined, o, options);
  }

  update(o: KubeObject, options: RequestOptions = {}): Promise<KubeObject> {
    return this.send('update', this.resource(o.kind), o.metadata.namespace, o.metadata.name, undefined, o, options);
  }

  updateStatus(o: KubeObject): Promise<KubeObject> {
    return this.send('update', this.resource(o.kind), o.metadata.namespace, o.metadata.name, 'status', o, {});
  }

  async updateStatusAll(objects: KubeObject[]): Promise<(Error | undefined)[]> {
    const out: (Error | undefined)[] = [];
    for (const o of objects) out.push(await this.updateStatus(o).then(() => undefined, (err: Error) => err));
    return out;
  }

  patch(kind: string, namespace: string | undefined, name: string, type: PatchType, patch: unknown, options: RequestOptions & { subresource?: string } = {}): Promise<KubeObject> {
    const { subresource, ...rest } = options;
    return this.send('patch', this.resource(kind), namespace, name, subresource, patch, { ...rest, patchType: type });
  }

  async delete(kind: string, namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<boolean> {
    try {
      await this.send('delete', this.resource(kind), namespace, name, undefined, undefined, options);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return false;
      throw err;
    }
  }

  async bind(namespace: string, pod: string, node: string): Promise<void> {
    await this.send('create', this.resource('Pod'), namespace, pod, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: node } }, {});
  }

  async evict(namespace: string, pod: string): Promise<void> {
    await this.send('create', this.resource('Pod'), namespace, pod, 'eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace } }, {});
  }

  async requestToken(namespace: string, serviceAccount: string, pod?: { name: string; uid: string }): Promise<string> {
    const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: pod ? { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.name, uid: pod.uid } } : {} };
    const answer = await this.send('create', this.resource('ServiceAccount'), namespace, serviceAccount, 'token', body, {});
    return answer.status.token;
  }

  async apply(o: KubeObject): Promise<ApplyResult> {
    return this.applyKnown(o, await this.get(o.kind, o.metadata.namespace, o.metadata.name));
  }

  /**
   * Writes `o` over `current` (what was read of it). Someone writing in between (a controller's
   * status, a scale, a create) is met as kubectl apply meets it: the object is read again and the
   * write tried again, up to five times, rather than the apply failing on a write it did not make.
   */
  async applyKnown(o: KubeObject, current: KubeObject | undefined): Promise<ApplyResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!current) {
          await this.create(o);
          return 'created';
        }
        const written = keepServerMetadata(o, current);
        const next = { ...written, metadata: { ...written.metadata, resourceVersion: current.metadata.resourceVersion } };
        const updated = await this.update(next);
        return updated.metadata.resourceVersion === current.metadata.resourceVersion ? 'unchanged' : 'configured';
      } catch (err) {
        const reason = (err as { reason?: string }).reason;
        if (attempt >= 5 || (reason !== 'Conflict' && reason !== 'AlreadyExists')) throw err;
        current = await this.get(o.kind, o.metadata.namespace, o.metadata.name);
      }
    }
  }
}

/** The in-process adapter: calls the pipeline directly, as the identity it was made for. */
export class InProcessClient extends BaseClient {
  constructor(readonly api: ApiServer, readonly identity: Identity) {
    super();
  }

  protected async send(verb: Verb, resource: Resource, namespace: string | undefined, name: string | undefined, subresource: string | undefined, body: unknown, options: RequestOptions): Promise<any> {
    return this.api.handle({ identity: this.identity, verb, resource, namespace, name, subresource, body, options }).body;
  }

  /** One transaction for all of them: one fsync instead of one a write. */
  override async updateStatusAll(objects: KubeObject[]): Promise<(Error | undefined)[]> {
    return this.api.store.batch(() =>
      objects.map((o) => {
        try {
          this.api.handle({ identity: this.identity, verb: 'update', resource: this.resource(o.kind), namespace: o.metadata.namespace, name: o.metadata.name, subresource: 'status', body: o });
          return undefined;
        } catch (err) {
          return err as Error;
        }
      }),
    );
  }

  /** Watches one kind (every namespace) through the pipeline; returns the function that stops it. */
  watch(kind: string, listener: (event: WatchEvent) => void, resourceVersion?: string): () => void {
    return this.api.watch({ identity: this.identity, verb: 'watch', resource: this.resource(kind), options: { resourceVersion: resourceVersion ?? String(this.api.store.resourceVersion()) } }, listener);
  }
}
