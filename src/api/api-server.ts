import { randomUUID } from 'node:crypto';
import { cloneJson } from '../manifest/clone.js';
import { matchesSelector } from '../manifest/selector.js';
import { formatPath, type KubeObject } from '../manifest/types.js';
import { ConversionError } from '../manifest/older-versions.js';
import type { Change, ObjectStore } from '../store/object-store.js';
import { credentialsSecretType } from '../runtime/docker-connection.js';
import type { ServiceAccountTokens } from './service-account-tokens.js';
import { clusterIPAllocation } from './cluster-ip.js';
import { admit, defaultAdmission, type AdmissionPlugin, type FieldValidation } from './admission.js';
import { unauthorized, type Authenticator, type Credentials } from './authenticate.js';
import { allowAll, forbiddenMessage, type Attributes, type Authorizer } from './authorize.js';
import { budgetRefusing } from './disruption.js';
import { impersonate, type Impersonation } from './impersonate.js';
import { ApiError, toApiError } from './errors.js';
import { recordUpdate, serverSideApply } from './field-managers.js';
import { defaultFieldManager, isSystemComponent, type Identity } from './identity.js';
import { jsonPatch, mergePatch, strategicMergePatch, type PatchType } from './patch.js';
import { apiVersionOf, qualifiedName, type Resource } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface RequestOptions {
  dryRun?: boolean;
  fieldManager?: string;
  /**
   * The manager of a write that names none, from its client's User-Agent as Kubernetes derives it
   * (`kubectl/v1.32.0 (linux/amd64) ...` is "kubectl"); else the writer's identity names it.
   */
  userAgentManager?: string;
  fieldValidation?: FieldValidation;
  force?: boolean;
  patchType?: PatchType;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  propagationPolicy?: PropagationPolicy;
  /** DELETE: how long a Pod's containers get to stop (0: at once, without waiting for its node). */
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** One request, as every client makes it: kubectl over HTTP, a controller in-process. */
export interface ApiRequest {
  identity: Identity;
  verb: Verb;
  resource: Resource;
  namespace?: string;
  name?: string;
  subresource?: string;
  body?: unknown;
  options?: RequestOptions;
}

export interface ApiResponse {
  code: number;
  body: any;
  warnings: string[];
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: any;
}

/** One request as the audit log records it. */
export interface AuditEntry {
  time: string;
  /** Who made the request. */
  user: string;
  groups: string[];
  /** Whom it acted as, when it impersonated someone (kubectl --as). */
  impersonatedUser?: { user: string; groups: string[] };
  verb: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  code: number;
  dryRun?: boolean;
  /** What admission noted for the audit (Pod Security's audit level). */
  annotations?: Record<string, string>;
}

export interface ApiServerOptions {
  store: ObjectStore;
  /** Signs the tokens of serviceaccounts/NAME/token (TokenRequest). */
  serviceAccountTokens?: ServiceAccountTokens;
  /** Called once a request is answered; Gouvernail's components' reads are left out (they are most of them). */
  audit?: (entry: AuditEntry) => void;
  authenticator: Authenticator;
  authorizer?: Authorizer;
  admission?: AdmissionPlugin[];
  /** The range Services' cluster IPs are allocated from (--service-cluster-ip-range). */
  serviceClusterIPRange?: string;
  now?: () => Date;
  /**
   * Read-only objects the server shows but does not store (serve's own components, as Pods of
   * kube-system): listed and read like the others; a write to one is 405.
   */
  virtualObjects?: (kind: string, namespace: string | undefined) => KubeObject[];
}

/** Fields of ObjectMeta Kubernetes leaves out when empty. */
const emptiedMetadata = ['labels', 'annotations', 'finalizers', 'ownerReferences'] as const;

/**
 * The API server as a library: every request, from any client, passes authorization, mutating
 * and validating admission, field management and the store, in this one place. Synchronous, so a
 * write and what it read happen in one SQLite transaction.
 */
export class ApiServer {
  readonly store: ObjectStore;
  private readonly authenticator: Authenticator;
  private readonly authorizer: Authorizer;
  private readonly admission: AdmissionPlugin[];
  private readonly now: () => Date;

  constructor(options: ApiServerOptions) {
    this.store = options.store;
    this.authenticator = options.authenticator;
    this.authorizer = options.authorizer ?? allowAll;
    this.admission = options.admission ?? (options.serviceClusterIPRange ? defaultAdmission.map((p) => (p.name === 'ClusterIPAllocation' ? clusterIPAllocation(options.serviceClusterIPRange) : p)) : defaultAdmission);
    this.now = options.now ?? (() => new Date());
    this.audit = options.audit;
    this.tokens = options.serviceAccountTokens;
    this.virtual = options.virtualObjects ?? (() => []);
  }

  private readonly virtual: NonNullable<ApiServerOptions['virtualObjects']>;

  private virtualNamed(r: ApiRequest): KubeObject | undefined {
    if (!r.name) return undefined;
    return this.virtual(r.resource.kind, r.resource.namespaced ? r.namespace : undefined).find((o) => o.metadata.name === r.name);
  }

  private readonly tokens?: ServiceAccountTokens;

  /** serviceaccounts/NAME/token: a TokenRequest, answered with a signed token for the ServiceAccount. */
  private tokenRequest(r: ApiRequest): ApiResponse {
    const sa = this.current(r);
    if (!this.tokens) throw new ApiError(503, 'ServiceUnavailable', 'this server signs no ServiceAccount tokens');
    const spec = ((r.body as { spec?: { expirationSeconds?: number; boundObjectRef?: { kind?: string; name?: string; uid?: string } } } | undefined)?.spec) ?? {};
    const bound = spec.boundObjectRef?.kind === 'Pod' && spec.boundObjectRef.name ? this.store.get('Pod', sa.metadata.namespace, spec.boundObjectRef.name) : undefined;
    if (spec.boundObjectRef?.kind === 'Pod' && (!bound || (spec.boundObjectRef.uid && bound.metadata.uid !== spec.boundObjectRef.uid))) throw new ApiError(404, 'NotFound', `pods "${spec.boundObjectRef.name}" not found`);
    const seconds = bound ? undefined : Math.max(600, Math.min(spec.expirationSeconds ?? 3600, 86400 * 365));
    const exp = seconds ? Math.floor(this.now().getTime() / 1000) + seconds : undefined;
    const token = this.tokens.issue({ ns: sa.metadata.namespace!, sa: sa.metadata.name, uid: sa.metadata.uid!, ...(exp ? { exp } : {}), ...(bound ? { pod: { name: bound.metadata.name, uid: bound.metadata.uid! } } : {}) });
    return { code: 201, warnings: [], body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name: sa.metadata.name, namespace: sa.metadata.namespace, creationTimestamp: null }, spec: { audiences: ['https://kubernetes.default.svc'], ...spec }, status: { token, expirationTimestamp: new Date(exp ? exp * 1000 : Date.UTC(9999, 0)).toISOString() } } };
  }

  private readonly audit?: (entry: AuditEntry) => void;

  private record(r: ApiRequest, code: number, annotations: Record<string, string> = {}): void {
    if (!this.audit || (isSystemComponent(r.identity) && ['get', 'list', 'watch'].includes(r.verb))) return;
    const group = r.resource.group;
    const by = r.identity.impersonatedBy;
    const who = by ? { user: by.user, groups: by.groups, impersonatedUser: { user: r.identity.user, groups: r.identity.groups } } : { user: r.identity.user, groups: r.identity.groups };
    this.audit({ time: this.now().toISOString(), ...who, verb: r.verb, resource: group ? `${r.resource.plural}.${group}` : r.resource.plural, ...(r.subresource ? { subresource: r.subresource } : {}), ...(r.namespace ? { namespace: r.namespace } : {}), ...(r.name ? { name: r.name } : {}), code, ...(r.options?.dryRun ? { dryRun: true } : {}), ...(Object.keys(annotations).length ? { annotations } : {}) });
  }

  /** The identity proven by the credentials; 401 when they prove none. */
  authenticate(credentials: Credentials): Identity {
    const identity = this.authenticator.authenticate(credentials);
    if (!identity) throw unauthorized();
    return identity;
  }

  /** The identity a request acts as: the requester's own, or the one it may impersonate (kubectl --as). */
  actingAs(requester: Identity, asked: Impersonation | undefined): Identity {
    return asked ? impersonate(requester, asked, (a) => this.authorize(a)) : requester;
  }

  /** Throws 403 unless the identity may do this. */
  authorize(attributes: Attributes): void {
    const decision = this.authorizer.authorize(attributes);
    if (!decision.allowed) throw new ApiError(403, 'Forbidden', forbiddenMessage(attributes, decision.reason), { name: attributes.name, group: attributes.apiGroup || undefined, kind: attributes.resource });
  }

  handle(request: ApiRequest): ApiResponse {
    let code = 500;
    this.auditNotes = {};
    try {
      const response = this.serve(request);
      code = response.code;
      if (request.resource.conversion) return { ...response, body: presented(request.resource, response.body) };
      return request.resource.kind === 'Secret' ? { ...response, body: hideWriteOnly(response.body) } : response;
    } catch (err) {
      code = err instanceof ApiError ? err.code : toApiError(err).code;
      throw err;
    } finally {
      this.record(request, code, this.auditNotes);
    }
  }

  /** The audit notes of the request being served (requests are served one at a time: handle is synchronous). */
  private auditNotes: Record<string, string> = {};

  private serve(request: ApiRequest): ApiResponse {
    const r = request;
    this.authorize({ identity: r.identity, verb: r.verb, apiGroup: r.resource.group, resource: r.resource.plural, subresource: r.subresource, namespace: r.resource.namespaced ? r.namespace : undefined, name: r.name });
    if (r.subresource && !r.resource.subresources.some((s) => s.name === r.subresource)) {
      throw new ApiError(404, 'NotFound', `${qualifiedName(r.resource)} has no subresource ${r.subresource}`);
    }
    const warnings: string[] = [];
    if (!['get', 'list'].includes(r.verb) && this.virtualNamed(r)) {
      throw new ApiError(405, 'MethodNotAllowed', `${r.resource.plural} "${r.name}" is part of gouvernail serve itself and is read-only: it runs while serve runs (restart serve to restart it; its log is 'kubectl logs -n ${r.namespace} ${r.name}')`);
    }
    try {
      if (r.verb === 'get') return { code: 200, body: this.getObject(r), warnings };
      if (r.verb === 'list') return { code: 200, body: this.listObjects(r), warnings };
      // A write and what it read land in one transaction.
      return this.store.batch(() => {
        switch (r.verb) {
          case 'create':
            return this.create(r, warnings);
          case 'update':
            return this.update(r, r.body, warnings);
          case 'patch':
            return this.patch(r, warnings);
          case 'delete':
            return this.delete(r, warnings);
          case 'deletecollection': {
            for (const o of this.select(r)) this.delete({ ...r, verb: 'delete', name: o.metadata.name, namespace: o.metadata.namespace }, warnings);
            return { code: 200, body: success(), warnings };
          }
          default:
            throw new ApiError(405, 'MethodNotAllowed', `${r.verb} is not served here`);
        }
      });
    } catch (err) {
      throw toApiError(err);
    }
  }

  /**
   * Streams changes of the request's scope to `listener`: from `resourceVersion` when given, else
   * the present objects as ADDED first. A resourceVersion the change feed no longer holds is an
   * ERROR event with 410 Gone, as Kubernetes sends it.
   */
  watch(request: ApiRequest, listener: (event: WatchEvent) => void): () => void {
    const r = request;
    try {
      this.authorize({ identity: r.identity, verb: 'watch', apiGroup: r.resource.group, resource: r.resource.plural, namespace: r.resource.namespaced ? r.namespace : undefined, name: r.name });
    } catch (err) {
      this.record(r, 403);
      throw err;
    }
    this.record(r, 200);
    const filter = this.filter(r);
    const inScope = (o: KubeObject) => o.kind === r.resource.kind && (!r.resource.namespaced || !r.namespace || o.metadata.namespace === r.namespace) && (!r.name || o.metadata.name === r.name) && filter(o);
    const given = r.options?.resourceVersion;
    let from: number;
    if (given && given !== '0') {
      from = Number(given);
      if (!Number.isInteger(from) || from < 0) throw new ApiError(400, 'BadRequest', `resourceVersion ${JSON.stringify(given)} is not a number`);
    } else {
      from = this.store.resourceVersion();
      for (const o of this.select(r)) listener({ type: 'ADDED', object: presented(r.resource, hideWriteOnly(o)) });
    }
    try {
      return this.store.watch(from, (c: Change) => {
        if (inScope(c.object)) listener({ type: c.type, object: presented(r.resource, hideWriteOnly(c.object)) });
      });
    } catch (err) {
      const e = toApiError(err);
      listener({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.code === 410 ? `too old resource version: ${from} (${this.store.resourceVersion()})` : e.message, reason: e.code === 410 ? 'Expired' : e.reason, code: e.code } });
      return () => {};
    }
  }

  /** A BOOKMARK event's object: only the kind and the latest resourceVersion. */
  bookmark(resource: Resource): WatchEvent {
    return { type: 'BOOKMARK', object: { kind: resource.kind, apiVersion: apiVersionOf(resource), metadata: { resourceVersion: String(this.store.resourceVersion()) } } };
  }

  private current(r: ApiRequest): KubeObject {
    const o = this.store.get(r.resource.kind, r.resource.namespaced ? r.namespace : undefined, r.name!) ?? this.virtualNamed(r);
    if (!o) throw notFound(r.resource, r.name!);
    return o;
  }

  private getObject(r: ApiRequest): KubeObject {
    if (!r.name) throw new ApiError(405, 'MethodNotAllowed', 'get needs a name');
    const o = this.current(r);
    return r.subresource === 'scale' ? toScale(o) : o;
  }

  private filter(r: ApiRequest): (o: KubeObject) => boolean {
    try {
      const labels = r.options?.labelSelector ? parseLabelSelector(r.options.labelSelector) : undefined;
      const fields = r.options?.fieldSelector ? parseFieldSelector(r.options.fieldSelector) : undefined;
      return (o) => (!fields || fields(o)) && (!labels || matchesSelector(labels, o.metadata.labels ?? {}));
    } catch (err) {
      throw new ApiError(400, 'BadRequest', (err as Error).message);
    }
  }

  private select(r: ApiRequest): KubeObject[] {
    const filter = this.filter(r);
    const namespace = r.resource.namespaced ? r.namespace : undefined;
    const stored = this.store.list({ kind: r.resource.kind, namespace });
    const shown = this.virtual(r.resource.kind, namespace);
    if (shown.length === 0) return stored.filter(filter);
    const where = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    return [...stored, ...shown].filter(filter).sort((a, b) => (where(a) < where(b) ? -1 : where(a) > where(b) ? 1 : 0));
  }

  private listObjects(r: ApiRequest) {
    let items = this.select(r);
    let resourceVersion = String(this.store.resourceVersion());
    const token = r.options?.continue;
    if (token) {
      const position = decodeContinue(token);
      resourceVersion = position.rv;
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > position.after);
    }
    const limit = r.options?.limit ?? 0;
    let next: string | undefined;
    let remaining: number | undefined;
    if (limit > 0 && items.length > limit) {
      remaining = items.length - limit;
      items = items.slice(0, limit);
      const last = items[items.length - 1]!;
      next = Buffer.from(JSON.stringify({ rv: resourceVersion, after: `${last.metadata.namespace ?? ''}/${last.metadata.name}` })).toString('base64url');
    }
    return { kind: `${r.resource.kind}List`, apiVersion: apiVersionOf(r.resource), metadata: { resourceVersion, ...(next ? { continue: next, remainingItemCount: remaining } : {}) }, items };
  }

  /** Checks the body names the same kind, name and namespace as the path, filling in what it omits. */
  private decode(r: ApiRequest, body: unknown): KubeObject {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'BadRequest', 'the request body must be a JSON object');
    const o = cloneJson(body) as KubeObject;
    const res = r.resource;
    o.apiVersion ??= apiVersionOf(res);
    o.kind ??= res.kind;
    if (o.kind !== res.kind) throw new ApiError(400, 'BadRequest', `the body is a ${o.kind}, but the path is for ${res.plural}`);
    if (o.apiVersion !== apiVersionOf(res)) throw new ApiError(400, 'BadRequest', `${res.kind} is served as ${apiVersionOf(res)}, not ${o.apiVersion}`);
    if (!o.metadata || typeof o.metadata !== 'object') o.metadata = { name: r.name ?? '' };
    if (r.name !== undefined && o.metadata.name !== undefined && o.metadata.name !== r.name) throw new ApiError(400, 'BadRequest', `the name in the body (${o.metadata.name}) does not match the name in the path (${r.name})`);
    if (r.name !== undefined) o.metadata.name = r.name;
    if (res.namespaced) {
      if (o.metadata.namespace && r.namespace && o.metadata.namespace !== r.namespace) {
        throw new ApiError(400, 'BadRequest', `the namespace of the object (${o.metadata.namespace}) does not match the namespace in the path (${r.namespace})`);
      }
      o.metadata.namespace = r.namespace ?? o.metadata.namespace ?? 'default';
    } else {
      delete o.metadata.namespace;
    }
    if (o.metadata.creationTimestamp === null) delete o.metadata.creationTimestamp;
    // An empty map or list of metadata is no field at all, as Kubernetes writes it (omitempty):
    // kubectl diff's dry run sends `annotations: {}`, which must not read as a change.
    for (const f of emptiedMetadata) {
      const v = o.metadata[f];
      if (v !== null && typeof v === 'object' && Object.keys(v).length === 0) delete o.metadata[f];
    }
    return res.conversion ? toStored(res, o) : o;
  }

  private admit(r: ApiRequest, operation: 'CREATE' | 'UPDATE', object: KubeObject, oldObject: KubeObject | undefined, warnings: string[]): void {
    admit(this.admission, { identity: r.identity, operation, resource: r.resource, subresource: r.subresource, object, oldObject, fieldValidation: r.options?.fieldValidation ?? 'Warn', dryRun: r.options?.dryRun ?? false, store: this.store, warnings, auditNotes: this.auditNotes });
  }

  private manager(r: ApiRequest): string {
    return r.options?.fieldManager ?? (r.options?.userAgentManager || defaultFieldManager(r.identity));
  }

  private create(r: ApiRequest, warnings: string[]): ApiResponse {
    if (r.subresource === 'binding') return this.bind(r);
    if (r.subresource === 'eviction') return this.evict(r, warnings);
    if (r.subresource === 'token' && r.resource.kind === 'ServiceAccount') return this.tokenRequest(r);
    if (r.resource.virtual) return { code: 201, body: this.review(r), warnings };
    if (r.name && !r.subresource) throw new ApiError(405, 'MethodNotAllowed', 'POST goes to the collection, without a name');
    const o = this.decode({ ...r, name: undefined }, r.body);
    // The server names an object's uid (a copied manifest's old one is not kept).
    delete o.metadata.uid;
    if (!o.metadata.name && !o.metadata.generateName) throw new ApiError(422, 'Invalid', `${r.resource.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    this.admit(r, 'CREATE', o, undefined, warnings);
    recordUpdate(undefined, o, this.manager(r), storedSchema(r.resource), this.now().toISOString());
    return { code: 201, body: this.persistCreate(r, o), warnings };
  }

  /** Stores a new object (its managedFields already set), or says what it would be under dryRun. */
  private persistCreate(r: ApiRequest, o: KubeObject): KubeObject {
    if (this.store.get(o.kind, o.metadata.namespace, o.metadata.name)) throw alreadyExists(r.resource, o.metadata.name);
    delete o.metadata.resourceVersion;
    delete o.metadata.deletionTimestamp;
    if (r.options?.dryRun) return { ...o, metadata: { ...o.metadata, uid: randomUUID(), creationTimestamp: this.now().toISOString(), generation: 1 } };
    return this.store.create(o);
  }

  private update(r: ApiRequest, body: unknown, warnings: string[]): ApiResponse {
    if (!r.name) throw new ApiError(405, 'MethodNotAllowed', 'PUT needs a name');
    const current = this.current(r);
    let o: KubeObject;
    if (r.subresource === 'status') {
      const given = this.decode(r, body);
      o = { ...cloneJson(current), status: given.status, metadata: { ...cloneJson(current.metadata), resourceVersion: given.metadata.resourceVersion } };
    } else if (r.subresource === 'scale') {
      o = fromScale(current, body);
    } else if (r.subresource === 'resize') {
      o = fromResize(current, this.decode(r, body));
    } else if (r.subresource === 'ephemeralcontainers') {
      o = fromEphemeral(current, this.decode(r, body));
    } else {
      o = this.decode(r, body);
      if (r.resource.subresources.some((s) => s.name === 'status')) o.status = cloneJson(current.status);
      else if (o.status === undefined && current.status !== undefined) o.status = cloneJson(current.status);
    }
    this.admit(r, 'UPDATE', o, current, warnings);
    return { code: 200, body: this.persistUpdate(r, current, o), warnings };
  }

  private persistUpdate(r: ApiRequest, current: KubeObject, o: KubeObject): KubeObject {
    const now = this.now().toISOString();
    // What the server owns is kept: identity, creation, and a deletion once it started.
    o.metadata.uid = current.metadata.uid;
    o.metadata.creationTimestamp = current.metadata.creationTimestamp;
    if (current.metadata.deletionTimestamp) o.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
    else delete o.metadata.deletionTimestamp;
    if (o.metadata.resourceVersion === '') delete o.metadata.resourceVersion;
    recordUpdate(current, o, this.manager(r), storedSchema(r.resource), now, r.subresource);
    if (r.options?.dryRun) {
      if (o.metadata.resourceVersion !== undefined && o.metadata.resourceVersion !== current.metadata.resourceVersion) throw conflict(r.resource, current);
      return { ...o, metadata: { ...o.metadata, resourceVersion: current.metadata.resourceVersion } };
    }
    // A Pod whose node is still stopping its containers stays when its last finalizer goes: the
    // node deletes it once they have stopped (as the kubelet's final delete).
    if (o.metadata.deletionTimestamp && !pendingFinalizers(o) && !this.nodeStillStopping(o)) {
      if (o.metadata.resourceVersion !== undefined && o.metadata.resourceVersion !== current.metadata.resourceVersion) throw conflict(r.resource, current);
      this.store.delete(o.kind, o.metadata.namespace, o.metadata.name);
      return o;
    }
    return r.subresource === 'scale' ? toScale(this.store.update(o)) : this.store.update(o);
  }

  private patch(r: ApiRequest, warnings: string[]): ApiResponse {
    if (!r.name) throw new ApiError(405, 'MethodNotAllowed', 'PATCH needs a name');
    const type = r.options?.patchType ?? 'merge';
    if (type === 'apply') return this.apply(r, warnings);
    const current = this.current(r);
    const schema = r.subresource === 'scale' ? undefined : r.resource.info.schema;
    // A patch applies to the object as the client sees it: the Scale, or the version it asked for.
    const base: unknown = r.subresource === 'scale' ? toScale(current) : r.resource.conversion ? r.resource.conversion.fromStored(current) : current;
    const patched = (type === 'json' ? jsonPatch(base, r.body) : type === 'strategic' ? strategicMergePatch(base, r.body, schema) : mergePatch(base, r.body)) as KubeObject;
    const given = (r.body as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
    if (patched?.metadata && type !== 'json' && given === undefined) delete patched.metadata.resourceVersion;
    return this.update(r, patched, warnings);
  }

  private apply(r: ApiRequest, warnings: string[]): ApiResponse {
    const manager = r.options?.fieldManager;
    if (!manager) throw new ApiError(400, 'BadRequest', 'PATCH, application/apply-patch+yaml: fieldManager is required for apply requests');
    if (r.subresource) throw new ApiError(400, 'BadRequest', 'server-side apply is served on the object itself, not on a subresource');
    const applied = this.decode(r, r.body);
    const current = this.store.get(r.resource.kind, applied.metadata.namespace, applied.metadata.name);
    const now = this.now().toISOString();
    const merged = serverSideApply(current, applied, manager, r.options?.force ?? false, storedSchema(r.resource), now);
    const managed = merged.metadata.managedFields;
    if (!current) {
      this.admit(r, 'CREATE', merged, undefined, warnings);
      merged.metadata.managedFields = managed;
      return { code: 201, body: this.persistCreate(r, merged), warnings };
    }
    merged.status = cloneJson(current.status);
    if (merged.status === undefined) delete merged.status;
    delete merged.metadata.resourceVersion;
    this.admit(r, 'UPDATE', merged, current, warnings);
    merged.metadata.managedFields = managed;
    merged.metadata.uid = current.metadata.uid;
    merged.metadata.creationTimestamp = current.metadata.creationTimestamp;
    if (r.options?.dryRun) return { code: 200, body: { ...merged, metadata: { ...merged.metadata, resourceVersion: current.metadata.resourceVersion } }, warnings };
    return { code: 200, body: this.store.update(merged), warnings };
  }

  private delete(r: ApiRequest, warnings: string[]): ApiResponse {
    if (!r.name) throw new ApiError(405, 'MethodNotAllowed', 'DELETE needs a name');
    const current = this.current(r);
    const body = (r.body ?? {}) as { propagationPolicy?: PropagationPolicy; preconditions?: { uid?: string; resourceVersion?: string }; orphanDependents?: boolean; gracePeriodSeconds?: number };
    const pre = { ...body.preconditions, ...r.options?.preconditions };
    if (pre.uid && pre.uid !== current.metadata.uid) throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
    if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) throw conflict(r.resource, current);
    const policy: PropagationPolicy = r.options?.propagationPolicy ?? body.propagationPolicy ?? (body.orphanDependents ? 'Orphan' : 'Background');
    if (!['Background', 'Foreground', 'Orphan'].includes(policy)) throw new ApiError(400, 'BadRequest', `propagationPolicy ${JSON.stringify(policy)} is not Background, Foreground or Orphan`);
    const grace = r.options?.gracePeriodSeconds ?? body.gracePeriodSeconds;
    if (grace !== undefined && !(Number.isInteger(grace) && grace >= 0)) throw new ApiError(400, 'BadRequest', `gracePeriodSeconds must be a non-negative integer, not ${JSON.stringify(grace)}`);
    if (r.options?.dryRun) return { code: 200, body: current, warnings };
    const podGrace = current.kind === 'Pod' ? this.podGrace(current, grace) : 0;
    if (current.metadata.deletionTimestamp) {
      // A Pod already stopping may be let go at once (kubectl delete --force --grace-period=0, or
      // its node, once its containers have stopped); while finalizers hold it, that is recorded,
      // and it goes with the last of them.
      if (current.kind === 'Pod' && podGrace === 0 && pendingFinalizers(current)) {
        if (current.metadata.deletionGracePeriodSeconds === 0) return { code: 200, body: current, warnings };
        return { code: 200, body: this.store.update({ ...current, metadata: { ...current.metadata, deletionGracePeriodSeconds: 0 } }), warnings };
      }
      // A second delete with a shorter grace period shortens the wait (kubectl delete --now on a Pod
      // already Terminating): the deadline moves to the first delete's time plus the new period.
      const given = Number(current.metadata.deletionGracePeriodSeconds ?? 0);
      if (current.kind === 'Pod' && grace !== undefined && podGrace > 0 && podGrace < given) {
        const asked = Date.parse(current.metadata.deletionTimestamp) - given * 1000;
        const deletionTimestamp = new Date(asked + podGrace * 1000).toISOString();
        return { code: 200, body: this.store.update({ ...current, metadata: { ...current.metadata, deletionTimestamp, deletionGracePeriodSeconds: podGrace } }), warnings };
      }
      if (current.kind !== 'Pod' || podGrace > 0 || pendingFinalizers(current)) return { code: current.kind === 'Pod' ? 200 : 202, body: current, warnings };
      this.store.delete(current.kind, current.metadata.namespace, current.metadata.name);
      return { code: 200, body: current, warnings };
    }
    const now = this.now();
    const terminating = cloneJson(current);
    terminating.metadata.deletionTimestamp = new Date(now.getTime() + podGrace * 1000).toISOString();
    terminating.metadata.deletionGracePeriodSeconds = podGrace;
    if (r.resource.kind === 'Namespace') {
      // A Namespace goes Terminating; the namespace controller empties it, then it goes.
      terminating.spec = { ...terminating.spec, finalizers: ['kubernetes'] };
      terminating.status = { ...terminating.status, phase: 'Terminating' };
      return { code: 200, body: this.store.update(terminating), warnings };
    }
    if (policy === 'Orphan') this.orphanDependents(current);
    if (policy === 'Foreground') {
      terminating.metadata.finalizers = [...new Set([...(terminating.metadata.finalizers ?? []), 'foregroundDeletion'])];
      return { code: 200, body: this.store.update(terminating), warnings };
    }
    // A Pod stays, Terminating, while its node stops its containers; the node deletes it then.
    if (podGrace > 0 || pendingFinalizers(current)) return { code: 200, body: this.store.update(terminating), warnings };
    this.store.delete(current.kind, current.metadata.namespace, current.metadata.name);
    return { code: 200, body: success({ name: current.metadata.name, group: r.resource.group || undefined, kind: r.resource.plural, uid: current.metadata.uid }), warnings };
  }

  /**
   * How long a deleted Pod is given to stop: what the request says, else its
   * terminationGracePeriodSeconds (30 by default). 0 when there is nothing to wait for: no node
   * runs it (never scheduled, or its Node is gone) or it has finished; its node's agent removes
   * whatever containers are left.
   */
  private podGrace(pod: KubeObject, requested: number | undefined): number {
    if (!pod.spec?.nodeName || !this.store.get('Node', undefined, pod.spec.nodeName)) return 0;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return 0;
    return requested ?? pod.spec.terminationGracePeriodSeconds ?? 30;
  }

  /** A deleted Pod given time to stop, whose node has not said its containers are gone. */
  private nodeStillStopping(o: KubeObject): boolean {
    return o.kind === 'Pod' && Number(o.metadata.deletionGracePeriodSeconds ?? 0) > 0 && this.podGrace(o, undefined) > 0;
  }

  /** Orphan propagation: dependents lose their reference to the owner and stay. */
  private orphanDependents(owner: KubeObject): void {
    for (const o of this.store.list({ namespace: owner.metadata.namespace })) {
      const refs = o.metadata.ownerReferences ?? [];
      if (!refs.some((ref) => ref.uid === owner.metadata.uid)) continue;
      const next = refs.filter((ref) => ref.uid !== owner.metadata.uid);
      const updated = { ...o, metadata: { ...o.metadata, ownerReferences: next.length ? next : undefined } };
      if (!next.length) delete updated.metadata.ownerReferences;
      this.store.update(updated);
    }
  }

  /** The reviews a client asks about itself: who it is (whoami), what it may do (can-i). */
  private review(r: ApiRequest) {
    const body = this.decode({ ...r, name: undefined }, r.body ?? {}) as KubeObject & { spec?: any };
    const base = { apiVersion: apiVersionOf(r.resource), kind: r.resource.kind, metadata: { creationTimestamp: null }, ...(body.spec ? { spec: body.spec } : {}) };
    const identity = r.identity;
    switch (r.resource.kind) {
      case 'SelfSubjectReview':
        return { ...base, status: { userInfo: { username: identity.user, groups: identity.groups } } };
      case 'SelfSubjectAccessReview': {
        const ra = body.spec?.resourceAttributes;
        if (ra) {
          const decision = this.authorizer.authorize({ identity, verb: ra.verb ?? 'get', apiGroup: ra.group ?? '', resource: ra.resource ?? '', subresource: ra.subresource || undefined, namespace: ra.namespace || undefined, name: ra.name || undefined });
          return { ...base, status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) } };
        }
        const na = body.spec?.nonResourceAttributes ?? {};
        const rules = this.authorizer.rulesFor?.(identity) ?? [{ nonResourceURLs: ['*'], verbs: ['*'] }];
        const allowed = rules.some((rule) => (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === na.path || (u.endsWith('*') && String(na.path).startsWith(u.slice(0, -1)))) && (rule.verbs.includes('*') || rule.verbs.includes(na.verb)));
        return { ...base, status: { allowed } };
      }
      case 'SelfSubjectRulesReview': {
        const rules = this.authorizer.rulesFor?.(identity, body.spec?.namespace);
        const all = rules ?? [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }];
        return {
          ...base,
          status: {
            resourceRules: all.filter((x) => !x.nonResourceURLs?.length).map((x) => ({ verbs: x.verbs, apiGroups: x.apiGroups ?? [], resources: x.resources ?? [], ...(x.resourceNames?.length ? { resourceNames: x.resourceNames } : {}) })),
            nonResourceRules: all.filter((x) => x.nonResourceURLs?.length).map((x) => ({ verbs: x.verbs, nonResourceURLs: x.nonResourceURLs })),
            incomplete: !rules,
          },
        };
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', `${r.resource.kind} is not served`);
    }
  }

  /**
   * pods/NAME/eviction (kubectl drain): the Pod is deleted as a delete would (its owner makes
   * another elsewhere), unless a PodDisruptionBudget that selects it, or its Deployment's own
   * maxUnavailable, would be broken (429, which kubectl drain retries).
   */
  private evict(r: ApiRequest, warnings: string[]): ApiResponse {
    const pod = this.current(r);
    const body = r.body as { metadata?: { name?: string }; deleteOptions?: { gracePeriodSeconds?: number } } | undefined;
    if (body?.metadata?.name && body.metadata.name !== pod.metadata.name) throw new ApiError(400, 'BadRequest', `the Eviction names ${body.metadata.name}, not ${pod.metadata.name}`);
    const pdb = budgetRefusing(pod, this.store.list({ kind: 'PodDisruptionBudget', namespace: pod.metadata.namespace }), this.store.list({ kind: 'Pod', namespace: pod.metadata.namespace }));
    if (pdb) throw new ApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", { causes: [{ reason: 'DisruptionBudget', message: pdb.message }] });
    const budget = disruptionBudget(this.store, pod);
    if (budget && budget.healthy - 1 < budget.needed) {
      throw new ApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", { causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${budget.name} needs ${budget.needed} healthy pods and has ${budget.healthy} currently` }] });
    }
    // The Eviction's deleteOptions are the delete's (kubectl drain --grace-period).
    this.delete({ ...r, verb: 'delete', subresource: undefined, body: body?.deleteOptions }, warnings);
    return { code: 201, body: success(), warnings };
  }

  /** pods/NAME/binding: the scheduler's choice of node, set once. */
  private bind(r: ApiRequest): ApiResponse {
    const pod = this.current(r);
    const target = (r.body as { target?: { kind?: string; name?: string } } | undefined)?.target;
    if (!target?.name) throw new ApiError(400, 'BadRequest', 'a Binding needs target.name, the node');
    if (pod.spec.nodeName && pod.spec.nodeName !== target.name) throw new ApiError(409, 'Conflict', `pod ${pod.metadata.name} is already assigned to node "${pod.spec.nodeName}"`);
    if (!this.store.get('Node', undefined, target.name)) throw new ApiError(404, 'NotFound', `nodes "${target.name}" not found`, { name: target.name, kind: 'nodes' });
    if (!r.options?.dryRun && !pod.spec.nodeName) {
      const bound = cloneJson(pod);
      bound.spec.nodeName = target.name;
      const scheduled = { type: 'PodScheduled', status: 'True', lastTransitionTime: this.now().toISOString() };
      bound.status = { ...bound.status, phase: bound.status?.phase ?? 'Pending', conditions: [...(bound.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled'), scheduled] };
      this.store.update(bound);
    }
    return { code: 201, body: success(), warnings: [] };
  }
}

/**
 * What an eviction must leave standing: a Deployment's Pods keep at least replicas - maxUnavailable
 * ready (its rolling update's own budget), counting only ready Pods not already going.
 */
function disruptionBudget(store: ObjectStore, pod: KubeObject): { name: string; needed: number; healthy: number } | undefined {
  const ready = (p: KubeObject) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
  if (!ready(pod)) return undefined;
  // With no other node to take the replacement (a one-node cluster), waiting would never end: the drain goes on.
  const elsewhere = store.list({ kind: 'Node' }).some((n) => n.metadata.name !== pod.spec?.nodeName && !n.spec?.unschedulable && (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
  if (!elsewhere) return undefined;
  const ns = pod.metadata.namespace;
  const rsRef = (pod.metadata.ownerReferences ?? []).find((r) => r.controller && r.kind === 'ReplicaSet');
  const rs = rsRef ? store.get('ReplicaSet', ns, rsRef.name) : undefined;
  const depRef = (rs?.metadata.ownerReferences ?? []).find((r) => r.controller && r.kind === 'Deployment');
  const deployment = depRef ? store.get('Deployment', ns, depRef.name) : undefined;
  if (!deployment) return undefined;
  const replicas: number = deployment.spec?.replicas ?? 1;
  const value = deployment.spec?.strategy?.rollingUpdate?.maxUnavailable ?? '25%';
  const maxUnavailable = typeof value === 'number' ? value : Math.floor((Number(String(value).replace('%', '')) / 100) * replicas);
  const sets = new Set(store.list({ kind: 'ReplicaSet', namespace: ns }).filter((r) => (r.metadata.ownerReferences ?? []).some((o) => o.uid === deployment.metadata.uid)).map((r) => r.metadata.uid));
  const healthy = store.list({ kind: 'Pod', namespace: ns }).filter((p) => (p.metadata.ownerReferences ?? []).some((o) => sets.has(o.uid)) && ready(p)).length;
  return { name: `of Deployment ${deployment.metadata.name} (maxUnavailable ${value})`, needed: Math.max(0, replicas - maxUnavailable), healthy };
}

/** The schema of the objects stored for the resource (the newer version's, for an older one). */
function storedSchema(resource: Resource) {
  return resource.conversion?.stored.schema ?? resource.info.schema;
}

/** A request's object in the version stored; what cannot be converted is refused as invalid. */
function toStored(resource: Resource, o: KubeObject): KubeObject {
  try {
    return resource.conversion!.toStored(o);
  } catch (err) {
    if (!(err instanceof ConversionError)) throw err;
    const field = formatPath(err.path);
    throw new ApiError(422, 'Invalid', `${resource.kind} "${o.metadata.name ?? ''}" is invalid: ${field}: ${err.message}`, { name: o.metadata.name, group: resource.group || undefined, kind: resource.plural, causes: [{ reason: 'FieldValueInvalid', message: err.message, field }] });
  }
}

/** An answer in the version asked for: objects, and the items of a list, of an older version are converted. */
function presented(resource: Resource, body: any): any {
  const conversion = resource.conversion;
  if (!conversion || !body || typeof body !== 'object') return body;
  if (body.kind === resource.kind) return conversion.fromStored(body);
  if (Array.isArray(body.items)) return { ...body, items: body.items.map((o: KubeObject) => conversion.fromStored(o)) };
  return body;
}

/**
 * A node's Docker credentials (TLS keys, SSH keys) are write-only: the API answers with their keys
 * and empty values, so that no reader, whatever its rights, takes a key to an engine away.
 */
function hideWriteOnly<T>(body: T): T {
  const hide = (o: KubeObject) => (o && o.type === credentialsSecretType && o.data ? { ...o, data: Object.fromEntries(Object.keys(o.data).map((k) => [k, ''])) } : o);
  const b = body as unknown as { items?: KubeObject[] };
  if (b && Array.isArray(b.items)) return { ...b, items: b.items.map(hide) } as unknown as T;
  return hide(body as unknown as KubeObject) as unknown as T;
}

/** An object still held by finalizers: its own, or a Namespace's spec.finalizers. */
function pendingFinalizers(o: KubeObject): boolean {
  return (o.metadata.finalizers ?? []).length > 0 || (o.kind === 'Namespace' && (o.spec?.finalizers ?? []).length > 0);
}

function success(details?: Record<string, unknown>) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}) };
}

/**
 * The resize subresource of a Pod (in-place Pod resize): only its containers' resources (and
 * resizePolicy) change; anything else in the body is refused.
 */
function fromResize(current: KubeObject, given: KubeObject): KubeObject {
  const o = cloneJson(current);
  const strip = (spec: any) => JSON.stringify({ ...spec, containers: (spec?.containers ?? []).map((c: any) => ({ ...c, resources: undefined, resizePolicy: undefined })) });
  if (strip(given.spec) !== strip(current.spec)) throw new ApiError(422, 'Invalid', `Pod "${current.metadata.name}" is invalid: spec: Forbidden: only cpu and memory resources are mutable through resize`, { name: current.metadata.name, kind: 'pods', causes: [{ reason: 'FieldValueForbidden', field: 'spec', message: 'Forbidden: only cpu and memory resources are mutable through resize' }] });
  for (const c of o.spec.containers) {
    const g = given.spec.containers.find((x: { name: string }) => x.name === c.name);
    c.resources = g?.resources ?? {};
    if (g?.resizePolicy) c.resizePolicy = g.resizePolicy;
  }
  o.metadata.resourceVersion = given.metadata?.resourceVersion;
  return o;
}

/** Fields the API refuses on an ephemeral container, as Kubernetes does. */
const notForEphemeral = ['ports', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'resizePolicy', 'restartPolicy'];

/**
 * pods/NAME/ephemeralcontainers (kubectl debug): only spec.ephemeralContainers may change, and only
 * by adding containers; each new one has a name of its own, targets a container of the Pod, and
 * has none of the fields an ephemeral container may not have.
 */
function fromEphemeral(current: KubeObject, given: KubeObject): KubeObject {
  const name = current.metadata.name;
  const invalid = (field: string, message: string) => new ApiError(422, 'Invalid', `Pod "${name}" is invalid: ${field}: ${message}`, { name, kind: 'pods', causes: [{ reason: 'FieldValueInvalid', field, message }] });
  const { ephemeralContainers: _given, ...givenRest } = (given.spec ?? {}) as Record<string, unknown>;
  const { ephemeralContainers: _current, ...currentRest } = current.spec ?? {};
  if (JSON.stringify(givenRest) !== JSON.stringify(currentRest)) throw invalid('spec', 'Forbidden: pod updates through ephemeralcontainers may only add ephemeral containers');
  const before: { name: string }[] = current.spec.ephemeralContainers ?? [];
  const after: Record<string, any>[] = (given.spec?.ephemeralContainers as Record<string, any>[] | undefined) ?? [];
  for (const b of before) {
    const still = after.find((a) => a.name === b.name);
    if (!still || JSON.stringify(still) !== JSON.stringify(b)) throw invalid('spec.ephemeralContainers', `Forbidden: existing ephemeral containers "${b.name}" may not be changed or removed`);
  }
  const taken = new Set([...current.spec.containers, ...(current.spec.initContainers ?? [])].map((c: { name: string }) => c.name));
  const apps = new Set(current.spec.containers.map((c: { name: string }) => c.name));
  after.forEach((c, i) => {
    if (before.some((b) => b.name === c.name)) return;
    const at = `spec.ephemeralContainers[${i}]`;
    if (taken.has(c.name)) throw invalid(`${at}.name`, `Duplicate value: "${c.name}"`);
    taken.add(c.name);
    for (const f of notForEphemeral) if (c[f] !== undefined) throw invalid(`${at}.${f}`, 'Forbidden: cannot be set for an Ephemeral Container');
    if (c.resources && Object.keys(c.resources).some((k) => Object.keys(c.resources[k] ?? {}).length > 0)) throw invalid(`${at}.resources`, 'Forbidden: cannot be set for an Ephemeral Container');
    if (c.targetContainerName !== undefined && !apps.has(c.targetContainerName)) throw invalid(`${at}.targetContainerName`, `Not found: "${c.targetContainerName}"`);
  });
  const o = cloneJson(current);
  o.spec.ephemeralContainers = after;
  o.metadata.resourceVersion = given.metadata?.resourceVersion;
  return o;
}

function toScale(o: KubeObject) {
  const labels = (o.kind === 'ReplicationController' ? o.spec?.selector : o.spec?.selector?.matchLabels) as Record<string, string> | undefined;
  const selector = labels ? Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') : '';
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
    spec: { replicas: o.spec?.replicas ?? 0 },
    status: { replicas: o.status?.replicas ?? 0, selector },
  } as unknown as KubeObject;
}

function fromScale(current: KubeObject, body: unknown): KubeObject {
  const scale = body as { spec?: { replicas?: unknown }; metadata?: { resourceVersion?: string } } | undefined;
  const replicas = scale?.spec?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) throw new ApiError(422, 'Invalid', `Scale "${current.metadata.name}" is invalid: spec.replicas: must be a non-negative integer`);
  const o = cloneJson(current);
  o.spec.replicas = replicas;
  o.metadata.resourceVersion = scale?.metadata?.resourceVersion;
  return o;
}

function decodeContinue(token: string): { rv: string; after: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed.rv === 'string' && typeof parsed.after === 'string') return parsed;
  } catch {
    // fall through
  }
  throw new ApiError(400, 'BadRequest', 'the continue token is not one this server gave; list again without it');
}

export function notFound(resource: Resource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedName(resource)} "${name}" not found`, { name, group: resource.group || undefined, kind: resource.plural });
}

function alreadyExists(resource: Resource, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedName(resource)} "${name}" already exists`, { name, group: resource.group || undefined, kind: resource.plural });
}

function conflict(resource: Resource, current: KubeObject): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedName(resource)} "${current.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`, { name: current.metadata.name, group: resource.group || undefined, kind: resource.plural });
}

