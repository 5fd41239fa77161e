import { apiVersionOf, resources, type Resource } from './resources.js';

/** What `/version` answers; kubectl's dispatcher on the test machines picks its client by `minor`. */
export function versionInfo(gouvernailVersion: string) {
  return { major: '1', minor: '32', gitVersion: `v1.32.0-gouvernail.${gouvernailVersion}`, gitCommit: '0', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'node', compiler: 'gc', platform: 'linux/amd64' };
}

/** Resources as the API server lists them within a group version: by name (so `kubectl get all` shows Pods before Services). */
const byName = [...resources].sort((a, b) => (a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0));

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const verbsOf = (r: Resource) => (r.virtual ? ['create'] : allVerbs);

/** The group versions served, core first. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of resources) seen.set(apiVersionOf(r), { group: r.group, version: r.version });
  return [...seen.values()];
}

/** `GET /api`, legacy. */
export function apiVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** `GET /apis`, legacy. */
export function apiGroupList() {
  const byGroup = new Map<string, string[]>();
  for (const g of groupVersions()) if (g.group !== '') byGroup.set(g.group, [...(byGroup.get(g.group) ?? []), g.version]);
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...byGroup].map(([name, versions]) => {
      const listed = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions: listed, preferredVersion: listed[0]! };
    }),
  };
}

/** `GET /api/v1`, `GET /apis/GROUP/VERSION`: resources and their subresources, as an APIResourceList. */
export function apiResourceList(group: string, version: string) {
  const list = byName.filter((r) => r.group === group && r.version === version);
  if (list.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: list.flatMap((r) => [
      { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: verbsOf(r), ...(r.shortNames.length ? { shortNames: r.shortNames } : {}), ...(r.categories.length ? { categories: r.categories } : {}) },
      ...r.subresources.map((s) => ({ name: `${r.plural}/${s.name}`, singularName: '', namespaced: r.namespaced, ...(s.kind ? { group: s.kind.group, version: s.kind.version } : {}), kind: s.kind?.kind ?? r.kind, verbs: s.verbs })),
    ]),
  };
}

/** The aggregated discovery document (apidiscovery.k8s.io v2 or v2beta1) for `/api` or `/apis`. */
export function aggregatedDiscovery(core: boolean, apiVersion: 'v2' | 'v2beta1') {
  const groups = groupVersions().filter((g) => (g.group === '') === core);
  const byGroup = new Map<string, string[]>();
  for (const g of groups) byGroup.set(g.group, [...(byGroup.get(g.group) ?? []), g.version]);
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
    metadata: {},
    items: [...byGroup].map(([group, versions]) => ({
      metadata: group ? { name: group } : {},
      versions: versions.map((version) => ({
        version,
        freshness: 'Current',
        resources: byName
          .filter((r) => r.group === group && r.version === version)
          .map((r) => ({
            resource: r.plural,
            responseKind: { group: r.group, version: r.version, kind: r.kind },
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.singular,
            verbs: verbsOf(r),
            ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
            ...(r.categories.length ? { categories: r.categories } : {}),
            ...(r.subresources.length ? { subresources: r.subresources.map((s) => ({ subresource: s.name, responseKind: s.kind ?? { group: r.group, version: r.version, kind: r.kind }, verbs: s.verbs })) } : {}),
          })),
      })),
    })),
  };
}

/** The content type kubectl requires for aggregated discovery; a plain JSON type makes it read the body as legacy. */
export function aggregatedContentType(apiVersion: 'v2' | 'v2beta1'): string {
  return `application/json;g=apidiscovery.k8s.io;v=${apiVersion};as=APIGroupDiscoveryList`;
}

/** Which discovery a client accepts: v2 (kubectl 1.30+), v2beta1 (1.27 to 1.29), or the legacy lists. */
export function negotiateDiscovery(accept: string | undefined): 'v2' | 'v2beta1' | 'legacy' {
  const a = (accept ?? '').replace(/\s/g, '');
  if (a.includes('g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList')) return 'v2';
  if (a.includes('g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList')) return 'v2beta1';
  return 'legacy';
}
