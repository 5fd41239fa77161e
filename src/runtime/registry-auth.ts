import type { KubeObject } from '../manifest/types.js';

/** What Docker's pull takes as X-Registry-Auth. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

const dockerHub = 'docker.io';
const dockerHubNames = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** The registry of an image reference, as Docker reads it: the first part when it looks like a host, else Docker Hub. */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return dockerHub;
  const first = image.slice(0, slash);
  if (!first.includes('.') && !first.includes(':') && first !== 'localhost') return dockerHub;
  return dockerHubNames.has(first.toLowerCase()) ? dockerHub : first.toLowerCase();
}

/** The repository of an image reference, without its registry, tag or digest (`library/nginx`, `org/app`). */
export function repositoryOf(image: string): string {
  let ref = image.split('@')[0]!;
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) ref = ref.slice(0, colon);
  const registry = registryOf(ref);
  const slash = ref.indexOf('/');
  // The first part is the registry's name when it names a host, Docker Hub's own names included.
  const named = slash >= 0 && (registry !== dockerHub || dockerHubNames.has(ref.slice(0, slash).toLowerCase()));
  const path = named ? ref.slice(slash + 1) : ref;
  return registry === dockerHub && !path.includes('/') ? `library/${path}` : path;
}

/** A credentials key of a docker config (`https://index.docker.io/v1/`, `ghcr.io/org`) as host and path. */
function keyOf(key: string): { host: string; path: string } {
  const bare = key.replace(/^[a-z]+:\/\//i, '');
  const slash = bare.indexOf('/');
  const host = (slash < 0 ? bare : bare.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? '' : bare.slice(slash + 1).replace(/\/+$/, '');
  if (dockerHubNames.has(host)) return { host: dockerHub, path: path === 'v1' || path === 'v2' ? '' : path };
  return { host, path };
}

/** The entries of a kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg Secret, by key; undefined when it is neither, or unreadable. */
function entriesOf(secret: KubeObject): Record<string, unknown> | undefined {
  const data = (secret.data ?? {}) as Record<string, string>;
  const raw = secret.type === 'kubernetes.io/dockercfg' ? data['.dockercfg'] : secret.type === 'kubernetes.io/dockerconfigjson' ? data['.dockerconfigjson'] : undefined;
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
    const entries = secret.type === 'kubernetes.io/dockercfg' ? parsed : parsed?.auths;
    return entries && typeof entries === 'object' ? entries : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a Secret named in imagePullSecrets gives no credentials at all, for the Pod's Event; never
 * a word of its content (a JSON parser's message would quote it).
 */
export function pullSecretProblem(secret: KubeObject): string | undefined {
  if (entriesOf(secret)) return undefined;
  if (secret.type !== 'kubernetes.io/dockerconfigjson' && secret.type !== 'kubernetes.io/dockercfg') return `is of type ${secret.type ?? 'Opaque'}, not kubernetes.io/dockerconfigjson (kubectl create secret docker-registry makes one)`;
  return secret.type === 'kubernetes.io/dockercfg' ? 'has no .dockercfg that reads as JSON' : 'has no .dockerconfigjson that reads as JSON with "auths"';
}

/**
 * The credentials for pulling `image` among the pull Secrets, as the kubelet picks them: an entry
 * for the image's registry, the one whose path is the longest prefix of the image's repository
 * first (`ghcr.io/org` before `ghcr.io`); Secrets in the order given. Undefined when none matches.
 */
export function registryAuthFor(image: string, secrets: KubeObject[]): RegistryAuth | undefined {
  const registry = registryOf(image);
  const repository = repositoryOf(image);
  let best: { auth: RegistryAuth; length: number } | undefined;
  for (const secret of secrets) {
    for (const [key, value] of Object.entries(entriesOf(secret) ?? {})) {
      const entry = value as Record<string, unknown> | null;
      const k = keyOf(key);
      if (k.host !== registry || !entry || typeof entry !== 'object') continue;
      if (k.path && repository !== k.path && !repository.startsWith(`${k.path}/`)) continue;
      if (best && best.length >= k.path.length) continue;
      let { username, password } = entry as { username?: string; password?: string };
      if ((username === undefined || password === undefined) && typeof entry.auth === 'string') {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) [username, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
      }
      const serveraddress = registry === dockerHub ? 'https://index.docker.io/v1/' : registry;
      best = { auth: { serveraddress, ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}), ...(typeof entry.identitytoken === 'string' ? { identitytoken: entry.identitytoken } : {}) }, length: k.path.length };
    }
  }
  return best?.auth;
}
