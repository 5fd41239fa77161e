import { applyDefaults } from '../manifest/defaults.js';
import { formatPath } from '../manifest/types.js';
import { validateObject } from '../manifest/validate.js';
import type { KubeObject } from '../manifest/types.js';
import type { Resource } from './resources.js';
import { ApiError } from './status.js';

/**
 * Admission for writes from users: the object must be of the resource the path names, valid for
 * its kind, and it gets Kubernetes' defaults. The same checks as a manifest in Git.
 */
export function admit(resource: Resource, body: unknown, namespace: string | undefined, name?: string): KubeObject {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'BadRequest', 'the request body must be a JSON object');
  const o = body as KubeObject;
  if (!resource.userWritable) throw new ApiError(405, 'MethodNotAllowed', `${resource.plural} are managed by Gouvernail and cannot be written through the API`);
  o.apiVersion ??= resource.group ? `${resource.group}/${resource.version}` : resource.version;
  o.kind ??= resource.kind;
  if (o.kind !== resource.kind) throw new ApiError(400, 'BadRequest', `the body is a ${o.kind}, but the path is for ${resource.plural}`);
  o.metadata ??= { name: name ?? '' };
  if (name !== undefined && o.metadata.name !== name) throw new ApiError(400, 'BadRequest', `the name in the body (${o.metadata.name}) does not match the name in the path (${name})`);
  if (resource.namespaced) {
    if (o.metadata.namespace && namespace && o.metadata.namespace !== namespace) {
      throw new ApiError(400, 'BadRequest', `the namespace of the object (${o.metadata.namespace}) does not match the namespace in the path (${namespace})`);
    }
    o.metadata.namespace = namespace ?? o.metadata.namespace ?? 'default';
  }
  const issues = validateObject(o).filter((i) => !i.warning);
  if (issues.length > 0) {
    const message = `${resource.kind} "${o.metadata?.name ?? ''}" is invalid: ${issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ')}`;
    throw new ApiError(422, 'Invalid', message, { name: o.metadata?.name, kind: resource.plural });
  }
  return applyDefaults(o);
}
