import { manifestKinds } from '../manifest/kinds.js';

export interface Resource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** False for kinds only Gouvernail itself writes. */
  userWritable: boolean;
}

const fromManifests: Resource[] = manifestKinds.map((k) => {
  const [group, version] = k.apiVersion.includes('/') ? k.apiVersion.split('/') : ['', k.apiVersion];
  return { group: group!, version: version!, kind: k.kind, plural: k.plural, singular: k.kind.toLowerCase(), shortNames: k.shortNames, namespaced: k.namespaced, userWritable: true };
});

/** Every kind the API serves: the manifest kinds plus those Gouvernail makes. */
export const resources: Resource[] = [
  ...fromManifests,
  { group: '', version: 'v1', kind: 'Node', plural: 'nodes', singular: 'node', shortNames: ['no'], namespaced: false, userWritable: false },
  { group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', singular: 'replicaset', shortNames: ['rs'], namespaced: true, userWritable: false },
  { group: '', version: 'v1', kind: 'Event', plural: 'events', singular: 'event', shortNames: ['ev'], namespaced: true, userWritable: false },
];

export function apiVersionOf(r: Resource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export function findResource(group: string, version: string, plural: string): Resource | undefined {
  return resources.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** Finds a resource by kind, plural, singular or short name, as kubectl's arguments name them. */
export function resolveResourceName(name: string): Resource | undefined {
  const n = name.toLowerCase();
  return resources.find((r) => r.plural === n || r.singular === n || r.shortNames.includes(n) || r.kind.toLowerCase() === n);
}

export function resourcePath(r: Resource, namespace?: string, name?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${r.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
