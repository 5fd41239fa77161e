import type { KubeObject } from '../manifest/types.js';

/** The records of one name in the cluster's zone. */
export interface NameRecords {
  A?: string[];
  CNAME?: string;
  SRV?: { port: number; target: string }[];
}

/** What the cluster DNS server answers from: the zone and its names (lower case, no final dot). */
export interface DnsTable {
  zone: string;
  names: Record<string, NameRecords>;
}

export const clusterDomain = 'cluster.local';

interface EndpointAddress {
  ip: string;
  hostname?: string;
}

const dashed = (ip: string) => ip.replace(/\./g, '-');

/**
 * The cluster's DNS names, as CoreDNS's kubernetes plugin serves them (the DNS specification for
 * Services and Pods):
 * - `SVC.NS.svc.ZONE`: the cluster IP; for a headless Service, every ready endpoint's address;
 *   for an ExternalName Service, a CNAME;
 * - `HOSTNAME.SVC.NS.svc.ZONE` for a headless Service's endpoints with a hostname (a
 *   StatefulSet's Pods), `A-B-C-D.SVC.NS.svc.ZONE` for the others;
 * - `_PORT._PROTO.SVC.NS.svc.ZONE` SRV records for each named port.
 * Pure: built from the Services and their Endpoints.
 */
export function buildDnsTable(services: KubeObject[], endpoints: KubeObject[], zone = clusterDomain): DnsTable {
  const names: Record<string, NameRecords> = {};
  const add = (name: string, f: (r: NameRecords) => void) => f((names[name.toLowerCase()] ??= {}));
  const endpointsOf = new Map(endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  for (const s of services) {
    if (s.metadata.deletionTimestamp) continue;
    const base = `${s.metadata.name}.${s.metadata.namespace}.svc.${zone}`;
    if (s.spec?.type === 'ExternalName') {
      if (s.spec.externalName) add(base, (r) => (r.CNAME = String(s.spec.externalName).replace(/\.$/, '')));
      continue;
    }
    const subsets: { addresses?: EndpointAddress[]; ports?: { name?: string; port: number; protocol?: string }[] }[] = (endpointsOf.get(`${s.metadata.namespace}/${s.metadata.name}`)?.subsets as never) ?? [];
    const headless = s.spec?.clusterIP === 'None';
    if (!headless) {
      if (!s.spec?.clusterIP) continue;
      add(base, (r) => (r.A = [s.spec.clusterIP]));
      for (const p of s.spec.ports ?? []) {
        if (p.name) add(`_${p.name}._${(p.protocol ?? 'TCP').toLowerCase()}.${base}`, (r) => (r.SRV = [{ port: p.port, target: base }]));
      }
      continue;
    }
    const ips = new Set<string>();
    add(base, (r) => (r.A ??= []));
    for (const subset of subsets) {
      for (const a of subset.addresses ?? []) {
        ips.add(a.ip);
        const host = `${a.hostname ?? dashed(a.ip)}.${base}`;
        add(host, (r) => (r.A = [...new Set([...(r.A ?? []), a.ip])]));
        for (const p of subset.ports ?? []) {
          if (p.name) add(`_${p.name}._${(p.protocol ?? 'TCP').toLowerCase()}.${base}`, (r) => (r.SRV = [...(r.SRV ?? []), { port: p.port, target: host }]));
        }
      }
    }
    add(base, (r) => (r.A = [...ips]));
  }
  return { zone, names };
}

export type Lookup =
  /** The name exists: its records of the type asked (possibly none), and a CNAME to follow. */
  | { kind: 'answer'; A?: string[]; SRV?: { port: number; target: string }[]; CNAME?: string }
  | { kind: 'nxdomain' }
  /** Not the cluster's: ask the node's resolvers. */
  | { kind: 'forward' };

/**
 * What the cluster DNS server says of a name: the cluster zone's names from the table, a Pod's
 * `A-B-C-D.NS.pod.ZONE` name from its address, NXDOMAIN for any other name of the zone (so a
 * resolver goes on to its next search domain), and every other name forwarded. Pure.
 */
export function lookup(table: DnsTable, name: string): Lookup {
  const n = name.toLowerCase().replace(/\.$/, '');
  const zone = table.zone;
  if (n !== zone && !n.endsWith(`.${zone}`)) return { kind: 'forward' };
  const found = table.names[n];
  if (found) return { kind: 'answer', ...found };
  const pod = new RegExp(`^(\\d{1,3})-(\\d{1,3})-(\\d{1,3})-(\\d{1,3})\\.[a-z0-9-]+\\.pod\\.${zone.replace(/\./g, '\\.')}$`).exec(n);
  if (pod) return { kind: 'answer', A: [pod.slice(1, 5).join('.')] };
  // The zone itself and the names above a Service's (svc.ZONE, NS.svc.ZONE) exist without records.
  if (n === zone || n === `svc.${zone}` || n === `pod.${zone}` || Object.keys(table.names).some((k) => k.endsWith(`.${n}`))) return { kind: 'answer' };
  return { kind: 'nxdomain' };
}
