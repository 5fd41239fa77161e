import type { KubeObject } from '../manifest/types.js';

/** The controller name of Gouvernail's IngressClass (spec.controller). */
export const ingressController = 'gouvernail.io/ingress';

export interface IngressRoute {
  /** Exact host, `*.example.com`, or undefined for any host. */
  host?: string;
  path: string;
  pathType: 'Exact' | 'Prefix';
  /** The ready endpoints of the backend Service's port, as ip:port. */
  backends: string[];
  /** Where the route comes from, for the 503 page and logs. */
  source: string;
}

export interface IngressTable {
  routes: IngressRoute[];
  /** spec.defaultBackend of an Ingress (the first one that has it). */
  defaultBackend?: { backends: string[]; source: string };
  /** Certificates by host, from the Secrets the Ingresses' tls name (PEM). */
  tls: { hosts: string[]; cert: string; key: string; source: string }[];
}

interface Backend {
  service?: { name: string; port?: { number?: number; name?: string } };
}

/**
 * Whether Gouvernail serves an Ingress: its class is Gouvernail's IngressClass, or it names none
 * (the default class), or it names a class no IngressClass defines (no other controller runs in a
 * Gouvernail cluster, so manifests written for nginx or traefik are served too).
 */
export function servedIngress(ingress: KubeObject, classes: KubeObject[]): boolean {
  const name: string | undefined = ingress.spec?.ingressClassName ?? ingress.metadata.annotations?.['kubernetes.io/ingress.class'];
  if (!name) return true;
  const cls = classes.find((c) => c.metadata.name === name);
  return !cls || cls.spec?.controller === ingressController;
}

/** The ready endpoints (ip:port) of a Service port named in a backend. */
function endpointsOf(ns: string, b: Backend, services: KubeObject[], endpoints: KubeObject[]): string[] {
  if (!b.service) return [];
  const svc = services.find((s) => s.metadata.namespace === ns && s.metadata.name === b.service!.name);
  if (!svc) return [];
  const port = (svc.spec?.ports ?? []).find((p: { port: number; name?: string }) => (b.service!.port?.number !== undefined ? p.port === b.service!.port.number : p.name === b.service!.port?.name));
  if (!port) return [];
  const ep = endpoints.find((e) => e.metadata.namespace === ns && e.metadata.name === svc.metadata.name);
  const out: string[] = [];
  for (const subset of (ep?.subsets ?? []) as { addresses?: { ip: string }[]; ports?: { name?: string; port: number }[] }[]) {
    const p = (subset.ports ?? []).find((x) => (x.name ?? '') === (port.name ?? ''));
    if (!p) continue;
    for (const a of subset.addresses ?? []) out.push(`${a.ip}:${p.port}`);
  }
  return out;
}

/**
 * The routes of every Ingress Gouvernail serves: each rule's host and paths to its backend's ready
 * Pods, TLS certificates from the Secrets named (type kubernetes.io/tls), the default backend. Pure.
 */
export function buildIngressTable(ingresses: KubeObject[], classes: KubeObject[], services: KubeObject[], endpoints: KubeObject[], secrets: KubeObject[]): IngressTable {
  const table: IngressTable = { routes: [], tls: [] };
  for (const ing of [...ingresses].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''))) {
    if (ing.metadata.deletionTimestamp || !servedIngress(ing, classes)) continue;
    const ns = ing.metadata.namespace!;
    const source = `${ns}/${ing.metadata.name}`;
    if (ing.spec?.defaultBackend && !table.defaultBackend) table.defaultBackend = { backends: endpointsOf(ns, ing.spec.defaultBackend, services, endpoints), source };
    for (const rule of ing.spec?.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        table.routes.push({ ...(rule.host ? { host: String(rule.host).toLowerCase() } : {}), path: p.path ?? '/', pathType: p.pathType === 'Exact' ? 'Exact' : 'Prefix', backends: endpointsOf(ns, p.backend ?? {}, services, endpoints), source });
      }
    }
    for (const t of ing.spec?.tls ?? []) {
      const secret = secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === t.secretName);
      const cert = secret?.data?.['tls.crt'];
      const key = secret?.data?.['tls.key'];
      if (!cert || !key) continue;
      table.tls.push({ hosts: (t.hosts ?? []).map((h: string) => h.toLowerCase()), cert: Buffer.from(cert, 'base64').toString('utf8'), key: Buffer.from(key, 'base64').toString('utf8'), source });
    }
  }
  return table;
}

function hostMatches(pattern: string | undefined, host: string): boolean {
  if (!pattern) return true;
  if (pattern.startsWith('*.')) {
    const rest = pattern.slice(1);
    return host.endsWith(rest) && !host.slice(0, -rest.length).includes('.') && host.length > rest.length;
  }
  return pattern === host;
}

function pathMatches(route: IngressRoute, path: string): boolean {
  if (route.pathType === 'Exact') return path === route.path;
  // Prefix matches element by element: /foo matches /foo and /foo/bar, not /foobar.
  const prefix = route.path.replace(/\/+$/, '');
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * The route a request takes, as the Ingress specification orders them: a host match over any-host
 * rules, an exact host over a wildcard, then Exact paths over Prefix ones, then the longest path.
 * Pure.
 */
export function matchRoute(table: IngressTable, hostHeader: string | undefined, url: string): IngressRoute | { backends: string[]; source: string } | undefined {
  const host = (hostHeader ?? '').replace(/:\d+$/, '').toLowerCase();
  const path = (url.split('?')[0] ?? '/') || '/';
  const rank = (r: IngressRoute) => [r.host ? (r.host.startsWith('*.') ? 1 : 2) : 0, r.pathType === 'Exact' ? 1 : 0, r.path.length];
  const candidates = table.routes.filter((r) => hostMatches(r.host, host) && pathMatches(r, path));
  candidates.sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return y[i]! - x[i]!;
    return 0;
  });
  return candidates[0] ?? table.defaultBackend;
}

/** The certificate for a host name (SNI): an exact host, then a wildcard, then the first. */
export function certificateFor(table: IngressTable, servername: string | undefined): IngressTable['tls'][number] | undefined {
  const host = (servername ?? '').toLowerCase();
  return table.tls.find((t) => t.hosts.includes(host)) ?? table.tls.find((t) => t.hosts.some((h) => hostMatches(h, host))) ?? table.tls[0];
}
