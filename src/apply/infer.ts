import { keyOf, type ObjectKey } from '../manifest/keys.js';
import { matchesSelector } from '../manifest/selector.js';
import type { FieldPath, KubeObject } from '../manifest/types.js';
import { podSpecOf } from './references.js';
import { podSpecPath } from '../manifest/pod-template.js';

/** `gouvernail.io/depends-on: none` turns inference off for one object; `gouvernail.io/infer: "false"` too. */
export const inferAnnotation = 'gouvernail.io/infer';

export interface InferredNeed {
  key: ObjectKey;
  /** Why, for people: `env WORDPRESS_DB_HOST names Service/wordpress-mysql`. */
  reason: string;
}

/**
 * A host named as Docker Compose resolves it, by the name of a workload of the set (`db:3306`, and
 * Deployment/db with no Service db): on Kubernetes only a Service's name resolves. What kompose
 * writes for a compose service without ports.
 */
export interface UnservedHost {
  /** Where it is written: `spec.template.spec.containers[0].env[1].value`. */
  field: FieldPath;
  /** How people say where: `env WORDPRESS_DB_HOST`. */
  where: string;
  host: string;
  port?: string;
  workload: KubeObject;
}

/**
 * The hosts a string names: `host`, `host:port`, `scheme://user@host:port/path`, a JDBC URL, in a
 * list separated by spaces, commas or semicolons. Lowercased, without port or path.
 */
export function hostsIn(text: string, bareNames = true): string[] {
  const out: string[] = [];
  // Where a bare word is not a host, only a dot, a port or a scheme makes one: none, no host.
  if (!bareNames && !text.includes('.') && !text.includes(':')) return out;
  const tokens = text.split(/[\s,;'"()[\]{}<>|`]+/);
  for (let t = 0; t < tokens.length; t++) {
    let token = tokens[t]!;
    if (!token) continue;
    // VAR=host as in a shell command line.
    const eq = token.lastIndexOf('=');
    if (eq >= 0 && !token.includes('://')) token = token.slice(eq + 1);
    const url = /^[a-z][a-z0-9+.:-]*:\/\//i.test(token);
    token = token.replace(/^[a-z][a-z0-9+.:-]*:\/\//i, '').replace(/^[^@/]*@/, '');
    const hostPort = token.split(/[/?#]/)[0]!;
    const host = hostPort.replace(/:\d*$/, '').replace(/\.$/, '').toLowerCase();
    // A bare word ("wordpress") is a host only where a host is expected; with a port, a scheme or
    // a dotted Service name it always is.
    if (!bareNames && !url && !host.includes('.') && !/:\d+$/.test(hostPort)) continue;
    if (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(host)) out.push(host);
  }
  return out;
}

/** Whether an object asks for no inference (depends-on: none, or infer: "false"). */
export function inferenceOff(o: KubeObject): boolean {
  const a = o.metadata.annotations ?? {};
  return a['gouvernail.io/depends-on']?.trim() === 'none' || a[inferAnnotation] === 'false';
}

/**
 * What a workload's containers name without saying so: a Service of the set written in an env
 * value, the command or the args. It waits for that Service to have a ready endpoint, and for the
 * workloads of the set whose Pods the Service selects. A Service that selects the object's own
 * Pods is not a dependency (a peer list names itself).
 */
export function inferredNeeds(o: KubeObject, index: ServiceIndex, unserved?: UnservedHost[]): InferredNeed[] {
  const spec = podSpecOf(o);
  if (!spec || inferenceOff(o) || (index.empty && !unserved)) return [];
  const ns = o.metadata.namespace;
  const ownLabels: Record<string, string> = (o.kind === 'Pod' ? o.metadata.labels : o.spec?.template?.metadata?.labels) ?? {};
  const needs = new Map<ObjectKey, string>();
  const mention = (where: () => string, text: string | undefined, bareNames: boolean, field?: () => FieldPath) => {
    if (!text) return;
    const hosts = hostsIn(text, bareNames);
    for (let h = 0; h < hosts.length; h++) {
      const service = index.resolve(hosts[h]!, ns);
      if (!service) {
        // Only where the text is surely a host: a host variable's value, or with its port.
        const workload = unserved && !hosts[h]!.includes('.') ? index.workload(hosts[h]!, ns) : undefined;
        if (!workload || workload === o) continue;
        const port = new RegExp(`(?:^|[^-a-z0-9.])${hosts[h]!.replace(/-/g, '\\-')}:(\\d+)`, 'i').exec(text)?.[1];
        if (port || strictHostVariable.test(where())) unserved!.push({ field: field!(), where: where(), host: hosts[h]!, port, workload });
        continue;
      }
      const selector = service.spec?.selector as Record<string, string> | undefined;
      if (selector && Object.keys(selector).length > 0 && service.metadata.namespace === ns && matchesSelector({ matchLabels: selector }, ownLabels)) continue;
      const why = `${where()} names Service/${service.metadata.name}${service.metadata.namespace === ns ? '' : `.${service.metadata.namespace}`}`;
      const serviceKey = keyOf(service);
      if (!needs.has(serviceKey)) needs.set(serviceKey, why);
      const backing = index.backing(service);
      for (let b = 0; b < backing.length; b++) {
        const w = backing[b]!;
        if (w !== o && !needs.has(keyOf(w))) needs.set(keyOf(w), `${why}, which selects its Pods`);
      }
    }
  };
  // Indexed loops: this runs for every workload of a plan (see references.ts).
  const lists = ['initContainers', 'containers'] as const;
  for (let l = 0; l < lists.length; l++) {
    const containers = spec[lists[l]!] ?? [];
    for (let ci = 0; ci < containers.length; ci++) {
      const c = containers[ci]!;
      const at = (...rest: FieldPath) => (): FieldPath => [...podSpecPath(o.kind)!, lists[l]!, ci, ...rest];
      const env = c.env ?? [];
      for (let i = 0; i < env.length; i++) {
        const e = env[i]!;
        if (e.value) mention(() => `env ${e.name}`, e.value, hostVariable.test(e.name), at('env', i, 'value'));
      }
      const command = c.command ?? [];
      for (let i = 0; i < command.length; i++) mention(() => `command[${i}] of container ${c.name}`, command[i], false, at('command', i));
      const args = c.args ?? [];
      for (let i = 0; i < args.length; i++) mention(() => `args[${i}] of container ${c.name}`, args[i], false, at('args', i));
    }
  }
  const out: InferredNeed[] = [];
  needs.forEach((reason, key) => out.push({ key, reason }));
  return out;
}

/**
 * The Services of a set by the names they answer to, and the workloads each selects, built once
 * per plan: looking a host up is then a map read, whatever the size of the set.
 */
export class ServiceIndex {
  private readonly qualified = new Map<string, KubeObject>();
  private readonly selected = new Map<KubeObject, KubeObject[]>();
  private readonly workloadsByNamespace = new Map<string | undefined, KubeObject[]>();
  readonly empty: boolean;

  constructor(services: KubeObject[], workloads: KubeObject[]) {
    this.empty = services.length === 0;
    // A Service answers to name.namespace, name.namespace.svc and name.namespace.svc.cluster.local,
    // and to its bare name from its own namespace.
    for (let i = 0; i < services.length; i++) {
      const s = services[i]!;
      const { name, namespace } = s.metadata;
      this.qualified.set(`${name}.${namespace}`, s);
      this.qualified.set(`${name}.${namespace}.svc`, s);
      this.qualified.set(`${name}.${namespace}.svc.cluster.local`, s);
      this.qualified.set(`${name}@${namespace}`, s);
    }
    for (let i = 0; i < workloads.length; i++) {
      const w = workloads[i]!;
      const same = this.workloadsByNamespace.get(w.metadata.namespace);
      if (same) same.push(w);
      else this.workloadsByNamespace.set(w.metadata.namespace, [w]);
    }
  }

  /** The workload of the set a bare name names from a Pod of namespace `from`, if any. */
  workload(name: string, from: string | undefined): KubeObject | undefined {
    return this.workloadsByNamespace.get(from)?.find((w) => w.metadata.name === name);
  }

  /** The Service a host names from a Pod of namespace `from`. */
  resolve(host: string, from: string | undefined): KubeObject | undefined {
    return host.includes('.') ? this.qualified.get(host) : this.qualified.get(`${host}@${from}`);
  }

  backing(service: KubeObject): KubeObject[] {
    let found = this.selected.get(service);
    if (!found) {
      found = backing(service, this.workloadsByNamespace.get(service.metadata.namespace) ?? []);
      this.selected.set(service, found);
    }
    return found;
  }
}

/** Variables whose bare value is a host: DB_HOST, REDIS_ADDR, API_URL, BROKERS, PEERS, ... */
const hostVariable = /HOST|ADDR|URL|URI|SERVER|ENDPOINT|SERVICE|DSN|BROKER|PEER|UPSTREAM|BACKEND/i;

/** Variables whose bare value is a host to resolve, said of a workload's name too: DB_HOST, REDIS_ADDR, SMTP_SERVER. */
const strictHostVariable = /^env \S*(HOST|ADDR|SERVER)/i;

/** The workloads of the set whose Pods a Service selects. */
export function backing(service: KubeObject, workloads: KubeObject[]): KubeObject[] {
  const selector = service.spec?.selector as Record<string, string> | undefined;
  if (!selector || Object.keys(selector).length === 0) return [];
  return workloads.filter((w) => {
    if (w.metadata.namespace !== service.metadata.namespace) return false;
    const labels: Record<string, string> = (w.kind === 'Pod' ? w.metadata.labels : w.spec?.template?.metadata?.labels) ?? {};
    return matchesSelector({ matchLabels: selector }, labels);
  });
}
