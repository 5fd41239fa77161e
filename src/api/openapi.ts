import { createHash } from 'node:crypto';
import { descriptions, type Schema } from '../manifest/schema.js';
import { groupVersions } from './discovery.js';
import { encodeOpenApiV2 } from './openapi-v2-protobuf.js';
import { resources, type Resource } from './resources.js';

/**
 * OpenAPI documents generated from the one schema the validator uses: v3 per group version (what
 * kubectl explain, create, apply and diff read), and v2 as JSON. Every PATCH operation carries the
 * GVK extension and a fieldValidation parameter, so kubectl leaves validation to the server.
 */

type Json = Record<string, unknown>;

const notActedOn = 'Kubernetes defines this field; Gouvernail keeps it as written but does not act on it yet.';

function toOpenApi(schema: Schema): Json {
  const description = descriptions.get(schema);
  const out = ((): Json => {
    switch (schema.t) {
      case 'string':
        return { type: 'string', ...(schema.enum ? { enum: [...schema.enum] } : {}) };
      case 'int':
        return { type: 'integer', format: 'int32', ...(schema.min !== undefined ? { minimum: schema.min } : {}), ...(schema.max !== undefined ? { maximum: schema.max } : {}) };
      case 'number':
        return { type: 'number' };
      case 'bool':
        return { type: 'boolean' };
      case 'intOrString':
      case 'quantity':
        return { 'x-kubernetes-int-or-string': true };
      case 'array': {
        const items = toOpenApi(schema.items);
        return { type: 'array', items, ...(schema.mergeKey ? { 'x-kubernetes-patch-merge-key': schema.mergeKey, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [schema.mergeKey] } : { 'x-kubernetes-list-type': 'atomic' }) };
      }
      case 'map':
        return { type: 'object', additionalProperties: toOpenApi(schema.values) };
      case 'object': {
        const properties: Record<string, Json> = {};
        const required: string[] = [];
        for (const [name, field] of Object.entries(schema.fields)) {
          properties[name] = toOpenApi(field.schema);
          if (field.required) required.push(name);
        }
        for (const name of schema.known ?? []) properties[name] ??= { description: notActedOn, 'x-kubernetes-preserve-unknown-fields': true };
        return { type: 'object', properties, ...(required.length ? { required } : {}), ...(schema.open ? { 'x-kubernetes-preserve-unknown-fields': true } : {}) };
      }
      case 'any':
        return { 'x-kubernetes-preserve-unknown-fields': true };
    }
  })();
  return description ? { description, ...out } : out;
}

export function definitionName(r: Pick<Resource, 'group' | 'version' | 'kind'>): string {
  const group = r.group === '' ? 'io.k8s.api.core' : r.group === 'apps' ? 'io.k8s.api.apps' : r.group.split('.').reverse().join('.');
  return `${group}.${r.version}.${r.kind}`;
}

const gvk = (r: Resource) => [{ group: r.group, version: r.version, kind: r.kind }];
const param = (name: string, where: 'query' | 'path', description: string, required = false): Json => ({ name, in: where, description, required, schema: { type: 'string' } });
const writeParams = [
  param('dryRun', 'query', 'When present, indicates that modifications should not be persisted. Valid value: All.'),
  param('fieldManager', 'query', 'A name associated with the actor or entity that is making these changes.'),
  param('fieldValidation', 'query', 'Ignore, Warn (the default) or Strict: what an unknown or duplicate field in the request costs.'),
];

function operation(r: Resource, action: string, extra: Json[] = []): Json {
  const ref = { $ref: `#/components/schemas/${definitionName(r)}` };
  return {
    description: `${action} ${r.kind}`,
    operationId: `${action}${r.kind}`,
    parameters: extra,
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref } } }, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk(r)[0],
  };
}

function pathsOf(r: Resource): Record<string, Json> {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const collection = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
  const common = [param('name', 'path', `name of the ${r.kind}`, true), ...(r.namespaced ? [param('namespace', 'path', 'object name and auth scope, such as for teams and projects', true)] : [])];
  const out: Record<string, Json> = {
    [collection]: {
      parameters: r.namespaced ? [param('namespace', 'path', 'object name and auth scope', true)] : [],
      get: operation(r, 'list'),
      post: operation(r, 'post', writeParams),
      delete: operation(r, 'deletecollection'),
    },
    [`${collection}/{name}`]: {
      parameters: common,
      get: operation(r, 'get'),
      put: operation(r, 'put', writeParams),
      patch: { ...operation(r, 'patch', [...writeParams, param('force', 'query', 'Force is going to "force" Apply requests.')]), requestBody: { content: Object.fromEntries(['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'].map((t) => [t, { schema: { type: 'object' } }])) } },
      delete: operation(r, 'delete'),
    },
  };
  for (const s of r.subresources.filter((x) => x.name === 'status' || x.name === 'scale')) {
    out[`${collection}/{name}/${s.name}`] = { parameters: common, get: operation(r, 'get'), put: operation(r, 'put', writeParams), patch: operation(r, 'patch', writeParams) };
  }
  return out;
}

function schemaOf(r: Resource): Json {
  return { ...toOpenApi(r.info.schema), 'x-kubernetes-group-version-kind': gvk(r) };
}

const scaleSchema: Json = {
  description: 'Scale represents a scaling request for a resource.',
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    spec: { type: 'object', properties: { replicas: { type: 'integer', format: 'int32', description: 'desired number of instances for the scaled object.' } } },
    status: { type: 'object', properties: { replicas: { type: 'integer', format: 'int32' }, selector: { type: 'string' } } },
  },
  'x-kubernetes-group-version-kind': [{ group: 'autoscaling', version: 'v1', kind: 'Scale' }],
};

/** The v3 document of one group version. */
export function openApiV3(group: string, version: string): Json | undefined {
  const list = resources.filter((r) => r.group === group && r.version === version);
  if (list.length === 0) return undefined;
  const schemas: Record<string, Json> = Object.fromEntries(list.map((r) => [definitionName(r), schemaOf(r)]));
  if (list.some((r) => r.subresources.some((s) => s.name === 'scale'))) schemas['io.k8s.api.autoscaling.v1.Scale'] = scaleSchema;
  return {
    openapi: '3.0.0',
    info: { title: 'Gouvernail', version: 'v1.32.0' },
    paths: Object.assign({}, ...list.map(pathsOf)),
    components: { schemas },
  };
}

interface V3Index {
  index: Json;
  docs: Map<string, { hash: string; body: string }>;
}

let cached: V3Index | undefined;

/** `/openapi/v3` and its documents, built once; each URL carries its document's hash, as kubectl caches by URL. */
export function openApiV3Index(): V3Index {
  if (cached) return cached;
  const docs = new Map<string, { hash: string; body: string }>();
  const paths: Record<string, Json> = {};
  for (const { group, version } of groupVersions()) {
    const key = group ? `apis/${group}/${version}` : `api/${version}`;
    const body = JSON.stringify(openApiV3(group, version));
    const hash = createHash('sha512').update(body).digest('hex').slice(0, 64).toUpperCase();
    docs.set(key, { hash, body });
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  cached = { index: { paths }, docs };
  return cached;
}

function allPathsAndSchemas() {
  const paths: Record<string, Json> = Object.assign({}, ...resources.map(pathsOf));
  const schemas: Record<string, Json> = Object.fromEntries(resources.map((r) => [definitionName(r), schemaOf(r)]));
  schemas['io.k8s.api.autoscaling.v1.Scale'] = scaleSchema;
  return { paths, schemas };
}

const toV2Refs = (o: unknown): any => JSON.parse(JSON.stringify(o).replaceAll('#/components/schemas/', '#/definitions/'));

/** The Swagger 2.0 document as JSON (parameters typed in place, responses with a schema). */
export function openApiV2(): Json {
  const { paths, schemas } = allPathsAndSchemas();
  const param = (p: Json) => ({ name: p.name, in: p.in, description: p.description, required: p.required, type: 'string' });
  const v2Paths = Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([k, v]) => {
          if (k === 'parameters') return [k, (v as Json[]).map(param)];
          const { parameters, responses, requestBody: _b, ...rest } = v as Record<string, any>;
          const ok = responses?.['200']?.content?.['application/json']?.schema;
          return [k, { ...rest, consumes: ['application/json'], produces: ['application/json'], parameters: (parameters ?? []).map(param), responses: { '200': { description: 'OK', ...(ok ? { schema: ok } : {}) }, '401': { description: 'Unauthorized' } } }];
        }),
      ),
    ]),
  );
  return toV2Refs({ swagger: '2.0', info: { title: 'Gouvernail', version: 'v1.32.0' }, paths: v2Paths, definitions: schemas });
}

let v2Protobuf: Buffer | undefined;

/** The same document in gnostic's protobuf, as kubectl 1.27 asks for it; built once. */
export function openApiV2Protobuf(): Buffer {
  if (!v2Protobuf) {
    const { paths, schemas } = allPathsAndSchemas();
    v2Protobuf = encodeOpenApiV2({ paths, schemas, title: 'Gouvernail', version: 'v1.32.0' });
  }
  return v2Protobuf;
}
